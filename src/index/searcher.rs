//! Searching: text relevance, filters, facets that ignore their own filter, snippets, pages.

use std::collections::HashMap;
use std::ops::Bound;

use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, ConstScoreQuery, Occur, Query, RangeQuery, TermQuery, TermSetQuery};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::snippet::SnippetGenerator;
use tantivy::{DocAddress, Order, Searcher, TantivyDocument, Term};

use super::collect::{FilterCheck, SearchCollector};
use super::document::{from_document, language_key};
use super::facets::{Dimension, TermCounter};
use super::query::TextQueryBuilder;
use super::{IndexError, SearchIndex};
use crate::resource::{ResourceId, ResourceRecord};

pub use crate::search::{FacetValues, Filter, Highlight, SearchHit, SearchRequest, SearchResults, Sort};

impl SearchIndex {
    /// Runs a search; blocking (call from `spawn_blocking`). One pass collects the count, the
    /// page and the facets (see [`super::collect`]).
    pub fn search(&self, request: &SearchRequest) -> Result<SearchResults, IndexError> {
        let searcher = self.reader.searcher();
        let vocabulary = self.vocabulary(&searcher);
        let text_query = TextQueryBuilder::new(&self.fields, self.index.tokenizers(), vocabulary.as_deref())
            .build(request.text.as_deref());
        let filters = self.filter_clauses(&request.filter);
        let mut wanted: Vec<Dimension> = Vec::new();
        for dimension in &request.facets {
            if !wanted.contains(dimension) {
                wanted.push(*dimension);
            }
        }
        let is_filtered = |dimension: Dimension| filters.iter().any(|clause| clause.dimension == Some(dimension));
        let mut collector = SearchCollector {
            top: (),
            checks: Vec::new(),
            counted: wanted.iter().copied().filter(|d| !is_filtered(*d)).collect(),
            counted_without_own_filter: wanted.iter().copied().filter(|d| is_filtered(*d)).collect(),
        };
        // With a filtered facet the pass runs over the text alone and checks filters per
        // document; otherwise the filters are in the query, where postings skip ahead.
        let query = if collector.counted_without_own_filter.is_empty() {
            combine(text_query.box_clone(), &filters)
        } else {
            collector.checks = filters.iter().map(|clause| (clause.dimension, clause.check.clone())).collect();
            text_query.box_clone()
        };
        let top = TopDocs::with_limit(request.limit.max(1)).and_offset(request.offset);
        let (total, page, facet_counts) = match request.sort {
            Sort::Relevance => {
                let collected = searcher.search(&*query, &collector.with_top(top.order_by_score()))?;
                (collected.total, collected.top, collected.facets)
            }
            Sort::Title => {
                let collected = searcher
                    .search(&*query, &collector.with_top(top.order_by_string_fast_field("title_sort", Order::Asc)))?;
                let page = collected.top.into_iter().map(|(_, address)| (0.0, address)).collect();
                (collected.total, page, collected.facets)
            }
            Sort::Newest => {
                let collected = searcher
                    .search(&*query, &collector.with_top(top.order_by_fast_field::<i64>("updated", Order::Desc)))?;
                let page = collected.top.into_iter().map(|(_, address)| (0.0, address)).collect();
                (collected.total, page, collected.facets)
            }
        };
        let facets = facet_counts.into_iter().map(|(dimension, counts)| (dimension, sorted(counts))).collect();
        let hits = self.hits(&searcher, request, &*text_query, page)?;
        Ok(SearchResults { total, hits, facets })
    }

    fn hits(
        &self,
        searcher: &Searcher,
        request: &SearchRequest,
        text_query: &dyn Query,
        page: Vec<(f32, DocAddress)>,
    ) -> Result<Vec<SearchHit>, IndexError> {
        let snippets = if request.with_highlights && request.text.as_deref().is_some_and(|t| !t.trim().is_empty()) {
            Some(self.snippet_generators(searcher, text_query)?)
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
        Ok(hits)
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

    /// Indexed resources per publisher id. Counted once per index generation (a pass over every
    /// document: milliseconds at a million), then reused until the next commit or merge.
    pub fn count_by_publisher(&self) -> Result<HashMap<String, u64>, IndexError> {
        let searcher = self.reader.searcher();
        let generation_id = searcher.generation().generation_id();
        if let Ok(cached) = self.publisher_counts.lock() {
            if let Some((_, counts)) = cached.as_ref().filter(|(generation, _)| *generation == generation_id) {
                return Ok(counts.clone());
            }
        }
        let counts = searcher.search(&tantivy::query::AllQuery, &TermCounter::new("publisher"))?;
        if let Ok(mut cached) = self.publisher_counts.lock() {
            *cached = Some((generation_id, counts.clone()));
        }
        Ok(counts)
    }

    /// Total indexed resources.
    pub fn num_resources(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    fn filter_clauses(&self, filter: &Filter) -> Vec<FilterClause> {
        let fields = &self.fields;
        let mut clauses: Vec<FilterClause> = Vec::new();
        let mut terms = |dimension: Option<Dimension>, field: Field, field_name: &'static str, values: Vec<String>| {
            if !values.is_empty() {
                let terms = values.iter().map(|v| Term::from_field_text(field, v));
                clauses.push(FilterClause {
                    dimension,
                    query: Box::new(TermSetQuery::new(terms)),
                    check: FilterCheck::AnyTerm { field_name, values },
                });
            }
        };
        terms(Some(Dimension::Publisher), fields.publisher, "publisher", filter.publishers.clone());
        terms(
            Some(Dimension::Subject),
            fields.subject,
            "subject",
            filter.subjects.iter().map(|s| s.trim().to_string()).collect(),
        );
        terms(
            Some(Dimension::ResourceType),
            fields.resource_type,
            "resource_type",
            filter.resource_types.iter().map(|t| t.trim().to_lowercase()).collect(),
        );
        terms(
            Some(Dimension::Language),
            fields.language,
            "language",
            filter.languages.iter().map(|l| language_key(l.trim())).collect(),
        );
        terms(Some(Dimension::License), fields.license, "license", filter.licenses.clone());
        terms(
            Some(Dimension::Kind),
            fields.kind,
            "kind",
            filter.kinds.iter().map(|k| k.as_str().to_string()).collect(),
        );
        terms(None, fields.alignment, "alignment", filter.alignments.iter().map(|a| a.trim().to_lowercase()).collect());
        if filter.free_only {
            terms(None, fields.free, "free", vec!["true".to_string()]);
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
            clauses.push(FilterClause {
                dimension: Some(Dimension::GradeLevel),
                query: Box::new(overlap),
                check: FilterCheck::GradeOverlap { wanted_min, wanted_max },
            });
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

/// One filter of a search, both as a query (to intersect with) and as a per-document check.
struct FilterClause {
    /// The facet dimension it filters, if any (alignments and free-only are not facets).
    dimension: Option<Dimension>,
    query: Box<dyn Query>,
    check: FilterCheck,
}

/// The text query under every filter.
fn combine(text: Box<dyn Query>, filters: &[FilterClause]) -> Box<dyn Query> {
    if filters.is_empty() {
        return text;
    }
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Must, text)];
    for filter in filters {
        // Filters narrow without changing scores.
        clauses.push((Occur::Must, Box::new(ConstScoreQuery::new(filter.query.box_clone(), 0.0))));
    }
    Box::new(BooleanQuery::new(clauses))
}

fn sorted(counts: HashMap<String, u64>) -> FacetValues {
    let mut values: FacetValues = counts.into_iter().collect();
    values.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    values
}
