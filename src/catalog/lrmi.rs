//! LRMI / schema.org learning resources in JSON-LD, as publishers write them: the DCMI LRMI
//! profile, OERSI's AMB records, schema.org markup embedded in web pages.
//!
//! **Documents**: one object, a plain array of objects, an object with `@graph`, JSON Lines or
//! concatenated objects (what ETL tools write), or an HTML page whose
//! `<script type="application/ld+json">` blocks carry any of those. The document is read as
//! plain JSON, not expanded as JSON-LD (that would need the remote contexts); [`Context`] reads
//! prefixed and IRI property names, `@id` / `id`, references to other nodes of the document
//! and the default `@language`.
//!
//! **Which nodes are resources**: a node typed `LearningResource`, `Course` or `Quiz`, or any
//! other schema.org `CreativeWork` type (`WebPage`, `VideoObject`, `Book`…: LRMI 1.x put its
//! properties on CreativeWork) that carries an LRMI property (`educationalLevel`,
//! `learningResourceType`, `educationalAlignment`, `typicalAgeRange`, `teaches`…). Parts
//! embedded in `hasPart` / `isPartOf` are resources too, and a part inherits the licence,
//! languages, levels, subjects and audience its whole declares when it declares none itself.
//! Other nodes (the publisher's `Organization`, `Person`s, a `WebSite`) are counted in one
//! `Info`; when no node of a document is a resource, each gets its own diagnostic saying why.
//!
//! **Mapping**:
//!
//! - **id**: `@id` (blank nodes such as `_:b0` are not stable and are ignored; relative ids
//!   resolve against the page), else `identifier` (a string, a number or a `PropertyValue`),
//!   else the `url`.
//! - **url**: `url`, else a compacted `id` (AMB's resource URL), else `mainEntityOfPage`, else
//!   an http(s) `@id`, else (on a page) the page's URL.
//! - **concepts**: `learningResourceType`, `educationalLevel`, `about`, `audience`, `license`
//!   and `inLanguage` may be strings, URIs, `DefinedTerm`s or SKOS concepts
//!   (`{"id": …, "prefLabel": {"de": …}}`); labels are taken in the resource's language. Known
//!   schemes map to the gateway's vocabulary ([`super::concepts`]); the raw values are kept.
//! - **grades**: `educationalLevel` (labels, ASN URIs, KIM levels, `DefinedTerm`s) when it names
//!   a level, else `typicalAgeRange`: a stated level is more precise than an age range, which
//!   straddles grades ("8-9" is grades 3-4 while the resource says "Grade 3").
//! - **subjects**: `about` concepts (SKOS concepts or known subject schemes: their label in the
//!   resource's language plus the gateway's name) and `educationalAlignment`s of type
//!   `educationalSubject`; other `about` topics become keywords. **Standards**: the other
//!   alignments (`teaches`, `assesses`, `requires`; GUID = the UUID ending `targetUrl`) and the
//!   `teaches` / `assesses` / `competencyRequired` terms. Reading level and text complexity
//!   alignments are not standards.
//! - **free**: `isAccessibleForFree` only when it is a JSON boolean. A string such as `"true"`
//!   is not a schema.org Boolean and leaves `free` unknown (with a warning to the publisher), so
//!   a free-only search never shows a resource the publisher did not clearly declare free.
//! - **teacher-only**: an `audience` whose roles name staff and no learner.

use std::collections::HashMap;

use super::html;
use super::json::{self, ItemLog, Object, SeenIds, Value};
use super::jsonld::{self, Context, Resolved};
use super::text::{html_to_text, normalize_whitespace};
use super::{concepts, vocab, CatalogError, Diagnostic, ParsedCatalog};
use crate::resource::{Alignment, GradeRange, Resource, ResourceKind};

/// Types that make a node a learning resource by themselves.
const LEARNING_TYPES: [&str; 3] = ["LearningResource", "Course", "Quiz"];

/// schema.org `CreativeWork` and its subtypes that catalogs and pages use: such a node is a
/// learning resource when it carries an LRMI property.
const CREATIVE_WORK_TYPES: &[&str] = &[
    "CreativeWork",
    "Article",
    "NewsArticle",
    "ScholarlyArticle",
    "TechArticle",
    "Report",
    "BlogPosting",
    "Book",
    "Chapter",
    "Syllabus",
    "HowTo",
    "Guide",
    "Dataset",
    "DigitalDocument",
    "TextDigitalDocument",
    "PresentationDigitalDocument",
    "SpreadsheetDigitalDocument",
    "NoteDigitalDocument",
    "Game",
    "VideoGame",
    "MediaObject",
    "VideoObject",
    "AudioObject",
    "ImageObject",
    "3DModel",
    "Movie",
    "Clip",
    "Episode",
    "CreativeWorkSeries",
    "Podcast",
    "PodcastEpisode",
    "Photograph",
    "Map",
    "Poster",
    "SoftwareApplication",
    "WebApplication",
    "MobileApplication",
    "SoftwareSourceCode",
    "WebPage",
    "ItemPage",
    "AboutPage",
    "CollectionPage",
    "WebSite",
    "WebContent",
    "Thesis",
    "Collection",
    "Drawing",
    "Painting",
    "Manuscript",
    "MusicComposition",
    "MusicRecording",
    "SheetMusic",
    "ShortStory",
    "Play",
    "Poem",
    "Quotation",
    "ArchiveComponent",
    "Atlas",
    "Diary",
    "Legislation",
    "Review",
    "ExercisePlan",
    "HyperToc",
    "MathSolver",
];

/// Properties that make a `CreativeWork` a learning resource (LRMI's, and schema.org's
/// `LearningResource` ones).
const LRMI_PROPERTIES: &[&str] = &[
    "educationalLevel",
    "learningResourceType",
    "educationalAlignment",
    "typicalAgeRange",
    "teaches",
    "assesses",
    "competencyRequired",
    "educationalUse",
    "educationalFramework",
    "timeRequired",
    "interactivityType",
    "educationalRole",
];

/// Parses one LRMI document: JSON-LD (one value or several) or an HTML page carrying it.
pub fn parse(bytes: &[u8]) -> Result<ParsedCatalog, CatalogError> {
    if html::looks_like_html(bytes) {
        let text = page_text(bytes);
        let facts = html::scan(&text);
        if facts.json_ld.is_empty() {
            return Err(CatalogError::Structure(
                "the HTML page carries no JSON-LD (<script type=\"application/ld+json\">): send the LRMI \
                 document, or register the site's sitemap as a SITEMAP source"
                    .to_string(),
            ));
        }
        return Ok(parse_facts(&facts, None));
    }
    let (documents, diagnostics, several) = json::parse_documents(bytes)?;
    let roots: Vec<Root<'_, '_>> = documents
        .iter()
        .map(|document| Root {
            label: if several { format!("line {}", document.line) } else { String::new() },
            value: &document.value,
        })
        .collect();
    if !several {
        if let Some(root) = roots.first() {
            check_document_shape(root.value)?;
        }
    }
    let mut parsed = parse_roots(&roots, None);
    parsed.rejected += diagnostics.len();
    parsed.diagnostics.splice(0..0, diagnostics);
    Ok(parsed)
}

/// Reads the JSON-LD of one HTML page. `page_url` is where the page was fetched (else the
/// page's canonical URL): resources without a URL of their own are that page, and relative
/// ids resolve against it. A page without JSON-LD yields no resource and one skipped item.
pub fn parse_page(bytes: &[u8], page_url: Option<&str>) -> ParsedCatalog {
    let text = page_text(bytes);
    parse_facts(&html::scan(&text), page_url)
}

/// A page's text: UTF-8 as pages mostly are (a stray invalid byte becomes U+FFFD rather than
/// losing the page), without a byte-order mark.
fn page_text(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes))
}

fn parse_facts(facts: &html::PageFacts<'_>, page_url: Option<&str>) -> ParsedCatalog {
    let page = Page {
        url: page_url
            .map(str::to_string)
            .or_else(|| facts.canonical.clone().filter(|url| json::is_http_url(url)))
            .or_else(|| facts.og_url.clone().filter(|url| json::is_http_url(url))),
        title: facts.title.clone(),
        language: facts.lang.as_deref().and_then(vocab::language),
    };
    let label = page.url.clone().unwrap_or_else(|| "page".to_string());
    if facts.json_ld.is_empty() {
        let mut parsed = ParsedCatalog { skipped: 1, ..ParsedCatalog::default() };
        parsed.diagnostics.push(Diagnostic::info(
            Some(label),
            "the page carries no JSON-LD (<script type=\"application/ld+json\">); nothing to index",
        ));
        return parsed;
    }
    let mut diagnostics = Vec::new();
    let mut values = Vec::new();
    for block in &facts.json_ld {
        match json::parse_document(block.json.as_bytes()) {
            Ok(value) => values.push((block.line, value)),
            Err(CatalogError::Empty) => {}
            Err(error) => diagnostics.push(Diagnostic::error(
                Some(format!("{label}, JSON-LD at line {}", block.line)),
                format!("{error}; this block was skipped"),
            )),
        }
    }
    let several = values.len() > 1;
    let roots: Vec<Root<'_, '_>> = values
        .iter()
        .map(|(line, value)| Root {
            label: if several { format!("script at line {line}") } else { String::new() },
            value,
        })
        .collect();
    let mut parsed = parse_roots(&roots, Some(&page));
    parsed.rejected += diagnostics.len();
    parsed.diagnostics.splice(0..0, diagnostics);
    parsed
}

/// A single-value document must be an object or an array.
fn check_document_shape(value: &Value) -> Result<(), CatalogError> {
    match value {
        Value::Array(_) | Value::Object(_) => Ok(()),
        other => Err(CatalogError::Structure(format!(
            "an LRMI document must be a JSON-LD object or an array of objects, found {}",
            json::type_name(other)
        ))),
    }
}

/// One top-level value and its label prefix (`line 3`, `script at line 12`, or none).
struct Root<'v, 'a> {
    label: String,
    value: &'v Value<'a>,
}

/// What a page says about itself, for the nodes it carries.
struct Page {
    url: Option<String>,
    title: Option<String>,
    language: Option<String>,
}

/// A node and where it sits in the document, for diagnostics.
struct Candidate<'v, 'a> {
    path: String,
    value: &'v Value<'a>,
    /// The candidate this one is a part of (`hasPart` / `isPartOf`), for inheritance.
    parent: Option<usize>,
    /// Embedded in another node rather than listed by the document.
    embedded: bool,
}

/// The candidate nodes of every root: the elements of `@graph`, of a top-level array (each of
/// which may carry its own `@graph`), or the object itself; then the parts they embed.
fn collect_candidates<'v, 'a>(roots: &[Root<'v, 'a>], context: &Context<'v, 'a>) -> Vec<Candidate<'v, 'a>> {
    let mut candidates = Vec::new();
    for root in roots {
        match root.value {
            Value::Array(items) => {
                for (index, item) in items.iter().enumerate() {
                    push_with_graph(&mut candidates, format!("{}[{index}]", root.label), item, context);
                }
            }
            other => push_with_graph(&mut candidates, root.label.clone(), other, context),
        }
    }
    add_parts(&mut candidates, context);
    candidates
}

fn push_with_graph<'v, 'a>(
    candidates: &mut Vec<Candidate<'v, 'a>>,
    path: String,
    value: &'v Value<'a>,
    context: &Context<'v, 'a>,
) {
    let graph = value.as_object().and_then(|object| object.get("@graph"));
    let Some(graph) = graph else {
        candidates.push(Candidate { path, value, parent: None, embedded: false });
        return;
    };
    for (index, item) in json::one_or_many(graph).iter().enumerate() {
        candidates.push(Candidate {
            path: format!("{path}@graph[{index}]"),
            value: item,
            parent: None,
            embedded: false,
        });
    }
    // A container that is itself typed as a resource counts too.
    if value.as_object().is_some_and(|object| is_resource(object, context)) {
        candidates.push(Candidate { path, value, parent: None, embedded: false });
    }
}

/// Adds the resources embedded in `hasPart` and `isPartOf` (breadth first, a few levels deep),
/// linking each part to its whole. A part listed elsewhere in the document is linked, not
/// added twice.
fn add_parts<'v, 'a>(candidates: &mut Vec<Candidate<'v, 'a>>, context: &Context<'v, 'a>) {
    const MAX_PART_DEPTH: usize = 4;
    let mut by_id: HashMap<String, usize> = HashMap::new();
    for (index, candidate) in candidates.iter().enumerate() {
        if let Some(id) = candidate.value.as_object().and_then(jsonld::id_of) {
            by_id.entry(id.to_string()).or_insert(index);
        }
    }
    let mut wholes: Vec<(usize, usize)> = (0..candidates.len()).map(|index| (index, 0)).collect();
    let mut cursor = 0;
    while cursor < wholes.len() {
        let (whole, depth) = wholes[cursor];
        cursor += 1;
        let Some(object) = candidates[whole].value.as_object() else {
            continue;
        };
        if depth >= MAX_PART_DEPTH || !is_resource(object, context) {
            continue;
        }
        for (property, whole_is_parent) in [("hasPart", true), ("isPartOf", false)] {
            let Some(parts) = context.get(object, property) else {
                continue;
            };
            for (position, part) in json::one_or_many(parts).iter().enumerate() {
                let value = context.resolve_value(part);
                let Some(target) = value.as_object() else {
                    continue;
                };
                let known = jsonld::id_of(target).and_then(|id| by_id.get(id).copied());
                let other = match known {
                    Some(index) => index,
                    None => {
                        if !is_resource(target, context) {
                            continue;
                        }
                        let path = format!("{}.{property}[{position}]", candidates[whole].path);
                        candidates.push(Candidate { path, value, parent: None, embedded: true });
                        let index = candidates.len() - 1;
                        if let Some(id) = jsonld::id_of(target) {
                            by_id.insert(id.to_string(), index);
                        }
                        wholes.push((index, depth + 1));
                        index
                    }
                };
                if other == whole {
                    continue;
                }
                if whole_is_parent {
                    if candidates[other].parent.is_none() {
                        candidates[other].parent = Some(whole);
                    }
                } else if candidates[whole].parent.is_none() && !creates_cycle(candidates, other, whole) {
                    candidates[whole].parent = Some(other);
                }
            }
        }
    }
}

/// Whether making `parent` the whole of `child` would close a loop.
fn creates_cycle(candidates: &[Candidate<'_, '_>], parent: usize, child: usize) -> bool {
    let mut current = Some(parent);
    let mut steps = 0;
    while let Some(index) = current {
        if index == child || steps > candidates.len() {
            return true;
        }
        current = candidates[index].parent;
        steps += 1;
    }
    false
}

/// The node's schema.org type names without prefix (`schema:Book`, `https://schema.org/Book` →
/// `Book`).
fn node_types(object: &Object, context: &Context) -> Vec<String> {
    let Some(types) = object.get("@type").or_else(|| object.get("type")) else {
        return Vec::new();
    };
    json::one_or_many(types).iter().filter_map(Value::as_str).map(|raw| context.local_type(raw).to_string()).collect()
}

/// Whether a node is a learning resource (see the module documentation).
fn is_resource(object: &Object, context: &Context) -> bool {
    let types = node_types(object, context);
    if types.iter().any(|t| LEARNING_TYPES.contains(&t.as_str())) {
        return true;
    }
    let creative = types.iter().any(|t| CREATIVE_WORK_TYPES.contains(&t.as_str()));
    creative && has_lrmi_property(object, context)
}

fn has_lrmi_property(object: &Object, context: &Context) -> bool {
    object.iter().any(|(key, _)| LRMI_PROPERTIES.contains(&context.local_key(key)))
        || context.get(object, "audience").is_some_and(|audience| {
            json::one_or_many(audience)
                .iter()
                .any(|item| item.as_object().is_some_and(|a| a.get("educationalRole").is_some()))
        })
}

/// Why a node that is not a resource was skipped, for the per-item report.
fn skip_reason(value: &Value, context: &Context) -> String {
    let Value::Object(object) = value else {
        return format!("{} is not a JSON-LD node", json::type_name(value));
    };
    let types = node_types(object, context);
    if types.is_empty() {
        return "the node has no @type: type it LearningResource (or a CreativeWork type with LRMI properties)"
            .to_string();
    }
    let joined = types.join("/");
    if types.iter().any(|t| CREATIVE_WORK_TYPES.contains(&t.as_str())) {
        return format!(
            "a {joined} without LRMI properties is not a learning resource: type it LearningResource or add \
             learningResourceType, educationalLevel or educationalAlignment"
        );
    }
    format!("a {joined} is not a learning resource")
}

/// `@graph[1] (OR-B-002)`: the position, and the node's id or identifier when it has one. A
/// single-object document is labelled by its id alone.
fn node_label(candidate: &Candidate<'_, '_>, context: &Context, page: Option<&Page>) -> String {
    let id =
        candidate.value.as_object().and_then(|object| own_id(object, page).or_else(|| identifier(object, context)));
    match (candidate.path.is_empty(), id) {
        (true, Some(id)) => id,
        (true, None) => page.and_then(|p| p.url.clone()).unwrap_or_else(|| "document".to_string()),
        (false, Some(id)) => format!("{} ({id})", candidate.path),
        (false, None) => candidate.path.clone(),
    }
}

fn parse_roots(roots: &[Root<'_, '_>], page: Option<&Page>) -> ParsedCatalog {
    let values: Vec<&Value> = roots.iter().map(|root| root.value).collect();
    let context = Context::build(&values);
    let candidates = collect_candidates(roots, &context);
    let mut parsed = ParsedCatalog::default();
    let mut seen = SeenIds::default();
    // Candidate index → its position in `parsed.resources`, for inheritance.
    let mut built: HashMap<usize, usize> = HashMap::new();
    let mut skipped: Vec<(String, String, String)> = Vec::new();
    for (index, candidate) in candidates.iter().enumerate() {
        let label = node_label(candidate, &context, page);
        let object = candidate.value.as_object().filter(|object| is_resource(object, &context));
        let Some(object) = object else {
            let kind = match candidate.value.as_object().map(|object| node_types(object, &context)) {
                Some(types) if !types.is_empty() => types.join("/"),
                _ => "untyped".to_string(),
            };
            skipped.push((label, kind, skip_reason(candidate.value, &context)));
            continue;
        };
        let mut log = ItemLog::new();
        let reader = Reader { object, context: &context, page };
        let accepted = reader.resource(&mut log).and_then(|resource| {
            // An embedded part described again where it is listed is the same resource.
            if candidate.embedded && seen.contains(&resource.local_id) {
                return Err(String::new());
            }
            seen.claim(&resource.local_id, &label).map(|()| resource)
        });
        match accepted {
            Err(message) if message.is_empty() => {}
            accepted => {
                let was_accepted = accepted.is_ok();
                json::record_item(&mut parsed, label, accepted, log);
                if was_accepted {
                    built.insert(index, parsed.resources.len() - 1);
                }
            }
        }
    }
    inherit_from_wholes(&mut parsed, &candidates, &built);
    report_skipped(&mut parsed, skipped);
    parsed
}

/// The skipped nodes: one `Info` listing their types when the document also had resources
/// (publishers' `Organization`s, `Person`s), one diagnostic per node when it had none.
fn report_skipped(parsed: &mut ParsedCatalog, skipped: Vec<(String, String, String)>) {
    if skipped.is_empty() {
        return;
    }
    parsed.skipped += skipped.len();
    if !parsed.resources.is_empty() {
        let kinds: Vec<&str> = skipped.iter().map(|(_, kind, _)| kind.as_str()).collect();
        parsed.diagnostics.push(Diagnostic::info(
            None,
            format!("skipped {} node(s) that are not LearningResources ({})", skipped.len(), kinds.join(", ")),
        ));
        return;
    }
    let total = skipped.len();
    for (label, _, reason) in skipped.into_iter().take(1000) {
        parsed.diagnostics.push(Diagnostic::info(Some(label), reason));
    }
    if parsed.rejected == 0 {
        parsed.diagnostics.push(Diagnostic::error(
            None,
            format!("none of the document's {total} node(s) is a learning resource; nothing was indexed"),
        ));
    }
}

/// Parts take what they do not say themselves from their whole: licence, languages, levels,
/// subjects, audience and whether they are free.
fn inherit_from_wholes(parsed: &mut ParsedCatalog, candidates: &[Candidate<'_, '_>], built: &HashMap<usize, usize>) {
    // Wholes before parts: follow each chain to its root first.
    let mut order: Vec<usize> = built.keys().copied().collect();
    let depth = |mut index: usize| {
        let mut steps = 0;
        while let Some(parent) = candidates[index].parent {
            index = parent;
            steps += 1;
            if steps > candidates.len() {
                break;
            }
        }
        steps
    };
    order.sort_by_key(|index| (depth(*index), *index));
    for index in order {
        let Some(parent) = candidates[index].parent.and_then(|parent| built.get(&parent).copied()) else {
            continue;
        };
        let child = built[&index];
        if parent == child {
            continue;
        }
        let whole = parsed.resources[parent].clone();
        let part = &mut parsed.resources[child];
        if part.license.is_none() && part.license_raw.is_none() {
            part.license.clone_from(&whole.license);
            part.license_raw.clone_from(&whole.license_raw);
        }
        if part.languages.is_empty() {
            part.languages.clone_from(&whole.languages);
        }
        if part.grades.is_none() {
            part.grades = whole.grades;
        }
        if part.subjects.is_empty() {
            part.subjects.clone_from(&whole.subjects);
            part.subjects_raw.clone_from(&whole.subjects_raw);
        }
        if part.free.is_none() {
            part.free = whole.free;
        }
        if !part.teacher_only && whole.teacher_only {
            part.teacher_only = true;
        }
    }
}

/// `@id` (or `id`), unless it is a blank node (`_:b0`), whose name changes from one export to
/// the next. A relative id (`#resource`) is resolved against the page it came from.
fn own_id(object: &Object, page: Option<&Page>) -> Option<String> {
    let id = jsonld::id_of(object)?;
    if id.starts_with("_:") {
        return None;
    }
    let base = page.and_then(|p| p.url.as_deref());
    match base.and_then(|base| url::Url::parse(base).ok()) {
        Some(base) if !id.contains(':') => base.join(id).ok().map(String::from).or_else(|| Some(id.to_string())),
        _ => Some(id.to_string()),
    }
}

/// `identifier`: a string, a number, a `PropertyValue` (`value`), or an array of those (the first).
fn identifier(object: &Object, context: &Context) -> Option<String> {
    let value = context.get(object, "identifier")?;
    json::one_or_many(value).iter().find_map(|item| {
        let text = match item {
            Value::Object(property) => property.get("value").and_then(json::scalar_text),
            scalar => json::scalar_text(scalar),
        }?;
        let trimmed = text.trim();
        (!trimmed.is_empty()).then(|| trimmed.to_string())
    })
}

/// A reference: a string, an `{"@id"}` / `{"id"}` / `{"url"}` object, or an array of those
/// (the first).
fn reference(value: &Value) -> Option<String> {
    json::one_or_many(value).iter().find_map(|item| {
        let text = match item {
            Value::Str(text) => Some(text.as_ref()),
            Value::Object(object) => {
                ["@id", "url", "contentUrl", "id"].iter().find_map(|key| object.get(key).and_then(Value::as_str))
            }
            _ => None,
        }?;
        let trimmed = text.trim();
        (!trimmed.is_empty()).then(|| trimmed.to_string())
    })
}

/// A name: a string, or an object's `name` / `prefLabel` / `@value` (else its id), in the
/// wanted language.
fn name_of(value: &Value, languages: &[&str]) -> Option<String> {
    let text = match value {
        Value::Str(text) => Some(text.to_string()),
        Value::Object(object) => ["name", "prefLabel", "@value"]
            .iter()
            .filter_map(|key| object.get(key))
            .find_map(|label| jsonld::text_in(label, languages))
            .or_else(|| jsonld::id_of(object).map(str::to_string)),
        _ => None,
    }?;
    let trimmed = normalize_whitespace(&text);
    (!trimmed.is_empty()).then_some(trimmed)
}

/// A concept's label (`prefLabel`, `name`, `termCode`) in the wanted language, without falling
/// back to its id.
fn label_of(object: &Object, languages: &[&str]) -> Option<String> {
    ["prefLabel", "name", "label", "termCode", "alternateName"]
        .iter()
        .filter_map(|key| object.get(key))
        .find_map(|label| jsonld::text_in(label, languages))
        .map(|label| normalize_whitespace(&label))
        .filter(|label| !label.is_empty())
}

/// Every label a concept has, in any language (for vocabulary lookups).
fn all_labels(object: &Object) -> Vec<String> {
    let mut labels = Vec::new();
    for key in ["prefLabel", "name", "termCode", "alternateName", "altLabel"] {
        if let Some(value) = object.get(key) {
            collect_strings(value, &mut labels, 0);
        }
    }
    labels
}

fn collect_strings(value: &Value, out: &mut Vec<String>, depth: usize) {
    if depth > 4 {
        return;
    }
    match value {
        Value::Str(text) => out.push(text.to_string()),
        Value::Array(items) => items.iter().for_each(|item| collect_strings(item, out, depth + 1)),
        Value::Object(object) => object
            .iter()
            .filter(|(key, _)| *key != "@language")
            .for_each(|(_, member)| collect_strings(member, out, depth + 1)),
        _ => {}
    }
}

/// Reads one resource node.
struct Reader<'r, 'v, 'a> {
    object: &'v Object<'a>,
    context: &'r Context<'v, 'a>,
    page: Option<&'r Page>,
}

impl<'v, 'a> Reader<'_, 'v, 'a> {
    fn get(&self, key: &str) -> Option<&'v Value<'a>> {
        self.context.get(self.object, key)
    }

    fn items(&self, key: &str) -> Vec<Resolved<'v, 'a>> {
        self.context.items(self.object, key)
    }

    /// One resource, or the reason it cannot be accepted.
    fn resource(&self, log: &mut ItemLog) -> Result<Resource, String> {
        let node_language = self.object.get("@context").and_then(context_language);
        let declared = self.declared_languages();
        let mut wanted: Vec<String> = declared.clone();
        wanted.extend(node_language);
        wanted.extend(self.context.language.clone());
        wanted.extend(self.page.and_then(|page| page.language.clone()));
        let wanted: Vec<&str> = wanted.iter().map(String::as_str).collect();

        let name = self.text_value("name", &wanted)?.map(|name| normalize_whitespace(&name)).filter(|n| !n.is_empty());
        let name = name.or_else(|| {
            let title = self.page.and_then(|page| page.title.clone())?;
            log.info("no name: the page's <title> is the title");
            Some(title)
        });
        let url = self.resource_url()?;
        let (title, url) = match (name, url) {
            (Some(title), Some(url)) => (title, url),
            (None, None) => return Err("missing name and url: a resource needs both".to_string()),
            (None, Some(_)) => return Err("missing name".to_string()),
            (Some(_), None) => return Err("missing url".to_string()),
        };
        let local_id =
            own_id(self.object, self.page).or_else(|| identifier(self.object, self.context)).unwrap_or_else(|| {
                log.info("no @id or identifier: the resource is identified by its url");
                url.clone()
            });

        let mut resource = Resource::new(local_id, title, url, ResourceKind::Link);
        resource.description = log
            .lenient(self.text_value("description", &wanted))
            .map(|text| html_to_text(&text))
            .filter(|text| !text.is_empty());
        resource.languages = declared;
        self.fill_keywords_and_subjects(&mut resource, &wanted, log);
        self.fill_types(&mut resource, &wanted);
        self.fill_alignments(&mut resource, &wanted, log);
        self.fill_grades(&mut resource, log);
        self.fill_rights(&mut resource, log);
        self.fill_media_and_dates(&mut resource, log);
        resource.accessibility = json::accessibility(self.object, log);
        resource.teacher_only = json::is_teacher_only(self.audience_roles().iter().map(String::as_str));
        for item in self.items("inLanguage") {
            if self.language_of(item).is_none() {
                let shown = match item {
                    Resolved::Value(value) => value.to_string(),
                    Resolved::Object(object) => jsonld::id_of(object).unwrap_or("an object").to_string(),
                };
                log.warn(format!("inLanguage {shown} names no language; ignored"));
            }
        }
        Ok(resource)
    }

    /// `inLanguage` as BCP 47 tags: tags, names, `Language` objects (`alternateName` is the
    /// code) or concepts whose id ends in the code.
    fn declared_languages(&self) -> Vec<String> {
        let mut languages = Vec::new();
        for item in self.items("inLanguage") {
            if let Some(tag) = self.language_of(item) {
                json::push_unique(&mut languages, tag);
            }
        }
        languages
    }

    fn language_of(&self, item: Resolved) -> Option<String> {
        match item {
            Resolved::Value(Value::Str(text)) => vocab::language(text),
            Resolved::Object(object) => {
                let mut candidates: Vec<String> = ["alternateName", "name", "@id", "id", "identifier"]
                    .iter()
                    .filter_map(|key| object.get(key).and_then(Value::as_str).map(str::to_string))
                    .collect();
                candidates.extend(all_labels(object));
                candidates.iter().find_map(|candidate| {
                    vocab::language(candidate).or_else(|| {
                        let segment = candidate.trim_end_matches('/').rsplit(['/', '#']).next()?;
                        (segment != candidate).then(|| vocab::language(segment)).flatten()
                    })
                })
            }
            _ => None,
        }
    }

    /// A text property: a string, a `{"@value": ...}` literal, a language map or an array of
    /// those, in the wanted language. Other types are an error naming the property.
    fn text_value(&self, key: &str, wanted: &[&str]) -> Result<Option<String>, String> {
        let Some(value) = self.get(key) else {
            return Ok(None);
        };
        for item in json::one_or_many(value) {
            match item {
                Value::Str(_) | Value::Null => {}
                Value::Object(literal) => {
                    if literal.get("@value").is_none() && !is_language_map(literal) {
                        return Err(format!("{key} must be a string, found an object"));
                    }
                }
                other => return Err(format!("{key} must be a string, found {}", json::type_name(other))),
            }
        }
        Ok(jsonld::text_in(value, wanted))
    }

    /// `url`, else a compacted `id` (AMB: the resource's own URL), else `mainEntityOfPage`,
    /// else an http(s) `@id`, else the page's URL; must be an absolute http(s) URL.
    fn resource_url(&self) -> Result<Option<String>, String> {
        if let Some(url) = self.get("url").and_then(reference) {
            let url = self.absolute(&url);
            return if json::is_http_url(&url) {
                Ok(Some(url))
            } else {
                Err(format!("url '{url}' is not an absolute http(s) URL"))
            };
        }
        let compact_id = self.object.get("id").and_then(Value::as_str).map(|id| self.absolute(id.trim()));
        let main_page = self.get("mainEntityOfPage").and_then(reference).map(|url| self.absolute(&url));
        let at_id = self.object.get("@id").and_then(Value::as_str).map(|id| self.absolute(id.trim()));
        let page = self.page.and_then(|page| page.url.clone());
        Ok([compact_id, main_page, at_id, page].into_iter().flatten().find(|candidate| json::is_http_url(candidate)))
    }

    /// A URL resolved against the page when it is relative.
    fn absolute(&self, raw: &str) -> String {
        let base = self.page.and_then(|page| page.url.as_deref()).and_then(|base| url::Url::parse(base).ok());
        match base {
            Some(base) if url::Url::parse(raw).is_err() && !raw.starts_with("_:") => {
                base.join(raw).map(String::from).unwrap_or_else(|_| raw.to_string())
            }
            _ => raw.to_string(),
        }
    }

    /// `keywords` (a comma-separated string, an array, `DefinedTerm`s or language maps) and
    /// `about`: concepts become subjects, other topics keywords.
    fn fill_keywords_and_subjects(&self, resource: &mut Resource, wanted: &[&str], log: &mut ItemLog) {
        for item in self.items("keywords") {
            match item {
                Resolved::Value(Value::Str(text)) => {
                    for keyword in json::split_keywords(text) {
                        json::push_keyword(&mut resource.keywords, keyword);
                    }
                }
                Resolved::Object(term) => {
                    let texts = if term.get("@value").is_some() || is_language_map(term) {
                        jsonld::text_in_object(term, wanted)
                    } else {
                        label_of(term, wanted)
                    };
                    for keyword in texts.iter().flat_map(|text| json::split_keywords(text)) {
                        json::push_keyword(&mut resource.keywords, keyword);
                    }
                }
                other => log.warn(format!("keywords must be strings, found {}; ignored", other.type_name())),
            }
        }
        for topic in self.items("about") {
            match topic {
                Resolved::Value(Value::Str(text)) => {
                    let text = text.trim();
                    if concepts::is_subject_scheme(text) {
                        add_subject(resource, Some(text), None, wanted);
                    } else {
                        json::push_keyword(&mut resource.keywords, normalize_whitespace(text));
                    }
                }
                Resolved::Object(thing) => {
                    let id = jsonld::id_of(thing);
                    let label = label_of(thing, wanted);
                    if is_concept(thing, self.context) {
                        add_subject(resource, id, label, wanted);
                    } else if let Some(name) = label {
                        json::push_keyword(&mut resource.keywords, name);
                    }
                }
                Resolved::Value(_) => {}
            }
        }
    }

    /// `learningResourceType` (free text, vocabulary URIs, `DefinedTerm`s, SKOS concepts) and
    /// the `educationalUse` terms that name a type.
    fn fill_types(&self, resource: &mut Resource, wanted: &[&str]) {
        for item in self.items("learningResourceType") {
            let Some((raw, normalised)) = concept_type(item, wanted) else {
                continue;
            };
            json::push_unique(&mut resource.resource_types_raw, raw);
            if let Some(normalised) = normalised {
                json::push_unique(&mut resource.resource_types, normalised);
            }
        }
        for item in self.items("educationalUse") {
            let Some((raw, Some(normalised))) = concept_type(item, wanted) else {
                continue;
            };
            if vocab::RESOURCE_TYPES.contains(&normalised.as_str()) && normalised != "other" {
                json::push_unique(&mut resource.resource_types_raw, raw);
                json::push_unique(&mut resource.resource_types, normalised);
            }
        }
    }

    /// `educationalAlignment` (subjects, standards, old-style education levels) and the direct
    /// `teaches` / `assesses` / `competencyRequired` properties (standards).
    fn fill_alignments(&self, resource: &mut Resource, wanted: &[&str], log: &mut ItemLog) {
        for (index, alignment) in self.items("educationalAlignment").into_iter().enumerate() {
            let Some(alignment) = alignment.as_object() else {
                log.warn(format!("educationalAlignment[{index}] must be an object; ignored"));
                continue;
            };
            self.read_alignment_object(resource, alignment, index, wanted, log);
        }
        for (property, alignment_type) in
            [("teaches", "teaches"), ("assesses", "assesses"), ("competencyRequired", "requires")]
        {
            for term in self.items(property) {
                match defined_term_alignment(term, alignment_type, wanted) {
                    Some(alignment) => json::merge_alignment(&mut resource.alignments, alignment),
                    None => log.warn(format!("{property} names no standard; ignored")),
                }
            }
        }
    }

    fn read_alignment_object(
        &self,
        resource: &mut Resource,
        alignment: &Object,
        index: usize,
        wanted: &[&str],
        log: &mut ItemLog,
    ) {
        let text = |key: &str| self.context.get(alignment, key).and_then(|value| name_of(value, wanted));
        let raw_type = text("alignmentType");
        // Alignment types may be sent as LRMI vocabulary URIs (`.../alignmentType/teaches`).
        let kind =
            raw_type.as_deref().map(|t| t.rsplit('/').next().unwrap_or(t).to_ascii_lowercase()).unwrap_or_default();
        let target_name = text("targetName");
        let target_url = self
            .context
            .get(alignment, "targetUrl")
            .or_else(|| self.context.get(alignment, "targetURL"))
            .and_then(reference);
        match kind.as_str() {
            "educationalsubject" => {
                match (&target_name, &target_url) {
                    (None, None) => {
                        log.warn(format!("educationalAlignment[{index}] subject has no targetName; ignored"))
                    }
                    _ => add_subject(resource, target_url.as_deref(), target_name.clone(), wanted),
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
        let guid = target_url.as_deref().and_then(json::guid_from_uri);
        if target_url.is_none() && target_name.is_none() {
            log.warn(format!("educationalAlignment[{index}] has no targetName or targetUrl; ignored"));
            return;
        }
        let standard = Alignment {
            framework: text("educationalFramework"),
            code: target_name,
            guid,
            uri: target_url,
            alignment_type: raw_type.map(|t| t.rsplit('/').next().unwrap_or(&t).to_string()),
            description: text("targetDescription"),
        };
        json::merge_alignment(&mut resource.alignments, standard);
    }

    /// `educationalLevel` (and old-style `educationLevel` alignments) when they name a level,
    /// else `typicalAgeRange`.
    fn fill_grades(&self, resource: &mut Resource, log: &mut ItemLog) {
        let mut levels: Option<GradeRange> = None;
        let mut add = |range: GradeRange| levels = Some(levels.map_or(range, |known| known.union(range)));
        for level in self.items("educationalLevel") {
            match level_grades(level) {
                Some(range) => add(range),
                None => {
                    let shown = match level {
                        Resolved::Value(value) => value.to_string(),
                        Resolved::Object(object) => {
                            jsonld::id_of(object).map_or_else(|| "an object".to_string(), str::to_string)
                        }
                    };
                    log.warn(format!("educationalLevel {shown} is not a known level; ignored"));
                }
            }
        }
        for alignment in self.items("educationalAlignment") {
            let Some(alignment) = alignment.as_object() else {
                continue;
            };
            let is_level = self
                .context
                .get(alignment, "alignmentType")
                .and_then(Value::as_str)
                .map(|t| t.rsplit('/').next().unwrap_or(t).to_ascii_lowercase())
                .is_some_and(|t| t == "educationlevel" || t == "educationallevel");
            let target = self.context.get(alignment, "targetName").map(|value| self.context.resolved(value));
            if let Some(range) = is_level.then(|| target.and_then(level_grades)).flatten() {
                add(range);
            }
        }
        if levels.is_some() {
            resource.grades = levels;
            return;
        }
        for range in self.items("typicalAgeRange") {
            let text = match range {
                Resolved::Value(value) => value.as_str().map(str::to_string),
                Resolved::Object(object) => object.get("@value").and_then(Value::as_str).map(str::to_string),
            };
            let Some(text) = text else {
                continue;
            };
            match vocab::grades_from_age_range(&text) {
                Some(grades) => resource.grades = Some(resource.grades.map_or(grades, |known| known.union(grades))),
                None => log.warn(format!("typicalAgeRange '{text}' is not an age range; ignored")),
            }
        }
    }

    /// `license` (a URL, a `CreativeWork`, a concept `{"id": …}`, or a licence name) and
    /// `isAccessibleForFree`.
    fn fill_rights(&self, resource: &mut Resource, log: &mut ItemLog) {
        for license in self.items("license") {
            let (raw, canonical) = match license {
                Resolved::Value(Value::Str(text)) => {
                    let text = text.trim();
                    (Some(text.to_string()), vocab::license_url(text))
                }
                Resolved::Object(object) => {
                    let url = ["@id", "id", "url"]
                        .iter()
                        .filter_map(|key| object.get(key).and_then(Value::as_str))
                        .map(str::trim)
                        .find(|url| !url.is_empty() && !url.starts_with("_:"));
                    match url {
                        Some(url) => (Some(url.to_string()), vocab::license_url(url)),
                        None => {
                            let name = label_of(object, &[]);
                            let canonical = name.as_deref().and_then(vocab::license);
                            (name, canonical)
                        }
                    }
                }
                Resolved::Value(_) => (None, None),
            };
            if raw.is_some() {
                resource.license = canonical;
                resource.license_raw = raw;
                break;
            }
        }
        match self.get("isAccessibleForFree") {
            None | Some(Value::Null) => {}
            Some(Value::Bool(free)) => resource.free = Some(*free),
            Some(other) => log.warn(format!(
                "isAccessibleForFree must be a boolean (true or false), found {} {other}; treated as unknown",
                json::type_name(other)
            )),
        }
    }

    /// Thumbnail (`thumbnailUrl`, else `image`) and `dateModified` (else `datePublished`, else
    /// `dateCreated`).
    fn fill_media_and_dates(&self, resource: &mut Resource, log: &mut ItemLog) {
        let thumbnail = ["thumbnailUrl", "image"].iter().find_map(|key| self.get(key).and_then(reference));
        if let Some(thumbnail) = thumbnail {
            let thumbnail = self.absolute(&thumbnail);
            if json::is_http_url(&thumbnail) {
                resource.thumbnail_url = Some(thumbnail);
            } else {
                log.warn(format!("thumbnail '{thumbnail}' is not an absolute http(s) URL; ignored"));
            }
        }
        let date = ["dateModified", "datePublished", "dateCreated"]
            .iter()
            .find_map(|key| self.get(key).and_then(|value| json::one_or_many(value).iter().find_map(Value::as_str)));
        if let Some(date) = date {
            resource.updated_at = json::parse_date(date);
            if resource.updated_at.is_none() {
                log.warn(format!("date '{date}' is not a date; ignored"));
            }
        }
    }

    /// Every audience role: `audience[].educationalRole` (strings or LRMI role URIs), and the
    /// audience concepts themselves (AMB: `{"id": ".../educationalAudienceRole/student"}`).
    fn audience_roles(&self) -> Vec<String> {
        let mut roles = Vec::new();
        for audience in self.items("audience") {
            match audience {
                Resolved::Object(object) => match self.context.get(object, "educationalRole") {
                    Some(role_values) => {
                        for role in json::one_or_many(role_values) {
                            roles.extend(name_of(self.context.resolve_value(role), &["en"]));
                        }
                    }
                    None => {
                        roles.extend(jsonld::id_of(object).map(str::to_string));
                        roles.extend(self.context.get(object, "audienceType").and_then(|t| name_of(t, &["en"])));
                        roles.extend(label_of(object, &["en"]));
                    }
                },
                Resolved::Value(value) => roles.extend(name_of(value, &["en"])),
            }
        }
        roles
    }
}

/// Whether an object is a SKOS concept (or a term of a known subject scheme) rather than a
/// topic named by `name`.
fn is_concept(object: &Object, context: &Context) -> bool {
    let typed = node_types(object, context).iter().any(|t| t == "Concept" || t == "DefinedTerm");
    typed
        || object.get("prefLabel").is_some()
        || object.get("inScheme").is_some()
        || jsonld::id_of(object).is_some_and(concepts::is_subject_scheme)
        || (object.get("name").is_none() && jsonld::id_of(object).is_some())
}

fn is_language_map(object: &Object) -> bool {
    !object.is_empty()
        && object.iter().all(|(key, value)| {
            key.len() <= 12
                && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && vocab::language(key).is_some()
                && matches!(value, Value::Str(_) | Value::Array(_))
        })
}

/// Adds a subject: the label in the resource's language (or the scheme's name for it), the
/// gateway's name of a known scheme's subject, and the concept URI (else the label) as raw.
fn add_subject(resource: &mut Resource, id: Option<&str>, label: Option<String>, wanted: &[&str]) {
    let known = id.and_then(concepts::subject_of);
    let german = wanted.first().is_some_and(|tag| tag.to_ascii_lowercase().starts_with("de"));
    let label = label.or_else(|| known.map(|subject| if german { subject.name_de } else { subject.name }.to_string()));
    if let Some(label) = &label {
        json::push_unique(&mut resource.subjects, label.clone());
    }
    if let Some(subject) = known {
        json::push_unique(&mut resource.subjects, subject.name.to_string());
    }
    match (id, &label) {
        (Some(id), _) => json::push_unique(&mut resource.subjects_raw, id.to_string()),
        (None, Some(label)) => json::push_unique(&mut resource.subjects_raw, label.clone()),
        (None, None) => {}
    }
}

/// A resource type as sent and normalised: a concept of a known scheme by its id, else its
/// English label, else its label in the resource's language, else the text itself.
fn concept_type(item: Resolved, wanted: &[&str]) -> Option<(String, Option<String>)> {
    match item {
        Resolved::Value(Value::Str(text)) => {
            let raw = text.trim();
            (!raw.is_empty()).then(|| (raw.to_string(), vocab::resource_type(raw)))
        }
        Resolved::Object(term) => {
            let id = jsonld::id_of(term).filter(|id| !id.starts_with("_:"));
            let english = label_of(term, &["en"]);
            let local = label_of(term, wanted);
            let raw = id.map(str::to_string).or_else(|| local.clone()).or_else(|| english.clone())?;
            let from_id = id.and_then(|id| concepts::resource_type(id).map(str::to_string));
            let normalised = from_id
                .or_else(|| english.as_deref().and_then(vocab::resource_type))
                .or_else(|| local.as_deref().and_then(vocab::resource_type))
                .or_else(|| id.filter(|id| !id_ends_in_uuid(id)).and_then(vocab::resource_type));
            Some((raw, normalised))
        }
        Resolved::Value(_) => None,
    }
}

/// Vocabularies such as OpenEduHub's name concepts by UUID: no type name in the URI.
fn id_ends_in_uuid(id: &str) -> bool {
    let last = id.trim_end_matches('/').rsplit(['/', '#', ':']).next().unwrap_or(id);
    json::is_uuid(last)
}

/// One level: a label or URI, or a `DefinedTerm` / concept whose id or any label names a level.
fn level_grades(level: Resolved) -> Option<GradeRange> {
    match level {
        Resolved::Value(Value::Str(text)) => vocab::grades_from_level(text),
        Resolved::Object(term) => {
            let ids = ["@id", "id", "url", "termCode"].iter().filter_map(|key| term.get(key).and_then(Value::as_str));
            let ids: Vec<String> = ids.map(str::to_string).collect();
            ids.iter().chain(all_labels(term).iter()).find_map(|candidate| vocab::grades_from_level(candidate))
        }
        Resolved::Value(_) => None,
    }
}

/// A standard given as a `DefinedTerm` (`termCode`, `url` or `@id`, `inDefinedTermSet`, `name`),
/// a SKOS concept (`id`, `prefLabel`), or a bare URL string.
fn defined_term_alignment(term: Resolved, alignment_type: &str, wanted: &[&str]) -> Option<Alignment> {
    let alignment = match term {
        Resolved::Value(Value::Str(text)) if json::is_http_url(text.trim()) => Alignment {
            guid: json::guid_from_uri(text.trim()),
            uri: Some(text.trim().to_string()),
            ..Alignment::default()
        },
        Resolved::Value(Value::Str(text)) => Alignment {
            description: Some(normalize_whitespace(text)).filter(|t| !t.is_empty()),
            ..Alignment::default()
        },
        Resolved::Object(object) => {
            let uri = ["url", "@id", "id"].iter().find_map(|key| object.get(key).and_then(reference));
            let uri = uri.filter(|uri| !uri.starts_with("_:"));
            Alignment {
                framework: object.get("inDefinedTermSet").and_then(|set| name_of(set, wanted)),
                code: object.get("termCode").and_then(|code| name_of(code, wanted)),
                guid: uri.as_deref().and_then(json::guid_from_uri),
                uri,
                alignment_type: None,
                description: ["name", "prefLabel"]
                    .iter()
                    .filter_map(|key| object.get(key))
                    .find_map(|label| jsonld::text_in(label, wanted)),
            }
        }
        Resolved::Value(_) => return None,
    };
    let names_something = alignment.guid.is_some()
        || alignment.uri.is_some()
        || alignment.code.is_some()
        || alignment.description.is_some();
    names_something.then(|| Alignment { alignment_type: Some(alignment_type.to_string()), ..alignment })
}

/// The `@language` a node's own `@context` declares.
fn context_language(value: &Value) -> Option<String> {
    json::one_or_many(value)
        .iter()
        .filter_map(Value::as_object)
        .find_map(|definitions| definitions.get("@language").and_then(Value::as_str))
        .map(|language| language.trim().to_string())
        .filter(|language| !language.is_empty())
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
    fn test_concatenated_pretty_printed_objects() {
        let parsed = parse_inline(
            r#"{
  "@type": "LearningResource", "identifier": "A", "name": "A", "url": "https://a.example/"
}
{
  "@type": "LearningResource", "identifier": "B", "name": "B", "url": "https://b.example/"
}"#,
        );
        let ids: Vec<&str> = parsed.resources.iter().map(|r| r.local_id.as_str()).collect();
        assert_eq!(ids, ["A", "B"]);
        let broken = parse_inline(
            "{\"@type\": \"LearningResource\", \"identifier\": \"A\", \"name\": \"A\", \"url\": \"https://a.example/\"}\n{\n  \"name\": \n}",
        );
        assert_eq!(broken.resources.len(), 1);
        assert_eq!(broken.rejected, 1);
        assert!(messages(&broken, Severity::Error)[0].contains("the rest of the document was not read"));
    }

    #[test]
    fn test_amb_concepts_and_language_maps() {
        let parsed = parse_inline(
            r#"{"@context": ["https://w3id.org/kim/amb/context.jsonld", {"@language": "de"}],
                "id": "https://oer.example.org/x", "type": ["LearningResource"],
                "name": {"de": "Wasserkreislauf", "en": "Water cycle"},
                "inLanguage": ["de"],
                "license": {"id": "https://creativecommons.org/licenses/by/4.0/"},
                "about": [{"id": "https://w3id.org/kim/hochschulfaechersystematik/n4", "prefLabel": {"de": "Mathematik, Naturwissenschaften"}},
                          {"id": "https://example.org/subjects/water"}, "Wetter"],
                "keywords": [{"de": "Regen", "en": "rain"}, "Verdunstung, Kondensation"],
                "learningResourceType": [{"id": "http://w3id.org/openeduhub/vocabs/new_lrt/0a79a1d0-583b-47ce-86a7-517ab352d796", "prefLabel": {"de": "Arbeitsblatt"}}],
                "audience": [{"id": "http://purl.org/dcx/lrmi-vocabs/educationalAudienceRole/teacher", "prefLabel": {"de": "Lehrkraft"}}],
                "educationalLevel": [{"id": "http://w3id.org/openeduhub/vocabs/educationalContext/grundschule"}],
                "teaches": [{"id": "https://case.example.org/CFItems/0efdcb25-011c-53b4-acad-05f8c59261b7", "prefLabel": {"de": "Kreisläufe beschreiben"}}]}"#,
        );
        assert!(messages(&parsed, Severity::Warning).is_empty(), "{:?}", parsed.diagnostics);
        let resource = &parsed.resources[0];
        assert_eq!(resource.title, "Wasserkreislauf", "the resource's language");
        assert_eq!(resource.url, "https://oer.example.org/x");
        assert_eq!(resource.subjects, ["Mathematik, Naturwissenschaften", "Science"]);
        assert_eq!(
            resource.subjects_raw,
            ["https://w3id.org/kim/hochschulfaechersystematik/n4", "https://example.org/subjects/water"],
            "a concept without label is kept raw"
        );
        assert_eq!(resource.keywords, ["Regen", "Verdunstung", "Kondensation", "Wetter"]);
        assert_eq!(resource.resource_types, ["worksheet"], "a UUID concept by its label");
        assert!(resource.teacher_only);
        assert_eq!(resource.grades, Some(GradeRange::new(1, 4)));
        assert_eq!(resource.alignments[0].guid.as_deref(), Some("0efdcb25-011c-53b4-acad-05f8c59261b7"));
        assert_eq!(resource.alignments[0].description.as_deref(), Some("Kreisläufe beschreiben"));
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
