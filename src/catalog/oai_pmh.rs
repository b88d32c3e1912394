//! OAI-PMH 2.0 harvest responses (`ListRecords`, `GetRecord`) with `lom` (IEEE LOM,
//! `http://ltsc.ieee.org/xsd/LOM`) or `oai_dc` (simple Dublin Core) metadata.
//!
//! A repository error is a [`CatalogError::OaiError`] so that a harvest stops without treating
//! the empty answer as "everything was deleted"; `noRecordsMatch` is the one error that means
//! an empty, successful result. Deleted records are reported in [`ParsedCatalog::deleted`].

use chrono::{DateTime, NaiveDate, Utc};

use crate::resource::{Resource, ResourceKind};

use super::lom::{self, Lom, SubjectRule};
use super::text::{html_to_text, normalize_whitespace};
use super::vocab;
use super::xml::{self, Element};
use super::{CatalogError, Diagnostic, ParsedCatalog};

/// The OAI error code that only says "nothing to harvest".
const NO_RECORDS_MATCH: &str = "noRecordsMatch";

/// Parses one OAI-PMH response page.
pub fn parse(bytes: &[u8]) -> Result<ParsedCatalog, CatalogError> {
    parse_with_limits(bytes, &super::Limits::default())
}

/// [`parse`] with the caller's XML attribute cap.
pub fn parse_with_limits(bytes: &[u8], limits: &super::Limits) -> Result<ParsedCatalog, CatalogError> {
    let root = xml::parse_limited(bytes, limits.max_xml_attributes)?;
    if !root.is("OAI-PMH") {
        return Err(CatalogError::Structure(format!(
            "expected an OAI-PMH response (<OAI-PMH>), found <{}>",
            root.name
        )));
    }
    let mut out = ParsedCatalog::default();
    if let Some(outcome) = repository_error(&root, &mut out) {
        return outcome.map(|()| out);
    }
    let container = root.child("ListRecords").or_else(|| root.child("GetRecord")).ok_or_else(|| {
        CatalogError::Structure("the OAI-PMH response has neither <ListRecords> nor <GetRecord>".to_string())
    })?;
    for (position, record) in container.children("record").enumerate() {
        read_record(position, record, &mut out);
    }
    out.resumption_token = container.child_text("resumptionToken");
    Ok(out)
}

/// `Some(Err)` for a repository error, `Some(Ok)` for `noRecordsMatch` (an empty page),
/// `None` when the response carries no error.
fn repository_error(root: &Element, out: &mut ParsedCatalog) -> Option<Result<(), CatalogError>> {
    let errors: Vec<&Element> = root.children("error").collect();
    if errors.is_empty() {
        return None;
    }
    let code_of = |e: &Element| e.attr_trimmed("code").unwrap_or_default();
    if let Some(error) = errors.iter().find(|e| code_of(e) != NO_RECORDS_MATCH) {
        return Some(Err(CatalogError::OaiError {
            code: code_of(error),
            message: error.text_trimmed().map(|m| normalize_whitespace(&m)).unwrap_or_default(),
        }));
    }
    out.diagnostics.push(Diagnostic::info(None, "the repository has no records matching the request (noRecordsMatch)"));
    Some(Ok(()))
}

/// Adds one record to `out`: a resource, a deletion, or a rejection with its diagnostic.
fn read_record(position: usize, record: &Element, out: &mut ParsedCatalog) {
    let header = record.child("header");
    let Some(id) = header.and_then(|h| h.child_text("identifier")) else {
        out.diagnostics.push(Diagnostic::error(Some(format!("record[{position}]")), "record has no header identifier"));
        out.rejected += 1;
        return;
    };
    if header.and_then(|h| h.attr("status")).map(str::trim) == Some("deleted") {
        out.deleted.push(id);
        return;
    }
    let metadata = record.child("metadata").and_then(|m| m.elements().next());
    let built = match metadata {
        Some(lom) if lom.is("lom") => lom_resource(&id, lom),
        Some(dc) if dc.is("dc") => dc_resource(&id, dc),
        Some(other) => Err(format!("metadata format <{}> is not supported (lom and oai_dc are)", other.name)),
        None => Err("record has no metadata".to_string()),
    };
    match built {
        Ok(mut resource) => {
            resource.updated_at = header.and_then(|h| h.child_text("datestamp")).and_then(|d| parse_datestamp(&d));
            out.resources.push(resource);
        }
        Err(message) => {
            out.diagnostics.push(Diagnostic::error(Some(id), message));
            out.rejected += 1;
        }
    }
}

/// An OAI datestamp: `YYYY-MM-DDThh:mm:ssZ`, or a day (`YYYY-MM-DD`) taken as midnight UTC.
fn parse_datestamp(raw: &str) -> Option<DateTime<Utc>> {
    if let Ok(moment) = DateTime::parse_from_rfc3339(raw) {
        return Some(moment.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .ok()
        .and_then(|day| day.and_hms_opt(0, 0, 0))
        .map(|midnight| midnight.and_utc())
}

fn is_http_url(raw: &str) -> bool {
    url::Url::parse(raw).is_ok_and(|url| matches!(url.scheme(), "http" | "https"))
}

/// Title and URL are required; the message says which are missing.
fn require(title: Option<String>, url: Option<String>) -> Result<(String, String), String> {
    match (title, url) {
        (Some(title), Some(url)) => Ok((title, url)),
        (None, Some(_)) => Err("record has no title".to_string()),
        (Some(_), None) => Err("record has no http(s) URL".to_string()),
        (None, None) => Err("record has no title and no http(s) URL".to_string()),
    }
}

/// A LOM record. URL: the first http(s) `technical/location`, else a `general/identifier`
/// whose entry is an http(s) URL. Kind is always `LINK`: the location is a landing page even
/// when `technical/format` names the media it shows.
fn lom_resource(id: &str, element: &Element) -> Result<Resource, String> {
    let lom = Lom::read(element);
    let url = lom.locations.iter().find(|l| is_http_url(l)).cloned().or_else(|| {
        element
            .find_all(&["general", "identifier", "entry"])
            .into_iter()
            .filter_map(Element::text_trimmed)
            .find(|entry| is_http_url(entry))
    });
    let (title, url) = require(lom.title.clone(), url)?;
    let mut resource = Resource::new(id, title, url, ResourceKind::Link);
    resource.description = lom.description_text();
    resource.keywords = lom.keywords();
    resource.languages = lom.languages();
    let (types, raw_types) = lom.resource_types();
    resource.resource_types = types;
    resource.resource_types_raw = raw_types;
    resource.teacher_only = lom.teacher_only();
    resource.grades = lom.grades();
    resource.free = lom.free();
    let (license_raw, license) = lom.license();
    resource.license_raw = license_raw;
    resource.license = license;
    resource.subjects = lom.subjects(SubjectRule::FirstTaxon);
    resource.alignments = lom::dedupe(lom.alignments());
    Ok(resource)
}

/// A simple Dublin Core record: every `dc:subject` is a subject, the http(s) `dc:identifier`
/// is the URL, `dc:rights` the licence statement (an `info:eu-repo` access right says whether
/// it is free), `dc:type` the types (DCMI, COAR and `info:eu-repo` terms; versions such as
/// `info:eu-repo/semantics/publishedVersion` are kept raw only).
fn dc_resource(id: &str, dc: &Element) -> Result<Resource, String> {
    let values = |name: &str| -> Vec<String> {
        dc.children(name)
            .filter_map(Element::text_trimmed)
            .map(|v| normalize_whitespace(&v))
            .filter(|v| !v.is_empty())
            .collect()
    };
    let title = values("title").into_iter().next();
    let url = values("identifier").into_iter().find(|v| is_http_url(v));
    let (title, url) = require(title, url)?;
    let mut resource = Resource::new(id, title, url, ResourceKind::Link);
    let descriptions: Vec<String> = dc.children("description").filter_map(Element::text_trimmed).collect();
    resource.description = Some(html_to_text(&descriptions.join("\n"))).filter(|d| !d.is_empty());
    resource.subjects = lom::dedupe(values("subject"));
    resource.languages = lom::dedupe(values("language").iter().filter_map(|l| vocab::language(l)));
    let types = values("type");
    resource.resource_types = lom::dedupe(types.iter().filter_map(|t| vocab::resource_type(t)));
    resource.resource_types_raw = lom::dedupe(types);
    // DSpace and other repositories put access rights (`info:eu-repo/semantics/openAccess`)
    // beside the licence in `dc:rights`: those say whether the resource is free, not its licence.
    let mut statements = Vec::new();
    for rights in values("rights") {
        match super::concepts::eu_repo_term(&rights) {
            Some(super::concepts::EuRepoTerm::NotAType { free }) => resource.free = resource.free.or(free),
            _ => statements.push(rights),
        }
    }
    let licensed = statements.iter().find_map(|statement| vocab::license(statement).map(|l| (statement.clone(), l)));
    match licensed {
        Some((statement, license)) => {
            resource.license_raw = Some(statement);
            resource.license = Some(license);
        }
        None => resource.license_raw = statements.into_iter().next(),
    }
    Ok(resource)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::Value;

    use super::*;
    use crate::catalog::Severity;
    use crate::resource::GradeRange;

    use crate::catalog::fixtures::{
        assert_spot_check_common, expected, find, primary_languages, read as fixture, strings,
    };

    /// Every fact of an OAI_PMH entry in catalogs/expected.json.
    fn assert_file_facts(file: &str) -> ParsedCatalog {
        let facts = expected("catalogs", file);
        let parsed = parse(&fixture(&format!("catalogs/{file}"))).unwrap();
        assert_eq!(parsed.rejected, 0, "{:?}", parsed.diagnostics);
        assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
        assert_eq!(parsed.resources.len() as u64, facts["resources"].as_u64().unwrap());
        let ids: Vec<String> = parsed.resources.iter().map(|r| r.local_id.clone()).collect();
        assert_eq!(ids, strings(&facts["ids"]));
        assert_eq!(ids, strings(&facts["link_ids"]));
        assert!(parsed.resources.iter().all(|r| r.kind == ResourceKind::Link && r.lti.is_none()));
        assert_eq!(parsed.deleted, strings(&facts["deleted"]));
        let token = facts["resumption_token"].as_str().filter(|t| !t.is_empty());
        assert_eq!(parsed.resumption_token.as_deref(), token);
        let titles: Vec<&str> = parsed.resources.iter().map(|r| r.title.as_str()).collect();
        for title in strings(&facts["sample_titles"]) {
            assert!(titles.contains(&title.as_str()), "missing title {title}");
        }
        let subjects: BTreeSet<String> = parsed.resources.iter().flat_map(|r| r.subjects.clone()).collect();
        assert_eq!(subjects, strings(&facts["distinct_subjects"]).into_iter().collect());
        let languages = primary_languages(parsed.resources.iter().flat_map(|r| &r.languages));
        assert_eq!(languages, primary_languages(&strings(&facts["languages"])));
        assert!(parsed.resources.iter().all(|r| r.updated_at.is_some()));
        for check in facts["spot_checks"].as_array().unwrap() {
            assert_spot_check(&parsed, check);
        }
        parsed
    }

    fn assert_spot_check(parsed: &ParsedCatalog, check: &Value) {
        let resource = assert_spot_check_common(parsed, check);
        let id = &resource.local_id;
        if let Some(licence) = check["license_raw"].as_str() {
            assert_eq!(resource.license_raw.as_deref(), Some(licence), "{id}");
            assert_eq!(resource.license, vocab::license(licence), "{id}");
        }
        if let Some(cost) = check["cost"].as_str() {
            assert_eq!(resource.free, Some(cost == "no"), "{id}");
        }
        if check.get("dc_types").is_some() {
            assert_eq!(resource.resource_types_raw, strings(&check["dc_types"]), "{id}");
        }
    }

    #[test]
    fn test_dc_repository_terms() {
        let page = r#"<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><ListRecords><record>
            <header><identifier>oai:repo.example.org:123</identifier><datestamp>2025-02-01</datestamp></header>
            <metadata><oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" xmlns:dc="http://purl.org/dc/elements/1.1/">
              <dc:title>Lecture notes on optics</dc:title>
              <dc:identifier>https://repo.example.org/handle/123</dc:identifier>
              <dc:type>info:eu-repo/semantics/lecture</dc:type>
              <dc:type>info:eu-repo/semantics/publishedVersion</dc:type>
              <dc:type>http://purl.org/coar/resource_type/c_8544</dc:type>
              <dc:rights>info:eu-repo/semantics/openAccess</dc:rights>
              <dc:rights>Attribution-ShareAlike 4.0 International http://creativecommons.org/licenses/by-sa/4.0/</dc:rights>
            </oai_dc:dc></metadata></record></ListRecords></OAI-PMH>"#;
        let parsed = parse(page.as_bytes()).unwrap();
        let record = &parsed.resources[0];
        assert_eq!(record.resource_types, ["lecture"]);
        assert_eq!(record.resource_types_raw.len(), 3, "versions stay in the raw values");
        assert_eq!(record.free, Some(true));
        assert_eq!(record.license.as_deref(), Some("https://creativecommons.org/licenses/by-sa/4.0/"));
        assert!(record.license_raw.as_deref().unwrap().starts_with("Attribution-ShareAlike"));
    }

    #[test]
    fn test_histarchive_lom_page1_matches_expected_facts() {
        let parsed = assert_file_facts("histarchive-oai-lom-page1.xml");
        let first = &parsed.resources[0];
        assert_eq!(first.keywords, ["Dust Bowl", "Great Depression", "Oklahoma", "letters", "migration"]);
        assert_eq!(first.resource_types_raw, ["narrative text"]);
        assert_eq!(first.alignments[0].framework.as_deref(), Some("C3 Framework for Social Studies State Standards"));
        assert_eq!(first.updated_at.unwrap().to_rfc3339(), "2024-09-12T10:02:11+00:00");
        let two_locations = find(&parsed, "oai:histarchive.example.net:ha-1002");
        assert_eq!(two_locations.url, "https://collections.histarchive.example.net/items/ha-1002");
    }

    #[test]
    fn test_histarchive_lom_page2_matches_expected_facts() {
        let parsed = assert_file_facts("histarchive-oai-lom-page2.xml");
        let seminar = find(&parsed, "oai:histarchive.example.net:ha-1025");
        assert_eq!(seminar.grades, Some(GradeRange::single(GradeRange::HIGHER_EDUCATION)));
        assert_eq!(seminar.free, Some(false));
        let toolkit = find(&parsed, "oai:histarchive.example.net:ha-1029");
        assert!(toolkit.teacher_only);
        assert!(toolkit.description.as_ref().unwrap().len() > 3_500);
        assert_eq!(parsed.resources.iter().filter(|r| r.teacher_only).count(), 1);
    }

    #[test]
    fn test_histarchive_dc_matches_expected_facts() {
        let parsed = assert_file_facts("histarchive-oai-dc.xml");
        let first = &parsed.resources[0];
        assert_eq!(first.subjects, ["Education history", "Rural life", "Social Studies"]);
        assert_eq!(first.resource_types_raw, ["StillImage", "Image"]);
        assert_eq!(first.url, "https://collections.histarchive.example.net/items/ha-2001");
    }

    #[test]
    fn test_noise_escaped_html_multiline_title_and_first_string() {
        let parsed = parse(&fixture("catalogs/histarchive-oai-lom-page1.xml")).unwrap();
        let bill = find(&parsed, "oai:histarchive.example.net:ha-1007").description.clone().unwrap();
        assert!(bill.starts_with("Ten amendments, ten scenarios"), "{bill}");
        assert!(bill.contains("backpack & a jury trial"), "{bill}");
        assert!(!bill.contains('<') && !bill.contains("&amp;"), "{bill}");
        let journals = find(&parsed, "oai:histarchive.example.net:ha-1010");
        assert_eq!(journals.title, "Lewis and Clark Expedition Journals: Selected Entries");
        assert!(!journals.description.as_ref().unwrap().contains('\n'));
        let french = find(&parsed, "oai:histarchive.example.net:ha-1013");
        assert_eq!(french.title, "La Révolution française : documents d'archives");
        let page2 = parse(&fixture("catalogs/histarchive-oai-lom-page2.xml")).unwrap();
        let quotes = find(&page2, "oai:histarchive.example.net:ha-1018");
        let text = format!("{} {}", quotes.title, quotes.description.clone().unwrap_or_default());
        assert!(text.contains('\u{2014}') || text.contains('\u{201c}'), "{text}");
    }

    #[test]
    fn test_bad_oai_error_is_refused_with_code_and_message() {
        let facts = expected("bad", "oai-error-badResumptionToken.xml");
        let err = parse(&fixture("bad/oai-error-badResumptionToken.xml")).unwrap_err();
        assert_eq!(
            err,
            CatalogError::OaiError {
                code: facts["oai_error_code"].as_str().unwrap().to_string(),
                message: "The value of the resumptionToken argument is invalid or expired.".to_string(),
            }
        );
        assert_eq!(err.to_string(), facts["error_hint"].as_str().unwrap());
    }

    #[test]
    fn test_bad_latin1_and_empty() {
        let facts = expected("bad", "latin1-declared-utf8.xml");
        let err = parse(&fixture("bad/latin1-declared-utf8.xml")).unwrap_err();
        assert_eq!(
            err,
            CatalogError::Encoding {
                offset: facts["first_bad_byte_offset"].as_u64().unwrap() as usize,
                line: facts["first_bad_line"].as_u64().unwrap() as usize,
            }
        );
        assert_eq!(parse(&fixture("bad/empty.xml")).unwrap_err(), CatalogError::Empty);
    }

    const HEAD: &str = r#"<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">"#;

    #[test]
    fn test_no_records_match_is_an_empty_success() {
        let doc = format!("{HEAD}<error code=\"noRecordsMatch\">nothing</error></OAI-PMH>");
        let parsed = parse(doc.as_bytes()).unwrap();
        assert!(parsed.resources.is_empty() && parsed.deleted.is_empty());
        assert_eq!(parsed.diagnostics[0].severity, Severity::Info);
    }

    #[test]
    fn test_get_record_with_dc_and_day_datestamp() {
        let doc = format!(
            "{HEAD}<GetRecord><record><header><identifier>oai:x:1</identifier><datestamp>2024-05-01</datestamp></header>\
             <metadata><oai_dc:dc xmlns:oai_dc=\"http://www.openarchives.org/OAI/2.0/oai_dc/\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\">\
             <dc:title> A   title </dc:title><dc:identifier>x-1</dc:identifier><dc:identifier>https://x.example/1</dc:identifier>\
             <dc:description>&lt;b&gt;Bold&lt;/b&gt; text</dc:description><dc:language>fr</dc:language>\
             <dc:rights>https://creativecommons.org/licenses/by/4.0/</dc:rights></oai_dc:dc></metadata></record></GetRecord></OAI-PMH>"
        );
        let parsed = parse(doc.as_bytes()).unwrap();
        let record = &parsed.resources[0];
        assert_eq!(record.title, "A title");
        assert_eq!(record.url, "https://x.example/1");
        assert_eq!(record.description.as_deref(), Some("Bold text"));
        assert_eq!(record.updated_at.unwrap().to_rfc3339(), "2024-05-01T00:00:00+00:00");
        assert_eq!(record.license, vocab::license("https://creativecommons.org/licenses/by/4.0/"));
        assert_eq!(parsed.resumption_token, None);
    }

    #[test]
    fn test_records_without_url_title_or_known_metadata_are_rejected() {
        let record = |id: &str, metadata: &str| {
            format!("<record><header><identifier>{id}</identifier></header><metadata>{metadata}</metadata></record>")
        };
        let doc = format!(
            "{HEAD}<ListRecords>{}{}{}{}<record><header/></record>{}<resumptionToken>  </resumptionToken></ListRecords></OAI-PMH>",
            record("no-url", "<lom xmlns=\"http://ltsc.ieee.org/xsd/LOM\"><general><title><string>T</string></title></general><technical><location>ftp://x</location></technical></lom>"),
            record("no-title", "<lom xmlns=\"http://ltsc.ieee.org/xsd/LOM\"><technical><location>https://x.example</location></technical></lom>"),
            record("marc", "<marc:record xmlns:marc=\"urn:marc\"/>"),
            "<record><header><identifier>empty</identifier></header></record>",
            record(
                "id-url",
                "<lom xmlns=\"http://ltsc.ieee.org/xsd/LOM\"><general><identifier><catalog>URI</catalog><entry>https://x.example/id</entry></identifier>\
                 <title><string>Ok</string></title></general></lom>"
            ),
        );
        let parsed = parse(doc.as_bytes()).unwrap();
        assert_eq!(parsed.resources.len(), 1);
        assert_eq!(parsed.resources[0].url, "https://x.example/id");
        assert_eq!(parsed.rejected, 5);
        let items: Vec<_> = parsed.diagnostics.iter().map(|d| d.item.clone().unwrap()).collect();
        assert_eq!(items, ["no-url", "no-title", "marc", "empty", "record[4]"]);
        assert!(parsed.diagnostics.iter().all(|d| d.severity == Severity::Error));
        assert!(parsed.diagnostics[0].message.contains("URL"));
        assert!(parsed.diagnostics[1].message.contains("title"));
        assert_eq!(parsed.resumption_token, None, "a blank token ends the list");
    }

    #[test]
    fn test_not_oai_or_unknown_verb_is_structure_error() {
        assert!(matches!(parse(b"<rss/>"), Err(CatalogError::Structure(_))));
        let doc = format!("{HEAD}<ListIdentifiers/></OAI-PMH>");
        assert!(matches!(parse(doc.as_bytes()), Err(CatalogError::Structure(_))));
    }
}
