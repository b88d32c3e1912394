//! Display names for facet values that are codes (languages, licences).

/// The English name of a primary language subtag, for the language facet.
pub fn language_name(code: &str) -> Option<&'static str> {
    let name = match code {
        "en" => "English",
        "es" => "Spanish",
        "fr" => "French",
        "de" => "German",
        "it" => "Italian",
        "pt" => "Portuguese",
        "nl" => "Dutch",
        "sv" => "Swedish",
        "da" => "Danish",
        "no" | "nb" | "nn" => "Norwegian",
        "fi" => "Finnish",
        "ru" => "Russian",
        "ro" => "Romanian",
        "hu" => "Hungarian",
        "tr" => "Turkish",
        "el" => "Greek",
        "ar" => "Arabic",
        "zh" => "Chinese",
        "ja" => "Japanese",
        "ko" => "Korean",
        "pl" => "Polish",
        "vi" => "Vietnamese",
        "hi" => "Hindi",
        "he" => "Hebrew",
        "uk" => "Ukrainian",
        "la" => "Latin",
        _ => return None,
    };
    Some(name)
}

/// A short label for a canonical licence: "CC BY-NC-SA 4.0", "CC0 1.0", an SPDX id as is.
pub fn license_label(canonical: &str) -> Option<String> {
    let rest = canonical
        .strip_prefix("https://creativecommons.org/")
        .or_else(|| canonical.strip_prefix("http://creativecommons.org/"))?;
    let parts: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
    match parts.as_slice() {
        ["licenses", code, version, ..] => Some(format!("CC {} {}", code.to_uppercase(), version)),
        ["publicdomain", "zero", version, ..] => Some(format!("CC0 {version}")),
        ["publicdomain", "mark", version, ..] => Some(format!("Public Domain Mark {version}")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_license_labels() {
        assert_eq!(
            license_label("https://creativecommons.org/licenses/by-nc-sa/4.0/").as_deref(),
            Some("CC BY-NC-SA 4.0")
        );
        assert_eq!(license_label("https://creativecommons.org/publicdomain/zero/1.0/").as_deref(), Some("CC0 1.0"));
        assert_eq!(license_label("MIT"), None);
        assert_eq!(language_name("es"), Some("Spanish"));
    }
}
