//! How the picker names codes in the teacher's language: kinds, grades, languages, licences
//! and schema.org accessibility terms.

use super::i18n::Strings;
use crate::labels::license_label;
use crate::resource::{GradeRange, ResourceKind};

pub fn kind(strings: &Strings, kind: ResourceKind) -> String {
    strings.get(&format!("kind-{}", kind.as_str()))
}

pub fn grade(strings: &Strings, level: i8) -> String {
    match level {
        -1 => strings.get("grade-pk"),
        0 => strings.get("grade-k"),
        13 => strings.get("grade-he"),
        n => strings.with("grade-n", "n", i64::from(n)),
    }
}

/// "Grade 3", or "Grade 3 to Grade 5".
pub fn grades(strings: &Strings, range: GradeRange) -> String {
    if range.min == range.max {
        return grade(strings, range.min);
    }
    strings
        .args("grades-range", &[("from", grade(strings, range.min).into()), ("to", grade(strings, range.max).into())])
}

/// A compact range for result cards ("Grades K–2", "Grade 3"); the long form past grade 12.
pub fn grades_short(strings: &Strings, range: GradeRange) -> String {
    let school = 0..=12;
    if range.min == range.max || !school.contains(&range.min) || !school.contains(&range.max) {
        return grades(strings, range);
    }
    let short = |level: i8| if level == 0 { "K".to_string() } else { level.to_string() };
    strings.args("grades-span", &[("from", short(range.min).into()), ("to", short(range.max).into())])
}

/// A language's name from its primary subtag; the tag itself when the catalog has no name.
pub fn language(strings: &Strings, tag: &str) -> String {
    let primary = tag.split('-').next().unwrap_or(tag).to_ascii_lowercase();
    let id = format!("lang-{primary}");
    if strings.has(&id) {
        strings.get(&id)
    } else {
        tag.to_string()
    }
}

/// "CC BY 4.0" for Creative Commons URLs, SPDX ids as they are.
pub fn license(canonical: &str) -> String {
    license_label(canonical).unwrap_or_else(|| canonical.to_string())
}

/// The short name of a standard licence for a result card (CC, SPDX); `None` for a
/// publisher's own licence page, which the details link to instead.
pub fn license_short(canonical: &str) -> Option<String> {
    license_label(canonical).or_else(|| (!canonical.contains("://")).then(|| canonical.to_string()))
}

/// A licence as a filter value: its short name, else the site whose terms it is.
pub fn license_option(strings: &Strings, canonical: &str) -> String {
    if let Some(short) = license_short(canonical) {
        return short;
    }
    let site =
        url::Url::parse(canonical).ok().and_then(|u| u.host_str().map(|h| h.trim_start_matches("www.").to_string()));
    match site {
        Some(site) => strings.with("license-of-site", "site", site),
        None => canonical.to_string(),
    }
}

/// A schema.org accessibility term (`alternativeText`) in words; a term the catalog does not
/// know is split at its capitals ("fooBar" → "Foo bar") rather than dropped.
pub fn accessibility_term(strings: &Strings, term: &str) -> String {
    let id = format!("a11y-{term}");
    if term.bytes().all(|b| b.is_ascii_alphanumeric()) && strings.has(&id) {
        return strings.get(&id);
    }
    // Words start where a capital follows a small letter: "ChemML" is "Chem ML".
    let mut words: Vec<String> = Vec::new();
    let mut previous_lower = false;
    for ch in term.chars() {
        if words.is_empty() || (ch.is_uppercase() && previous_lower) {
            words.push(String::new());
        }
        if let Some(word) = words.last_mut() {
            word.push(ch);
        }
        previous_lower = ch.is_lowercase();
    }
    let mut out = String::new();
    for (index, word) in words.iter().enumerate() {
        let is_acronym = word.chars().all(|c| !c.is_lowercase());
        if index == 0 {
            let mut chars = word.chars();
            out.extend(chars.next().into_iter().flat_map(char::to_uppercase));
            out.push_str(chars.as_str());
        } else {
            out.push(' ');
            if is_acronym {
                out.push_str(word);
            } else {
                out.push_str(&word.to_lowercase());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_labels_in_both_languages() {
        let en = Strings::english();
        let es = Strings::negotiate(Some("es"), None);
        assert_eq!(kind(&en, ResourceKind::LtiResourceLink), "Interactive tool");
        assert_eq!(kind(&es, ResourceKind::Link), "Página web");
        assert_eq!(grades(&en, GradeRange::new(3, 5)), "Grade 3 to Grade 5");
        assert_eq!(grades(&es, GradeRange::new(0, 2)), "Kínder a Grado 2");
        assert_eq!(grades(&en, GradeRange::single(13)), "Higher education");
        assert_eq!(grades_short(&en, GradeRange::new(0, 2)), "Grades K–2");
        assert_eq!(grades_short(&es, GradeRange::new(3, 5)), "Grados 3–5");
        assert_eq!(grades_short(&en, GradeRange::new(9, 13)), "Grade 9 to Higher education");
        assert_eq!(license_short("https://www.mathwise.example.com/legal/district-license"), None);
        assert_eq!(license_short("MIT").as_deref(), Some("MIT"));
        assert_eq!(language(&es, "en-US"), "Inglés");
        assert_eq!(language(&en, "tlh"), "tlh");
        assert_eq!(license("https://creativecommons.org/licenses/by-sa/4.0/"), "CC BY-SA 4.0");
        assert_eq!(accessibility_term(&es, "alternativeText"), "Texto alternativo");
        assert_eq!(accessibility_term(&en, "ChemML"), "Chem ML");
        assert_eq!(accessibility_term(&en, "fooBarBaz"), "Foo bar baz");
        assert_eq!(accessibility_term(&en, "bookmarks"), "Bookmarks");
    }
}
