//! Turning a [`ResourceRecord`] into a tantivy document and back.

use tantivy::schema::Value;
use tantivy::TantivyDocument;

use super::schema::Fields;
use crate::resource::{ResourceKind, ResourceRecord};

/// The filter/facet key of a language: its primary subtag, so `en-US` and `en` count together.
pub fn language_key(tag: &str) -> String {
    tag.split('-').next().unwrap_or(tag).to_ascii_lowercase()
}

/// The filter key of free-text facet values: case-insensitive.
pub fn value_key(value: &str) -> String {
    value.trim().to_lowercase()
}

/// Builds the indexed form of one record.
pub fn to_document(fields: &Fields, record: &ResourceRecord) -> Result<TantivyDocument, serde_json::Error> {
    let resource = &record.resource;
    let mut doc = TantivyDocument::default();
    doc.add_text(fields.id, record.id().to_string());
    doc.add_text(fields.source, source_key(record.publisher.as_str(), &record.source_id));
    doc.add_text(fields.payload, serde_json::to_string(record)?);
    doc.add_text(fields.title, &resource.title);
    if let Some(description) = &resource.description {
        doc.add_text(fields.description, description);
    }
    for keyword in &resource.keywords {
        doc.add_text(fields.keywords, keyword);
    }
    for subject in &resource.subjects {
        doc.add_text(fields.subjects, subject);
    }
    for alignment in &resource.alignments {
        if let Some(code) = &alignment.code {
            doc.add_text(fields.codes, code);
        }
        for key in [&alignment.guid, &alignment.uri].into_iter().flatten() {
            doc.add_text(fields.alignment, key.to_lowercase());
        }
    }
    add_native_text(fields, record, &mut doc);
    doc.add_text(fields.title_sort, resource.title.to_lowercase());
    doc.add_i64(fields.updated, resource.updated_at.map(|t| t.timestamp()).unwrap_or(0));
    if let Some(grades) = resource.grades {
        doc.add_i64(fields.grade_min, i64::from(grades.min));
        doc.add_i64(fields.grade_max, i64::from(grades.max));
        for level in grades.levels() {
            doc.add_text(fields.grade, level.to_string());
        }
    }
    doc.add_text(fields.publisher, record.publisher.as_str());
    for subject in dedup(resource.subjects.iter().map(|s| s.trim().to_string())) {
        doc.add_text(fields.subject, subject);
    }
    for resource_type in dedup(resource.resource_types.iter().cloned()) {
        doc.add_text(fields.resource_type, resource_type);
    }
    for language in dedup(resource.languages.iter().map(|l| language_key(l))) {
        doc.add_text(fields.language, language);
    }
    if let Some(license) = &resource.license {
        doc.add_text(fields.license, license);
    }
    doc.add_text(fields.kind, resource.kind.as_str());
    if resource.free == Some(true) {
        doc.add_text(fields.free, "true");
    }
    Ok(doc)
}

/// The `source` field value: sources are named per publisher.
pub fn source_key(publisher: &str, source_id: &str) -> String {
    format!("{publisher}/{source_id}")
}

fn add_native_text(fields: &Fields, record: &ResourceRecord, doc: &mut TantivyDocument) {
    let resource = &record.resource;
    for language in dedup(resource.languages.iter().map(|l| language_key(l))) {
        let Some((_, field)) = fields.native.iter().find(|(code, _)| *code == language) else {
            continue;
        };
        doc.add_text(*field, &resource.title);
        if let Some(description) = &resource.description {
            doc.add_text(*field, description);
        }
        for keyword in &resource.keywords {
            doc.add_text(*field, keyword);
        }
    }
}

fn dedup(values: impl Iterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for value in values {
        if !value.is_empty() && !out.contains(&value) {
            out.push(value);
        }
    }
    out
}

/// Reads the record back from a stored document.
pub fn from_document(fields: &Fields, doc: &TantivyDocument) -> Option<ResourceRecord> {
    let payload = doc.get_first(fields.payload)?.as_str()?;
    serde_json::from_str(payload).ok()
}

/// The kind's facet key, for filters.
pub fn kind_key(kind: ResourceKind) -> &'static str {
    kind.as_str()
}
