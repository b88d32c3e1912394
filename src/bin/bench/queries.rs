//! The fixed, deterministic query mix: single common and rare terms, two and three terms, topic
//! phrases, typos, 30% with filters. Each query is sent as GraphQL over HTTP and, for the floor,
//! converted to the very [`SearchRequest`] the GraphQL resolver builds.

use resource_gateway::graphql::types::{ResourceFilter, ResourceKind};
use resource_gateway::index::facets::Dimension;
use resource_gateway::index::SearchRequest;
use serde_json::{json, Value};

use super::corpus::{Manifest, Rng, Vocabulary};

/// Hits per page, as the issue asks.
pub const PAGE_SIZE: usize = 10;

/// The GraphQL document every benchmark query uses: count, 10 hits with highlights, and the
/// publisher and subject facets.
pub const SEARCH_DOCUMENT: &str = "query Search($query: String, $filter: ResourceFilter) { \
    search(query: $query, filter: $filter, first: 10) { totalCount \
    edges { node { id title url kind publisher { id name } gradeMin gradeMax } highlights { field snippet } } \
    facets { publisher { value label count } subject { value count } } } }";

/// What kind of query it is, for the report's breakdown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    CommonTerm,
    RareTerm,
    TwoTerms,
    ThreeTerms,
    Phrase,
    Typo,
}

impl Category {
    pub fn label(self) -> &'static str {
        match self {
            Category::CommonTerm => "common term",
            Category::RareTerm => "rare term",
            Category::TwoTerms => "two terms",
            Category::ThreeTerms => "three terms",
            Category::Phrase => "topic phrase",
            Category::Typo => "typo",
        }
    }
}

/// Filters a query may carry (a subset of the contract's, in the shapes teachers use).
#[derive(Debug, Clone, Default)]
pub struct FilterSpec {
    pub subjects: Vec<String>,
    pub publishers: Vec<String>,
    pub languages: Vec<String>,
    pub licenses: Vec<String>,
    pub kinds: Vec<ResourceKind>,
    pub grade_min: Option<i32>,
    pub grade_max: Option<i32>,
    pub free_only: bool,
}

impl FilterSpec {
    fn to_json(&self) -> Value {
        let mut filter = serde_json::Map::new();
        if !self.subjects.is_empty() {
            filter.insert("subjects".into(), json!(self.subjects));
        }
        if !self.publishers.is_empty() {
            filter.insert("publishers".into(), json!(self.publishers));
        }
        if !self.languages.is_empty() {
            filter.insert("languages".into(), json!(self.languages));
        }
        if !self.licenses.is_empty() {
            filter.insert("licenses".into(), json!(self.licenses));
        }
        if !self.kinds.is_empty() {
            let kinds: Vec<&str> = self
                .kinds
                .iter()
                .map(|k| match k {
                    ResourceKind::LtiResourceLink => "LTI_RESOURCE_LINK",
                    ResourceKind::Link => "LINK",
                    ResourceKind::File => "FILE",
                    ResourceKind::Html => "HTML",
                    ResourceKind::Image => "IMAGE",
                })
                .collect();
            filter.insert("kinds".into(), json!(kinds));
        }
        if let Some(min) = self.grade_min {
            filter.insert("gradeMin".into(), json!(min));
        }
        if let Some(max) = self.grade_max {
            filter.insert("gradeMax".into(), json!(max));
        }
        if self.free_only {
            filter.insert("freeOnly".into(), json!(true));
        }
        Value::Object(filter)
    }

    fn to_graphql_input(&self) -> ResourceFilter {
        ResourceFilter {
            publishers: Some(self.publishers.iter().map(|p| async_graphql::ID(p.clone())).collect()),
            subjects: Some(self.subjects.clone()),
            languages: Some(self.languages.clone()),
            licenses: Some(self.licenses.clone()),
            kinds: Some(self.kinds.clone()),
            grade_min: self.grade_min,
            grade_max: self.grade_max,
            free_only: Some(self.free_only),
            ..ResourceFilter::default()
        }
    }
}

/// One query of the mix.
#[derive(Debug, Clone)]
pub struct BenchQuery {
    pub category: Category,
    pub text: String,
    pub filter: Option<FilterSpec>,
}

impl BenchQuery {
    /// The GraphQL request body.
    pub fn graphql_body(&self) -> Vec<u8> {
        let mut variables = json!({ "query": self.text });
        if let Some(filter) = &self.filter {
            variables["filter"] = filter.to_json();
        }
        serde_json::to_vec(&json!({ "query": SEARCH_DOCUMENT, "variables": variables })).unwrap_or_default()
    }

    /// The request the GraphQL resolver makes of the index for this query (same conversion).
    pub fn search_request(&self) -> SearchRequest {
        SearchRequest {
            text: Some(self.text.clone()),
            filter: self.filter.as_ref().map(|f| f.to_graphql_input().into_domain()).unwrap_or_default(),
            limit: PAGE_SIZE,
            // What the resolver asks for the mix's selection (publisher and subject facets).
            facets: vec![Dimension::Publisher, Dimension::Subject],
            with_highlights: true,
            ..SearchRequest::default()
        }
    }
}

/// One edit that keeps the word recognisable: substitute, delete, insert or swap a letter
/// (never the first, as people rarely mistype that).
fn typo(word: &str, rng: &mut Rng) -> String {
    let mut chars: Vec<char> = word.chars().collect();
    let at = 1 + rng.below(chars.len().saturating_sub(2).max(1));
    match rng.below(4) {
        0 => chars[at] = if chars[at] == 'e' { 'a' } else { 'e' },
        1 => {
            chars.remove(at);
        }
        2 => chars.insert(at, chars[at]),
        _ => {
            if at + 1 < chars.len() {
                chars.swap(at, at + 1);
            } else {
                chars.swap(at - 1, at);
            }
        }
    }
    chars.into_iter().collect()
}

fn filter_for(rng: &mut Rng, manifest: &Manifest) -> FilterSpec {
    let subjects: Vec<&str> = Vocabulary::subject_names().collect();
    let mut filter = FilterSpec::default();
    let add = |filter: &mut FilterSpec, which: usize, rng: &mut Rng| match which {
        0 => filter.subjects.push(subjects[rng.below(6)].to_string()),
        1 => {
            let min = rng.below(10) as i32;
            filter.grade_min = Some(min);
            filter.grade_max = Some(min + rng.below(3) as i32);
        }
        2 => filter.languages.push(["en", "es", "fr"][rng.below(3)].to_string()),
        3 => {
            let publisher = &manifest.publishers[rng.below(manifest.publishers.len().min(8))];
            filter.publishers.push(publisher.id.clone());
        }
        4 => filter.kinds.push(if rng.chance(50) { ResourceKind::LtiResourceLink } else { ResourceKind::Link }),
        5 => filter.licenses.push("CC-BY-4.0".to_string()),
        _ => filter.free_only = true,
    };
    // Teachers filter mostly by subject and grade; sometimes by two things at once.
    let first = [0, 0, 1, 1, 1, 2, 3, 4, 5, 6][rng.below(10)];
    add(&mut filter, first, rng);
    if rng.chance(35) {
        let second = rng.below(7);
        if second != first {
            add(&mut filter, second, rng);
        }
    }
    filter
}

/// Builds the mix: `count` queries, the same for the same seed and manifest.
pub fn query_mix(count: usize, seed: u64, manifest: &Manifest) -> Vec<BenchQuery> {
    let vocabulary = Vocabulary::new();
    let mut rng = Rng::new(seed ^ 0x0DD5_EED5);
    let topics: Vec<&str> = Vocabulary::topics().map(|(_, t)| t).collect();
    // Real words of 5+ letters near the top of the ranking: what a teacher types and mistypes.
    let typo_sources: Vec<&str> =
        vocabulary.words[..400].iter().map(String::as_str).filter(|w| w.chars().count() >= 5).collect();
    let common = |rng: &mut Rng| vocabulary.words[rng.below(150)].clone();
    let mut out = Vec::with_capacity(count);
    for position in 0..count {
        let category = match position % 20 {
            0..=3 => Category::CommonTerm,
            4..=5 => Category::RareTerm,
            6..=9 => Category::TwoTerms,
            10..=12 => Category::ThreeTerms,
            13..=16 => Category::Phrase,
            _ => Category::Typo,
        };
        let text = match category {
            Category::CommonTerm => common(&mut rng),
            Category::RareTerm => vocabulary.words[2_000 + rng.below(18_000)].clone(),
            Category::TwoTerms => {
                let first = common(&mut rng);
                let second = vocabulary.words[rng.below(3_000)].clone();
                format!("{first} {second}")
            }
            Category::ThreeTerms => {
                let topic = rng.pick(&topics);
                let word = topic.split_whitespace().last().unwrap_or(topic).to_string();
                format!("{word} {} {}", common(&mut rng), vocabulary.words[rng.below(1_000)])
            }
            Category::Phrase => format!("\"{}\"", rng.pick(&topics)),
            Category::Typo => typo(rng.pick_str(&typo_sources), &mut rng),
        };
        let filter = (rng.below(10) < 3).then(|| filter_for(&mut rng, manifest));
        out.push(BenchQuery { category, text, filter });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_typo_is_one_edit_away() {
        let mut rng = Rng::new(3);
        for _ in 0..100 {
            let mistyped = typo("photosynthesis", &mut rng);
            assert_ne!(mistyped, "photosynthesis");
            assert!(mistyped.starts_with('p'));
            assert!((13..=15).contains(&mistyped.chars().count()));
        }
    }
}
