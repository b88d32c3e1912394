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
pub fn to_document(fields: &Fields, record: &ResourceRecord) -> Result<TantivyDocument, postcard::Error> {
    let resource = &record.resource;
    let mut doc = TantivyDocument::default();
    doc.add_text(fields.id, record.id().to_string());
    doc.add_text(fields.source, source_key(record.publisher.as_str(), &record.source_id));
    doc.add_bytes(fields.payload, &encode_payload(record)?);
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
    for code in dedup(resource.alignments.iter().filter_map(|a| a.code.as_deref()).map(|c| c.trim().to_string())) {
        doc.add_text(fields.code, code);
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

/// The stored form of a record: postcard, a compact binary serde format, cheaper than JSON to
/// write at ingest (no escaping, no field names) and to read for every hit. It is not
/// self-describing, so a change to `ResourceRecord`'s shape needs a new
/// [`super::schema::SCHEMA_VERSION`] (a unit test below pins the layout).
pub fn encode_payload(record: &ResourceRecord) -> Result<Vec<u8>, postcard::Error> {
    postcard::to_stdvec(record)
}

/// Reads the record back from a stored document.
pub fn from_document(fields: &Fields, doc: &TantivyDocument) -> Option<ResourceRecord> {
    let payload = doc.get_first(fields.payload)?.as_bytes()?;
    postcard::from_bytes(payload).ok()
}

/// The kind's facet key, for filters.
pub fn kind_key(kind: ResourceKind) -> &'static str {
    kind.as_str()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use chrono::TimeZone;
    use sha2::{Digest, Sha256};

    use super::*;
    use crate::index::schema::{self, SCHEMA_VERSION};
    use crate::resource::{Alignment, CatalogFormat, GradeRange, LineItem, LtiLink, PublisherId, Resource};

    /// A record with every field set, so every field is in the layout.
    fn full_record() -> ResourceRecord {
        let mut resource = Resource::new(
            "R-1",
            "Fractions on a number line",
            "https://tool.example.com/launch",
            ResourceKind::LtiResourceLink,
        );
        resource.description = Some("Place fractions & compare them.".to_string());
        resource.lti = Some(LtiLink {
            launch_url: "https://tool.example.com/launch".to_string(),
            custom: BTreeMap::from([("unit".to_string(), "3".to_string())]),
            extensions: BTreeMap::from([(
                "canvas.instructure.com".to_string(),
                BTreeMap::from([("outcome".to_string(), "10".to_string())]),
            )]),
            icon_url: Some("https://tool.example.com/icon.png".to_string()),
            vendor_code: Some("acme".to_string()),
            vendor_name: Some("Acme".to_string()),
            line_item: Some(LineItem {
                score_maximum: 10.0,
                label: Some("Fractions".to_string()),
                resource_id: Some("fractions-quiz".to_string()),
                tag: Some("quiz".to_string()),
            }),
        });
        resource.keywords = vec!["fractions".to_string()];
        resource.subjects = vec!["Mathematics".to_string()];
        resource.subjects_raw = vec!["https://w3id.org/kim/hochschulfaechersystematik/n105".to_string()];
        resource.resource_types = vec!["Interactive".to_string()];
        resource.resource_types_raw = vec!["simulation".to_string()];
        resource.languages = vec!["en".to_string()];
        resource.grades = Some(GradeRange::new(3, 4));
        resource.license = Some("CC-BY-4.0".to_string());
        resource.license_raw = Some("https://creativecommons.org/licenses/by/4.0/".to_string());
        resource.free = Some(true);
        resource.thumbnail_url = Some("https://tool.example.com/thumb.png".to_string());
        resource.alignments = vec![Alignment {
            framework: Some("CCSS".to_string()),
            code: Some("3.NF.A.2".to_string()),
            guid: Some("6b9bf846-d7cc-11e8-824f-0242ac160002".to_string()),
            uri: Some("https://case.example.org/3.NF.A.2".to_string()),
            alignment_type: Some("teaches".to_string()),
            description: Some("Understand a fraction as a number on the number line.".to_string()),
        }];
        resource.updated_at = Some(chrono::Utc.with_ymd_and_hms(2026, 5, 1, 12, 30, 0).unwrap());
        resource.teacher_only = true;
        resource.media_type = Some("text/html".to_string());
        resource.packaged_path = Some("web/fractions.html".to_string());
        ResourceRecord {
            publisher: PublisherId::parse("acme").unwrap(),
            source_id: "push".to_string(),
            format: CatalogFormat::ResourceSearch,
            resource,
        }
    }

    #[test]
    fn test_a_record_survives_the_index_document() {
        let (_, fields) = schema::build();
        let record = full_record();
        let doc = to_document(&fields, &record).unwrap();
        assert_eq!(from_document(&fields, &doc), Some(record));
    }

    #[test]
    fn test_the_payload_layout_is_pinned_to_the_schema_version() {
        // Stored payloads are read back without field names: if this fails, ResourceRecord
        // changed shape. Bump SCHEMA_VERSION (old indexes are then rebuilt from the archive) and
        // update both values here.
        let digest = Sha256::digest(encode_payload(&full_record()).unwrap());
        let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
        assert_eq!(
            (SCHEMA_VERSION, hex.as_str()),
            (9, "02926c2049603a0b328c1745ae2032a9b3868a7edfb3cbe63c700d00f1fc059c")
        );
    }
}
