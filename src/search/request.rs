//! What a search asks and answers, independent of the engine that runs it: the request
//! (text, filters, sort, page, facets to count) and the results (exact total, hits with
//! highlights, facet counts).

use std::collections::HashMap;

use crate::resource::{ResourceKind, ResourceRecord};

/// The facets the contract names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dimension {
    Publisher,
    Subject,
    ResourceType,
    Language,
    License,
    Kind,
    GradeLevel,
}

impl Dimension {
    /// The field of `Facets` in the GraphQL contract.
    pub fn graphql_name(self) -> &'static str {
        match self {
            Dimension::Publisher => "publisher",
            Dimension::Subject => "subject",
            Dimension::ResourceType => "resourceType",
            Dimension::Language => "language",
            Dimension::License => "license",
            Dimension::Kind => "kind",
            Dimension::GradeLevel => "gradeLevel",
        }
    }

    pub const ALL: [Dimension; 7] = [
        Dimension::Publisher,
        Dimension::Subject,
        Dimension::ResourceType,
        Dimension::Language,
        Dimension::License,
        Dimension::Kind,
        Dimension::GradeLevel,
    ];
}

/// Filters of a search: within one list any value matches, across lists all must.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub publishers: Vec<String>,
    pub subjects: Vec<String>,
    pub resource_types: Vec<String>,
    /// Primary language subtags or full tags; matched on the primary subtag.
    pub languages: Vec<String>,
    pub licenses: Vec<String>,
    pub kinds: Vec<ResourceKind>,
    /// CASE GUIDs or URIs.
    pub alignments: Vec<String>,
    pub grade_min: Option<i8>,
    pub grade_max: Option<i8>,
    pub free_only: bool,
}

/// Result order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sort {
    #[default]
    Relevance,
    Title,
    Newest,
}

/// One search, as the service asks it.
#[derive(Debug, Clone, Default)]
pub struct SearchRequest {
    pub text: Option<String>,
    pub filter: Filter,
    pub sort: Sort,
    pub offset: usize,
    pub limit: usize,
    /// Facets to count (only those the caller shows: each adds work per matching document).
    pub facets: Vec<Dimension>,
    pub with_highlights: bool,
}

/// A highlighted fragment of one field, hits wrapped in `<mark>`, HTML-escaped otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Highlight {
    pub field: String,
    pub snippet: String,
}

#[derive(Debug, Clone)]
pub struct SearchHit {
    pub record: ResourceRecord,
    pub score: f32,
    pub highlights: Vec<Highlight>,
}

/// Facet values with their counts, most frequent first.
pub type FacetValues = Vec<(String, u64)>;

#[derive(Debug, Clone, Default)]
pub struct SearchResults {
    pub total: usize,
    pub hits: Vec<SearchHit>,
    pub facets: HashMap<Dimension, FacetValues>,
}
