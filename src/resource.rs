//! The one domain model shared by parsers, index, GraphQL and LTI.
//!
//! GraphQL types convert from these; they are not the model.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A publisher's slug (`mathwise`, `sciencelab`): lowercase ASCII letters, digits and `-`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PublisherId(String);

impl PublisherId {
    /// Accepts a slug as given, refusing anything that could not appear in a URL path segment
    /// or in a resource id unambiguously.
    pub fn parse(raw: &str) -> Result<Self, InvalidPublisherId> {
        let valid = !raw.is_empty()
            && raw.len() <= 64
            && raw.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !raw.starts_with('-')
            && !raw.ends_with('-');
        if valid {
            Ok(Self(raw.to_string()))
        } else {
            Err(InvalidPublisherId(raw.to_string()))
        }
    }

    /// Derives a slug from a display name ("MathWise Learning" → `mathwise-learning`).
    pub fn slugify(name: &str) -> Result<Self, InvalidPublisherId> {
        let mut slug = String::new();
        for ch in name.chars().flat_map(|c| c.to_lowercase()) {
            if ch.is_ascii_alphanumeric() {
                slug.push(ch);
            } else if !slug.is_empty() && !slug.ends_with('-') {
                slug.push('-');
            }
        }
        while slug.ends_with('-') {
            slug.pop();
        }
        slug.truncate(64);
        Self::parse(slug.trim_end_matches('-'))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PublisherId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A publisher id that is not a slug.
#[derive(Debug, Clone, thiserror::Error)]
#[error("'{0}' is not a valid publisher id: use 1-64 lowercase letters, digits and '-'")]
pub struct InvalidPublisherId(pub String);

/// `<publisher id>:<the publisher's own identifier>`: stable across re-harvests, so LMS links
/// made from it keep working.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourceId {
    pub publisher: PublisherId,
    pub local_id: String,
}

impl ResourceId {
    pub fn new(publisher: PublisherId, local_id: impl Into<String>) -> Self {
        Self { publisher, local_id: local_id.into() }
    }

    /// Splits at the first `:`; the local part may itself contain colons (OAI identifiers do).
    pub fn parse(raw: &str) -> Option<Self> {
        let (publisher, local_id) = raw.split_once(':')?;
        if local_id.is_empty() {
            return None;
        }
        Some(Self::new(PublisherId::parse(publisher).ok()?, local_id))
    }
}

impl fmt::Display for ResourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.publisher, self.local_id)
    }
}

/// What a resource is, which decides the deep-linking content item type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ResourceKind {
    LtiResourceLink,
    Link,
    File,
    Html,
    Image,
}

impl ResourceKind {
    pub const ALL: [ResourceKind; 5] = [
        ResourceKind::LtiResourceLink,
        ResourceKind::Link,
        ResourceKind::File,
        ResourceKind::Html,
        ResourceKind::Image,
    ];

    /// The name used in the index, in facets and in GraphQL.
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceKind::LtiResourceLink => "LTI_RESOURCE_LINK",
            ResourceKind::Link => "LINK",
            ResourceKind::File => "FILE",
            ResourceKind::Html => "HTML",
            ResourceKind::Image => "IMAGE",
        }
    }

    pub fn from_str_opt(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == raw)
    }
}

/// The catalog formats the gateway reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CatalogFormat {
    CommonCartridge,
    ResourceSearch,
    Lrmi,
    OaiPmh,
    /// A publisher's sitemap whose pages carry LRMI / schema.org JSON-LD; as a document, one
    /// such HTML page.
    Sitemap,
}

impl CatalogFormat {
    pub const ALL: [CatalogFormat; 5] = [
        CatalogFormat::CommonCartridge,
        CatalogFormat::ResourceSearch,
        CatalogFormat::Lrmi,
        CatalogFormat::OaiPmh,
        CatalogFormat::Sitemap,
    ];

    /// The lowercase name used in URLs and on the command line (`common_cartridge`).
    pub fn as_param(self) -> &'static str {
        match self {
            CatalogFormat::CommonCartridge => "common_cartridge",
            CatalogFormat::ResourceSearch => "resource_search",
            CatalogFormat::Lrmi => "lrmi",
            CatalogFormat::OaiPmh => "oai_pmh",
            CatalogFormat::Sitemap => "sitemap",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CatalogFormat::CommonCartridge => "COMMON_CARTRIDGE",
            CatalogFormat::ResourceSearch => "RESOURCE_SEARCH",
            CatalogFormat::Lrmi => "LRMI",
            CatalogFormat::OaiPmh => "OAI_PMH",
            CatalogFormat::Sitemap => "SITEMAP",
        }
    }

    /// Accepts both spellings, case-insensitively (`oai_pmh`, `OAI_PMH`, `oai-pmh`).
    pub fn parse(raw: &str) -> Option<Self> {
        let wanted = raw.trim().to_ascii_lowercase().replace('-', "_");
        Self::ALL.into_iter().find(|f| f.as_param() == wanted)
    }
}

/// How a catalog document relates to what its source already had.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum IngestMode {
    /// The document is the whole catalog of its source: what is missing from it is removed.
    Replace,
    /// The document adds and updates; only explicitly deleted ids are removed (OAI-PMH pages).
    Merge,
}

impl IngestMode {
    pub fn as_str(self) -> &'static str {
        match self {
            IngestMode::Replace => "REPLACE",
            IngestMode::Merge => "MERGE",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "REPLACE" => Some(IngestMode::Replace),
            "MERGE" => Some(IngestMode::Merge),
            _ => None,
        }
    }
}

/// A grade range on the brief's scale: PK = -1, K = 0, grades 1..12, higher education = 13.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct GradeRange {
    pub min: i8,
    pub max: i8,
}

impl GradeRange {
    pub const PRE_K: i8 = -1;
    pub const HIGHER_EDUCATION: i8 = 13;

    /// Clamps both ends to the scale and orders them.
    pub fn new(a: i8, b: i8) -> Self {
        let a = a.clamp(Self::PRE_K, Self::HIGHER_EDUCATION);
        let b = b.clamp(Self::PRE_K, Self::HIGHER_EDUCATION);
        Self { min: a.min(b), max: a.max(b) }
    }

    pub fn single(grade: i8) -> Self {
        Self::new(grade, grade)
    }

    /// The smallest range covering both.
    pub fn union(self, other: GradeRange) -> Self {
        Self::new(self.min.min(other.min), self.max.max(other.max))
    }

    pub fn overlaps(self, min: i8, max: i8) -> bool {
        self.min <= max && self.max >= min
    }

    /// Every level the range covers, for the grade-level facet.
    pub fn levels(self) -> impl Iterator<Item = i8> {
        self.min..=self.max
    }
}

/// The display label of a grade level ("PK", "K", "3", "HE").
pub fn grade_label(level: i8) -> String {
    match level {
        -1 => "Pre-K".to_string(),
        0 => "Kindergarten".to_string(),
        13 => "Higher education".to_string(),
        n => format!("Grade {n}"),
    }
}

/// A curriculum standard the resource teaches or assesses (CASE item, CC `csm:` GUID, LRMI
/// alignment). Any of the parts may be missing; a GUID or URI identifies it across publishers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alignment {
    /// Framework name ("Common Core State Standards").
    pub framework: Option<String>,
    /// Human coding scheme ("3.NF.A.1").
    pub code: Option<String>,
    /// CASE CFItem identifier, lowercase.
    pub guid: Option<String>,
    /// CASE CFItem URI.
    pub uri: Option<String>,
    /// `teaches`, `assesses`, `requires`... as sent.
    pub alignment_type: Option<String>,
    pub description: Option<String>,
}

/// What a catalog says about a resource's accessibility, in the terms of schema.org's
/// accessibility properties (which LRMI and LTI Resource Search share), as sent: a teacher
/// choosing for a class with a screen-reader user or a photosensitive pupil needs them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Accessibility {
    /// `accessibilityFeature` (`alternativeText`, `captions`, `longDescription`...).
    pub features: Vec<String>,
    /// `accessibilityHazard` (`flashing`, `noFlashingHazard`, `sound`...).
    pub hazards: Vec<String>,
    /// `accessMode` (`textual`, `visual`, `auditory`...).
    pub access_modes: Vec<String>,
    /// `accessibilityAPI` (`ARIA`...).
    pub apis: Vec<String>,
    /// `accessibilityControl`, RS `accessibilityInputMethods` (`fullKeyboardControl`...).
    pub controls: Vec<String>,
    /// `accessibilitySummary`: the publisher's own words.
    pub summary: Option<String>,
}

impl Accessibility {
    /// Whether the catalog said nothing about accessibility.
    pub fn is_empty(&self) -> bool {
        self.features.is_empty()
            && self.hazards.is_empty()
            && self.access_modes.is_empty()
            && self.apis.is_empty()
            && self.controls.is_empty()
            && self.summary.is_none()
    }
}

/// A gradebook column the LMS may create when the link is inserted (the LTI Deep Linking
/// `lineItem`: Canvas's `outcome` extension, an RS `lineItem`, a CC 1.4 `lineItem`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LineItem {
    pub score_maximum: f64,
    pub label: Option<String>,
    /// The tool's own id for what is graded (`resourceId`), so its scores land on this column.
    pub resource_id: Option<String>,
    /// A tag the tool uses to tell its columns apart (`tag`).
    pub tag: Option<String>,
}

/// What an LTI tool needs to be launched: the parts of a `cartridge_basiclti_link` or an RS
/// `ltiLink` that survive into a deep link.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LtiLink {
    /// `secure_launch_url` when present, else `launch_url`.
    pub launch_url: String,
    /// Custom parameters, passed on verbatim (substitution variables included).
    pub custom: BTreeMap<String, String>,
    /// Platform extension properties (`platform` → name → value), e.g. Canvas `outcome`.
    pub extensions: BTreeMap<String, BTreeMap<String, String>>,
    pub icon_url: Option<String>,
    pub vendor_code: Option<String>,
    pub vendor_name: Option<String>,
    /// Present when the link is gradable (Canvas `outcome` extension).
    pub line_item: Option<LineItem>,
}

/// A learning resource from any catalog format, normalised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resource {
    /// The publisher's own identifier (the part after `<publisher>:` in the gateway id).
    pub local_id: String,
    /// Whitespace-normalised title.
    pub title: String,
    /// Plain text (HTML tags removed, whitespace normalised).
    pub description: Option<String>,
    /// Where the resource lives: the launch URL for LTI links. For web content packed in a
    /// cartridge, the path inside the cartridge until ingest rewrites it to `/content/...`.
    pub url: String,
    pub kind: ResourceKind,
    pub lti: Option<LtiLink>,
    pub keywords: Vec<String>,
    /// Subject names: the label the catalog gave in the resource's language, and the
    /// gateway's name for a subject of a known scheme (Destatis, KIM school subjects).
    pub subjects: Vec<String>,
    /// The subjects as sent: concept URIs (`https://w3id.org/kim/hochschulfaechersystematik/n105`)
    /// or the text when no concept was given.
    pub subjects_raw: Vec<String>,
    /// Normalised resource types (see `catalog::vocab::resource_type`).
    pub resource_types: Vec<String>,
    /// The types exactly as the catalog sent them.
    pub resource_types_raw: Vec<String>,
    /// BCP 47 tags, lowercase language subtag (`en`, `es`, `fr-CA`).
    pub languages: Vec<String>,
    pub grades: Option<GradeRange>,
    /// A canonical licence URL or SPDX id.
    pub license: Option<String>,
    /// The licence statement as sent.
    pub license_raw: Option<String>,
    pub free: Option<bool>,
    pub thumbnail_url: Option<String>,
    pub alignments: Vec<Alignment>,
    #[serde(default, with = "compact_time")]
    pub updated_at: Option<DateTime<Utc>>,
    /// Meant for teachers only (CC `intendedEndUserRole` Instructor, LOM role teacher).
    pub teacher_only: bool,
    /// MIME type when known (files, images).
    pub media_type: Option<String>,
    /// Path inside an uploaded cartridge of the packed web content this resource is.
    pub packaged_path: Option<String>,
    /// Accessibility properties, when the catalog gives them.
    pub accessibility: Accessibility,
}

impl Resource {
    /// A resource with only what every format must provide; parsers fill in the rest.
    pub fn new(
        local_id: impl Into<String>,
        title: impl Into<String>,
        url: impl Into<String>,
        kind: ResourceKind,
    ) -> Self {
        Self {
            local_id: local_id.into(),
            title: title.into(),
            description: None,
            url: url.into(),
            kind,
            lti: None,
            keywords: Vec::new(),
            subjects: Vec::new(),
            subjects_raw: Vec::new(),
            resource_types: Vec::new(),
            resource_types_raw: Vec::new(),
            languages: Vec::new(),
            grades: None,
            license: None,
            license_raw: None,
            free: None,
            thumbnail_url: None,
            alignments: Vec::new(),
            updated_at: None,
            teacher_only: false,
            media_type: None,
            packaged_path: None,
            accessibility: Accessibility::default(),
        }
    }
}

/// A resource with where it came from: what the index stores and every reader gets back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceRecord {
    pub publisher: PublisherId,
    /// The catalog source that delivered it (a pushed catalog or a harvested feed).
    pub source_id: String,
    pub format: CatalogFormat,
    pub resource: Resource,
}

impl ResourceRecord {
    pub fn id(&self) -> ResourceId {
        ResourceId::new(self.publisher.clone(), self.resource.local_id.clone())
    }
}

/// `updated_at` as RFC 3339 text in human-readable formats (JSON), as chrono writes it, and as
/// seconds and nanoseconds in binary ones (the index's postcard payload): parsing the text back
/// for every hit was 0.7% of the serving CPU under the peer kit's mix (BENCHMARKS.md, issue 14).
mod compact_time {
    use chrono::{DateTime, Utc};
    use serde::{de::Error as _, Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(time: &Option<DateTime<Utc>>, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            return time.serialize(serializer);
        }
        time.map(|time| (time.timestamp(), time.timestamp_subsec_nanos())).serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        if deserializer.is_human_readable() {
            return Option::<DateTime<Utc>>::deserialize(deserializer);
        }
        match Option::<(i64, u32)>::deserialize(deserializer)? {
            None => Ok(None),
            Some((seconds, nanos)) => DateTime::from_timestamp(seconds, nanos)
                .map(Some)
                .ok_or_else(|| D::Error::custom(format!("no such time: {seconds} s {nanos} ns"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_updated_at_is_text_in_json_and_numbers_in_postcard() {
        use chrono::TimeZone;
        let mut resource = Resource::new("r1", "Fractions", "https://example.com/r1", ResourceKind::Link);
        resource.updated_at = Some(Utc.timestamp_opt(1_777_000_000, 123_456_789).unwrap());
        let json = serde_json::to_value(&resource).unwrap();
        assert_eq!(json["updated_at"], "2026-04-24T03:06:40.123456789Z");
        assert_eq!(serde_json::from_value::<Resource>(json.clone()).unwrap(), resource);
        let mut without = json;
        without.as_object_mut().unwrap().remove("updated_at");
        assert_eq!(serde_json::from_value::<Resource>(without).unwrap().updated_at, None);
        for time in [resource.updated_at, None] {
            resource.updated_at = time;
            let bytes = postcard::to_stdvec(&resource).unwrap();
            assert_eq!(postcard::from_bytes::<Resource>(&bytes).unwrap(), resource);
        }
    }

    #[test]
    fn test_publisher_slug() {
        assert_eq!(PublisherId::slugify("MathWise Learning").unwrap().as_str(), "mathwise-learning");
        assert_eq!(PublisherId::slugify("  Open/Readers!! ").unwrap().as_str(), "open-readers");
        assert!(PublisherId::parse("Bad Id").is_err());
        assert!(PublisherId::parse("").is_err());
        assert!(PublisherId::slugify("!!!").is_err());
    }

    #[test]
    fn test_resource_id_keeps_colons_in_local_part() {
        let id = ResourceId::parse("histarchive:oai:histarchive.example.net:ha-1001").unwrap();
        assert_eq!(id.publisher.as_str(), "histarchive");
        assert_eq!(id.local_id, "oai:histarchive.example.net:ha-1001");
        assert_eq!(id.to_string(), "histarchive:oai:histarchive.example.net:ha-1001");
        assert!(ResourceId::parse("nocolon").is_none());
        assert!(ResourceId::parse("pub:").is_none());
    }

    #[test]
    fn test_grade_range_overlap_and_levels() {
        let range = GradeRange::new(5, 3);
        assert_eq!((range.min, range.max), (3, 5));
        assert!(range.overlaps(5, 8));
        assert!(!range.overlaps(6, 8));
        assert_eq!(range.levels().collect::<Vec<_>>(), vec![3, 4, 5]);
        assert_eq!(GradeRange::new(-4, 20), GradeRange::new(-1, 13));
    }
}
