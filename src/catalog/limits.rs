//! Caps on what one catalog document may make the gateway hold, index and serve.
//!
//! A publisher's document is input from outside: a 100 MiB title, an element with a hundred
//! thousand attributes or ten thousand custom parameters must cost little and change nothing
//! for anyone else. The parsers read what they are given; [`Limits::enforce`] then truncates
//! text fields past their cap (with a warning naming the item) and rejects an item whose
//! identifier, URL or launch parameters are too large to be used safely (a truncated URL or
//! custom parameter would launch something else). The XML reader applies
//! [`Limits::max_xml_attributes`] itself, before any per-attribute work.

use super::{Diagnostic, ParsedCatalog};
use crate::resource::Resource;

/// Bounds on what a document may make the parser allocate and the index keep. Every cap is
/// configurable (see the README's configuration table); the defaults are far above what real
/// catalogs use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Zip entries in one cartridge.
    pub max_zip_entries: usize,
    /// Inflated bytes of one zip entry (and of one gzip-compressed sitemap).
    pub max_entry_bytes: u64,
    /// Inflated bytes of a whole cartridge.
    pub max_total_bytes: u64,
    /// Attributes (namespace declarations included) on one XML element; a document with more
    /// is refused. Real elements carry a handful.
    pub max_xml_attributes: usize,
    /// Characters of a title; longer titles are truncated.
    pub max_title_chars: usize,
    /// Characters of a description (and of a licence statement); longer ones are truncated.
    pub max_description_chars: usize,
    /// Values in one list field (keywords, subjects, resource types, standards); the rest are
    /// dropped.
    pub max_keywords: usize,
    /// Characters of one keyword, subject or resource type; longer values are dropped.
    pub max_keyword_chars: usize,
    /// Bytes of a URL (resource, launch, thumbnail, icon) and of an identifier. An item whose
    /// own URL or identifier is longer is rejected; a longer thumbnail or icon is dropped.
    pub max_url_bytes: usize,
    /// Custom parameters of one LTI link; an item with more is rejected.
    pub max_custom_params: usize,
    /// Characters of one custom parameter's name and value together; an item with a longer
    /// one is rejected (its launch would not be what the publisher meant).
    pub max_custom_param_chars: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_zip_entries: 10_000,
            max_entry_bytes: 64 * 1024 * 1024,
            max_total_bytes: 512 * 1024 * 1024,
            max_xml_attributes: 256,
            max_title_chars: 1_000,
            max_description_chars: 20_000,
            max_keywords: 200,
            max_keyword_chars: 200,
            max_url_bytes: 4_096,
            max_custom_params: 100,
            max_custom_param_chars: 4_096,
        }
    }
}

impl Limits {
    /// Applies the field caps to every parsed resource: text past its cap is truncated and
    /// lists shortened (each with a warning), and resources whose identifier, URL or custom
    /// parameters exceed their caps are rejected with an error.
    pub fn enforce(&self, parsed: &mut ParsedCatalog) {
        let resources = std::mem::take(&mut parsed.resources);
        let mut kept = Vec::with_capacity(resources.len());
        for mut resource in resources {
            let label = item_label(&resource.local_id, self.max_url_bytes);
            match self.reject_reason(&resource) {
                Some(reason) => {
                    parsed.rejected += 1;
                    parsed.diagnostics.push(Diagnostic::error(Some(label), reason));
                }
                None => {
                    for warning in self.trim(&mut resource) {
                        parsed.diagnostics.push(Diagnostic::warning(Some(label.clone()), warning));
                    }
                    kept.push(resource);
                }
            }
        }
        parsed.resources = kept;
    }

    /// Why the resource cannot be indexed at all, if it cannot.
    fn reject_reason(&self, resource: &Resource) -> Option<String> {
        if resource.local_id.len() > self.max_url_bytes {
            return Some(format!(
                "identifier is {} bytes long; at most {} are accepted",
                resource.local_id.len(),
                self.max_url_bytes
            ));
        }
        if resource.url.len() > self.max_url_bytes {
            return Some(format!(
                "url is {} bytes long; at most {} are accepted",
                resource.url.len(),
                self.max_url_bytes
            ));
        }
        let lti = resource.lti.as_ref()?;
        if lti.launch_url.len() > self.max_url_bytes {
            return Some(format!("launch URL is longer than {} bytes", self.max_url_bytes));
        }
        if lti.custom.len() > self.max_custom_params {
            return Some(format!(
                "the LTI link has {} custom parameters; at most {} are accepted",
                lti.custom.len(),
                self.max_custom_params
            ));
        }
        let too_long = lti.custom.iter().find(|(name, value)| {
            name.chars().count().saturating_add(value.chars().count()) > self.max_custom_param_chars
        });
        if let Some((name, _)) = too_long {
            let shown: String = name.chars().take(40).collect();
            return Some(format!(
                "custom parameter '{shown}' is longer than {} characters (name and value)",
                self.max_custom_param_chars
            ));
        }
        None
    }

    /// Truncates and shortens what may be cut; answers a warning per field it changed.
    fn trim(&self, resource: &mut Resource) -> Vec<String> {
        let mut warnings = Vec::new();
        if truncate_chars(&mut resource.title, self.max_title_chars) {
            warnings.push(format!("title truncated to {} characters", self.max_title_chars));
        }
        if let Some(description) = resource.description.as_mut() {
            if truncate_chars(description, self.max_description_chars) {
                warnings.push(format!("description truncated to {} characters", self.max_description_chars));
            }
        }
        if let Some(statement) = resource.license_raw.as_mut() {
            if truncate_chars(statement, self.max_description_chars) {
                warnings.push(format!("licence statement truncated to {} characters", self.max_description_chars));
            }
        }
        for (name, list) in [
            ("keywords", &mut resource.keywords),
            ("subjects", &mut resource.subjects),
            ("subjects (raw)", &mut resource.subjects_raw),
            ("resource types", &mut resource.resource_types),
            ("resource types (raw)", &mut resource.resource_types_raw),
            ("languages", &mut resource.languages),
        ] {
            if let Some(warning) = self.shorten_list(name, list) {
                warnings.push(warning);
            }
        }
        if resource.alignments.len() > self.max_keywords {
            warnings.push(format!(
                "{} standards; only the first {} are kept",
                resource.alignments.len(),
                self.max_keywords
            ));
            resource.alignments.truncate(self.max_keywords);
        }
        let mut long_alignment_fields = false;
        for alignment in &mut resource.alignments {
            for field in [&mut alignment.framework, &mut alignment.code, &mut alignment.alignment_type] {
                long_alignment_fields |= field.as_mut().is_some_and(|text| truncate_chars(text, self.max_title_chars));
            }
            if let Some(description) = alignment.description.as_mut() {
                long_alignment_fields |= truncate_chars(description, self.max_description_chars);
            }
            for field in [&mut alignment.guid, &mut alignment.uri] {
                if field.as_ref().is_some_and(|text| text.len() > self.max_url_bytes) {
                    *field = None;
                    long_alignment_fields = true;
                }
            }
        }
        if long_alignment_fields {
            warnings.push("standards with over-long fields were shortened".to_string());
        }
        if resource.thumbnail_url.as_ref().is_some_and(|url| url.len() > self.max_url_bytes) {
            resource.thumbnail_url = None;
            warnings.push(format!("thumbnail URL longer than {} bytes dropped", self.max_url_bytes));
        }
        if let Some(lti) = resource.lti.as_mut() {
            if lti.icon_url.as_ref().is_some_and(|url| url.len() > self.max_url_bytes) {
                lti.icon_url = None;
                warnings.push(format!("icon URL longer than {} bytes dropped", self.max_url_bytes));
            }
            let extension_values: usize = lti.extensions.values().map(|properties| properties.len()).sum();
            if extension_values > self.max_custom_params {
                lti.extensions.clear();
                warnings.push(format!("more than {} extension properties; extensions dropped", self.max_custom_params));
            } else {
                let limit = self.max_custom_param_chars;
                let before = extension_values;
                for properties in lti.extensions.values_mut() {
                    properties.retain(|name, value| name.chars().count() + value.chars().count() <= limit);
                }
                let after: usize = lti.extensions.values().map(|properties| properties.len()).sum();
                if after < before {
                    warnings.push(format!("extension properties longer than {limit} characters dropped"));
                }
            }
            for text in [&mut lti.vendor_code, &mut lti.vendor_name] {
                if let Some(value) = text.as_mut() {
                    truncate_chars(value, self.max_title_chars);
                }
            }
            if let Some(label) = lti.line_item.as_mut().and_then(|item| item.label.as_mut()) {
                truncate_chars(label, self.max_title_chars);
            }
        }
        warnings
    }

    /// Drops values longer than the cap, then values past the count cap.
    fn shorten_list(&self, name: &str, list: &mut Vec<String>) -> Option<String> {
        let before = list.len();
        list.retain(|value| value.chars().count() <= self.max_keyword_chars);
        let too_long = before - list.len();
        let too_many = list.len().saturating_sub(self.max_keywords);
        list.truncate(self.max_keywords);
        match (too_long, too_many) {
            (0, 0) => None,
            (0, _) => Some(format!("{} {name}; only the first {} are kept", before, self.max_keywords)),
            (long, 0) => Some(format!("{long} {name} longer than {} characters dropped", self.max_keyword_chars)),
            (long, extra) => Some(format!(
                "{long} {name} longer than {} characters dropped and {extra} past the first {} dropped",
                self.max_keyword_chars, self.max_keywords
            )),
        }
    }
}

/// The item's name in a diagnostic: its identifier, shortened when it is itself too long.
fn item_label(local_id: &str, max_bytes: usize) -> String {
    if local_id.len() <= max_bytes.min(200) {
        return local_id.to_string();
    }
    let mut shown: String = local_id.chars().take(60).collect();
    shown.push('…');
    shown
}

/// Cuts `text` to at most `max` characters (at a character boundary, ending in `…`); answers
/// whether it was longer.
pub(crate) fn truncate_chars(text: &mut String, max: usize) -> bool {
    let Some((cut, _)) = text.char_indices().nth(max) else {
        return false;
    };
    let keep = text[..cut].char_indices().last().map_or(0, |(index, _)| index);
    text.truncate(keep);
    let trimmed_len = text.trim_end().len();
    text.truncate(trimmed_len);
    text.push('…');
    true
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::catalog::Severity;
    use crate::resource::{LtiLink, ResourceKind};

    fn parsed_with(resource: Resource) -> ParsedCatalog {
        ParsedCatalog { resources: vec![resource], ..ParsedCatalog::default() }
    }

    #[test]
    fn test_truncate_chars_keeps_char_boundaries() {
        let mut text = "héllo wörld".to_string();
        assert!(truncate_chars(&mut text, 7));
        assert_eq!(text, "héllo…");
        assert!(text.chars().count() <= 7);
        let mut short = "abc".to_string();
        assert!(!truncate_chars(&mut short, 3));
        assert_eq!(short, "abc");
    }

    #[test]
    fn test_huge_title_and_description_are_truncated_with_warnings() {
        let limits = Limits::default();
        let mut resource = Resource::new("A", "t".repeat(5_000_000), "https://a.example/", ResourceKind::Link);
        resource.description = Some("d ".repeat(100_000));
        resource.keywords = (0..1_000).map(|n| format!("k{n}")).collect();
        resource.keywords.push("x".repeat(500));
        let mut parsed = parsed_with(resource);
        limits.enforce(&mut parsed);
        let kept = &parsed.resources[0];
        assert_eq!(kept.title.chars().count(), limits.max_title_chars);
        assert!(kept.description.as_ref().unwrap().chars().count() <= limits.max_description_chars);
        assert_eq!(kept.keywords.len(), limits.max_keywords);
        assert!(kept.keywords.iter().all(|k| k.len() <= limits.max_keyword_chars));
        let warnings: Vec<&str> = parsed.diagnostics.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(warnings.len(), 3, "{warnings:?}");
        assert!(parsed.diagnostics.iter().all(|d| d.severity == Severity::Warning && d.item.as_deref() == Some("A")));
    }

    #[test]
    fn test_long_urls_ids_and_custom_parameters_reject_the_item() {
        let limits = Limits { max_custom_params: 2, ..Limits::default() };
        let long_url = format!("https://a.example/{}", "p".repeat(5_000));
        let with_custom = |count: usize, value_len: usize| {
            let mut resource = Resource::new("L", "T", "https://t.example/", ResourceKind::LtiResourceLink);
            let custom: BTreeMap<String, String> =
                (0..count).map(|n| (format!("p{n}"), "v".repeat(value_len))).collect();
            resource.lti = Some(LtiLink { launch_url: "https://t.example/".into(), custom, ..LtiLink::default() });
            resource
        };
        let cases = [
            (Resource::new("U", "T", long_url.clone(), ResourceKind::Link), "url is"),
            (Resource::new("i".repeat(5_000), "T", "https://a.example/", ResourceKind::Link), "identifier is"),
            (with_custom(3, 1), "3 custom parameters"),
            (with_custom(1, 10_000), "custom parameter 'p0'"),
        ];
        for (resource, expected) in cases {
            let mut parsed = parsed_with(resource);
            limits.enforce(&mut parsed);
            assert!(parsed.resources.is_empty());
            assert_eq!(parsed.rejected, 1);
            assert_eq!(parsed.diagnostics[0].severity, Severity::Error);
            assert!(parsed.diagnostics[0].message.contains(expected), "{}", parsed.diagnostics[0].message);
            assert!(parsed.diagnostics[0].item.as_ref().unwrap().len() < 100);
        }
        let mut fine = parsed_with(with_custom(2, 10));
        fine.resources[0].thumbnail_url = Some(long_url);
        limits.enforce(&mut fine);
        assert_eq!(fine.resources.len(), 1);
        assert_eq!(fine.resources[0].thumbnail_url, None);
        assert_eq!(fine.diagnostics.len(), 1);
    }
}
