//! Searching: text relevance, filters, facets that ignore their own filter, snippets, pages.

use std::collections::HashMap;
use std::ops::Bound;
use std::sync::Arc;

use tantivy::collector::TopDocs;
use tantivy::query::{AllQuery, BooleanQuery, ConstScoreQuery, Occur, Query, RangeQuery, TermQuery, TermSetQuery};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::snippet::SnippetGenerator;
use tantivy::{DocAddress, Order, Searcher, TantivyDocument, Term};

use super::collect::{Collected, FilterCheck, SearchCollector};
use super::columns::SegmentColumns;
use super::document::{from_document, language_key};
use super::facets::{self, Dimension, DimensionField};
use super::fuzzy::{Expansion, WordAutomaton};
use super::query::{TextQueryBuilder, TYPO_THRESHOLD};
use super::store::Stores;
use super::{IndexError, SearchIndex, WholeIndexFacets};
use crate::resource::{ResourceId, ResourceRecord};

pub use crate::search::{FacetValues, Filter, Highlight, SearchHit, SearchRequest, SearchResults, Sort};

/// One generation of the index, as a searcher saw it: several reads through the same view see
/// the same documents, whatever commits in between (a live search pages and de-duplicates on
/// one view). Cheap to clone; holds the generation's segments until dropped.
#[derive(Clone)]
pub struct IndexView {
    searcher: Searcher,
}

impl IndexView {
    /// The generation this view reads (it changes with every commit and merge).
    pub fn generation_id(&self) -> u64 {
        self.searcher.generation().generation_id()
    }
}

/// Where the page of one collection pass starts and how long it is.
#[derive(Debug, Clone, Copy)]
struct Window {
    offset: usize,
    limit: usize,
}

impl SearchIndex {
    /// The current generation, for several reads that must agree (see [`IndexView`]).
    pub fn view(&self) -> IndexView {
        IndexView { searcher: self.reader.searcher() }
    }

    /// Runs a search on the current generation; blocking (call from `spawn_blocking`).
    pub fn search(&self, request: &SearchRequest) -> Result<SearchResults, IndexError> {
        self.search_in(&self.view(), request)
    }

    /// Runs a search on `view`; blocking. The exact words are searched first; only when they
    /// find fewer than [`TYPO_THRESHOLD`] documents, and some word is rare enough to be a
    /// typo, a second pass adds the documents those words match within their edit distance,
    /// after the exact ones (see [`super::query`]). Each pass collects the count, the page and
    /// the facets at once (see [`super::collect`]).
    pub fn search_in(&self, view: &IndexView, request: &SearchRequest) -> Result<SearchResults, IndexError> {
        let searcher = &view.searcher;
        let vocabulary = self.vocabulary(searcher);
        let text = TextQueryBuilder::new(&self.fields, self.index.tokenizers(), vocabulary.as_deref())
            .analyze(request.text.as_deref());
        let exact = text.exact();
        let filters = self.filter_clauses(&request.filter);
        let limit = request.limit.max(1);
        let window = Window { offset: request.offset, limit };
        let relevance = request.sort == Sort::Relevance;
        // By relevance the first pass keeps every exact match when there are few of them,
        // so that they can rank before the typo matches.
        let first_window =
            if relevance { Window { offset: 0, limit: (request.offset + limit).max(TYPO_THRESHOLD) } } else { window };
        let first = self.collect(searcher, &*exact, &filters, request, first_window, &[])?;
        let typo_words = if first.total < TYPO_THRESHOLD {
            text.typo_candidates(|token| match &vocabulary {
                Some(vocabulary) => vocabulary.doc_freq(token.as_bytes()),
                None => fuzzy_doc_freq(searcher, &TextQueryBuilder::fuzzy_fields(&self.fields), token),
            })
        } else {
            Vec::new()
        };
        let (total, page, facets) = if typo_words.is_empty() {
            let page =
                if relevance { first.top.into_iter().skip(request.offset).take(limit).collect() } else { first.top };
            (first.total, page, first.facets)
        } else {
            let expand = |token: &str, distance: u8| {
                let automaton = WordAutomaton::new(token, distance);
                match &vocabulary {
                    Some(vocabulary) => Expansion::neighbours(vocabulary.neighbours(&automaton, token.as_bytes())),
                    None => Expansion::Walk(automaton),
                }
            };
            let with_typos = text.with_typos(&typo_words, &expand);
            if relevance {
                // Every exact match (fewer than the threshold), then the typo matches.
                let exact_docs: Vec<DocAddress> = first.top.iter().map(|(_, address)| *address).collect();
                let mut page: Vec<(f32, DocAddress)> = first.top.into_iter().skip(request.offset).take(limit).collect();
                let typo_window =
                    Window { offset: request.offset.saturating_sub(exact_docs.len()), limit: limit - page.len() };
                let second = self.collect(searcher, &*with_typos, &filters, request, typo_window, &exact_docs)?;
                page.extend(second.top.into_iter().take(typo_window.limit));
                (second.total, page, second.facets)
            } else {
                let second = self.collect(searcher, &*with_typos, &filters, request, window, &[])?;
                (second.total, second.top, second.facets)
            }
        };
        let facets = facets.into_iter().map(|(dimension, counts)| (dimension, sorted(counts))).collect();
        let hits = self.hits(searcher, request, &*exact, page)?;
        Ok(SearchResults { total, hits, facets })
    }

    /// One pass: the exact count, the page `window` in the request's order (documents in
    /// `not_ranked` are counted but not ranked) and the requested facets.
    fn collect(
        &self,
        searcher: &Searcher,
        text_query: &dyn Query,
        filters: &[FilterClause],
        request: &SearchRequest,
        window: Window,
        not_ranked: &[DocAddress],
    ) -> Result<Collected<Vec<(f32, DocAddress)>>, IndexError> {
        let mut wanted: Vec<Dimension> = Vec::new();
        for dimension in &request.facets {
            if !wanted.contains(dimension) {
                wanted.push(*dimension);
            }
        }
        // With no words, a facet that no other dimension's filter narrows counts every
        // resource: it is read from the whole index's counts instead of counted per document.
        let matches_everything = text_query.downcast_ref::<AllQuery>().is_some();
        let whole_index: Vec<Dimension> = if matches_everything {
            wanted.iter().copied().filter(|d| filters.iter().all(|clause| clause.dimension == Some(*d))).collect()
        } else {
            Vec::new()
        };
        wanted.retain(|d| !whole_index.contains(d));
        let is_filtered = |dimension: Dimension| filters.iter().any(|clause| clause.dimension == Some(dimension));
        let mut collector = SearchCollector {
            top: (),
            checks: Vec::new(),
            counted: wanted.iter().copied().filter(|d| !is_filtered(*d)).collect(),
            counted_without_own_filter: wanted.iter().copied().filter(|d| is_filtered(*d)).collect(),
            not_ranked: not_ranked.to_vec(),
            columns: self.columns.get_or_make(searcher, || SegmentColumns::new(searcher, self.laid_out_ords.clone())),
        };
        // With a filtered facet the pass runs over the text alone and checks filters per
        // document; otherwise the filters are in the query, where postings skip ahead.
        let query = if collector.counted_without_own_filter.is_empty() {
            combine(text_query.box_clone(), filters)
        } else {
            collector.checks = filters.iter().map(|clause| (clause.dimension, clause.check.clone())).collect();
            text_query.box_clone()
        };
        let top = TopDocs::with_limit(window.limit.max(1)).and_offset(window.offset);
        let mut collected = match request.sort {
            Sort::Relevance => searcher.search(&*query, &collector.with_top(top.order_by_score()))?,
            Sort::Title => {
                let collected = searcher
                    .search(&*query, &collector.with_top(top.order_by_string_fast_field("title_sort", Order::Asc)))?;
                let page = collected.top.into_iter().map(|(_, address)| (0.0, address)).collect();
                Collected { total: collected.total, top: page, facets: collected.facets }
            }
            Sort::Newest => {
                let collected = searcher
                    .search(&*query, &collector.with_top(top.order_by_fast_field::<i64>("updated", Order::Desc)))?;
                let page = collected.top.into_iter().map(|(_, address)| (0.0, address)).collect();
                Collected { total: collected.total, top: page, facets: collected.facets }
            }
        };
        if !whole_index.is_empty() {
            let counts = self.whole_index_facets(searcher)?;
            for dimension in whole_index {
                collected.facets.insert(dimension, counts.get(&dimension).cloned().unwrap_or_default());
            }
        }
        Ok(collected)
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
        let stores = self.stores(searcher)?;
        let mut hits = Vec::with_capacity(page.len());
        for (score, address) in page {
            let Some(record) = self.record_at(searcher, &stores, address)? else {
                continue;
            };
            let highlights = snippets.as_ref().map(|s| s.highlight(&record)).unwrap_or_default();
            hits.push(SearchHit { record, score, highlights });
        }
        Ok(hits)
    }

    /// Looks resources up by id in the current generation, in the order asked; unknown ids are
    /// skipped.
    pub fn get(&self, ids: &[ResourceId]) -> Result<Vec<ResourceRecord>, IndexError> {
        self.get_in(&self.view(), ids)
    }

    /// [`SearchIndex::get`] on `view`.
    pub fn get_in(&self, view: &IndexView, ids: &[ResourceId]) -> Result<Vec<ResourceRecord>, IndexError> {
        let searcher = &view.searcher;
        let stores = self.stores(searcher)?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let query =
                TermQuery::new(Term::from_field_text(self.fields.id, &id.to_string()), IndexRecordOption::Basic);
            let found = searcher.search(&query, &TopDocs::with_limit(1).order_by_score())?;
            if let Some((_, address)) = found.first() {
                if let Some(record) = self.record_at(searcher, &stores, *address)? {
                    out.push(record);
                }
            }
        }
        Ok(out)
    }

    /// The record stored at `address`: its payload sliced from the document store, or, for a
    /// stored document of another layout, read through tantivy's document reader.
    fn record_at(
        &self,
        searcher: &Searcher,
        stores: &Stores,
        address: DocAddress,
    ) -> Result<Option<ResourceRecord>, IndexError> {
        let record = match stores.payload(address, self.fields.payload)? {
            Some(payload) => postcard::from_bytes(payload.as_slice()).ok(),
            None => from_document(&self.fields, &searcher.doc::<TantivyDocument>(address)?),
        };
        if record.is_none() {
            tracing::warn!(?address, "indexed document without a readable payload");
        }
        Ok(record)
    }

    /// The document stores of `searcher`'s generation.
    fn stores(&self, searcher: &Searcher) -> Result<Arc<Stores>, IndexError> {
        self.stores.get_or_try_make(searcher, || Stores::open(searcher).map_err(IndexError::from))
    }

    /// Indexed resources per publisher id, from [`SearchIndex::whole_index_facets`].
    pub fn count_by_publisher(&self) -> Result<HashMap<String, u64>, IndexError> {
        let searcher = self.reader.searcher();
        Ok(self.whole_index_facets(&searcher)?.get(&Dimension::Publisher).cloned().unwrap_or_default())
    }

    /// Every facet dimension counted over all of `searcher`'s live resources: what a search
    /// with no words and no filters counts. Worked out from the term dictionaries' document
    /// frequencies (see [`facets::count_whole_segment`]: milliseconds at a million resources,
    /// even on the first search after a start) and kept for the generation.
    pub fn whole_index_facets(&self, searcher: &Searcher) -> Result<Arc<WholeIndexFacets>, IndexError> {
        self.whole_index_facets.get_or_try_make(searcher, || {
            let mut facets = WholeIndexFacets::new();
            for dimension in Dimension::ALL.into_iter().chain([Dimension::Standard]) {
                let merged: &mut HashMap<String, u64> = facets.entry(dimension).or_default();
                for segment in searcher.segment_readers() {
                    let counts = facets::count_whole_segment(segment, dimension.field_name())?;
                    for (value, count) in counts {
                        *merged.entry(value).or_default() += count;
                    }
                }
            }
            Ok(facets)
        })
    }

    /// The generation of what searches see now: it changes with every commit and merge that
    /// becomes visible, so a result remembered under it is exact.
    pub fn generation(&self) -> u64 {
        self.reader.searcher().generation().generation_id()
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
                let terms = values.iter().map(|v| Term::from_field_text(field, v)).collect();
                clauses.push(FilterClause {
                    dimension,
                    query: any_term_query(terms),
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
        terms(
            Some(Dimension::Standard),
            fields.code,
            "code",
            filter.standards.iter().map(|c| c.trim().to_string()).collect(),
        );
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

/// Most values a filter lists as a union of term queries; past it, one [`TermSetQuery`].
const FEW_FILTER_VALUES: usize = 16;

/// Documents with any of `terms`. A [`TermSetQuery`] builds an FST of its terms for every search,
/// and the builder's first allocation (a zeroed table of ten thousand entries) was 2.2% of the
/// serving CPU under the peer kit's mix, whose filters list one to three values (BENCHMARKS.md,
/// issue 14); a union of as many term queries matches the same documents.
fn any_term_query(terms: Vec<Term>) -> Box<dyn Query> {
    if terms.len() > FEW_FILTER_VALUES {
        return Box::new(TermSetQuery::new(terms));
    }
    let mut alternatives: Vec<(Occur, Box<dyn Query>)> = terms
        .into_iter()
        .map(|term| (Occur::Should, Box::new(TermQuery::new(term, IndexRecordOption::Basic)) as Box<dyn Query>))
        .collect();
    match alternatives.len() {
        1 => alternatives.remove(0).1,
        _ => Box::new(BooleanQuery::new(alternatives)),
    }
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

/// The most documents holding `token` in any one of `fields`, from the term dictionaries (when
/// the vocabulary of this generation is not built yet).
fn fuzzy_doc_freq(searcher: &Searcher, fields: &[Field], token: &str) -> u64 {
    fields.iter().map(|field| searcher.doc_freq(&Term::from_field_text(*field, token)).unwrap_or(0)).max().unwrap_or(0)
}

fn sorted(counts: HashMap<String, u64>) -> FacetValues {
    let mut values: FacetValues = counts.into_iter().collect();
    values.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    values
}
