//! Searching: text relevance, filters, facets that ignore their own filter, snippets, pages.

use std::collections::HashMap;
use std::ops::Bound;

use tantivy::collector::{Count, MultiCollector, TopDocs};
use tantivy::query::{BooleanQuery, ConstScoreQuery, Occur, Query, RangeQuery, TermQuery, TermSetQuery};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::snippet::SnippetGenerator;
use tantivy::{DocAddress, Order, Searcher, TantivyDocument, Term};

use super::document::{from_document, language_key};
use super::facets::{Dimension, TermCounter};
use super::query::TextQueryBuilder;
use super::{IndexError, SearchIndex};
use crate::resource::{ResourceId, ResourceKind, ResourceRecord};

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
    /// Facet counting costs a pass per filtered dimension: skipped when nobody asks.
    pub with_facets: bool,
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

impl SearchIndex {
    /// Runs a search; blocking (call from `spawn_blocking`).
    pub fn search(&self, request: &SearchRequest) -> Result<SearchResults, IndexError> {
        let searcher = self.reader.searcher();
        let text_query = TextQueryBuilder::new(&self.fields, self.index.tokenizers()).build(request.text.as_deref());
        let filters = self.filter_clauses(&request.filter);
        let main_query = combine(text_query.box_clone(), &filters, None);
        let limit = request.limit.max(1);

        let mut multi = MultiCollector::new();
        let count_handle = multi.add_collector(Count);
        let mut unfiltered_dims = Vec::new();
        let mut facet_handles = Vec::new();
        if request.with_facets {
            for dimension in Dimension::ALL {
                if filters.iter().all(|(dim, _)| *dim != Some(dimension)) {
                    unfiltered_dims.push(dimension);
                    facet_handles.push(multi.add_collector(TermCounter::new(dimension.field_name())));
                }
            }
        }
        let mut fruits = searcher.search(&*main_query, &multi)?;
        let total = count_handle.extract(&mut fruits);
        let mut facets = HashMap::new();
        for (dimension, handle) in unfiltered_dims.iter().zip(facet_handles) {
            facets.insert(*dimension, sorted(handle.extract(&mut fruits)));
        }
        if request.with_facets {
            for dimension in Dimension::ALL {
                if facets.contains_key(&dimension) {
                    continue;
                }
                let query = combine(text_query.box_clone(), &filters, Some(dimension));
                let counts = searcher.search(&*query, &TermCounter::new(dimension.field_name()))?;
                facets.insert(dimension, sorted(counts));
            }
        }

        let top = TopDocs::with_limit(limit).and_offset(request.offset);
        let page: Vec<(f32, DocAddress)> = match request.sort {
            Sort::Relevance => searcher.search(&*main_query, &top.order_by_score())?,
            Sort::Title => searcher
                .search(&*main_query, &top.order_by_string_fast_field("title_sort", Order::Asc))?
                .into_iter()
                .map(|(_, address)| (0.0, address))
                .collect(),
            Sort::Newest => searcher
                .search(&*main_query, &top.order_by_fast_field::<i64>("updated", Order::Desc))?
                .into_iter()
                .map(|(_, address)| (0.0, address))
                .collect(),
        };

        let snippets = if request.with_highlights && request.text.as_deref().is_some_and(|t| !t.trim().is_empty()) {
            Some(self.snippet_generators(&searcher, &*text_query)?)
        } else {
            None
        };
        let mut hits = Vec::with_capacity(page.len());
        for (score, address) in page {
            let doc: TantivyDocument = searcher.doc(address)?;
            let Some(record) = from_document(&self.fields, &doc) else {
                tracing::warn!(?address, "indexed document without a readable payload");
                continue;
            };
            let highlights = snippets.as_ref().map(|s| s.highlight(&record)).unwrap_or_default();
            hits.push(SearchHit { record, score, highlights });
        }
        Ok(SearchResults { total, hits, facets })
    }

    /// Looks resources up by id, in the order asked; unknown ids are skipped.
    pub fn get(&self, ids: &[ResourceId]) -> Result<Vec<ResourceRecord>, IndexError> {
        let searcher = self.reader.searcher();
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let query =
                TermQuery::new(Term::from_field_text(self.fields.id, &id.to_string()), IndexRecordOption::Basic);
            let found = searcher.search(&query, &TopDocs::with_limit(1).order_by_score())?;
            if let Some((_, address)) = found.first() {
                let doc: TantivyDocument = searcher.doc(*address)?;
                if let Some(record) = from_document(&self.fields, &doc) {
                    out.push(record);
                }
            }
        }
        Ok(out)
    }

    /// Indexed resources per publisher id.
    pub fn count_by_publisher(&self) -> Result<HashMap<String, u64>, IndexError> {
        let searcher = self.reader.searcher();
        Ok(searcher.search(&tantivy::query::AllQuery, &TermCounter::new("publisher"))?)
    }

    /// Total indexed resources.
    pub fn num_resources(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    fn filter_clauses(&self, filter: &Filter) -> Vec<(Option<Dimension>, Box<dyn Query>)> {
        let fields = &self.fields;
        let mut clauses: Vec<(Option<Dimension>, Box<dyn Query>)> = Vec::new();
        let mut terms = |dimension: Option<Dimension>, field: Field, values: Vec<String>| {
            if !values.is_empty() {
                let terms = values.iter().map(|v| Term::from_field_text(field, v));
                clauses.push((dimension, Box::new(TermSetQuery::new(terms))));
            }
        };
        terms(Some(Dimension::Publisher), fields.publisher, filter.publishers.clone());
        terms(Some(Dimension::Subject), fields.subject, filter.subjects.iter().map(|s| s.trim().to_string()).collect());
        terms(
            Some(Dimension::ResourceType),
            fields.resource_type,
            filter.resource_types.iter().map(|t| t.trim().to_lowercase()).collect(),
        );
        terms(
            Some(Dimension::Language),
            fields.language,
            filter.languages.iter().map(|l| language_key(l.trim())).collect(),
        );
        terms(Some(Dimension::License), fields.license, filter.licenses.clone());
        terms(Some(Dimension::Kind), fields.kind, filter.kinds.iter().map(|k| k.as_str().to_string()).collect());
        terms(None, fields.alignment, filter.alignments.iter().map(|a| a.trim().to_lowercase()).collect());
        if filter.free_only {
            terms(None, fields.free, vec!["true".to_string()]);
        }
        if filter.grade_min.is_some() || filter.grade_max.is_some() {
            // Overlap: the resource starts at or below the wanted maximum and ends at or above the minimum.
            let wanted_max = i64::from(filter.grade_max.unwrap_or(13));
            let wanted_min = i64::from(filter.grade_min.unwrap_or(-1));
            let starts =
                RangeQuery::new(Bound::Unbounded, Bound::Included(Term::from_field_i64(fields.grade_min, wanted_max)));
            let ends =
                RangeQuery::new(Bound::Included(Term::from_field_i64(fields.grade_max, wanted_min)), Bound::Unbounded);
            let overlap = BooleanQuery::new(vec![(Occur::Must, Box::new(starts)), (Occur::Must, Box::new(ends))]);
            clauses.push((Some(Dimension::GradeLevel), Box::new(overlap)));
        }
        clauses
    }

    fn snippet_generators(&self, searcher: &Searcher, query: &dyn Query) -> Result<Snippets, IndexError> {
        let mut title = SnippetGenerator::create(searcher, query, self.fields.title)?;
        title.set_max_num_chars(300);
        let mut description = SnippetGenerator::create(searcher, query, self.fields.description)?;
        description.set_max_num_chars(200);
        Ok(Snippets { title, description })
    }
}

struct Snippets {
    title: SnippetGenerator,
    description: SnippetGenerator,
}

impl Snippets {
    fn highlight(&self, record: &ResourceRecord) -> Vec<Highlight> {
        let mut out = Vec::new();
        let mut push = |field: &str, generator: &SnippetGenerator, text: &str| {
            let mut snippet = generator.snippet(text);
            if snippet.highlighted().is_empty() {
                return;
            }
            snippet.set_snippet_prefix_postfix("<mark>", "</mark>");
            out.push(Highlight { field: field.to_string(), snippet: snippet.to_html() });
        };
        push("title", &self.title, &record.resource.title);
        if let Some(description) = &record.resource.description {
            push("description", &self.description, description);
        }
        out
    }
}

/// The text query under every filter except `skip`'s.
fn combine(
    text: Box<dyn Query>,
    filters: &[(Option<Dimension>, Box<dyn Query>)],
    skip: Option<Dimension>,
) -> Box<dyn Query> {
    let kept: Vec<&Box<dyn Query>> =
        filters.iter().filter(|(dim, _)| skip.is_none() || *dim != skip).map(|(_, q)| q).collect();
    if kept.is_empty() {
        return text;
    }
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Must, text)];
    for query in kept {
        // Filters narrow without changing scores.
        clauses.push((Occur::Must, Box::new(ConstScoreQuery::new(query.box_clone(), 0.0))));
    }
    Box::new(BooleanQuery::new(clauses))
}

fn sorted(counts: HashMap<String, u64>) -> FacetValues {
    let mut values: FacetValues = counts.into_iter().collect();
    values.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    values
}
