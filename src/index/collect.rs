//! One pass per search: the exact count, the page of top documents and every requested facet
//! are collected together, so the text query (with its fuzzy expansions, the costliest part of
//! a search) is evaluated once.
//!
//! A facet must be counted under every filter but its own. When no requested facet's dimension
//! is filtered, the filters are part of the query and every collected document passes them.
//! Otherwise the pass runs over the text query alone and checks each filter per document from
//! the fast fields: a document that passes every filter is counted and ranked; one that fails
//! only dimension D's filter still counts toward facet D. The results are the same as running
//! one search per filtered dimension, at the cost of one.

use std::collections::HashMap;
use std::sync::Arc;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::{Column, StrColumn};
use tantivy::{DocAddress, DocId, Score, SegmentOrdinal, SegmentReader};

use super::columns::{DocOrds, SegmentColumns};
use super::facets::{Dimension, DimensionField, SegmentDocs, SegmentTermCounter};

/// A filter evaluated per document from fast fields (the same values its query matches).
#[derive(Debug, Clone)]
pub enum FilterCheck {
    /// The document has at least one of these values in a `STRING | FAST` field.
    AnyTerm { field_name: &'static str, values: Vec<String> },
    /// The document's grade range overlaps `wanted_min..=wanted_max` (no range: no match).
    GradeOverlap { wanted_min: i64, wanted_max: i64 },
}

enum SegmentCheck {
    /// No value of the filter occurs in this segment.
    Never,
    AnyTerm {
        column: StrColumn,
        /// The column's ordinals per document, when laid out (see [`DocOrds`]).
        doc_ords: Option<Arc<DocOrds>>,
        /// Sorted term ordinals of the wanted values in this segment's dictionary.
        ords: Vec<u64>,
    },
    GradeOverlap {
        grade_min: Column<i64>,
        grade_max: Column<i64>,
        wanted_min: i64,
        wanted_max: i64,
    },
}

impl SegmentCheck {
    fn open(check: &FilterCheck, segment: &SegmentReader, columns: &SegmentColumns) -> tantivy::Result<Self> {
        match check {
            FilterCheck::AnyTerm { field_name, values } => {
                let Some(column) = columns.str(segment, field_name)? else {
                    return Ok(SegmentCheck::Never);
                };
                let mut ords = Vec::with_capacity(values.len());
                for value in values {
                    if let Some(ord) = column.dictionary().term_ord(value.as_bytes())? {
                        ords.push(ord);
                    }
                }
                if ords.is_empty() {
                    return Ok(SegmentCheck::Never);
                }
                ords.sort_unstable();
                Ok(SegmentCheck::AnyTerm { doc_ords: columns.doc_ords(segment, field_name)?, column, ords })
            }
            FilterCheck::GradeOverlap { wanted_min, wanted_max } => {
                match (columns.i64(segment, "grade_min")?, columns.i64(segment, "grade_max")?) {
                    (Some(grade_min), Some(grade_max)) => Ok(SegmentCheck::GradeOverlap {
                        grade_min,
                        grade_max,
                        wanted_min: *wanted_min,
                        wanted_max: *wanted_max,
                    }),
                    _ => Ok(SegmentCheck::Never),
                }
            }
        }
    }

    fn passes(&self, doc: DocId) -> bool {
        match self {
            SegmentCheck::Never => false,
            SegmentCheck::AnyTerm { doc_ords: Some(doc_ords), ords, .. } => {
                doc_ords.of_doc(doc).iter().any(|&ord| ords.binary_search(&u64::from(ord)).is_ok())
            }
            SegmentCheck::AnyTerm { column, ords, .. } => {
                column.term_ords(doc).any(|ord| ords.binary_search(&ord).is_ok())
            }
            SegmentCheck::GradeOverlap { grade_min, grade_max, wanted_min, wanted_max } => {
                grade_min.first(doc).is_some_and(|min| min <= *wanted_max)
                    && grade_max.first(doc).is_some_and(|max| max >= *wanted_min)
            }
        }
    }
}

/// Count, top documents and facets of one search (see the module docs).
pub struct SearchCollector<T> {
    /// Ranks the documents that pass every filter (a `TopDocs` in some order).
    pub top: T,
    /// Filters checked per document, with the facet dimension each belongs to (if any).
    pub checks: Vec<(Option<Dimension>, FilterCheck)>,
    /// Facets counted over the documents that pass every filter.
    pub counted: Vec<Dimension>,
    /// Facets whose own filter is among `checks`: counted over documents passing the others.
    pub counted_without_own_filter: Vec<Dimension>,
    /// Documents counted (and faceted) but left out of `top`: those a search ranks first by
    /// another rule (the exact matches before the typo matches).
    pub not_ranked: Vec<DocAddress>,
    /// The generation's columns opened so far.
    pub columns: Arc<SegmentColumns>,
}

impl SearchCollector<()> {
    /// The same collection with `top` ranking the page.
    pub fn with_top<T: Collector>(&self, top: T) -> SearchCollector<T> {
        SearchCollector {
            top,
            checks: self.checks.clone(),
            counted: self.counted.clone(),
            counted_without_own_filter: self.counted_without_own_filter.clone(),
            not_ranked: self.not_ranked.clone(),
            columns: self.columns.clone(),
        }
    }
}

/// What a search collected.
pub struct Collected<F> {
    pub total: usize,
    pub top: F,
    pub facets: HashMap<Dimension, HashMap<String, u64>>,
}

pub struct SearchSegmentCollector<C> {
    top: C,
    total: usize,
    checks: Vec<SegmentCheck>,
    /// The mask of a document that passes every check.
    all_passed: u32,
    counted: Vec<(Dimension, SegmentTermCounter)>,
    /// The documents passing every check, which `counted` count once the query has run.
    passed: SegmentDocs,
    /// (bits of the dimension's own checks, its counter, the documents it counts).
    counted_without_own_filter: Vec<(Dimension, u32, SegmentTermCounter, SegmentDocs)>,
    /// This segment's documents not to rank, ascending, and how many of them are behind.
    not_ranked: Vec<DocId>,
    num_not_ranked_passed: usize,
}

impl<T: Collector> Collector for SearchCollector<T> {
    type Fruit = Collected<T::Fruit>;
    type Child = SearchSegmentCollector<T::Child>;

    fn for_segment(&self, segment_local_id: SegmentOrdinal, segment: &SegmentReader) -> tantivy::Result<Self::Child> {
        debug_assert!(self.checks.len() < 32, "a search has a handful of filters");
        let mut checks = Vec::with_capacity(self.checks.len());
        for (_, check) in &self.checks {
            checks.push(SegmentCheck::open(check, segment, &self.columns)?);
        }
        let all_passed = if checks.is_empty() { 0 } else { u32::MAX >> (32 - checks.len()) };
        let counter = |dimension: Dimension| {
            let name = dimension.field_name();
            SegmentTermCounter::open(
                name,
                segment,
                self.columns.str(segment, name)?,
                self.columns.doc_ords(segment, name)?,
            )
        };
        let mut counted = Vec::with_capacity(self.counted.len());
        for dimension in &self.counted {
            counted.push((*dimension, counter(*dimension)?));
        }
        let mut without_own = Vec::with_capacity(self.counted_without_own_filter.len());
        for dimension in &self.counted_without_own_filter {
            let own_bits = self
                .checks
                .iter()
                .enumerate()
                .filter(|(_, (check_dimension, _))| *check_dimension == Some(*dimension))
                .fold(0u32, |bits, (position, _)| bits | (1 << position));
            without_own.push((*dimension, own_bits, counter(*dimension)?, SegmentDocs::empty(segment.max_doc())));
        }
        let mut not_ranked: Vec<DocId> = self
            .not_ranked
            .iter()
            .filter(|address| address.segment_ord == segment_local_id)
            .map(|address| address.doc_id)
            .collect();
        not_ranked.sort_unstable();
        Ok(SearchSegmentCollector {
            top: self.top.for_segment(segment_local_id, segment)?,
            total: 0,
            checks,
            all_passed,
            passed: SegmentDocs::empty(if counted.is_empty() { 0 } else { segment.max_doc() }),
            counted,
            counted_without_own_filter: without_own,
            not_ranked,
            num_not_ranked_passed: 0,
        })
    }

    fn requires_scoring(&self) -> bool {
        self.top.requires_scoring()
    }

    fn merge_fruits(
        &self,
        segment_fruits: Vec<<Self::Child as SegmentCollector>::Fruit>,
    ) -> tantivy::Result<Self::Fruit> {
        let mut total = 0;
        let mut tops = Vec::with_capacity(segment_fruits.len());
        let mut facets: HashMap<Dimension, HashMap<String, u64>> = HashMap::new();
        for (segment_total, segment_top, segment_facets) in segment_fruits {
            total += segment_total;
            tops.push(segment_top);
            for (dimension, counts) in segment_facets {
                let merged = facets.entry(dimension).or_default();
                for (value, count) in counts {
                    *merged.entry(value).or_default() += count;
                }
            }
        }
        Ok(Collected { total, top: self.top.merge_fruits(tops)?, facets })
    }
}

impl<C: SegmentCollector> SegmentCollector for SearchSegmentCollector<C> {
    type Fruit = (usize, C::Fruit, Vec<(Dimension, HashMap<String, u64>)>);

    fn collect(&mut self, doc: DocId, score: Score) {
        let mut passed = 0u32;
        for (position, check) in self.checks.iter().enumerate() {
            if check.passes(doc) {
                passed |= 1 << position;
            }
        }
        if passed == self.all_passed {
            self.total += 1;
            // Documents arrive in ascending order, so a cursor finds the ones not to rank.
            while self.not_ranked.get(self.num_not_ranked_passed).is_some_and(|&skipped| skipped < doc) {
                self.num_not_ranked_passed += 1;
            }
            if self.not_ranked.get(self.num_not_ranked_passed) != Some(&doc) {
                self.top.collect(doc, score);
            }
            self.passed.insert(doc);
        }
        for (_, own_bits, _, docs) in &mut self.counted_without_own_filter {
            if passed | *own_bits == self.all_passed {
                docs.insert(doc);
            }
        }
    }

    fn harvest(self) -> Self::Fruit {
        let mut facets = Vec::with_capacity(self.counted.len() + self.counted_without_own_filter.len());
        for (dimension, mut counter) in self.counted {
            counter.count(&self.passed);
            facets.push((dimension, counter.harvest()));
        }
        for (dimension, _, mut counter, docs) in self.counted_without_own_filter {
            counter.count(&docs);
            facets.push((dimension, counter.harvest()));
        }
        (self.total, self.top.harvest(), facets)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::super::searcher::{Filter, SearchRequest};
    use super::super::{IngestBatch, IngestMode, SearchIndex};
    use super::Dimension;
    use crate::resource::{CatalogFormat, GradeRange, PublisherId, Resource, ResourceKind, ResourceRecord};
    use tantivy::columnar::Cardinality;

    const SUBJECTS: [&str; 3] = ["Mathematics", "Science", "Arts"];

    fn record(i: usize) -> ResourceRecord {
        let title = if i.is_multiple_of(4) { format!("Fractions lesson {i}") } else { format!("Story time {i}") };
        let kind = if i.is_multiple_of(5) { ResourceKind::LtiResourceLink } else { ResourceKind::Link };
        let mut resource = Resource::new(format!("r{i}"), title, format!("https://example.com/{i}"), kind);
        resource.subjects = vec![SUBJECTS[(i / 3) % 3].to_string()];
        if i.is_multiple_of(7) && resource.subjects[0] != "Science" {
            resource.subjects.push("Science".to_string());
        }
        resource.languages = vec![if i.is_multiple_of(2) { "en".to_string() } else { "es".to_string() }];
        if !i.is_multiple_of(11) {
            let min = (i % 13) as i8 - 1;
            resource.grades = Some(GradeRange::new(min, min + (i % 3) as i8));
        }
        resource.license = (!i.is_multiple_of(3)).then(|| "CC-BY-4.0".to_string());
        resource.free = Some(i.is_multiple_of(2));
        ResourceRecord {
            publisher: PublisherId::parse(&format!("pub{}", i % 3)).unwrap(),
            source_id: "push".to_string(),
            format: CatalogFormat::ResourceSearch,
            resource,
        }
    }

    /// The values a record contributes to a facet.
    fn values(record: &ResourceRecord, dimension: Dimension) -> Vec<String> {
        let resource = &record.resource;
        match dimension {
            Dimension::Publisher => vec![record.publisher.to_string()],
            Dimension::Subject => resource.subjects.clone(),
            Dimension::ResourceType => resource.resource_types.clone(),
            Dimension::Language => resource.languages.clone(),
            Dimension::License => resource.license.iter().cloned().collect(),
            Dimension::Kind => vec![resource.kind.as_str().to_string()],
            Dimension::GradeLevel => {
                resource.grades.map(|g| g.levels().map(|l| l.to_string()).collect()).unwrap_or_default()
            }
            Dimension::Standard => resource.alignments.iter().filter_map(|a| a.code.clone()).collect(),
        }
    }

    /// Whether a record passes the filter's `dimension` part (`None`: the non-facet parts).
    fn passes(record: &ResourceRecord, filter: &Filter, dimension: Option<Dimension>) -> bool {
        let any = |wanted: &[String], have: Vec<String>| wanted.is_empty() || have.iter().any(|h| wanted.contains(h));
        match dimension {
            Some(Dimension::Publisher) => any(&filter.publishers, values(record, Dimension::Publisher)),
            Some(Dimension::Subject) => any(&filter.subjects, values(record, Dimension::Subject)),
            Some(Dimension::Language) => any(&filter.languages, values(record, Dimension::Language)),
            Some(Dimension::License) => any(&filter.licenses, values(record, Dimension::License)),
            Some(Dimension::Kind) => filter.kinds.is_empty() || filter.kinds.contains(&record.resource.kind),
            Some(Dimension::GradeLevel) => {
                if filter.grade_min.is_none() && filter.grade_max.is_none() {
                    return true;
                }
                let (min, max) = (filter.grade_min.unwrap_or(-1), filter.grade_max.unwrap_or(13));
                record.resource.grades.is_some_and(|g| g.overlaps(min, max))
            }
            Some(Dimension::ResourceType) => true,
            Some(Dimension::Standard) => any(&filter.standards, values(record, Dimension::Standard)),
            None => !filter.free_only || record.resource.free == Some(true),
        }
    }

    #[tokio::test]
    async fn test_one_pass_matches_counting_each_facet_under_the_other_filters() {
        let dir = tempfile::tempdir().unwrap();
        let index = SearchIndex::open(dir.path()).unwrap();
        let mut records: Vec<ResourceRecord> = (0..300).map(record).collect();
        for publisher in 0..3 {
            index.ingest(push(&records, publisher, Vec::new()), None).await.unwrap();
        }
        // Both ways of counting are exercised: one value per resource (publisher, kind) and
        // several (subjects, in some segment).
        let searcher = index.reader.searcher();
        let cardinality = |segment: &tantivy::SegmentReader, name: &str| {
            segment.fast_fields().str(name).unwrap().unwrap().ords().get_cardinality()
        };
        for segment in searcher.segment_readers() {
            assert_eq!(cardinality(segment, "publisher"), Cardinality::Full);
            assert_eq!(cardinality(segment, "kind"), Cardinality::Full);
        }
        assert!(searcher.segment_readers().iter().any(|s| cardinality(s, "subject") == Cardinality::Multivalued));
        check_against_brute_force(&index, &records);
        // Deletions: a segment's deleted resources are no longer counted, also where the
        // counts come from the term dictionaries (a tenth of pub1's segment is deleted, so
        // both the whole segment and "story" are most of it).
        let deleted: Vec<String> = records
            .iter()
            .filter(|r| r.publisher.as_str() == "pub1" && r.resource.local_id.ends_with('1'))
            .map(|r| r.resource.local_id.clone())
            .collect();
        assert!(!deleted.is_empty());
        records.retain(|r| !deleted.contains(&r.resource.local_id));
        index.ingest(push(&[], 1, deleted), None).await.unwrap();
        let searcher = index.reader.searcher();
        assert!(searcher.segment_readers().iter().any(|s| s.num_deleted_docs() > 0));
        check_against_brute_force(&index, &records);
        index.close();
    }

    /// A merge-mode push of the records of `pub{publisher}`, removing `deleted`.
    fn push(records: &[ResourceRecord], publisher: usize, deleted: Vec<String>) -> IngestBatch {
        let id = format!("pub{publisher}");
        IngestBatch {
            publisher: PublisherId::parse(&id).unwrap(),
            source_id: "push".to_string(),
            mode: IngestMode::Merge,
            records: records.iter().filter(|r| r.publisher.as_str() == id).cloned().collect(),
            deleted,
        }
    }

    /// Every search of a set of texts and filters answers the count and facets that counting
    /// `records` one by one gives.
    fn check_against_brute_force(index: &SearchIndex, records: &[ResourceRecord]) {
        let strings = |values: &[&str]| values.iter().map(|v| v.to_string()).collect::<Vec<_>>();
        let filters = vec![
            Filter::default(),
            Filter { subjects: strings(&["Science"]), ..Filter::default() },
            Filter {
                subjects: strings(&["Science", "Arts"]),
                grade_min: Some(3),
                grade_max: Some(5),
                ..Filter::default()
            },
            Filter {
                publishers: strings(&["pub1"]),
                languages: strings(&["en"]),
                kinds: vec![ResourceKind::Link],
                licenses: strings(&["CC-BY-4.0"]),
                ..Filter::default()
            },
            Filter {
                publishers: strings(&["pub2", "nobody"]),
                free_only: true,
                grade_max: Some(2),
                ..Filter::default()
            },
            Filter { subjects: strings(&["Nothing"]), ..Filter::default() },
        ];
        // No words (every resource), a word in a quarter of them and one in three quarters
        // (counted from the document frequencies less the documents outside the match).
        for text in [None, Some("fractions"), Some("story")] {
            for filter in &filters {
                let request = SearchRequest {
                    text: text.map(str::to_string),
                    filter: filter.clone(),
                    limit: 10,
                    facets: Dimension::ALL.to_vec(),
                    ..SearchRequest::default()
                };
                let results = index.search(&request).unwrap();
                let matching: Vec<&ResourceRecord> = records
                    .iter()
                    .filter(|r| text.is_none_or(|text| r.resource.title.to_lowercase().contains(text)))
                    .collect();
                let dimensions = [
                    Dimension::Publisher,
                    Dimension::Subject,
                    Dimension::Language,
                    Dimension::License,
                    Dimension::Kind,
                    Dimension::GradeLevel,
                ];
                let all = |r: &&&ResourceRecord| {
                    passes(r, filter, None) && dimensions.iter().all(|d| passes(r, filter, Some(*d)))
                };
                let expected_total = matching.iter().filter(all).count();
                assert_eq!(results.total, expected_total, "{text:?} {filter:?}");
                // Without facets the filters run inside the query: the same total.
                let plain = index.search(&SearchRequest { facets: Vec::new(), ..request.clone() }).unwrap();
                assert_eq!(plain.total, expected_total, "{text:?} {filter:?} without facets");
                assert!(plain.facets.is_empty());
                assert_eq!(results.hits.len(), expected_total.min(10));
                for hit in &results.hits {
                    assert!(all(&&&hit.record), "{text:?} {filter:?}: {:?}", hit.record.resource.local_id);
                }
                for dimension in Dimension::ALL {
                    let mut expected: HashMap<String, u64> = HashMap::new();
                    for record in matching.iter().filter(|r| {
                        passes(r, filter, None)
                            && dimensions.iter().filter(|d| **d != dimension).all(|d| passes(r, filter, Some(*d)))
                    }) {
                        for value in values(record, dimension) {
                            *expected.entry(value).or_default() += 1;
                        }
                    }
                    let got: HashMap<String, u64> =
                        results.facets.get(&dimension).cloned().unwrap_or_default().into_iter().collect();
                    assert_eq!(got, expected, "{text:?} {filter:?} {dimension:?}");
                }
            }
        }
    }
}
