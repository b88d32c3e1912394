//! LTI Resource Search 1.0: the JSON body of `GET /ims/rs/v1p0/resources` (`{"resources": [...]}`).
//!
//! Each element of `resources` is one resource. Mapping (see the standards digest, §3):
//!
//! - **id**: `id`, an implementation extension (the RS 1.0 model has no identifier). When it is
//!   missing the resource is identified by its URL (the launch URL of an LTI link, else `url`),
//!   which is stable across harvests as long as the publisher does not move the resource.
//! - **kind**: `LTI_RESOURCE_LINK` when `ltiLink` has a launch URL (`secure_launch_url` wins over
//!   `launch_url`), even if the item also has a landing `url`; otherwise `LINK` to `url`.
//! - `subject` → subjects, `language` → languages, `learningResourceType` → types,
//!   `typicalAgeRange` → grades, `learningObjectives` (and the CC-style
//!   `ltiLink.metadata.curriculumStandardsMetadataSet`) → standards, `useRightsURL` → licence,
//!   `publishDate` → `updated_at`, `educationalAudience` of staff only → teacher-only, the Canvas
//!   `outcome` extension property → a gradebook line item.
//!
//! A document that is not an RS response is refused as a whole; an item that cannot be read
//! (a required field of the wrong type, no usable URL) is rejected alone, with an `Error`
//! diagnostic labelled `resources[<index>] (<id>)`. Unreadable optional fields are dropped with
//! a `Warning`, so one odd value does not hide an otherwise good resource.

use std::collections::BTreeMap;

use super::json::{self, ItemLog, Object, SeenIds, Value};
use super::text::{html_to_text, normalize_whitespace};
use super::{vocab, CatalogError, Diagnostic, ParsedCatalog};
use crate::resource::{Alignment, GradeRange, LineItem, LtiLink, Resource, ResourceKind};

/// The Canvas extension property whose value is the points possible of a gradable link.
const OUTCOME_PROPERTY: &str = "outcome";

/// Parses one RS `/resources` response (a `/subjects` response is accepted and yields nothing).
pub fn parse(bytes: &[u8]) -> Result<ParsedCatalog, CatalogError> {
    let document = json::parse_document(bytes)?;
    let Value::Object(root) = &document else {
        return Err(CatalogError::Structure(format!(
            "an RS response must be a JSON object with a 'resources' array, found {}",
            json::type_name(&document)
        )));
    };
    match root.get("resources") {
        Some(Value::Array(items)) => Ok(parse_resources(items)),
        Some(other) => {
            Err(CatalogError::Structure(format!("'resources' must be an array, found {}", json::type_name(other))))
        }
        None => parse_other_response(root),
    }
}

/// A body without `resources`: a `/subjects` list (fine, nothing to index), an `imsx_StatusInfo`
/// error, or something else entirely.
fn parse_other_response(root: &Object) -> Result<ParsedCatalog, CatalogError> {
    if let Some(subjects) = root.get("subjects") {
        let Value::Array(subjects) = subjects else {
            return Err(CatalogError::Structure(format!(
                "'subjects' must be an array, found {}",
                json::type_name(subjects)
            )));
        };
        let mut parsed = ParsedCatalog::default();
        parsed.diagnostics.push(Diagnostic::info(
            None,
            format!(
                "this is an RS /subjects response ({} subjects), not a list of resources: nothing to index",
                subjects.len()
            ),
        ));
        return Ok(parsed);
    }
    let status = root.get("imsx_StatusInfo").and_then(Value::as_object).unwrap_or(root);
    if let Some(code) = status.get("imsx_codeMajor").and_then(Value::as_str) {
        let description = status.get("imsx_description").and_then(Value::as_str).unwrap_or("no description");
        return Err(CatalogError::Structure(format!(
            "the RS server answered with status '{code}' instead of resources: {description}"
        )));
    }
    let keys: Vec<&str> = root.keys().take(5).collect();
    Err(CatalogError::Structure(format!(
        "not an RS /resources response: no 'resources' array (found {})",
        if keys.is_empty() { "an empty object".to_string() } else { format!("keys {}", keys.join(", ")) }
    )))
}

fn parse_resources(items: &[Value]) -> ParsedCatalog {
    let mut parsed = ParsedCatalog::default();
    let mut seen = SeenIds::default();
    for (index, item) in items.iter().enumerate() {
        let label = item_label(index, item);
        let mut log = ItemLog::new();
        let accepted =
            parse_item(item, &mut log).and_then(|resource| seen.claim(&resource.local_id, &label).map(|()| resource));
        super::json::record_item(&mut parsed, label, accepted, log);
    }
    parsed
}

/// `resources[1] (SL-9002)`: the position always, the id when there is a readable one.
fn item_label(index: usize, item: &Value) -> String {
    match json::field(item, "id").and_then(json::scalar_text) {
        Some(id) if !id.trim().is_empty() => format!("resources[{index}] ({})", id.trim()),
        _ => format!("resources[{index}]"),
    }
}

/// One resource, or the reason it cannot be accepted.
fn parse_item(item: &Value, log: &mut ItemLog) -> Result<Resource, String> {
    let Value::Object(object) = item else {
        return Err(format!("a resource must be an object, found {}", json::type_name(item)));
    };
    let explicit_id = read_id(object)?;
    let name = json::string_field(object, "name")?.map(normalize_whitespace);
    let lti = match object.get("ltiLink") {
        None | Some(Value::Null) => None,
        Some(Value::Object(link)) => Some(read_lti_link(link, log)?),
        Some(other) => return Err(format!("ltiLink must be an object, found {}", json::type_name(other))),
    };
    // The landing page only matters when there is no launch URL to link to.
    let launchable = lti.as_ref().is_some_and(|link| link.link.is_some());
    let landing_url = match read_url(object, "url") {
        Ok(url) => url,
        Err(message) if launchable => {
            log.warn(format!("{message}; ignored"));
            None
        }
        Err(message) => return Err(message),
    };

    let title = name
        .filter(|title| !title.is_empty())
        .or_else(|| lti.as_ref().and_then(|link| link.title.clone()))
        .ok_or("name is missing")?;
    let (kind, url, lti_link) = choose_target(lti.as_ref(), landing_url, log)?;
    let local_id = match explicit_id {
        Some(id) => id,
        None => {
            log.info("no 'id': the resource is identified by its URL");
            url.clone()
        }
    };

    let mut resource = Resource::new(local_id, title, url, kind);
    resource.lti = lti_link;
    if let Some(link) = resource.lti.as_mut() {
        if let Some(line_item) = link.line_item.as_mut() {
            line_item.label = Some(resource.title.clone());
        }
    }
    let lti_description = lti.as_ref().and_then(|link| link.description.clone());
    fill_description(&mut resource, object, lti_description, log);
    fill_classification(&mut resource, object, log);
    let standards = lti.map(|link| link.standards).unwrap_or_default();
    fill_objectives(&mut resource, object, standards, log);
    fill_rights_and_dates(&mut resource, object, log);
    resource.accessibility = json::accessibility(object, log);
    Ok(resource)
}

/// `id` as a string or an integer (some servers number their resources).
fn read_id(object: &Object) -> Result<Option<String>, String> {
    match object.get("id") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Str(id)) => Ok(Some(id.trim().to_string()).filter(|id| !id.is_empty())),
        Some(Value::Number(number)) if number.is_u64() || number.is_i64() => Ok(Some(number.to_string())),
        Some(other) => Err(format!("id must be a string, found {}", json::type_name(other))),
    }
}

/// A URL field that must be an absolute http(s) URL when present.
fn read_url(object: &Object, key: &str) -> Result<Option<String>, String> {
    match json::string_field(object, key)? {
        None => Ok(None),
        Some(url) if json::is_http_url(url) => Ok(Some(url.to_string())),
        Some(url) => Err(format!("{key} '{url}' is not an absolute http(s) URL")),
    }
}

/// What an `ltiLink` yields before the kind is decided.
struct LtiParts {
    title: Option<String>,
    description: Option<String>,
    /// `None` when the link has no usable launch URL.
    link: Option<LtiLink>,
    standards: Vec<Alignment>,
}

fn read_lti_link(object: &Object, log: &mut ItemLog) -> Result<LtiParts, String> {
    let title = json::string_field(object, "title")?.map(normalize_whitespace);
    let description = log
        .lenient(json::string_field(object, "description").map(|d| d.map(html_to_text)))
        .filter(|text| !text.is_empty());
    let launch_url = read_launch_url(object, log)?;
    let standards = object
        .get("metadata")
        .and_then(|metadata| json::field(metadata, "curriculumStandardsMetadataSet"))
        .map(read_standards_metadata)
        .unwrap_or_default();
    let link = launch_url.map(|launch_url| {
        let extensions = object.get("extensions").map(|value| read_extensions(value, log)).unwrap_or_default();
        let line_item = line_item_from(&extensions, log);
        let vendor = object.get("vendor").and_then(Value::as_object);
        let vendor_text =
            |key: &str| vendor.and_then(|v| json::string_field(v, key).ok().flatten()).map(str::to_string);
        LtiLink {
            launch_url,
            custom: object.get("custom").map(|value| read_properties(value, "custom", log)).unwrap_or_default(),
            extensions,
            icon_url: read_icon(object, log),
            vendor_code: vendor_text("code"),
            vendor_name: vendor_text("name"),
            line_item,
        }
    });
    Ok(LtiParts { title, description, link, standards })
}

/// `secure_launch_url` when usable, else `launch_url`. A present but unusable value is worth a
/// warning; a value of the wrong type rejects the item.
fn read_launch_url(object: &Object, log: &mut ItemLog) -> Result<Option<String>, String> {
    let mut chosen = None;
    for key in ["secure_launch_url", "launch_url"] {
        let Some(url) = json::string_field(object, key)? else {
            continue;
        };
        if !json::is_http_url(url) {
            log.warn(format!("ltiLink.{key} '{url}' is not an absolute http(s) URL; ignored"));
        } else if chosen.is_none() {
            chosen = Some(url.to_string());
        }
    }
    Ok(chosen)
}

/// The kind, the URL and the LTI link of the resource.
fn choose_target(
    lti: Option<&LtiParts>,
    landing_url: Option<String>,
    log: &mut ItemLog,
) -> Result<(ResourceKind, String, Option<LtiLink>), String> {
    match (lti, landing_url) {
        (Some(LtiParts { link: Some(link), .. }), _) => {
            Ok((ResourceKind::LtiResourceLink, link.launch_url.clone(), Some(link.clone())))
        }
        (Some(_), Some(url)) => {
            log.warn("ltiLink has no launch_url or secure_launch_url: indexed as a plain link to 'url'");
            Ok((ResourceKind::Link, url, None))
        }
        (Some(_), None) => Err("ltiLink has no launch_url or secure_launch_url, and there is no url".to_string()),
        (None, Some(url)) => Ok((ResourceKind::Link, url, None)),
        (None, None) => Err("has neither a url nor an ltiLink".to_string()),
    }
}

/// `secure_icon`, else `icon`.
fn read_icon(object: &Object, log: &mut ItemLog) -> Option<String> {
    ["secure_icon", "icon"].into_iter().find_map(|key| {
        let url = log.lenient(json::string_field(object, key))?;
        if json::is_http_url(url) {
            Some(url.to_string())
        } else {
            log.warn(format!("ltiLink.{key} '{url}' is not an absolute http(s) URL; ignored"));
            None
        }
    })
}

/// Name/value pairs in any of the shapes feeds use: `{"properties": [{name, value}]}`, a bare
/// array of `{name, value}`, or a plain `{name: value}` map.
fn read_properties(value: &Value, field: &str, log: &mut ItemLog) -> BTreeMap<String, String> {
    let mut properties = BTreeMap::new();
    let list = match value {
        Value::Object(map) => map.get("properties").unwrap_or(value),
        other => other,
    };
    match list {
        // A `{name: value}` map (an object that is not itself one `{name, value}` pair).
        Value::Object(map) if !map.contains_key("name") => {
            for (name, item) in map.iter() {
                add_property(&mut properties, name, item, field, log);
            }
        }
        _ => {
            for entry in json::one_or_many(list) {
                match (json::field(entry, "name").and_then(Value::as_str), json::field(entry, "value")) {
                    (Some(name), Some(item)) => add_property(&mut properties, name, item, field, log),
                    _ => log.warn(format!("{field} property without a name and a value; ignored")),
                }
            }
        }
    }
    properties
}

/// Adds one property whose value is a scalar (numbers and booleans printed).
fn add_property(properties: &mut BTreeMap<String, String>, name: &str, value: &Value, field: &str, log: &mut ItemLog) {
    match json::scalar_text(value) {
        Some(text) if !name.trim().is_empty() => {
            properties.insert(name.trim().to_string(), text);
        }
        _ => log.warn(format!("{field} property '{name}' has no text value; ignored")),
    }
}

/// `extensions`: `{platform, properties}`, an array of those, or a `{platform: properties}` map.
fn read_extensions(value: &Value, log: &mut ItemLog) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut extensions: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for entry in json::one_or_many(value) {
        let Value::Object(map) = entry else {
            log.warn(format!("ltiLink.extensions entry must be an object, found {}; ignored", json::type_name(entry)));
            continue;
        };
        if map.contains_key("properties") || map.contains_key("platform") {
            let platform = map.get("platform").and_then(Value::as_str).unwrap_or("").trim().to_string();
            let properties =
                map.get("properties").map(|list| read_properties(list, "ltiLink.extensions", log)).unwrap_or_default();
            extensions.entry(platform).or_default().extend(properties);
        } else {
            for (platform, properties) in map.iter() {
                let properties = read_properties(properties, "ltiLink.extensions", log);
                extensions.entry(platform.trim().to_string()).or_default().extend(properties);
            }
        }
    }
    extensions
}

/// The Canvas `outcome` property (points possible) of any platform makes the link gradable.
fn line_item_from(extensions: &BTreeMap<String, BTreeMap<String, String>>, log: &mut ItemLog) -> Option<LineItem> {
    let raw = extensions.values().find_map(|properties| properties.get(OUTCOME_PROPERTY))?;
    match raw.trim().parse::<f64>() {
        Ok(points) if points.is_finite() && points > 0.0 => {
            Some(LineItem { score_maximum: points, ..LineItem::default() })
        }
        _ => {
            log.warn(format!("extension property outcome '{raw}' is not a positive number of points; ignored"));
            None
        }
    }
}

/// CC `csm` standards mirrored in JSON: `curriculumStandardsMetadata[].setOfGUIDs[].labelledGUID[]`
/// with `label` (the code) and `GUID`. Every level may be one object or an array.
fn read_standards_metadata(set: &Value) -> Vec<Alignment> {
    let mut standards = Vec::new();
    let metadata_list = json::field(set, "curriculumStandardsMetadata").unwrap_or(set);
    for metadata in json::one_or_many(metadata_list) {
        for guid_set in json::one_or_many(json::field(metadata, "setOfGUIDs").unwrap_or(&Value::Null)) {
            for labelled in json::one_or_many(json::field(guid_set, "labelledGUID").unwrap_or(&Value::Null)) {
                let text = |key: &str| {
                    json::field(labelled, key).and_then(Value::as_str).map(str::trim).filter(|t| !t.is_empty())
                };
                let Some(guid) = text("GUID") else {
                    continue;
                };
                let alignment = Alignment {
                    guid: Some(guid.to_ascii_lowercase()),
                    code: text("label").map(str::to_string),
                    ..Alignment::default()
                };
                json::merge_alignment(&mut standards, alignment);
            }
        }
    }
    standards
}

fn fill_description(resource: &mut Resource, object: &Object, fallback: Option<String>, log: &mut ItemLog) {
    let own = log.lenient(json::string_field(object, "description")).map(html_to_text);
    resource.description = own.filter(|text| !text.is_empty()).or(fallback);
}

/// Subjects, keywords, languages, types, grades from the age range and the audience.
fn fill_classification(resource: &mut Resource, object: &Object, log: &mut ItemLog) {
    for subject in log.lenient(json::strings_field(object, "subject")) {
        json::push_unique(&mut resource.subjects, normalize_whitespace(subject));
    }
    for keyword in log.lenient(json::strings_field(object, "keywords")) {
        for part in json::split_keywords(keyword) {
            json::push_keyword(&mut resource.keywords, part);
        }
    }
    for raw in log.lenient(json::strings_field(object, "language")) {
        match vocab::language(raw) {
            Some(tag) => json::push_unique(&mut resource.languages, tag),
            None => log.warn(format!("language '{raw}' is not a language tag; ignored")),
        }
    }
    for raw in log.lenient(json::strings_field(object, "learningResourceType")) {
        json::push_unique(&mut resource.resource_types_raw, raw.to_string());
        if let Some(normalised) = vocab::resource_type(raw) {
            json::push_unique(&mut resource.resource_types, normalised);
        }
    }
    if let Some(range) = log.lenient(json::string_field(object, "typicalAgeRange")) {
        resource.grades = vocab::grades_from_age_range(range);
        if resource.grades.is_none() {
            log.warn(format!("typicalAgeRange '{range}' is not an age range; ignored"));
        }
    }
    let audience = log.lenient(json::strings_field(object, "educationalAudience"));
    resource.teacher_only = json::is_teacher_only(audience);
}

/// `learningObjectives` → standards (merged with the link's csm standards), subjects and grades.
fn fill_objectives(resource: &mut Resource, object: &Object, lti_standards: Vec<Alignment>, log: &mut ItemLog) {
    let mut level_grades: Option<GradeRange> = None;
    let objectives = object.get("learningObjectives").unwrap_or(&Value::Null);
    if !matches!(objectives, Value::Array(_) | Value::Object(_) | Value::Null) {
        log.warn(format!("learningObjectives must be an array, found {}; ignored", json::type_name(objectives)));
    }
    for (index, objective) in json::one_or_many(objectives).iter().enumerate() {
        let Value::Object(objective) = objective else {
            log.warn(format!("learningObjectives[{index}] must be an object; ignored"));
            continue;
        };
        match read_objective(objective) {
            Objective::Standard(alignment) => json::merge_alignment(&mut resource.alignments, *alignment),
            Objective::Subject(subject) => json::push_unique(&mut resource.subjects, subject),
            Objective::Level(label) => match vocab::grades_from_level(&label) {
                Some(range) => level_grades = Some(level_grades.map_or(range, |known| known.union(range))),
                None => log.warn(format!("education level '{label}' is not a known level; ignored")),
            },
            Objective::NotAStandard => {}
            Objective::Empty => log.warn(format!("learningObjectives[{index}] names no standard; ignored")),
        }
    }
    for alignment in lti_standards {
        json::merge_alignment(&mut resource.alignments, alignment);
    }
    // A stated education level is more precise than an age range (which straddles grades).
    if level_grades.is_some() {
        resource.grades = level_grades;
    }
}

/// What one `learningObjectives` entry means for the index.
enum Objective {
    Standard(Box<Alignment>),
    Subject(String),
    Level(String),
    /// Text complexity and reading levels describe the text, not a standard.
    NotAStandard,
    Empty,
}

fn read_objective(objective: &Object) -> Objective {
    let text = |key: &str| json::string_field(objective, key).ok().flatten().map(normalize_whitespace);
    let alignment_type = text("alignmentType");
    let target_name = text("targetName");
    match alignment_type.as_deref().map(str::to_ascii_lowercase).as_deref() {
        Some("educationalsubject") => return target_name.map_or(Objective::Empty, Objective::Subject),
        Some("educationlevel" | "educationallevel") => return target_name.map_or(Objective::Empty, Objective::Level),
        Some("textcomplexity" | "readinglevel") => return Objective::NotAStandard,
        _ => {}
    }
    let uri = text("caseItemUri").or_else(|| text("targetURL")).or_else(|| text("targetUrl"));
    let guid = text("caseItemGUID")
        .map(|guid| guid.to_ascii_lowercase())
        .or_else(|| uri.as_deref().and_then(json::guid_from_uri));
    if guid.is_none() && uri.is_none() && target_name.is_none() {
        return Objective::Empty;
    }
    Objective::Standard(Box::new(Alignment {
        framework: text("educationalFramework"),
        code: target_name,
        guid,
        uri,
        alignment_type,
        description: text("targetDescription"),
    }))
}

/// Licence, thumbnail and publication date.
fn fill_rights_and_dates(resource: &mut Resource, object: &Object, log: &mut ItemLog) {
    let rights = log
        .lenient(json::string_field(object, "useRightsURL"))
        .or_else(|| log.lenient(json::string_field(object, "useRightsUrl")));
    if let Some(rights) = rights {
        resource.license_raw = Some(rights.to_string());
        resource.license = vocab::license_url(rights);
    }
    if let Some(thumbnail) = log.lenient(json::string_field(object, "thumbnailUrl")) {
        if json::is_http_url(thumbnail) {
            resource.thumbnail_url = Some(thumbnail.to_string());
        } else {
            log.warn(format!("thumbnailUrl '{thumbnail}' is not an absolute http(s) URL; ignored"));
        }
    }
    if let Some(date) = log.lenient(json::string_field(object, "publishDate")) {
        resource.updated_at = json::parse_date(date);
        if resource.updated_at.is_none() {
            log.warn(format!("publishDate '{date}' is not a date; ignored"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::fixtures::{self, assert_common_facts, expected_bad, expected_catalog, find};
    use crate::catalog::Severity;

    const PAGE_1: &str = "sciencelab-resource-search.json";
    const PAGE_2: &str = "sciencelab-resource-search-page2.json";

    fn parse_fixture(relative: &str) -> Result<ParsedCatalog, CatalogError> {
        parse(&fixtures::read(relative))
    }

    fn parse_catalog(file: &str) -> ParsedCatalog {
        parse_fixture(&format!("catalogs/{file}")).unwrap_or_else(|error| panic!("{file}: {error}"))
    }

    fn parse_inline(json: &str) -> ParsedCatalog {
        parse(json.as_bytes()).unwrap_or_else(|error| panic!("{error}"))
    }

    fn errors(parsed: &ParsedCatalog) -> Vec<String> {
        parsed
            .diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .map(|d| format!("{}: {}", d.item.clone().unwrap_or_default(), d.message))
            .collect()
    }

    #[test]
    fn test_page_1_matches_expected_facts() {
        let parsed = parse_catalog(PAGE_1);
        assert_common_facts(PAGE_1, &parsed, &expected_catalog(PAGE_1));
        assert!(errors(&parsed).is_empty(), "{:?}", errors(&parsed));
    }

    #[test]
    fn test_page_2_matches_expected_facts() {
        let parsed = parse_catalog(PAGE_2);
        assert_common_facts(PAGE_2, &parsed, &expected_catalog(PAGE_2));
        assert!(errors(&parsed).is_empty(), "{:?}", errors(&parsed));
    }

    #[test]
    fn test_spot_check_grades_follow_typical_age_range() {
        for file in [PAGE_1, PAGE_2] {
            let parsed = parse_catalog(file);
            for check in expected_catalog(file)["spot_checks"].as_array().into_iter().flatten() {
                let id = check["id"].as_str().unwrap_or_default();
                let ages = check["typical_age_range"].as_str().unwrap_or_default();
                let resource = find(&parsed, id);
                assert_eq!(resource.grades, vocab::grades_from_age_range(ages), "{id}");
            }
        }
        let parsed = parse_catalog(PAGE_1);
        assert_eq!(find(&parsed, "SL-1001").grades, Some(GradeRange::new(6, 9)));
        assert_eq!(find(&parsed, "SL-1021").grades, Some(GradeRange::new(3, 4)));
    }

    #[test]
    fn test_education_level_objective_gives_grades_not_a_standard() {
        let parsed = parse_catalog(PAGE_2);
        let enzyme = find(&parsed, "SL-1036");
        assert_eq!(enzyme.grades, Some(GradeRange::single(GradeRange::HIGHER_EDUCATION)));
        assert!(enzyme.alignments.is_empty(), "{:?}", enzyme.alignments);
    }

    #[test]
    fn test_both_url_and_lti_link_are_lti_links_launching_securely() {
        for file in [PAGE_1, PAGE_2] {
            let parsed = parse_catalog(file);
            let expected = expected_catalog(file);
            for id in fixtures::strings(&expected["both_url_and_lti_link_ids"]) {
                let resource = find(&parsed, &id);
                assert_eq!(resource.kind, ResourceKind::LtiResourceLink, "{id}");
                let lti = resource.lti.as_ref().expect("lti link");
                assert_eq!(lti.launch_url, resource.url);
            }
            for resource in &parsed.resources {
                assert!(resource.url.starts_with("https://"), "{}: {}", resource.local_id, resource.url);
                assert_eq!(resource.lti.is_some(), resource.kind == ResourceKind::LtiResourceLink);
            }
        }
    }

    #[test]
    fn test_lti_link_details() {
        let parsed = parse_catalog(PAGE_1);
        let lab = find(&parsed, "SL-1001");
        let lti = lab.lti.as_ref().expect("lti");
        assert_eq!(lti.launch_url, "https://lti.sciencelab.example.com/lti/launch/photosynthesis-virtual-lab");
        assert_eq!(lti.custom.get("lab_id").map(String::as_str), Some("photosynthesis-virtual-lab"));
        assert_eq!(lti.custom.get("sl_resource_id").map(String::as_str), Some("SL-1001"));
        assert_eq!(
            lti.extensions.get("canvas.instructure.com").and_then(|p| p.get("privacy_level")).map(String::as_str),
            Some("public")
        );
        assert_eq!(lti.icon_url.as_deref(), Some("https://cdn.sciencelab.example.com/icons/flask-64.png"));
        assert_eq!(lti.vendor_code.as_deref(), Some("sciencelab.example.com"));
        assert_eq!(lti.vendor_name.as_deref(), Some("ScienceLab Interactive"));
        assert_eq!(lti.line_item, None);
        // The csm mirror repeats the learningObjectives standard: listed once, with its URI.
        assert_eq!(lab.alignments.len(), 1);
        assert_eq!(
            lab.alignments[0].uri.as_deref(),
            Some("https://case.example.org/ims/case/v1p0/CFItems/8f47df01-0608-525a-87d1-3c315b6cc83f")
        );
        assert_eq!(lab.alignments[0].framework.as_deref(), Some("Next Generation Science Standards"));
        assert_eq!(lab.alignments[0].alignment_type.as_deref(), Some("teaches"));
    }

    #[test]
    fn test_canvas_outcome_makes_line_items() {
        let expected = [("SL-1004", PAGE_1, 30.0), ("SL-1014", PAGE_1, 25.0), ("SL-1034", PAGE_2, 12.0)];
        for (id, file, points) in expected {
            let parsed = parse_catalog(file);
            let resource = find(&parsed, id);
            let line_item = resource.lti.as_ref().and_then(|l| l.line_item.clone()).expect(id);
            assert_eq!(line_item.score_maximum, points, "{id}");
            assert_eq!(line_item.label.as_deref(), Some(resource.title.as_str()));
        }
        for file in [PAGE_1, PAGE_2] {
            let gradable = parse_catalog(file)
                .resources
                .iter()
                .filter(|r| r.lti.as_ref().is_some_and(|l| l.line_item.is_some()))
                .count();
            assert_eq!(gradable, if file == PAGE_1 { 2 } else { 1 });
        }
    }

    #[test]
    fn test_noise_descriptions_licences_types_and_dates() {
        let parsed = parse_catalog(PAGE_1);
        let html = find(&parsed, "SL-1012");
        let description = html.description.as_deref().expect("description");
        assert!(!description.contains('<') && !description.contains("&amp;"), "{description}");
        assert!(description.contains(" & "), "{description}");

        let lab = find(&parsed, "SL-1001");
        assert_eq!(lab.license_raw.as_deref(), Some("https://www.sciencelab.example.com/legal/subscription-terms"));
        assert_eq!(lab.license.as_deref(), Some("https://www.sciencelab.example.com/legal/subscription-terms"));
        assert_eq!(lab.resource_types, vec!["simulation", "experiment"]);
        assert_eq!(lab.resource_types_raw, vec!["Interactive/Simulation", "Activity/Experiment"]);
        assert_eq!(lab.thumbnail_url.as_deref(), Some("https://cdn.sciencelab.example.com/thumbs/sl-1001.jpg"));
        assert_eq!(lab.updated_at.map(|d| d.to_rfc3339()).as_deref(), Some("2023-08-21T00:00:00+00:00"));
        assert!(!lab.teacher_only);
        assert_eq!(lab.free, None);

        let open = parsed.resources.iter().filter(|r| r.license.as_deref().is_some_and(vocab::license_is_open));
        assert!(open.count() > 0);

        let page_2 = parse_catalog(PAGE_2);
        assert_eq!(find(&page_2, "SL-1031").title, "Rock Cycle Animation");
        assert!(find(&page_2, "SL-1027").teacher_only);
        assert!(find(&page_2, "SL-1046").teacher_only);
    }

    #[test]
    fn test_subjects_document_yields_nothing_with_info() {
        let parsed = parse_catalog("sciencelab-subjects.json");
        assert!(parsed.resources.is_empty());
        assert_eq!(parsed.rejected, 0);
        assert_eq!(parsed.diagnostics.len(), 1);
        assert_eq!(parsed.diagnostics[0].severity, Severity::Info);
        assert!(parsed.diagnostics[0].message.contains("subjects"), "{}", parsed.diagnostics[0].message);
        assert!(parsed.diagnostics[0].message.contains("14"));
        assert_eq!(expected_catalog("sciencelab-subjects.json")["subjects"], 14);
    }

    #[test]
    fn test_bad_wrong_types_rejects_only_that_item() {
        let file = "rs-wrong-types.json";
        let expected = expected_bad(file);
        let parsed = parse_fixture(&format!("bad/{file}")).expect("partial");
        let ids: Vec<String> = parsed.resources.iter().map(|r| r.local_id.clone()).collect();
        assert_eq!(ids, fixtures::strings(&expected["accepted_ids"]));
        assert_eq!(Some(parsed.rejected as u64), expected["rejected"].as_u64());
        assert_eq!(errors(&parsed), vec!["resources[1] (SL-9002): name must be a string, found a number"]);
        assert_eq!(expected["error_hint"], "resources[1] (SL-9002): name must be a string, found a number");
        let moon = find(&parsed, "SL-9003");
        assert_eq!(moon.kind, ResourceKind::LtiResourceLink);
        assert_eq!(moon.url, "https://lti.sciencelab.example.com/lti/launch/moon-phases");
    }

    #[test]
    fn test_bad_resources_not_array_is_refused() {
        let error = parse_fixture("bad/rs-resources-not-array.json").expect_err("refused");
        assert_eq!(error, CatalogError::Structure("'resources' must be an array, found an object".into()));
        assert_eq!(expected_bad("rs-resources-not-array.json")["error_hint"], error.to_string());
    }

    #[test]
    fn test_bad_empty_document() {
        assert_eq!(parse_fixture("bad/empty.json").err(), Some(CatalogError::Empty));
    }

    #[test]
    fn test_syntax_error_has_position() {
        match parse(b"{\"resources\": [\n  {\"id\": \"A\",}\n]}") {
            Err(CatalogError::Json { line, .. }) => assert_eq!(line, 2),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn test_documents_that_are_not_rs_responses() {
        let not_object = parse(b"[1, 2]").expect_err("array");
        assert!(not_object.to_string().contains("found an array"), "{not_object}");
        let status = parse(br#"{"imsx_codeMajor": "failure", "imsx_description": "bad filter"}"#).expect_err("status");
        assert!(status.to_string().contains("failure") && status.to_string().contains("bad filter"));
        let other = parse(br#"{"items": []}"#).expect_err("other");
        assert!(other.to_string().contains("items"), "{other}");
        let null = parse(br#"{"resources": null}"#).expect_err("null");
        assert_eq!(null.to_string(), "'resources' must be an array, found null");
        let empty = parse_inline(r#"{"resources": []}"#);
        assert!(empty.resources.is_empty() && empty.diagnostics.is_empty());
    }

    #[test]
    fn test_accessibility_in_resource_search_spellings() {
        let parsed = parse_inline(
            r#"{"resources": [{"id": "r1", "name": "R", "url": "https://example.com/r",
                "accessibilityFeatures": ["longDescription"], "accessibilityHazards": ["flashing"],
                "accessibilityInputMethods": ["fullKeyboardControl"], "accessMode": ["auditory"],
                "accessibilityAPI": ["ARIAv1"]}]}"#,
        );
        let a11y = &parsed.resources[0].accessibility;
        assert_eq!(a11y.features, vec!["longDescription"]);
        assert_eq!(a11y.hazards, vec!["flashing"]);
        assert_eq!(a11y.controls, vec!["fullKeyboardControl"]);
        assert_eq!((a11y.access_modes.len(), a11y.apis.len()), (1, 1));
    }

    #[test]
    fn test_lti_link_without_launch_url() {
        let parsed = parse_inline(
            r#"{"resources": [
                {"id": "A", "name": "No launch", "ltiLink": {"title": "x", "vendor": {"code": "v", "name": "V"}}},
                {"id": "B", "name": "Landing only", "url": "https://example.com/b",
                 "ltiLink": {"title": "x", "launch_url": "not a url"}}
            ]}"#,
        );
        assert_eq!(parsed.rejected, 1);
        assert_eq!(
            errors(&parsed),
            vec!["resources[0] (A): ltiLink has no launch_url or secure_launch_url, and there is no url"]
        );
        let landing = find(&parsed, "B");
        assert_eq!(landing.kind, ResourceKind::Link);
        assert_eq!(landing.url, "https://example.com/b");
        assert!(parsed.diagnostics.iter().any(|d| d.severity == Severity::Warning));
    }

    #[test]
    fn test_lenient_shapes() {
        let parsed = parse_inline(
            r#"{"resources": [{
                "id": 7, "name": "  Shapes\n", "subject": "Physics", "language": "EN_us",
                "learningResourceType": "Media/Video", "keywords": "waves, sound ,",
                "description": "<p>Waves &amp; sound</p>",
                "ltiLink": {
                    "title": "t", "launch_url": "https://example.com/launch", "icon": "https://example.com/i.png",
                    "custom": {"a": "1", "b": 2},
                    "extensions": [{"platform": "canvas.instructure.com",
                                    "properties": {"outcome": "10", "privacy_level": "public"}}]
                },
                "learningObjectives": {"alignmentType": "assesses", "targetName": "X.1",
                                       "caseItemUri": "https://case.example.org/CFItems/AAAAAAAA-BBBB-1CCC-8DDD-EEEEEEEEEEEE"},
                "useRightsUrl": "CC BY-SA 4.0", "educationalAudience": "teacher", "publishDate": "2024-01-02T03:04:05Z"
            }]}"#,
        );
        assert!(errors(&parsed).is_empty(), "{:?}", errors(&parsed));
        let resource = find(&parsed, "7");
        assert_eq!(resource.title, "Shapes");
        assert_eq!(resource.subjects, vec!["Physics"]);
        assert_eq!(resource.languages, vec!["en-US"]);
        assert_eq!(resource.resource_types, vec!["video"]);
        assert_eq!(resource.keywords, vec!["waves", "sound"]);
        assert_eq!(resource.description.as_deref(), Some("Waves & sound"));
        let lti = resource.lti.as_ref().expect("lti");
        assert_eq!(lti.custom.get("b").map(String::as_str), Some("2"));
        assert_eq!(lti.icon_url.as_deref(), Some("https://example.com/i.png"));
        assert_eq!(lti.line_item.as_ref().map(|l| l.score_maximum), Some(10.0));
        assert_eq!(resource.alignments[0].guid.as_deref(), Some("aaaaaaaa-bbbb-1ccc-8ddd-eeeeeeeeeeee"));
        assert_eq!(resource.license.as_deref(), Some("https://creativecommons.org/licenses/by-sa/4.0/"));
        assert!(resource.teacher_only);
        assert!(resource.updated_at.is_some());
    }

    #[test]
    fn test_optional_field_of_wrong_type_is_dropped_with_warning() {
        let parsed = parse_inline(
            r#"{"resources": [{"id": "A", "name": "A", "url": "https://example.com/a",
                "subject": 5, "language": ["en", "klingon"], "typicalAgeRange": "old", "ltiLink": null}]}"#,
        );
        assert_eq!(parsed.resources.len(), 1);
        let resource = &parsed.resources[0];
        assert!(resource.subjects.is_empty());
        assert_eq!(resource.languages, vec!["en"]);
        assert_eq!(resource.grades, None);
        let warnings: Vec<&str> =
            parsed.diagnostics.iter().filter(|d| d.severity == Severity::Warning).map(|d| d.message.as_str()).collect();
        assert_eq!(warnings.len(), 3, "{warnings:?}");
        assert!(warnings[0].contains("subject must be a string or an array of strings, found a number"));
    }

    #[test]
    fn test_item_rejections() {
        let parsed = parse_inline(
            r#"{"resources": [
                "not an object",
                {"id": "A", "url": "https://example.com/a"},
                {"id": "B", "name": "B", "url": "javascript:alert(1)"},
                {"id": "C", "name": "C"},
                {"id": {"x": 1}, "name": "D", "url": "https://example.com/d"},
                {"id": "E", "name": "E", "url": "https://example.com/e"},
                {"id": "E", "name": "E again", "url": "https://example.com/e2"},
                {"name": "No id", "url": "https://example.com/f"},
                {"id": "G", "name": "G", "url": "not a url", "ltiLink": {"title": "G", "secure_launch_url": "https://example.com/g"}}
            ]}"#,
        );
        assert_eq!(
            errors(&parsed),
            vec![
                "resources[0]: a resource must be an object, found a string",
                "resources[1] (A): name is missing",
                "resources[2] (B): url 'javascript:alert(1)' is not an absolute http(s) URL",
                "resources[3] (C): has neither a url nor an ltiLink",
                "resources[4]: id must be a string, found an object",
                "resources[6] (E): duplicate id 'E': already used by resources[5] (E)",
            ]
        );
        assert_eq!(parsed.rejected, 6);
        let ids: Vec<&str> = parsed.resources.iter().map(|r| r.local_id.as_str()).collect();
        assert_eq!(ids, vec!["E", "https://example.com/f", "G"]);
    }
}
