//! LRMI / schema.org `LearningResource` in JSON-LD: one object, a plain array of objects, or an
//! object with `@graph`.
//!
//! A resource is a node whose `@type` (a string or an array; bare, `schema:`-prefixed or a full
//! `http(s)://schema.org/` IRI) contains `LearningResource`. Other nodes (the publisher's
//! `Organization`, `Person`s) are not resources and are only counted in an `Info` diagnostic.
//! The document is read as plain JSON, not expanded as JSON-LD: feeds use the schema.org
//! context, and expanding remote contexts would mean network access inside a pure parser.
//!
//! Mapping:
//!
//! - **id**: `@id` (blank node ids such as `_:b0` are not stable and are ignored), else
//!   `identifier` (a string, a number or a `PropertyValue`), else the `url`.
//! - **grades**: `educationalLevel` (labels, ASN URIs, `DefinedTerm`s) when it names a level,
//!   else `typicalAgeRange`: a stated level is more precise than an age range, which straddles
//!   grades ("8-9" is grades 3-4 while the resource says "Grade 3").
//! - **subjects**: `educationalAlignment`s of type `educationalSubject`; **standards**: the other
//!   alignments (`teaches`, `assesses`, `requires`; GUID = the UUID ending `targetUrl`) and the
//!   `teaches` / `assesses` / `competencyRequired` `DefinedTerm`s. Reading level and text
//!   complexity alignments are not standards. `about` topics become keywords, not subjects.
//! - **free**: `isAccessibleForFree` only when it is a JSON boolean. A string such as `"true"`
//!   is not a schema.org Boolean and leaves `free` unknown (with a warning to the publisher), so
//!   a free-only search never shows a resource the publisher did not clearly declare free.
//! - **teacher-only**: an `audience` whose `educationalRole`s name staff and no learner.

use super::json::{self, ItemLog, Object, SeenIds, Value};
use super::text::{html_to_text, normalize_whitespace};
use super::{vocab, CatalogError, Diagnostic, ParsedCatalog};
use crate::resource::{Alignment, GradeRange, Resource, ResourceKind};

/// The schema.org type that makes a node a resource.
const LEARNING_RESOURCE: &str = "LearningResource";

/// Parses one LRMI JSON-LD document.
pub fn parse(bytes: &[u8]) -> Result<ParsedCatalog, CatalogError> {
    let document = json::parse_document(bytes)?;
    let nodes = collect_nodes(&document)?;
    Ok(parse_nodes(&nodes))
}

/// A node and where it sits in the document, for diagnostics.
struct Node<'a> {
    path: String,
    value: &'a Value<'a>,
}

/// The candidate nodes: the elements of `@graph`, of a top-level array (each of which may carry
/// its own `@graph`), or the single top-level object.
fn collect_nodes<'a>(document: &'a Value<'a>) -> Result<Vec<Node<'a>>, CatalogError> {
    let mut nodes = Vec::new();
    match document {
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                push_with_graph(&mut nodes, format!("[{index}]"), item);
            }
        }
        Value::Object(_) => push_with_graph(&mut nodes, String::new(), document),
        other => {
            return Err(CatalogError::Structure(format!(
                "an LRMI document must be a JSON-LD object or an array of objects, found {}",
                json::type_name(other)
            )))
        }
    }
    Ok(nodes)
}

fn push_with_graph<'a>(nodes: &mut Vec<Node<'a>>, path: String, value: &'a Value<'a>) {
    let Some(graph) = json::field(value, "@graph") else {
        nodes.push(Node { path, value });
        return;
    };
    for (index, item) in json::one_or_many(graph).iter().enumerate() {
        nodes.push(Node { path: format!("{path}@graph[{index}]"), value: item });
    }
    // A container that is itself typed as a resource counts too.
    if node_types(value).iter().any(|t| t == LEARNING_RESOURCE) {
        nodes.push(Node { path, value });
    }
}

fn parse_nodes(nodes: &[Node<'_>]) -> ParsedCatalog {
    let mut parsed = ParsedCatalog::default();
    let mut seen = SeenIds::default();
    let mut skipped: Vec<String> = Vec::new();
    for node in nodes {
        let types = node_types(node.value);
        if !types.iter().any(|t| t == LEARNING_RESOURCE) {
            skipped.push(if types.is_empty() { "untyped".to_string() } else { types.join("/") });
            continue;
        }
        let label = node_label(node);
        let mut log = ItemLog::new();
        let accepted = parse_resource(node.value, &mut log)
            .and_then(|resource| seen.claim(&resource.local_id, &label).map(|()| resource));
        super::json::record_item(&mut parsed, label, accepted, log);
    }
    if !skipped.is_empty() {
        parsed.diagnostics.push(Diagnostic::info(
            None,
            format!("skipped {} node(s) that are not LearningResources ({})", skipped.len(), skipped.join(", ")),
        ));
    }
    parsed
}

/// The node's schema.org type names without prefix (`schema:Book`, `https://schema.org/Book` →
/// `Book`).
fn node_types(value: &Value) -> Vec<String> {
    let Some(types) = json::field(value, "@type").or_else(|| json::field(value, "type")) else {
        return Vec::new();
    };
    json::one_or_many(types)
        .iter()
        .filter_map(Value::as_str)
        .map(|raw| {
            let trimmed = raw.trim();
            let name = ["http://schema.org/", "https://schema.org/", "schema:", "sdo:"]
                .iter()
                .find_map(|prefix| trimmed.strip_prefix(prefix))
                .unwrap_or(trimmed);
            name.to_string()
        })
        .collect()
}

/// `@graph[1] (OR-B-002)`: the position, and the node's id or identifier when it has one. A
/// single-object document is labelled by its id alone.
fn node_label(node: &Node<'_>) -> String {
    let id = node.value.as_object().and_then(|object| own_id(object).or_else(|| identifier(object)));
    match (node.path.is_empty(), id) {
        (true, Some(id)) => id,
        (true, None) => "document".to_string(),
        (false, Some(id)) => format!("{} ({id})", node.path),
        (false, None) => node.path.clone(),
    }
}

/// `@id` (or `id`, which compacted feeds such as OERSI's AMB use), unless it is a blank node
/// (`_:b0`), whose name changes from one export to the next.
fn own_id(object: &Object) -> Option<String> {
    let id = object.get("@id").or_else(|| object.get("id")).and_then(Value::as_str)?.trim();
    (!id.is_empty() && !id.starts_with("_:")).then(|| id.to_string())
}

/// `identifier`: a string, a number, a `PropertyValue` (`value`), or an array of those (the first).
fn identifier(object: &Object) -> Option<String> {
    let value = object.get("identifier")?;
    json::one_or_many(value).iter().find_map(|item| {
        let text = match item {
            Value::Object(property) => property.get("value").and_then(json::scalar_text),
            scalar => json::scalar_text(scalar),
        }?;
        let trimmed = text.trim();
        (!trimmed.is_empty()).then(|| trimmed.to_string())
    })
}

/// One resource, or the reason it cannot be accepted.
fn parse_resource(value: &Value, log: &mut ItemLog) -> Result<Resource, String> {
    let Value::Object(object) = value else {
        return Err(format!("a resource must be an object, found {}", json::type_name(value)));
    };
    let name = text_value(object, "name")?.map(|name| normalize_whitespace(&name)).filter(|n| !n.is_empty());
    let url = resource_url(object)?;
    let (title, url) = match (name, url) {
        (Some(title), Some(url)) => (title, url),
        (None, None) => return Err("missing name and url: a resource needs both".to_string()),
        (None, Some(_)) => return Err("missing name".to_string()),
        (Some(_), None) => return Err("missing url".to_string()),
    };
    let local_id = own_id(object).or_else(|| identifier(object)).unwrap_or_else(|| {
        log.info("no @id or identifier: the resource is identified by its url");
        url.clone()
    });

    let mut resource = Resource::new(local_id, title, url, ResourceKind::Link);
    resource.description =
        log.lenient(text_value(object, "description")).map(|text| html_to_text(&text)).filter(|text| !text.is_empty());
    fill_keywords(&mut resource, object, log);
    fill_languages(&mut resource, object, log);
    fill_types(&mut resource, object);
    fill_alignments(&mut resource, object, log);
    fill_grades(&mut resource, object, log);
    fill_rights(&mut resource, object, log);
    fill_media_and_dates(&mut resource, object, log);
    resource.accessibility = json::accessibility(object, log);
    resource.teacher_only = json::is_teacher_only(audience_roles(object).iter().map(String::as_str));
    Ok(resource)
}

/// A text property: a string, a `{"@value": ...}` literal, or an array of those (the first).
/// Other types are an error naming the property.
fn text_value(object: &Object, key: &str) -> Result<Option<String>, String> {
    let Some(value) = object.get(key) else {
        return Ok(None);
    };
    for item in json::one_or_many(value) {
        match item {
            Value::Str(text) if !text.trim().is_empty() => return Ok(Some(text.to_string())),
            Value::Str(_) | Value::Null => {}
            Value::Object(literal) => {
                if let Some(text) = literal.get("@value").and_then(Value::as_str) {
                    return Ok(Some(text.to_string()));
                }
                return Err(format!("{key} must be a string, found an object"));
            }
            other => return Err(format!("{key} must be a string, found {}", json::type_name(other))),
        }
    }
    Ok(None)
}

/// A reference: a string, an `{"@id"}` / `{"url"}` object, or an array of those (the first).
fn reference(value: &Value) -> Option<String> {
    json::one_or_many(value).iter().find_map(|item| {
        let text = match item {
            Value::Str(text) => Some(text.as_ref()),
            Value::Object(object) => {
                ["@id", "url", "contentUrl"].iter().find_map(|key| object.get(key).and_then(Value::as_str))
            }
            _ => None,
        }?;
        let trimmed = text.trim();
        (!trimmed.is_empty()).then(|| trimmed.to_string())
    })
}

/// `url`, else `mainEntityOfPage`, else an http(s) `@id`; must be an absolute http(s) URL.
fn resource_url(object: &Object) -> Result<Option<String>, String> {
    if let Some(url) = object.get("url").and_then(reference) {
        return if json::is_http_url(&url) {
            Ok(Some(url))
        } else {
            Err(format!("url '{url}' is not an absolute http(s) URL"))
        };
    }
    let fallback = object
        .get("mainEntityOfPage")
        .and_then(reference)
        .into_iter()
        .chain(own_id(object))
        .find(|candidate| json::is_http_url(candidate));
    Ok(fallback)
}

/// `keywords` (a comma-separated string or an array) and the names of `about` topics.
fn fill_keywords(resource: &mut Resource, object: &Object, log: &mut ItemLog) {
    for item in object.get("keywords").map(json::one_or_many).unwrap_or_default() {
        match item {
            Value::Str(text) => {
                for keyword in json::split_keywords(text) {
                    json::push_keyword(&mut resource.keywords, keyword);
                }
            }
            Value::Object(term) => {
                if let Some(name) = term.get("name").and_then(Value::as_str) {
                    json::push_keyword(&mut resource.keywords, normalize_whitespace(name));
                }
            }
            other => log.warn(format!("keywords must be strings, found {}; ignored", json::type_name(other))),
        }
    }
    for topic in object.get("about").map(json::one_or_many).unwrap_or_default() {
        let name = match topic {
            Value::Str(text) => Some(text.as_ref()),
            Value::Object(thing) => thing.get("name").and_then(Value::as_str),
            _ => None,
        };
        if let Some(name) = name {
            json::push_keyword(&mut resource.keywords, normalize_whitespace(name));
        }
    }
}

/// `inLanguage`: tags, names, or `Language` objects (`alternateName` is the code).
fn fill_languages(resource: &mut Resource, object: &Object, log: &mut ItemLog) {
    for item in object.get("inLanguage").map(json::one_or_many).unwrap_or_default() {
        let candidates: Vec<&str> = match item {
            Value::Str(text) => vec![text.as_ref()],
            Value::Object(language) => ["alternateName", "name", "@id"]
                .iter()
                .filter_map(|key| language.get(key).and_then(Value::as_str))
                .collect(),
            _ => Vec::new(),
        };
        match candidates.iter().find_map(|candidate| vocab::language(candidate)) {
            Some(tag) => json::push_unique(&mut resource.languages, tag),
            None => log.warn(format!("inLanguage {item} names no language; ignored")),
        }
    }
}

/// `learningResourceType`: free text, LRMI vocabulary URIs, `DefinedTerm`s, or arrays of them.
fn fill_types(resource: &mut Resource, object: &Object) {
    for item in object.get("learningResourceType").map(json::one_or_many).unwrap_or_default() {
        let raw = match item {
            Value::Str(text) => Some(text.trim()),
            Value::Object(term) => {
                ["name", "termCode", "@id"].iter().find_map(|key| term.get(key).and_then(Value::as_str)).map(str::trim)
            }
            _ => None,
        };
        let Some(raw) = raw.filter(|raw| !raw.is_empty()) else {
            continue;
        };
        json::push_unique(&mut resource.resource_types_raw, raw.to_string());
        if let Some(normalised) = vocab::resource_type(raw) {
            json::push_unique(&mut resource.resource_types, normalised);
        }
    }
}

/// `educationalAlignment` (subjects, standards, old-style education levels) and the direct
/// `teaches` / `assesses` / `competencyRequired` properties (standards).
fn fill_alignments(resource: &mut Resource, object: &Object, log: &mut ItemLog) {
    let alignments = object.get("educationalAlignment").map(json::one_or_many).unwrap_or_default();
    for (index, alignment) in alignments.iter().enumerate() {
        let Value::Object(alignment) = alignment else {
            log.warn(format!("educationalAlignment[{index}] must be an object; ignored"));
            continue;
        };
        read_alignment_object(resource, alignment, index, log);
    }
    for (property, alignment_type) in
        [("teaches", "teaches"), ("assesses", "assesses"), ("competencyRequired", "requires")]
    {
        for term in object.get(property).map(json::one_or_many).unwrap_or_default() {
            match defined_term_alignment(term, alignment_type) {
                Some(alignment) => json::merge_alignment(&mut resource.alignments, alignment),
                None => log.warn(format!("{property} names no standard; ignored")),
            }
        }
    }
}

fn read_alignment_object(resource: &mut Resource, alignment: &Object, index: usize, log: &mut ItemLog) {
    let text = |key: &str| alignment.get(key).and_then(name_of).map(|t| normalize_whitespace(&t));
    let raw_type = text("alignmentType");
    // Alignment types may be sent as LRMI vocabulary URIs (`.../alignmentType/teaches`).
    let kind = raw_type.as_deref().map(|t| t.rsplit('/').next().unwrap_or(t).to_ascii_lowercase()).unwrap_or_default();
    let target_name = text("targetName");
    match kind.as_str() {
        "educationalsubject" => {
            match target_name {
                Some(subject) => json::push_unique(&mut resource.subjects, subject),
                None => log.warn(format!("educationalAlignment[{index}] subject has no targetName; ignored")),
            }
            return;
        }
        "readinglevel" | "textcomplexity" => return,
        "educationlevel" | "educationallevel" => {
            // Handled with educationalLevel in `fill_grades`.
            return;
        }
        _ => {}
    }
    let uri = alignment.get("targetUrl").or_else(|| alignment.get("targetURL")).and_then(reference);
    let guid = uri.as_deref().and_then(json::guid_from_uri);
    if uri.is_none() && target_name.is_none() {
        log.warn(format!("educationalAlignment[{index}] has no targetName or targetUrl; ignored"));
        return;
    }
    let standard = Alignment {
        framework: text("educationalFramework"),
        code: target_name,
        guid,
        uri,
        alignment_type: raw_type.map(|t| t.rsplit('/').next().unwrap_or(&t).to_string()),
        description: text("targetDescription"),
    };
    json::merge_alignment(&mut resource.alignments, standard);
}

/// A standard given as a `DefinedTerm` (`termCode`, `url` or `@id`, `inDefinedTermSet`, `name`)
/// or as a bare URL string.
fn defined_term_alignment(term: &Value, alignment_type: &str) -> Option<Alignment> {
    let alignment = match term {
        Value::Str(text) if json::is_http_url(text.trim()) => Alignment {
            guid: json::guid_from_uri(text.trim()),
            uri: Some(text.trim().to_string()),
            ..Alignment::default()
        },
        Value::Str(text) => Alignment {
            description: Some(normalize_whitespace(text)).filter(|t| !t.is_empty()),
            ..Alignment::default()
        },
        Value::Object(object) => {
            let uri = ["url", "@id"].iter().find_map(|key| object.get(key).and_then(reference));
            Alignment {
                framework: object.get("inDefinedTermSet").and_then(name_of),
                code: object.get("termCode").and_then(name_of),
                guid: uri.as_deref().and_then(json::guid_from_uri),
                uri,
                alignment_type: None,
                description: object.get("name").and_then(name_of),
            }
        }
        _ => return None,
    };
    let names_something = alignment.guid.is_some()
        || alignment.uri.is_some()
        || alignment.code.is_some()
        || alignment.description.is_some();
    names_something.then(|| Alignment { alignment_type: Some(alignment_type.to_string()), ..alignment })
}

/// A name: a string, or an object's `name` (else its `@id`).
fn name_of(value: &Value) -> Option<String> {
    let text = match value {
        Value::Str(text) => Some(text.as_ref()),
        Value::Object(object) => {
            ["name", "@value", "@id"].iter().find_map(|key| object.get(key).and_then(Value::as_str))
        }
        _ => None,
    }?;
    let trimmed = text.trim();
    (!trimmed.is_empty()).then(|| trimmed.to_string())
}

/// `educationalLevel` (and old-style `educationLevel` alignments) when they name a level, else
/// `typicalAgeRange`.
fn fill_grades(resource: &mut Resource, object: &Object, log: &mut ItemLog) {
    let mut levels: Option<GradeRange> = None;
    let mut add = |range: GradeRange| levels = Some(levels.map_or(range, |known| known.union(range)));
    for level in object.get("educationalLevel").map(json::one_or_many).unwrap_or_default() {
        match level_grades(level) {
            Some(range) => add(range),
            None => log.warn(format!("educationalLevel {level} is not a known level; ignored")),
        }
    }
    for alignment in object.get("educationalAlignment").map(json::one_or_many).unwrap_or_default() {
        let is_level = json::field(alignment, "alignmentType")
            .and_then(Value::as_str)
            .map(|t| t.rsplit('/').next().unwrap_or(t).to_ascii_lowercase())
            .is_some_and(|t| t == "educationlevel" || t == "educationallevel");
        if let Some(range) = is_level.then(|| json::field(alignment, "targetName").and_then(level_grades)).flatten() {
            add(range);
        }
    }
    if levels.is_some() {
        resource.grades = levels;
        return;
    }
    for range in object.get("typicalAgeRange").map(json::one_or_many).unwrap_or_default() {
        let Some(text) = range.as_str() else {
            continue;
        };
        match vocab::grades_from_age_range(text) {
            Some(grades) => resource.grades = Some(resource.grades.map_or(grades, |known| known.union(grades))),
            None => log.warn(format!("typicalAgeRange '{text}' is not an age range; ignored")),
        }
    }
}

/// One level: a label or URI, or a `DefinedTerm` whose name, code or id names a level.
fn level_grades(level: &Value) -> Option<GradeRange> {
    match level {
        Value::Str(text) => vocab::grades_from_level(text),
        Value::Object(term) => ["name", "termCode", "@id", "url", "alternateName"]
            .iter()
            .filter_map(|key| term.get(key).and_then(Value::as_str))
            .find_map(vocab::grades_from_level),
        _ => None,
    }
}

/// `license` and `isAccessibleForFree`.
fn fill_rights(resource: &mut Resource, object: &Object, log: &mut ItemLog) {
    if let Some(license) = object.get("license").and_then(reference) {
        resource.license = vocab::license(&license);
        resource.license_raw = Some(license);
    }
    match object.get("isAccessibleForFree") {
        None | Some(Value::Null) => {}
        Some(Value::Bool(free)) => resource.free = Some(*free),
        Some(other) => log.warn(format!(
            "isAccessibleForFree must be a boolean (true or false), found {} {other}; treated as unknown",
            json::type_name(other)
        )),
    }
}

/// Thumbnail (`thumbnailUrl`, else `image`) and `dateModified` (else `datePublished`).
fn fill_media_and_dates(resource: &mut Resource, object: &Object, log: &mut ItemLog) {
    let thumbnail = ["thumbnailUrl", "image"].iter().find_map(|key| object.get(key).and_then(reference));
    if let Some(thumbnail) = thumbnail {
        if json::is_http_url(&thumbnail) {
            resource.thumbnail_url = Some(thumbnail);
        } else {
            log.warn(format!("thumbnail '{thumbnail}' is not an absolute http(s) URL; ignored"));
        }
    }
    let date = ["dateModified", "datePublished"].iter().find_map(|key| object.get(key).and_then(Value::as_str));
    if let Some(date) = date {
        resource.updated_at = json::parse_date(date);
        if resource.updated_at.is_none() {
            log.warn(format!("date '{date}' is not a date; ignored"));
        }
    }
}

/// Every `audience[].educationalRole` (strings or LRMI role URIs).
fn audience_roles(object: &Object) -> Vec<String> {
    let mut roles = Vec::new();
    for audience in object.get("audience").map(json::one_or_many).unwrap_or_default() {
        let role_values = match audience {
            Value::Object(audience) => audience.get("educationalRole").map(json::one_or_many).unwrap_or_default(),
            Value::Str(_) => std::slice::from_ref(audience),
            _ => &[],
        };
        roles.extend(role_values.iter().filter_map(name_of));
    }
    roles
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::fixtures::{self, assert_common_facts, expected_bad, expected_catalog, find};
    use crate::catalog::Severity;

    const GRAPH: &str = "openreaders-lrmi.jsonld";
    const ARRAY: &str = "openreaders-lrmi-array.json";
    const SINGLE: &str = "openreaders-single.jsonld";
    const RESOURCES: &str = "https://openreaders.example.org/resources/";

    fn parse_catalog(file: &str) -> ParsedCatalog {
        parse(&fixtures::read(&format!("catalogs/{file}"))).unwrap_or_else(|error| panic!("{file}: {error}"))
    }

    fn parse_inline(json: &str) -> ParsedCatalog {
        parse(json.as_bytes()).unwrap_or_else(|error| panic!("{error}"))
    }

    fn messages(parsed: &ParsedCatalog, severity: Severity) -> Vec<String> {
        parsed
            .diagnostics
            .iter()
            .filter(|d| d.severity == severity)
            .map(|d| format!("{}: {}", d.item.clone().unwrap_or_default(), d.message))
            .collect()
    }

    #[test]
    fn test_graph_matches_expected_facts() {
        let parsed = parse_catalog(GRAPH);
        assert_common_facts(GRAPH, &parsed, &expected_catalog(GRAPH));
        assert!(messages(&parsed, Severity::Error).is_empty());
    }

    #[test]
    fn test_array_matches_expected_facts() {
        let parsed = parse_catalog(ARRAY);
        assert_common_facts(ARRAY, &parsed, &expected_catalog(ARRAY));
        assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
    }

    #[test]
    fn test_single_matches_expected_facts() {
        let parsed = parse_catalog(SINGLE);
        assert_common_facts(SINGLE, &parsed, &expected_catalog(SINGLE));
        assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
        let alignment = &parsed.resources[0].alignments[0];
        assert_eq!(alignment.alignment_type.as_deref(), Some("assesses"));
        assert_eq!(alignment.framework.as_deref(), Some("Common Core State Standards for Mathematics"));
        assert_eq!(
            alignment.uri.as_deref(),
            Some("https://case.example.org/ims/case/v1p0/CFItems/f64fdf0c-e17a-5d51-9ff0-52665af3ecd5")
        );
    }

    #[test]
    fn test_graph_skips_non_resource_nodes_with_info() {
        let parsed = parse_catalog(GRAPH);
        let expected = expected_catalog(GRAPH);
        assert_eq!(expected["graph_nodes"], 52);
        let ids: Vec<&str> = parsed.resources.iter().map(|r| r.local_id.as_str()).collect();
        for skipped in fixtures::strings(&expected["non_resource_nodes"]) {
            assert!(!ids.contains(&skipped.as_str()), "{skipped}");
        }
        let infos = messages(&parsed, Severity::Info);
        assert_eq!(infos, vec![": skipped 2 node(s) that are not LearningResources (Organization, Person)"]);
    }

    #[test]
    fn test_grade_examples() {
        let parsed = parse_catalog(GRAPH);
        let examples = expected_catalog(GRAPH)["grade_examples"].clone();
        let examples = examples.as_object().expect("grade examples");
        assert_eq!(examples.len(), 8);
        for (id, example) in examples {
            let min = example["gradeMin"].as_i64().and_then(|n| i8::try_from(n).ok()).expect("min");
            let max = example["gradeMax"].as_i64().and_then(|n| i8::try_from(n).ok()).expect("max");
            assert_eq!(find(&parsed, id).grades, Some(GradeRange::new(min, max)), "{id}");
        }
    }

    #[test]
    fn test_spot_check_grades() {
        let parsed = parse_catalog(GRAPH);
        for check in expected_catalog(GRAPH)["spot_checks"].as_array().into_iter().flatten() {
            let id = check["id"].as_str().unwrap_or_default();
            let grades = find(&parsed, id).grades;
            match &check["educationalLevel_raw"] {
                serde_json::Value::String(level) => assert_eq!(grades, vocab::grades_from_level(level), "{id}"),
                _ => assert_eq!(grades, Some(GradeRange::single(GradeRange::HIGHER_EDUCATION)), "{id}"),
            }
        }
        // The level wins over the age range: "Grade 3" with ages 8-9 is grade 3, not 3..4.
        assert_eq!(find(&parsed, &format!("{RESOURCES}pizza-party-fair-shares")).grades, Some(GradeRange::single(3)));
        let array = parse_catalog(ARRAY);
        assert_eq!(find(&array, "OR-A-004").grades, Some(GradeRange::single(4)));
    }

    #[test]
    fn test_free_flags() {
        let parsed = parse_catalog(GRAPH);
        let not_free = fixtures::strings(&expected_catalog(GRAPH)["not_free_or_unknown_ids"]);
        assert_eq!(not_free.len(), 2);
        for resource in &parsed.resources {
            let expected = if not_free.contains(&resource.local_id) { None } else { Some(true) };
            assert_eq!(resource.free, expected, "{}", resource.local_id);
        }
        let warnings = messages(&parsed, Severity::Warning);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].contains("persuasive-writing-school-garden") && warnings[0].contains("isAccessibleForFree")
        );
    }

    #[test]
    fn test_licences() {
        let parsed = parse_catalog(GRAPH);
        for resource in &parsed.resources {
            let Some(raw) = resource.license_raw.as_deref() else {
                continue;
            };
            let canonical = resource.license.as_deref().expect("every raw licence is a CC URL");
            assert!(canonical.starts_with("https://creativecommons.org/") && canonical.ends_with('/'), "{raw}");
            assert!(vocab::license_is_open(canonical));
        }
        let raw_http = parsed
            .resources
            .iter()
            .filter(|r| r.license_raw.as_deref() == Some("http://creativecommons.org/licenses/by/4.0"))
            .collect::<Vec<_>>();
        assert_eq!(raw_http.len(), 2);
        for resource in raw_http {
            assert_eq!(resource.license.as_deref(), Some("https://creativecommons.org/licenses/by/4.0/"));
        }
        let with_license = parsed.resources.iter().filter(|r| r.license.is_some()).count();
        assert_eq!(with_license, 50);
    }

    #[test]
    fn test_noise_and_shapes() {
        let parsed = parse_catalog(GRAPH);
        let get = |slug: &str| find(&parsed, &format!("{RESOURCES}{slug}"));

        let dictionary = get("dictionary-skills-guide-words");
        assert_eq!(dictionary.title, "Dictionary Skills: Guide Words and Entries");
        let description = dictionary.description.as_deref().expect("description");
        assert!(description.starts_with("Students race") && description.ends_with("sentences."));

        let habitats = get("main-idea-animal-habitats").description.clone().expect("description");
        assert!(!habitats.contains('<'), "{habitats}");
        assert!(habitats.contains("about desert, rainforest"), "{habitats}");

        let debate = get("debate-constructing-rebuttal").description.clone().expect("description");
        assert!(debate.contains("school-uniform & \"screen-time\""), "{debate}");

        let fox = get("cuentos-cortos-zorro-uvas");
        assert_eq!(fox.languages, vec!["es"]);
        assert_eq!(get("origami-geometry").title, "Origami Geometry: Folding Shapes and Fractions (折り紙)");

        let pizza = get("pizza-party-fair-shares");
        assert_eq!(pizza.keywords, vec!["fractions", "fair shares", "reading comprehension", "pizza"]);
        let plants = get("how-plants-make-food");
        assert_eq!(plants.keywords.first().map(String::as_str), Some("photosynthesis"));

        let lesson = get("main-idea-animal-habitats");
        assert_eq!(lesson.resource_types, vec!["lesson-plan"]);
        assert_eq!(lesson.resource_types_raw, vec!["http://purl.org/dcx/lrmi-vocabs/learningResourceType/lessonPlan"]);
        assert!(!lesson.teacher_only, "student and teacher");
        assert!(get("library-field-trip-planning-guide").teacher_only);
        assert_eq!(lesson.updated_at.map(|d| d.date_naive().to_string()).as_deref(), Some("2024-11-06"));

        let douglass = get("frederick-douglass-narrative");
        let guids: Vec<&str> = douglass.alignments.iter().filter_map(|a| a.guid.as_deref()).collect();
        assert_eq!(guids, vec!["a40baa13-0be7-5271-8180-db94ab72ea35", "36ee564a-e398-5978-a545-403e293656d8"]);
        assert_eq!(douglass.subjects, vec!["English Language Arts", "Social Studies"]);

        for slug in ["reading-fluency-passages-grade-2", "civil-rights-primary-sources"] {
            let codes: Vec<&str> = get(slug).alignments.iter().filter_map(|a| a.code.as_deref()).collect();
            assert!(codes.iter().all(|code| !code.ends_with('L')), "{slug}: Lexile is not a standard: {codes:?}");
        }
        assert!(parsed.resources.iter().all(|r| r.kind == ResourceKind::Link && r.lti.is_none()));
    }

    #[test]
    fn test_cross_publisher_alignments() {
        let all: serde_json::Value = serde_json::from_slice(&fixtures::read("catalogs/expected.json")).expect("json");
        let cross = all["cross_publisher_alignments"].as_object().expect("object");
        let files = [GRAPH, ARRAY, SINGLE].map(|file| (file, parse_catalog(file)));
        let mut checked = 0;
        for (code, fact) in cross {
            for reference in fixtures::strings(&fact["resources"]) {
                let Some((file, id)) = reference.split_once('#') else {
                    continue;
                };
                let Some((_, parsed)) = files.iter().find(|(name, _)| *name == file) else {
                    continue;
                };
                let alignment = find(parsed, id)
                    .alignments
                    .iter()
                    .find(|a| a.code.as_deref() == Some(code.as_str()))
                    .unwrap_or_else(|| panic!("{reference}: no {code}"));
                assert_eq!(alignment.guid.as_deref(), fact["guid"].as_str(), "{reference}");
                assert_eq!(alignment.uri.as_deref(), fact["uri"].as_str(), "{reference}");
                assert_eq!(alignment.framework.as_deref(), fact["framework"].as_str(), "{reference}");
                checked += 1;
            }
        }
        assert!(checked >= 12, "{checked}");
    }

    #[test]
    fn test_bad_missing_name_and_url() {
        let file = "lrmi-missing-name-url.jsonld";
        let expected = expected_bad(file);
        let parsed = parse(&fixtures::read(&format!("bad/{file}"))).expect("partial");
        let ids: Vec<String> = parsed.resources.iter().map(|r| r.local_id.clone()).collect();
        assert_eq!(ids, fixtures::strings(&expected["accepted_ids"]));
        assert_eq!(Some(parsed.rejected as u64), expected["rejected"].as_u64());
        let errors: Vec<&crate::catalog::Diagnostic> =
            parsed.diagnostics.iter().filter(|d| d.severity == Severity::Error).collect();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].item.as_deref(), Some("@graph[1] (OR-B-002)"));
        assert!(errors[0].message.starts_with("missing name and url"), "{}", errors[0].message);
        for id in fixtures::strings(&expected["rejected_ids"]) {
            assert!(errors[0].item.as_deref().is_some_and(|item| item.contains(&id)));
        }
        let first = find(&parsed, "https://openreaders.example.org/resources/bad-ok-1");
        assert_eq!(first.title, "Reading Fluency Passages: Grade 3");
        assert_eq!(first.license.as_deref(), Some("https://creativecommons.org/licenses/by/4.0/"));
    }

    #[test]
    fn test_bad_empty_document() {
        assert_eq!(parse(&fixtures::read("bad/empty.json")).err(), Some(CatalogError::Empty));
    }

    #[test]
    fn test_document_shapes() {
        assert!(matches!(parse(b"\"text\""), Err(CatalogError::Structure(_))));
        assert!(matches!(parse(b"{\"@graph\": [}"), Err(CatalogError::Json { .. })));
        let prefixed = parse_inline(
            r#"[{"@type": ["schema:LearningResource"], "identifier": {"@type": "PropertyValue", "value": 17},
                 "name": "A", "url": "https://example.com/a"},
                {"@graph": [{"@type": "https://schema.org/LearningResource", "@id": "_:b0",
                             "name": {"@value": "B", "@language": "en"}, "url": {"@id": "https://example.com/b"}}]},
                {"@type": "VideoObject", "name": "not a learning resource", "url": "https://example.com/c"},
                42]"#,
        );
        let ids: Vec<&str> = prefixed.resources.iter().map(|r| r.local_id.as_str()).collect();
        assert_eq!(ids, vec!["17", "https://example.com/b"]);
        assert_eq!(prefixed.resources[1].title, "B");
        assert_eq!(messages(&prefixed, Severity::Info).len(), 2, "{:?}", prefixed.diagnostics);
    }

    #[test]
    fn test_field_variants() {
        let parsed = parse_inline(
            r#"{"@context": "https://schema.org/", "@type": "LearningResource", "@id": "https://example.com/r",
                "name": "R", "mainEntityOfPage": "https://example.com/r/page",
                "inLanguage": [{"@type": "Language", "name": "French"}, "EN"],
                "educationalLevel": [{"@type": "DefinedTerm", "name": "Middle School"}, "Grade 9"],
                "typicalAgeRange": "5-6",
                "learningResourceType": [{"@type": "DefinedTerm", "name": "Video"}, "Media/Video"],
                "educationalAlignment": {"alignmentType": "http://purl.org/dcx/lrmi-vocabs/alignmentType/teaches",
                    "targetName": "X.1", "targetUrl": "https://case.example.org/CFItems/0efdcb25-011c-53b4-acad-05f8c59261b7"},
                "teaches": [{"@type": "DefinedTerm", "termCode": "X.1",
                    "url": "https://case.example.org/CFItems/0efdcb25-011c-53b4-acad-05f8c59261b7"}, "https://example.org/std/2"],
                "license": {"@id": "http://creativecommons.org/publicdomain/zero/1.0"},
                "isAccessibleForFree": false, "image": {"@type": "ImageObject", "url": "https://example.com/i.jpg"},
                "datePublished": "2020-01-02", "audience": {"educationalRole": ["teacher"]}}"#,
        );
        assert!(messages(&parsed, Severity::Warning).is_empty(), "{:?}", parsed.diagnostics);
        let resource = &parsed.resources[0];
        assert_eq!(resource.url, "https://example.com/r/page");
        assert_eq!(resource.languages, vec!["fr", "en"]);
        assert_eq!(resource.grades, Some(GradeRange::new(6, 9)));
        assert_eq!(resource.resource_types, vec!["video"]);
        assert_eq!(resource.resource_types_raw, vec!["Video", "Media/Video"]);
        assert_eq!(resource.alignments.len(), 2, "{:?}", resource.alignments);
        assert_eq!(resource.alignments[0].alignment_type.as_deref(), Some("teaches"));
        assert_eq!(resource.alignments[1].uri.as_deref(), Some("https://example.org/std/2"));
        assert_eq!(resource.license.as_deref(), Some("https://creativecommons.org/publicdomain/zero/1.0/"));
        assert_eq!(resource.free, Some(false));
        assert_eq!(resource.thumbnail_url.as_deref(), Some("https://example.com/i.jpg"));
        assert!(resource.updated_at.is_some());
        assert!(resource.teacher_only);
    }

    #[test]
    fn test_rejections_and_duplicates() {
        let parsed = parse_inline(
            r#"{"@graph": [
                {"@type": "LearningResource", "identifier": "N", "url": "https://example.com/n"},
                {"@type": "LearningResource", "identifier": "U", "name": "No url"},
                {"@type": "LearningResource", "identifier": "T", "name": 42, "url": "https://example.com/t"},
                {"@type": "LearningResource", "identifier": "J", "name": "J", "url": "javascript:x()"},
                {"@type": "LearningResource", "@id": "https://example.com/d", "name": "D"},
                {"@type": "LearningResource", "@id": "https://example.com/d", "name": "D", "url": "https://example.com/d2"}
            ]}"#,
        );
        assert_eq!(
            messages(&parsed, Severity::Error),
            vec![
                "@graph[0] (N): missing name",
                "@graph[1] (U): missing url",
                "@graph[2] (T): name must be a string, found a number",
                "@graph[3] (J): url 'javascript:x()' is not an absolute http(s) URL",
                "@graph[5] (https://example.com/d): duplicate id 'https://example.com/d': already used by @graph[4] (https://example.com/d)",
            ]
        );
        assert_eq!(parsed.rejected, 5);
        // The @id doubles as the url when there is no url.
        assert_eq!(parsed.resources[0].url, "https://example.com/d");
    }

    #[test]
    fn test_accessibility_properties_are_kept_as_sent() {
        let parsed = parse_inline(
            r#"{"@type": "LearningResource", "@id": "https://example.com/a", "name": "A", "url": "https://example.com/a",
                "accessibilityFeature": ["alternativeText", "captions", "captions"], "accessibilityHazard": "noFlashingHazard",
                "accessMode": ["textual", "visual"], "accessibilityControl": ["fullKeyboardControl"],
                "accessibilityAPI": "ARIA", "accessibilitySummary": "  Captions on   every video. "}"#,
        );
        let a11y = &parsed.resources[0].accessibility;
        assert_eq!(a11y.features, vec!["alternativeText", "captions"]);
        assert_eq!(a11y.hazards, vec!["noFlashingHazard"]);
        assert_eq!(a11y.access_modes, vec!["textual", "visual"]);
        assert_eq!(a11y.controls, vec!["fullKeyboardControl"]);
        assert_eq!(a11y.apis, vec!["ARIA"]);
        assert_eq!(a11y.summary.as_deref(), Some("Captions on every video."));
        let plain =
            parse_inline(r#"{"@type": "LearningResource", "@id": "x", "name": "B", "url": "https://example.com/b"}"#);
        assert!(plain.resources[0].accessibility.is_empty());
    }

    #[test]
    fn test_string_free_flag_is_unknown() {
        let parsed = parse_inline(
            r#"{"@type": "LearningResource", "@id": "https://example.com/x", "name": "X", "isAccessibleForFree": "false"}"#,
        );
        assert_eq!(parsed.resources[0].free, None);
        assert_eq!(messages(&parsed, Severity::Warning).len(), 1);
    }
}
