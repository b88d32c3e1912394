//! The facts `tests/fixtures/expected.json` states about this repository's own fixtures
//! (catalogs as publishers write them: AMB, LRMI on CreativeWorks, JSON-LD in pages, CC 1.4,
//! LMS exports, repository OAI-PMH), checked against the parsers.

use std::io::Write;
use std::path::Path;

use serde_json::Value;

use super::{parse, Limits, ParsedCatalog};
use crate::resource::{CatalogFormat, Resource};

const OWN_FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/");

fn expected() -> Value {
    let text = std::fs::read_to_string(format!("{OWN_FIXTURES}expected.json")).expect("expected.json");
    serde_json::from_str(&text).expect("expected.json is JSON")
}

/// Zips a fixture folder the way a publisher uploads an export.
pub(crate) fn zip_folder(folder: &Path) -> Vec<u8> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let name = path.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/");
                out.push((name, std::fs::read(&path).unwrap()));
            }
        }
    }
    let mut files = Vec::new();
    walk(folder, folder, &mut files);
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in files {
        writer.start_file(name, options).unwrap();
        writer.write_all(&bytes).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

fn document(file: &str, facts: &Value) -> Vec<u8> {
    let path = Path::new(OWN_FIXTURES).join(file);
    if facts["zip_folder"].as_bool() == Some(true) {
        zip_folder(&path)
    } else {
        std::fs::read(&path).unwrap_or_else(|err| panic!("{file}: {err}"))
    }
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|items| items.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

fn check_resource(file: &str, resource: &Resource, checks: &Value) {
    let at = format!("{file} {}", resource.local_id);
    for (key, want) in checks.as_object().expect("checks are an object") {
        match key.as_str() {
            "title" => assert_eq!(resource.title, want.as_str().unwrap(), "{at}: title"),
            "url" => assert_eq!(resource.url, want.as_str().unwrap(), "{at}: url"),
            "kind" => assert_eq!(resource.kind.as_str(), want.as_str().unwrap(), "{at}: kind"),
            "description" => assert_eq!(resource.description.as_deref(), want.as_str(), "{at}: description"),
            "subjects" => assert_eq!(resource.subjects, strings(want), "{at}: subjects"),
            "subjects_raw" => assert_eq!(resource.subjects_raw, strings(want), "{at}: subjects_raw"),
            "resource_types" => assert_eq!(resource.resource_types, strings(want), "{at}: resource types"),
            "resource_types_raw" => assert_eq!(resource.resource_types_raw, strings(want), "{at}: raw types"),
            "languages" => assert_eq!(resource.languages, strings(want), "{at}: languages"),
            "keywords" => assert_eq!(resource.keywords, strings(want), "{at}: keywords"),
            "grades" => {
                let range = resource.grades.map(|g| vec![i64::from(g.min), i64::from(g.max)]);
                let wanted: Option<Vec<i64>> = want.as_array().map(|a| a.iter().filter_map(Value::as_i64).collect());
                assert_eq!(range, wanted, "{at}: grades");
            }
            "license" => assert_eq!(resource.license.as_deref(), want.as_str(), "{at}: license"),
            "license_raw" => assert_eq!(resource.license_raw.as_deref(), want.as_str(), "{at}: licence statement"),
            "free" => assert_eq!(resource.free, want.as_bool(), "{at}: free"),
            "teacher_only" => assert_eq!(resource.teacher_only, want.as_bool().unwrap(), "{at}: teacher only"),
            "thumbnail_url" => assert_eq!(resource.thumbnail_url.as_deref(), want.as_str(), "{at}: thumbnail"),
            "updated" => assert_eq!(
                resource.updated_at.map(|d| d.date_naive().to_string()).as_deref(),
                want.as_str(),
                "{at}: updated"
            ),
            "alignments" => {
                for wanted in want.as_array().unwrap() {
                    let code = wanted["code"].as_str();
                    let found = resource
                        .alignments
                        .iter()
                        .find(|a| a.code.as_deref() == code)
                        .unwrap_or_else(|| panic!("{at}: no standard {code:?} in {:?}", resource.alignments));
                    for (field, value) in wanted.as_object().unwrap() {
                        let actual = match field.as_str() {
                            "code" => found.code.as_deref(),
                            "framework" => found.framework.as_deref(),
                            "guid" => found.guid.as_deref(),
                            "uri" => found.uri.as_deref(),
                            "alignment_type" => found.alignment_type.as_deref(),
                            other => panic!("unknown alignment field {other}"),
                        };
                        assert_eq!(actual, value.as_str(), "{at}: standard {code:?} {field}");
                    }
                }
            }
            "line_item" => {
                let item = resource.lti.as_ref().and_then(|l| l.line_item.as_ref()).expect("a line item");
                assert_eq!(item.score_maximum, want["score_maximum"].as_f64().unwrap(), "{at}: points");
                assert_eq!(item.label.as_deref(), want["label"].as_str(), "{at}: label");
                assert_eq!(item.resource_id.as_deref(), want["resource_id"].as_str(), "{at}: resourceId");
                assert_eq!(item.tag.as_deref(), want["tag"].as_str(), "{at}: tag");
            }
            other => panic!("{at}: unknown check {other}"),
        }
    }
}

fn parse_fixture(file: &str, facts: &Value) -> ParsedCatalog {
    let format = CatalogFormat::parse(facts["format"].as_str().unwrap()).expect("a format");
    parse(format, &document(file, facts), &Limits::default()).unwrap_or_else(|err| panic!("{file}: {err}"))
}

#[test]
fn test_own_fixtures_match_their_expected_facts() {
    let all = expected();
    let files = all["files"].as_object().unwrap();
    assert!(files.len() >= 8);
    for (file, facts) in files {
        let parsed = parse_fixture(file, facts);
        let labels: Vec<String> =
            parsed.diagnostics.iter().map(|d| format!("{:?} {:?}: {}", d.severity, d.item, d.message)).collect();
        assert_eq!(parsed.resources.len() as u64, facts["resources"].as_u64().unwrap(), "{file}: {labels:#?}");
        assert_eq!(parsed.rejected as u64, facts["rejected"].as_u64().unwrap(), "{file}: {labels:#?}");
        if let Some(skipped) = facts["skipped"].as_u64() {
            assert_eq!(parsed.skipped as u64, skipped, "{file}");
        }
        if facts["status"] == "FAILED" {
            assert!(parsed.nothing_indexable(), "{file}");
        }
        for item in strings(&facts["rejected_items"]) {
            assert!(
                parsed.diagnostics.iter().any(|d| d.item.as_deref() == Some(item.as_str())),
                "{file}: {item} not named"
            );
        }
        if let Some(stored) = facts["stored_files"].as_u64() {
            assert_eq!(parsed.files.len() as u64, stored, "{file}: stored files");
        }
        for item in strings(&facts["named_only"]) {
            assert!(parsed.resources.iter().all(|r| r.local_id != item), "{file}: {item} is no resource");
            assert!(
                parsed.diagnostics.iter().any(|d| d.item.as_deref() == Some(item.as_str())),
                "{file}: {item} not named"
            );
        }
        for (id, checks) in facts["checks"].as_object().into_iter().flatten() {
            let resource = parsed.resources.iter().find(|r| &r.local_id == id).unwrap_or_else(|| {
                panic!(
                    "{file}: no resource {id} in {:?}",
                    parsed.resources.iter().map(|r| &r.local_id).collect::<Vec<_>>()
                )
            });
            check_resource(file, resource, checks);
        }
    }
}

#[test]
fn test_every_item_of_an_all_skipped_document_is_explained() {
    let facts = &expected()["files"]["lrmi/no-learning-resources.jsonld"];
    let parsed = parse_fixture("lrmi/no-learning-resources.jsonld", facts);
    let per_item: Vec<_> = parsed.diagnostics.iter().filter(|d| d.item.is_some()).collect();
    assert_eq!(per_item.len(), 3, "{:?}", parsed.diagnostics);
    assert!(per_item[1].message.contains("WebPage without LRMI properties"), "{}", per_item[1].message);
    assert!(parsed.diagnostics.iter().any(|d| d.item.is_none() && d.severity == super::Severity::Error));
}

#[test]
fn test_lms_export_manifest_alone_names_every_item() {
    let manifest = std::fs::read(format!("{OWN_FIXTURES}cartridge/lms-export/imsmanifest.xml")).unwrap();
    let parsed = parse(CatalogFormat::CommonCartridge, &manifest, &Limits::default()).unwrap();
    assert!(parsed.resources.is_empty());
    for id in
        ["g-welcome", "g-field-trip", "g-style", "g-diagram", "g-handout", "g-assignment", "g-assignment_fallback"]
    {
        assert!(
            parsed.diagnostics.iter().any(|d| d.item.as_deref() == Some(id)),
            "{id} not named: {:?}",
            parsed.diagnostics
        );
    }
}

#[test]
fn test_html_page_pushed_as_lrmi_and_as_sitemap_page() {
    let page = std::fs::read(format!("{OWN_FIXTURES}html/lesson-page.html")).unwrap();
    let as_lrmi = parse(CatalogFormat::Lrmi, &page, &Limits::default()).unwrap();
    let as_page = parse(CatalogFormat::Sitemap, &page, &Limits::default()).unwrap();
    assert_eq!(as_lrmi.resources, as_page.resources);
    let empty = std::fs::read(format!("{OWN_FIXTURES}html/page-without-json-ld.html")).unwrap();
    assert!(matches!(parse(CatalogFormat::Lrmi, &empty, &Limits::default()), Err(super::CatalogError::Structure(_))));
    let skipped = parse(CatalogFormat::Sitemap, &empty, &Limits::default()).unwrap();
    assert!(skipped.nothing_indexable());
    assert_eq!(skipped.diagnostics[0].item.as_deref(), Some("https://oer.example.org/imprint"));
}
