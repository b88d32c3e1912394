//! Reading JSON-LD as publishers write it, without expanding it.
//!
//! Expansion would need the remote contexts (network access inside a pure parser), and the
//! documents the gateway reads use the schema.org vocabulary anyway. What varies is spelling,
//! and [`Context`] absorbs it:
//!
//! - property names bare (`name`), prefixed (`schema:name`, `sdo:name`, any prefix the
//!   document's `@context` binds to schema.org) or as full IRIs (`http://schema.org/name`);
//! - `@id` / `id` and `@type` / `type` (compacted AMB records use the bare forms);
//! - references: a value `{"@id": "_:b1"}` (or `{"id": …}`) that names another node of the
//!   document (in `@graph`, or anywhere else) stands for that node;
//! - the default language of strings (`"@context": [..., {"@language": "de"}]`).

use std::collections::HashMap;

use super::json::{self, Object, Value};

/// IRIs of the schema.org vocabulary, either scheme.
const SCHEMA_IRIS: [&str; 2] = ["http://schema.org/", "https://schema.org/"];

/// Prefixes commonly bound to schema.org even where the context is remote.
const WELL_KNOWN_PREFIXES: [&str; 2] = ["schema", "sdo"];

/// Deepest nesting the context walk follows (JSON parsing already bounds depth; this keeps
/// the walk's own stack small).
const MAX_WALK_DEPTH: usize = 64;

/// What the document says about its own vocabulary, and an index of its identified nodes.
#[derive(Default)]
pub(crate) struct Context<'v, 'a> {
    /// Prefixes that mean schema.org (`schema`, `sdo` and those the document binds).
    prefixes: Vec<String>,
    /// Whether some key in the document is prefixed or an IRI (else lookups stay direct).
    has_qualified_keys: bool,
    /// The document's default language (`@language` in a `@context`).
    pub language: Option<String>,
    /// Nodes by `@id`: objects that have an id and at least one property besides it.
    index: HashMap<&'v str, &'v Value<'a>>,
}

impl<'v, 'a> Context<'v, 'a> {
    /// Reads the contexts and indexes the identified nodes of every root value.
    pub fn build(roots: &[&'v Value<'a>]) -> Self {
        let mut context = Context {
            prefixes: WELL_KNOWN_PREFIXES.iter().map(|prefix| (*prefix).to_string()).collect(),
            ..Context::default()
        };
        let mut stack: Vec<(&'v Value<'a>, usize)> = roots.iter().map(|root| (*root, 0)).collect();
        while let Some((value, depth)) = stack.pop() {
            if depth > MAX_WALK_DEPTH {
                continue;
            }
            match value {
                Value::Array(items) => stack.extend(items.iter().map(|item| (item, depth + 1))),
                Value::Object(object) => {
                    context.visit(object, value);
                    for (key, member) in object.iter() {
                        if key != "@context" {
                            stack.push((member, depth + 1));
                        }
                    }
                }
                _ => {}
            }
        }
        context
    }

    fn visit(&mut self, object: &'v Object<'a>, value: &'v Value<'a>) {
        if let Some(local_context) = object.get("@context") {
            self.read_context(local_context);
        }
        let mut properties = 0;
        for (key, _) in object.iter() {
            if !self.has_qualified_keys && (key.contains(':') || key.starts_with("http")) {
                self.has_qualified_keys = true;
            }
            if !matches!(key, "@id" | "id" | "@type" | "type" | "@context") {
                properties += 1;
            }
        }
        if properties > 0 {
            if let Some(id) = id_of(object) {
                self.index.entry(id).or_insert(value);
            }
        }
    }

    fn read_context(&mut self, value: &Value<'a>) {
        for item in json::one_or_many(value) {
            let Value::Object(definitions) = item else {
                continue;
            };
            for (term, definition) in definitions.iter() {
                if term == "@language" {
                    if let Some(language) = definition.as_str().filter(|l| !l.trim().is_empty()) {
                        self.language.get_or_insert_with(|| language.trim().to_string());
                    }
                    continue;
                }
                let iri = match definition {
                    Value::Str(iri) => Some(iri.as_ref()),
                    Value::Object(expanded) => expanded.get("@id").and_then(Value::as_str),
                    _ => None,
                };
                if !term.starts_with('@')
                    && iri.is_some_and(|iri| SCHEMA_IRIS.contains(&iri.trim()))
                    && !self.prefixes.iter().any(|known| known == term)
                {
                    self.prefixes.push(term.to_string());
                }
            }
        }
    }

    /// The schema.org name of a key: `schema:name`, `http://schema.org/name` → `name`. Other
    /// keys (`@id`, `prefLabel`, another vocabulary's `dc:title`) are returned as they are.
    pub fn local_key<'k>(&self, key: &'k str) -> &'k str {
        if !self.has_qualified_keys {
            return key;
        }
        if let Some(local) = SCHEMA_IRIS.iter().find_map(|iri| key.strip_prefix(iri)) {
            return local;
        }
        match key.split_once(':') {
            Some((prefix, local)) if !local.starts_with("//") && self.prefixes.iter().any(|p| p == prefix) => local,
            _ => key,
        }
    }

    /// A schema.org type name without prefix or IRI (`schema:Book`, `https://schema.org/Book`
    /// → `Book`).
    pub fn local_type<'k>(&self, raw: &'k str) -> &'k str {
        let trimmed = raw.trim();
        if let Some(local) = SCHEMA_IRIS.iter().find_map(|iri| trimmed.strip_prefix(iri)) {
            return local;
        }
        match trimmed.split_once(':') {
            Some((prefix, local)) if !local.starts_with("//") && self.prefixes.iter().any(|p| p == prefix) => local,
            _ => trimmed,
        }
    }

    /// The member `key` (a schema.org name) of an object, however the document spells it.
    pub fn get(&self, object: &'v Object<'a>, key: &str) -> Option<&'v Value<'a>> {
        if !self.has_qualified_keys {
            return object.get(key);
        }
        object.iter().find(|(member, _)| self.local_key(member) == key).map(|(_, value)| value)
    }

    /// The indexed node with this id.
    #[cfg(test)]
    pub fn node(&self, id: &str) -> Option<&'v Object<'a>> {
        self.index.get(id).and_then(|value| value.as_object())
    }

    /// The node a reference (`{"@id": "_:b1"}`) names, else the value itself.
    pub fn resolve_value(&self, value: &'v Value<'a>) -> &'v Value<'a> {
        let Value::Object(object) = value else {
            return value;
        };
        if !is_reference(object) {
            return value;
        }
        id_of(object).and_then(|id| self.index.get(id).copied()).unwrap_or(value)
    }

    /// The values of a property, one or many, references resolved to the nodes they name.
    pub fn items(&self, object: &'v Object<'a>, key: &str) -> Vec<Resolved<'v, 'a>> {
        let Some(value) = self.get(object, key) else {
            return Vec::new();
        };
        json::one_or_many(value).iter().map(|item| self.resolved(item)).collect()
    }

    /// One value, a reference resolved to the node it names.
    pub fn resolved(&self, value: &'v Value<'a>) -> Resolved<'v, 'a> {
        match self.resolve_value(value) {
            Value::Object(object) => Resolved::Object(object),
            other => Resolved::Value(other),
        }
    }
}

/// A property value with references followed: an object (the value's own or the node it
/// referenced) or another JSON value.
#[derive(Clone, Copy)]
pub(crate) enum Resolved<'v, 'a> {
    Object(&'v Object<'a>),
    Value(&'v Value<'a>),
}

impl<'v, 'a> Resolved<'v, 'a> {
    pub fn as_object(self) -> Option<&'v Object<'a>> {
        match self {
            Resolved::Object(object) => Some(object),
            Resolved::Value(_) => None,
        }
    }

    /// "a string", "an object"…, for messages.
    pub fn type_name(self) -> &'static str {
        match self {
            Resolved::Object(_) => "an object",
            Resolved::Value(value) => json::type_name(value),
        }
    }
}

/// Whether an object only names a node (`{"@id": …}`, perhaps with its `@type`).
fn is_reference(object: &Object<'_>) -> bool {
    object.iter().all(|(key, _)| matches!(key, "@id" | "id" | "@type" | "type"))
}

/// `@id`, else `id`, when it is a non-empty string.
pub(crate) fn id_of<'v>(object: &'v Object<'_>) -> Option<&'v str> {
    ["@id", "id"]
        .iter()
        .find_map(|key| object.get(key).and_then(Value::as_str))
        .map(str::trim)
        .filter(|id| !id.is_empty())
}

/// A string in the wanted language from a plain string, a `{"@value", "@language"}` literal,
/// a language map (`{"de": "…", "en": "…"}`, as SKOS `prefLabel`s are written in AMB) or an
/// array of those. Preference: the first wanted language (by primary subtag), then English,
/// then the first value given.
pub(crate) fn text_in(value: &Value<'_>, wanted: &[&str]) -> Option<String> {
    let mut candidates: Vec<(Option<String>, String)> = Vec::new();
    collect_texts(value, None, &mut candidates, 0);
    pick_language(candidates, wanted)
}

/// [`text_in`] for an object (a `@value` literal or a language map).
pub(crate) fn text_in_object(object: &Object<'_>, wanted: &[&str]) -> Option<String> {
    let mut candidates: Vec<(Option<String>, String)> = Vec::new();
    collect_object_texts(object, None, &mut candidates, 0);
    pick_language(candidates, wanted)
}

fn collect_texts(value: &Value<'_>, language: Option<&str>, out: &mut Vec<(Option<String>, String)>, depth: usize) {
    if depth > 4 {
        return;
    }
    match value {
        Value::Str(text) if !text.trim().is_empty() => out.push((language.map(str::to_string), text.to_string())),
        Value::Array(items) => {
            for item in items {
                collect_texts(item, language, out, depth + 1);
            }
        }
        Value::Object(object) => collect_object_texts(object, language, out, depth),
        _ => {}
    }
}

fn collect_object_texts(
    object: &Object<'_>,
    language: Option<&str>,
    out: &mut Vec<(Option<String>, String)>,
    depth: usize,
) {
    if let Some(literal) = object.get("@value") {
        let tagged = object.get("@language").and_then(Value::as_str).or(language);
        collect_texts(literal, tagged, out, depth + 1);
        return;
    }
    for (key, member) in object.iter() {
        if key.starts_with('@') {
            continue;
        }
        // A language map: keys are language tags.
        if key.len() <= 12 && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
            collect_texts(member, Some(key), out, depth + 1);
        }
    }
}

fn primary(tag: &str) -> String {
    tag.split(['-', '_']).next().unwrap_or(tag).to_ascii_lowercase()
}

fn pick_language(candidates: Vec<(Option<String>, String)>, wanted: &[&str]) -> Option<String> {
    let chosen = wanted
        .iter()
        .map(|tag| primary(tag))
        .chain(std::iter::once("en".to_string()))
        .find_map(|want| candidates.iter().find(|(language, _)| language.as_deref().map(primary) == Some(want.clone())))
        .or_else(|| candidates.iter().find(|(language, _)| language.is_none()))
        .or_else(|| candidates.first())?;
    Some(chosen.1.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(text: &str) -> Value<'_> {
        json::parse_document(text.as_bytes()).unwrap()
    }

    #[test]
    fn test_prefixed_and_iri_keys_read_as_schema_names() {
        let value = doc(r#"{"@context": {"s": "http://schema.org/", "@language": "de"},
            "s:name": "A", "http://schema.org/url": "https://a.example", "sdo:license": "x", "dc:title": "T"}"#);
        let object = value.as_object().unwrap();
        let context = Context::build(&[&value]);
        assert_eq!(context.get(object, "name").and_then(Value::as_str), Some("A"));
        assert_eq!(context.get(object, "url").and_then(Value::as_str), Some("https://a.example"));
        assert_eq!(context.get(object, "license").and_then(Value::as_str), Some("x"));
        assert!(context.get(object, "title").is_none(), "another vocabulary's term is not schema.org's");
        assert_eq!(context.language.as_deref(), Some("de"));
        assert_eq!(context.local_type("s:Course"), "Course");
        assert_eq!(context.local_type("https://schema.org/Book"), "Book");
    }

    #[test]
    fn test_references_resolve_to_graph_nodes() {
        let value = doc(r#"{"@graph": [
            {"@id": "r1", "@type": "LearningResource", "license": {"@id": "_:l"}, "about": [{"id": "c1"}, {"@id": "elsewhere"}]},
            {"@id": "_:l", "url": "https://creativecommons.org/licenses/by/4.0/"},
            {"id": "c1", "prefLabel": {"de": "Mathematik", "en": "Mathematics"}}]}"#);
        let context = Context::build(&[&value]);
        let resource = context.node("r1").unwrap();
        let license = context.items(resource, "license")[0].as_object().unwrap();
        assert!(license.get("url").is_some());
        let about = context.items(resource, "about");
        assert!(about[0].as_object().unwrap().get("prefLabel").is_some());
        assert_eq!(id_of(about[1].as_object().unwrap()), Some("elsewhere"), "an unknown reference stays itself");
    }

    #[test]
    fn test_text_in_prefers_the_wanted_language() {
        let value = doc(r#"[{"de": "Mathematik", "en": "Mathematics"},
                           [{"@value": "Titre", "@language": "fr"}, {"@value": "Title", "@language": "en"}],
                           "plain", {"es": "Hola"}]"#);
        let items = value.as_array().unwrap();
        assert_eq!(text_in(&items[0], &["de-DE"]).as_deref(), Some("Mathematik"));
        assert_eq!(text_in(&items[0], &["fr"]).as_deref(), Some("Mathematics"), "English next");
        assert_eq!(text_in(&items[1], &["fr"]).as_deref(), Some("Titre"));
        assert_eq!(text_in(&items[2], &["de"]).as_deref(), Some("plain"));
        assert_eq!(text_in(&items[3], &["de"]).as_deref(), Some("Hola"), "else the first");
    }
}
