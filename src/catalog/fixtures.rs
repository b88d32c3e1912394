//! Loading the shared fixtures and their `expected.json` facts, for the parser tests.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::catalog::vocab;
use crate::catalog::ParsedCatalog;
use crate::resource::{GradeRange, Resource};

pub(crate) const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/fixtures/");

pub(crate) fn read(relative: &str) -> Vec<u8> {
    let path = format!("{FIXTURES}{relative}");
    std::fs::read(&path).unwrap_or_else(|error| panic!("cannot read {path}: {error}"))
}

/// `catalogs/expected.json` → `files` → the file's entry.
pub(crate) fn expected_catalog(file: &str) -> Value {
    expected_in("catalogs/expected.json", file)
}

/// `bad/expected.json` → `files` → the file's entry.
pub(crate) fn expected_bad(file: &str) -> Value {
    expected_in("bad/expected.json", file)
}

/// `<folder>/expected.json` → `files` → the file's entry.
pub(crate) fn expected(folder: &str, file: &str) -> Value {
    expected_in(&format!("{folder}/expected.json"), file)
}

fn expected_in(relative: &str, file: &str) -> Value {
    let all: Value = serde_json::from_slice(&read(relative)).expect("expected.json is JSON");
    all["files"][file].clone()
}

pub(crate) fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|items| items.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

pub(crate) fn find<'a>(parsed: &'a ParsedCatalog, id: &str) -> &'a Resource {
    parsed.resources.iter().find(|resource| resource.local_id == id).unwrap_or_else(|| panic!("no resource {id}"))
}

/// The facts every catalog entry of `expected.json` lists: counts, ids per kind, titles,
/// subjects, languages, and the spot checks' title, kind, url, subjects and standards.
pub(crate) fn assert_common_facts(file: &str, parsed: &ParsedCatalog, expected: &Value) {
    let count = |key: &str| expected[key].as_u64().map(|n| n as usize);
    assert_eq!(Some(parsed.resources.len()), count("resources"), "{file}: resources");
    assert_eq!(parsed.rejected, 0, "{file}: rejected");
    assert!(parsed.deleted.is_empty(), "{file}: deleted");
    let ids_of = |kind: Option<crate::resource::ResourceKind>| -> Vec<String> {
        parsed.resources.iter().filter(|r| kind.is_none_or(|k| r.kind == k)).map(|r| r.local_id.clone()).collect()
    };
    use crate::resource::ResourceKind::{Link, LtiResourceLink};
    assert_eq!(Some(ids_of(Some(LtiResourceLink)).len()), count("lti_links"), "{file}: lti");
    assert_eq!(Some(ids_of(Some(Link)).len()), count("links"), "{file}: links");
    if expected.get("ids").is_some() {
        assert_eq!(ids_of(None), strings(&expected["ids"]), "{file}: ids");
        assert_eq!(ids_of(Some(LtiResourceLink)), strings(&expected["lti_link_ids"]), "{file}");
        assert_eq!(ids_of(Some(Link)), strings(&expected["link_ids"]), "{file}: link ids");
    }
    let titles: BTreeSet<&str> = parsed.resources.iter().map(|r| r.title.as_str()).collect();
    for title in strings(&expected["sample_titles"]) {
        assert!(titles.contains(title.as_str()), "{file}: title {title:?} missing");
    }
    if expected.get("distinct_subjects").is_some() {
        let subjects: BTreeSet<String> = parsed.resources.iter().flat_map(|r| r.subjects.iter().cloned()).collect();
        let wanted: BTreeSet<String> = strings(&expected["distinct_subjects"]).into_iter().collect();
        assert_eq!(subjects, wanted, "{file}: distinct subjects");
    }
    if expected.get("languages").is_some() {
        let languages: BTreeSet<String> = parsed.resources.iter().flat_map(|r| r.languages.iter().cloned()).collect();
        let wanted: BTreeSet<String> = strings(&expected["languages"]).into_iter().collect();
        assert_eq!(languages, wanted, "{file}: languages");
    }
    for check in expected["spot_checks"].as_array().into_iter().flatten() {
        assert_spot_check(file, parsed, check);
    }
}

fn assert_spot_check(file: &str, parsed: &ParsedCatalog, check: &Value) {
    let id = check["id"].as_str().expect("spot check id");
    let resource = find(parsed, id);
    assert_eq!(Some(resource.title.as_str()), check["title"].as_str(), "{file} {id}: title");
    assert_eq!(Some(resource.kind.as_str()), check["kind"].as_str(), "{file} {id}: kind");
    assert_eq!(Some(resource.url.as_str()), check["url"].as_str(), "{file} {id}: url");
    if let Some(subjects) = check.get("subjects") {
        assert_eq!(resource.subjects, strings(subjects), "{file} {id}: subjects");
    }
    let codes: Vec<String> = resource.alignments.iter().filter_map(|a| a.code.clone()).collect();
    assert_eq!(codes, strings(&check["alignment_codes"]), "{file} {id}: alignment codes");
    let guids: Vec<String> = resource.alignments.iter().filter_map(|a| a.guid.clone()).collect();
    assert_eq!(guids, strings(&check["alignment_guids"]), "{file} {id}: alignment guids");
    let languages = match &check["language"] {
        Value::String(single) => vec![single.clone()],
        other => strings(other),
    };
    if !languages.is_empty() {
        assert_eq!(resource.languages, languages, "{file} {id}: languages");
    }
}

/// The grade range the facts in a spot check imply, read with the shared vocabulary.
pub(crate) fn expected_grades(check: &Value) -> Option<GradeRange> {
    let ages = check["typical_age_range"].as_str().and_then(vocab::grades_from_age_range);
    let context = check["lom_context"].as_str().filter(|c| *c != "school").and_then(vocab::grades_from_level);
    match (ages, context) {
        (Some(a), Some(c)) => Some(a.union(c)),
        (a, c) => a.or(c),
    }
}

/// Primary language subtags: the fixtures list raw values (`en`, `en-US`).
pub(crate) fn primary_languages<'a>(languages: impl IntoIterator<Item = &'a String>) -> BTreeSet<String> {
    languages.into_iter().filter_map(|l| l.split('-').next()).map(str::to_ascii_lowercase).collect()
}

/// The spot-check facts every XML format shares: title, kind, url, language, subjects,
/// standards and grades. Answers the resource for the format's own checks.
pub(crate) fn assert_spot_check_common<'a>(parsed: &'a ParsedCatalog, check: &Value) -> &'a Resource {
    let id = check["id"].as_str().expect("spot check id");
    let resource = find(parsed, id);
    assert_eq!(resource.title, check["title"].as_str().expect("title"), "{id}");
    assert_eq!(resource.kind.as_str(), check["kind"].as_str().expect("kind"), "{id}");
    assert_eq!(resource.url, check["url"].as_str().expect("url"), "{id}");
    if let Some(language) = check["language"].as_str() {
        assert_eq!(primary_languages(&resource.languages), primary_languages(&[language.to_string()]));
    }
    if check.get("subjects").is_some() {
        assert_eq!(resource.subjects, strings(&check["subjects"]), "{id}");
    }
    if check.get("alignment_codes").is_some() {
        let codes: Vec<String> = resource.alignments.iter().filter_map(|a| a.code.clone()).collect();
        let guids: Vec<String> = resource.alignments.iter().filter_map(|a| a.guid.clone()).collect();
        assert_eq!(codes, strings(&check["alignment_codes"]), "{id}");
        assert_eq!(guids, strings(&check["alignment_guids"]), "{id}");
    }
    if check.get("typical_age_range").is_some() {
        assert_eq!(resource.grades, expected_grades(check), "{id}");
    }
    resource
}
