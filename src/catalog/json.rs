//! Reading helpers shared by the JSON catalog parsers (LTI Resource Search and LRMI).
//!
//! Both formats are read as a JSON tree first and then field by field, because real feeds vary
//! (a string here, an array there, an object with `@id` elsewhere) and because a type error in
//! one item must reject that item only, with a message that names the field. The tree is
//! `serde_json_borrow`'s: strings borrowed from the document, objects as member lists. Where a
//! key is repeated in one object, the first occurrence is the one read.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
pub(crate) use serde_json_borrow::Value;

use super::{CatalogError, Diagnostic};
use crate::resource::{Accessibility, Alignment};

/// A JSON object: its members in document order, strings borrowed from the document where
/// they have no escapes. A catalog is read once and walked once, so building a `BTreeMap` and
/// copying every string (as `serde_json::Value` does) was most of the cost of reading it.
pub(crate) type Object<'a> = serde_json_borrow::ObjectAsVec<'a>;

/// The member `key` of an object; `None` for a missing key and for a value that is not an
/// object (`serde_json_borrow`'s own `get` answers `Null` instead).
pub(crate) fn field<'v, 'a>(value: &'v Value<'a>, key: &str) -> Option<&'v Value<'a>> {
    value.as_object()?.get(key)
}

/// Decodes a whole document: empty → [`CatalogError::Empty`], invalid UTF-8 →
/// [`CatalogError::Encoding`] with the byte offset, syntax errors → [`CatalogError::Json`] with
/// line and column. A UTF-8 byte-order mark is skipped.
pub(crate) fn parse_document(bytes: &[u8]) -> Result<Value<'_>, CatalogError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(CatalogError::Empty);
    }
    let text = std::str::from_utf8(bytes).map_err(|error| {
        let offset = error.valid_up_to();
        let line = 1 + bytes[..offset].iter().filter(|b| **b == b'\n').count();
        CatalogError::Encoding { offset, line }
    })?;
    serde_json::from_str(text).map_err(|error| CatalogError::Json {
        line: error.line(),
        column: error.column(),
        message: syntax_message(&error),
    })
}

/// One value of a document that may hold several, and where it starts.
pub(crate) struct DocumentValue<'a> {
    /// 1-based line of the value's first character.
    pub line: usize,
    pub value: Value<'a>,
}

/// Decodes a document that is one JSON value, or several: JSON Lines (one value per line) and
/// concatenated values (`{…}{…}` or pretty-printed objects one after another), as ETL tools
/// write them. A value that does not parse becomes an error diagnostic naming its line, and
/// reading resumes at the next line, so one broken record costs only itself. A document whose
/// first value is broken is refused as a whole ([`CatalogError::Json`]), like any unreadable
/// document. The `bool` says whether the document held more than one value.
pub(crate) fn parse_documents(bytes: &[u8]) -> Result<(Vec<DocumentValue<'_>>, Vec<Diagnostic>, bool), CatalogError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(CatalogError::Empty);
    }
    let text = std::str::from_utf8(bytes).map_err(|error| {
        let offset = error.valid_up_to();
        let line = 1 + bytes[..offset].iter().filter(|b| **b == b'\n').count();
        CatalogError::Encoding { offset, line }
    })?;
    let single = serde_json::from_str::<Value>(text);
    let first_error = match single {
        Ok(value) => return Ok((vec![DocumentValue { line: 1, value }], Vec::new(), false)),
        Err(error) => error,
    };
    // Only "trailing characters" after a complete first value means several values.
    if !syntax_message(&first_error).starts_with("trailing characters") {
        return Err(CatalogError::Json {
            line: first_error.line(),
            column: first_error.column(),
            message: syntax_message(&first_error),
        });
    }
    let mut values = Vec::new();
    let mut diagnostics = Vec::new();
    let mut start = 0;
    while start < text.len() {
        let rest = &text[start..];
        let skipped = rest.len() - rest.trim_start().len();
        start += skipped;
        if start >= text.len() {
            break;
        }
        let base_line = 1 + text.as_bytes()[..start].iter().filter(|b| **b == b'\n').count();
        let mut stream = serde_json::Deserializer::from_str(&text[start..]).into_iter::<Value>();
        match stream.next() {
            Some(Ok(value)) => {
                values.push(DocumentValue { line: base_line, value });
                start += stream.byte_offset();
            }
            Some(Err(error)) => {
                let line = base_line + error.line().saturating_sub(1);
                let message = syntax_message(&error);
                if !is_json_lines(text) {
                    diagnostics.push(Diagnostic::error(
                        Some(format!("line {line}")),
                        format!("JSON syntax error: {message}; the rest of the document was not read"),
                    ));
                    break;
                }
                diagnostics.push(Diagnostic::error(
                    Some(format!("line {base_line}")),
                    format!("JSON syntax error: {message}; this record was skipped"),
                ));
                // JSON Lines: the next record starts on the next line.
                match text[start..].find('\n') {
                    Some(newline) => start += newline + 1,
                    None => break,
                }
            }
            None => break,
        }
    }
    Ok((values, diagnostics, true))
}

/// Whether every non-blank line starts a JSON object or array (JSON Lines / NDJSON).
fn is_json_lines(text: &str) -> bool {
    text.lines().map(str::trim_start).filter(|line| !line.is_empty()).all(|line| line.starts_with(['{', '[']))
}

/// serde_json's message without its own " at line L column C" suffix (the error has fields).
fn syntax_message(error: &serde_json::Error) -> String {
    let full = error.to_string();
    let suffix = format!(" at line {} column {}", error.line(), error.column());
    full.strip_suffix(&suffix).unwrap_or(&full).to_string()
}

/// "a string", "an object"...: for messages such as "name must be a string, found a number".
pub(crate) fn type_name(value: &Value<'_>) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::Str(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A value that may be one item or an array of items, as a slice; `null` is no items.
pub(crate) fn one_or_many<'v, 'a>(value: &'v Value<'a>) -> &'v [Value<'a>] {
    match value {
        Value::Array(items) => items,
        Value::Null => &[],
        single => std::slice::from_ref(single),
    }
}

/// An optional string field: absent or `null` → `None`; blank → `None`; another type → an error
/// naming the field.
pub(crate) fn string_field<'a>(object: &'a Object<'_>, key: &str) -> Result<Option<&'a str>, String> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Str(text)) => Ok(Some(text.trim()).filter(|t| !t.is_empty())),
        Some(other) => Err(format!("{key} must be a string, found {}", type_name(other))),
    }
}

/// A field that is a string or an array of strings (blank strings skipped).
pub(crate) fn strings_field<'a>(object: &'a Object<'_>, key: &str) -> Result<Vec<&'a str>, String> {
    let Some(value) = object.get(key) else {
        return Ok(Vec::new());
    };
    let mut strings = Vec::new();
    match value {
        Value::Null => {}
        Value::Str(text) => strings.push(text.trim()),
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                match item {
                    Value::Str(text) => strings.push(text.trim()),
                    Value::Null => {}
                    other => return Err(format!("{key}[{index}] must be a string, found {}", type_name(other))),
                }
            }
        }
        other => return Err(format!("{key} must be a string or an array of strings, found {}", type_name(other))),
    }
    strings.retain(|text| !text.is_empty());
    Ok(strings)
}

/// Most values kept of one accessibility property, and the longest value.
const MAX_ACCESSIBILITY_VALUES: usize = 32;
const MAX_ACCESSIBILITY_CHARS: usize = 500;

/// The schema.org accessibility properties (LRMI) and their LTI Resource Search spellings: each
/// a string or an array of strings, kept as sent; `accessibilitySummary` a string.
pub(crate) fn accessibility(object: &Object<'_>, log: &mut ItemLog) -> Accessibility {
    let mut read = |keys: &[&str]| -> Vec<String> {
        let mut values = Vec::new();
        for key in keys {
            for value in log.lenient(strings_field(object, key)) {
                if values.len() < MAX_ACCESSIBILITY_VALUES {
                    push_unique(&mut values, bounded(value));
                }
            }
        }
        values
    };
    let features = read(&["accessibilityFeature", "accessibilityFeatures"]);
    let hazards = read(&["accessibilityHazard", "accessibilityHazards"]);
    let access_modes = read(&["accessMode"]);
    let apis = read(&["accessibilityAPI"]);
    let controls = read(&["accessibilityControl", "accessibilityInputMethod", "accessibilityInputMethods"]);
    let summary = log.lenient(string_field(object, "accessibilitySummary")).map(bounded);
    Accessibility { features, hazards, access_modes, apis, controls, summary }
}

fn bounded(value: &str) -> String {
    crate::catalog::text::normalize_whitespace(value).chars().take(MAX_ACCESSIBILITY_CHARS).collect()
}

/// A scalar as text: strings as they are, numbers and booleans printed (custom parameter values
/// and ids are sometimes sent as numbers).
pub(crate) fn scalar_text(value: &Value<'_>) -> Option<String> {
    match value {
        Value::Str(text) => Some(text.to_string()),
        // Printed as serde_json prints it (`10.0`, `1e+20`), as it was before the borrowed tree:
        // an identifier that is a number must keep the same text from one ingest to the next.
        Value::Number(number) => Some(serde_json::Number::from(*number).to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

/// Whether the value is an absolute http(s) URL with a host: the only URLs the gateway hands to
/// an LMS or a browser.
pub(crate) fn is_http_url(raw: &str) -> bool {
    match url::Url::parse(raw) {
        Ok(parsed) => matches!(parsed.scheme(), "http" | "https") && parsed.host().is_some(),
        Err(_) => false,
    }
}

/// A date or date-time as UTC: RFC 3339, a bare date (midnight UTC) or a date-time without an
/// offset (taken as UTC).
pub(crate) fn parse_date(raw: &str) -> Option<DateTime<Utc>> {
    let trimmed = raw.trim();
    if let Ok(with_offset) = DateTime::parse_from_rfc3339(trimmed) {
        return Some(with_offset.with_timezone(&Utc));
    }
    if let Ok(naive) = NaiveDateTime::parse_from_str(trimmed, "%Y-%m-%dT%H:%M:%S%.f") {
        return Some(naive.and_utc());
    }
    let date = NaiveDate::parse_from_str(trimmed, "%Y-%m-%d").ok()?;
    Some(date.and_hms_opt(0, 0, 0)?.and_utc())
}

/// The CASE identifier at the end of a CFItem URI (`.../CFItems/<uuid>`), lowercase; `None`
/// when the last segment is not a UUID.
pub(crate) fn guid_from_uri(uri: &str) -> Option<String> {
    let without_query = uri.split(['?', '#']).next().unwrap_or(uri);
    let last = without_query.trim_end_matches('/').rsplit(['/', ':']).next()?;
    is_uuid(last).then(|| last.to_ascii_lowercase())
}

/// The 8-4-4-4-12 hexadecimal shape of CASE identifiers.
pub(crate) fn is_uuid(raw: &str) -> bool {
    let groups: Vec<&str> = raw.split('-').collect();
    let lengths = [8, 4, 4, 4, 12];
    groups.len() == lengths.len()
        && groups
            .iter()
            .zip(lengths)
            .all(|(group, length)| group.len() == length && group.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The most values one resource keeps in a list field (keywords, subjects, standards...).
/// Real resources have a handful; thousands are noise (or an attempt to make deduplication,
/// which is quadratic, expensive), so the rest are dropped.
pub(crate) const MAX_VALUES: usize = 500;

/// Appends a value unless an equal one is already there (order of first appearance kept) or
/// the list is full ([`MAX_VALUES`]).
pub(crate) fn push_unique(list: &mut Vec<String>, value: String) {
    if list.len() < MAX_VALUES && !value.is_empty() && !list.contains(&value) {
        list.push(value);
    }
}

/// Appends a keyword unless the same word, in any case, is already there ("Fractions" from
/// `about` after "fractions" from `keywords`).
pub(crate) fn push_keyword(keywords: &mut Vec<String>, keyword: String) {
    if keywords.len() >= MAX_VALUES || keyword.is_empty() {
        return;
    }
    let lower = keyword.to_lowercase();
    if !keywords.iter().any(|known| known.to_lowercase() == lower) {
        keywords.push(keyword);
    }
}

/// Keywords from a comma-separated string.
pub(crate) fn split_keywords(raw: &str) -> impl Iterator<Item = String> + '_ {
    raw.split(',').map(super::text::normalize_whitespace).filter(|keyword| !keyword.is_empty())
}

/// Adds a standard unless it is already listed (same GUID, else same URI, else same framework
/// and code); a duplicate fills in what the listed one lacks. At most [`MAX_VALUES`] are kept.
pub(crate) fn merge_alignment(list: &mut Vec<Alignment>, alignment: Alignment) {
    let existing = list.iter_mut().find(|listed| same_standard(listed, &alignment));
    let Some(existing) = existing else {
        if list.len() < MAX_VALUES {
            list.push(alignment);
        }
        return;
    };
    let fill = |slot: &mut Option<String>, value: Option<String>| {
        if slot.is_none() {
            *slot = value;
        }
    };
    fill(&mut existing.framework, alignment.framework);
    fill(&mut existing.code, alignment.code);
    fill(&mut existing.guid, alignment.guid);
    fill(&mut existing.uri, alignment.uri);
    fill(&mut existing.alignment_type, alignment.alignment_type);
    fill(&mut existing.description, alignment.description);
}

fn same_standard(a: &Alignment, b: &Alignment) -> bool {
    if let (Some(left), Some(right)) = (&a.guid, &b.guid) {
        return left == right;
    }
    if let (Some(left), Some(right)) = (&a.uri, &b.uri) {
        return left == right;
    }
    a.code.is_some() && a.code == b.code && a.framework == b.framework
}

/// Whether an audience list means "for teachers only": it names a staff role and no learner.
pub(crate) fn is_teacher_only<'a>(roles: impl IntoIterator<Item = &'a str>) -> bool {
    let mut staff = false;
    for role in roles {
        let term = role.trim().rsplit('/').next().unwrap_or(role).to_lowercase();
        match term.as_str() {
            "student" | "learner" | "schüler" | "schülerin" | "schüler*innen" | "lernende" | "studierende"
            | "élève" | "étudiant" | "apprenant" | "alumno" | "estudiante" => return false,
            "teacher" | "instructor" | "administrator" | "faculty" | "educator" | "mentor" | "aide" | "proctor"
            | "lehrer" | "lehrerin" | "lehrkraft" | "lehrkräfte" | "lehrende" | "enseignant" | "professeur"
            | "docente" | "profesor" => staff = true,
            _ => {}
        }
    }
    staff
}

/// Per-document bookkeeping: accepted resources' ids, so a repeated id is rejected instead of
/// silently replacing the first item in the index.
#[derive(Default)]
pub(crate) struct SeenIds {
    first_label: HashMap<String, String>,
}

impl SeenIds {
    /// Whether an item already used the id.
    pub(crate) fn contains(&self, local_id: &str) -> bool {
        self.first_label.contains_key(local_id)
    }

    /// Records the id; `Err` names the item that already used it.
    pub(crate) fn claim(&mut self, local_id: &str, label: &str) -> Result<(), String> {
        if let Some(first) = self.first_label.get(local_id) {
            return Err(format!("duplicate id '{local_id}': already used by {first}"));
        }
        self.first_label.insert(local_id.to_string(), label.to_string());
        Ok(())
    }
}

/// Warnings and notes gathered while reading one item; they are only reported when the item is
/// accepted (a rejected item gets its one error instead).
pub(crate) struct ItemLog {
    notes: Vec<(bool, String)>,
}

impl ItemLog {
    pub(crate) fn new() -> Self {
        Self { notes: Vec::new() }
    }

    pub(crate) fn warn(&mut self, message: impl Into<String>) {
        self.notes.push((true, message.into()));
    }

    pub(crate) fn info(&mut self, message: impl Into<String>) {
        self.notes.push((false, message.into()));
    }

    /// The value of an optional field, or its default after a warning when it was unreadable.
    pub(crate) fn lenient<T: Default>(&mut self, result: Result<T, String>) -> T {
        result.unwrap_or_else(|message| {
            self.warn(format!("{message}; ignored"));
            T::default()
        })
    }

    /// The notes as diagnostics about `label`.
    pub(crate) fn into_diagnostics(self, label: &str) -> impl Iterator<Item = Diagnostic> + '_ {
        self.notes.into_iter().map(move |(is_warning, message)| {
            if is_warning {
                Diagnostic::warning(Some(label.to_string()), message)
            } else {
                Diagnostic::info(Some(label.to_string()), message)
            }
        })
    }
}

/// Records one item's outcome: an accepted resource with its notes, or a rejection with its
/// one error. Both JSON formats keep their books this way.
pub(crate) fn record_item(
    parsed: &mut super::ParsedCatalog,
    label: String,
    accepted: Result<crate::resource::Resource, String>,
    log: ItemLog,
) {
    match accepted {
        Ok(resource) => {
            parsed.resources.push(resource);
            parsed.diagnostics.extend(log.into_diagnostics(&label));
        }
        Err(message) => {
            parsed.rejected += 1;
            parsed.diagnostics.push(Diagnostic::error(Some(label), message));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_parse_document_errors() {
        assert_eq!(parse_document(b""), Err(CatalogError::Empty));
        assert_eq!(parse_document(b" \n\t"), Err(CatalogError::Empty));
        assert_eq!(parse_document(b"\xEF\xBB\xBF  "), Err(CatalogError::Empty));
        assert_eq!(parse_document(b"{\n\"a\": \"\xE9\"}"), Err(CatalogError::Encoding { offset: 8, line: 2 }));
        match parse_document(b"{\n  \"a\": [1, 2,\n}") {
            Err(CatalogError::Json { line, column, message }) => {
                assert_eq!((line, column), (3, 1));
                assert!(!message.contains("at line"), "{message}");
            }
            other => panic!("expected a JSON error, got {other:?}"),
        }
        assert!(parse_document(b"\xEF\xBB\xBF{\"a\": 1}").is_ok());
    }

    #[test]
    fn test_escaped_keys_and_strings_are_read() {
        let value = parse_document(br#"{"na\u006de": " caf\u00e9 \"A\" ", "plain": "x"}"#).unwrap();
        let object = value.as_object().expect("an object");
        assert_eq!(string_field(object, "name"), Ok(Some("caf\u{e9} \"A\"")));
        assert_eq!(field(&value, "plain").and_then(Value::as_str), Some("x"));
        assert!(field(&value, "missing").is_none());
        assert!(field(&Value::Str("not an object".into()), "plain").is_none());
        let numbers = parse_document(br#"[7, -3, 10.0, 1e20, 0.5, true]"#).unwrap();
        let printed: Vec<Option<String>> = one_or_many(&numbers).iter().map(scalar_text).collect();
        let expected = ["7", "-3", "10.0", "1e+20", "0.5", "true"];
        assert_eq!(printed, expected.map(|text| Some(text.to_string())));
        let repeated = parse_document(br#"{"a": "first", "a": "second"}"#).unwrap();
        assert_eq!(field(&repeated, "a").and_then(Value::as_str), Some("first"));
    }

    #[test]
    fn test_deep_nesting_is_an_error_not_a_crash() {
        let deep = "[".repeat(100_000);
        assert!(matches!(parse_document(deep.as_bytes()), Err(CatalogError::Json { .. })));
    }

    #[test]
    fn test_fields() {
        let value: Value =
            serde_json::from_str(r#"{"a": " x ", "b": 4, "c": ["p", "", "q"], "d": [1], "e": null, "f": "  "}"#)
                .unwrap();
        let object = value.as_object().expect("an object");
        assert_eq!(string_field(object, "a"), Ok(Some("x")));
        assert_eq!(string_field(object, "b"), Err("b must be a string, found a number".to_string()));
        assert_eq!(string_field(object, "e"), Ok(None));
        assert_eq!(string_field(object, "f"), Ok(None));
        assert_eq!(string_field(object, "zz"), Ok(None));
        assert_eq!(strings_field(object, "a"), Ok(vec!["x"]));
        assert_eq!(strings_field(object, "c"), Ok(vec!["p", "q"]));
        assert_eq!(strings_field(object, "d"), Err("d[0] must be a string, found a number".to_string()));
        assert_eq!(
            strings_field(object, "b"),
            Err("b must be a string or an array of strings, found a number".to_string())
        );
    }

    #[test]
    fn test_urls_dates_and_guids() {
        assert!(is_http_url("https://example.com/a?b=c"));
        assert!(!is_http_url("javascript:alert(1)"));
        assert!(!is_http_url("/relative/path"));
        assert!(!is_http_url("ftp://example.com/file"));
        assert_eq!(parse_date("2023-08-21").map(|d| d.to_rfc3339()).as_deref(), Some("2023-08-21T00:00:00+00:00"));
        assert_eq!(
            parse_date("2025-02-01T16:20:00+01:00").map(|d| d.to_rfc3339()).as_deref(),
            Some("2025-02-01T15:20:00+00:00")
        );
        assert_eq!(
            parse_date("2025-02-01T16:20:00").map(|d| d.to_rfc3339()).as_deref(),
            Some("2025-02-01T16:20:00+00:00")
        );
        assert_eq!(parse_date("yesterday"), None);
        assert_eq!(parse_date("2023-02-30"), None);
        assert_eq!(
            guid_from_uri("https://case.example.org/ims/case/v1p0/CFItems/F64FDF0C-E17A-5D51-9FF0-52665AF3ECD5/")
                .as_deref(),
            Some("f64fdf0c-e17a-5d51-9ff0-52665af3ecd5")
        );
        assert_eq!(
            guid_from_uri("urn:uuid:f64fdf0c-e17a-5d51-9ff0-52665af3ecd5").as_deref(),
            Some("f64fdf0c-e17a-5d51-9ff0-52665af3ecd5")
        );
        assert_eq!(guid_from_uri("https://example.org/standards/3.NF.A.1"), None);
    }

    #[test]
    fn test_merge_alignment_dedupes_and_fills() {
        let mut list = vec![Alignment { guid: Some("g1".into()), code: None, ..Alignment::default() }];
        merge_alignment(
            &mut list,
            Alignment { guid: Some("g1".into()), code: Some("C1".into()), ..Alignment::default() },
        );
        merge_alignment(&mut list, Alignment { guid: Some("g2".into()), ..Alignment::default() });
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].code.as_deref(), Some("C1"));
    }

    #[test]
    fn test_lists_are_deduplicated_and_bounded() {
        let mut keywords = vec!["fractions".to_string()];
        push_keyword(&mut keywords, "Fractions".to_string());
        push_keyword(&mut keywords, String::new());
        assert_eq!(keywords, vec!["fractions"]);
        let mut list = Vec::new();
        for index in 0..MAX_VALUES + 10 {
            push_unique(&mut list, index.to_string());
            push_keyword(&mut keywords, index.to_string());
        }
        assert_eq!(list.len(), MAX_VALUES);
        assert_eq!(keywords.len(), MAX_VALUES);
    }

    #[test]
    fn test_teacher_only() {
        assert!(is_teacher_only(["teacher"]));
        assert!(is_teacher_only(["http://purl.org/dcx/lrmi-vocabs/educationalAudienceRole/teacher"]));
        assert!(!is_teacher_only(["student", "teacher"]));
        assert!(!is_teacher_only(["parent"]));
        assert!(!is_teacher_only([]));
    }

    #[test]
    fn test_seen_ids() {
        let mut seen = SeenIds::default();
        assert!(seen.claim("A", "resources[0]").is_ok());
        assert_eq!(seen.claim("A", "resources[3]"), Err("duplicate id 'A': already used by resources[0]".into()));
    }
}
