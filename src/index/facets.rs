//! Facet dimensions and the collector that counts their values.
//!
//! Each dimension is a `STRING | FAST` field used both to filter (a term query) and to count
//! (term ordinals read from the fast column), so a facet can be computed under exactly the
//! filters of the other dimensions.

use std::collections::HashMap;
use std::sync::Arc;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::{Cardinality, StrColumn};
use tantivy::schema::Field;
use tantivy::{DocId, InvertedIndexReader, Score, SegmentOrdinal, SegmentReader};

use super::columns::DocOrds;
use super::schema::Fields;

pub use crate::search::Dimension;

/// Where a facet dimension lives in the tantivy schema.
pub trait DimensionField {
    fn field(self, fields: &Fields) -> Field;
    fn field_name(self) -> &'static str;
}

impl DimensionField for Dimension {
    fn field(self, fields: &Fields) -> Field {
        match self {
            Dimension::Publisher => fields.publisher,
            Dimension::Subject => fields.subject,
            Dimension::ResourceType => fields.resource_type,
            Dimension::Language => fields.language,
            Dimension::License => fields.license,
            Dimension::Kind => fields.kind,
            Dimension::GradeLevel => fields.grade,
            Dimension::Standard => fields.code,
        }
    }

    fn field_name(self) -> &'static str {
        match self {
            Dimension::Publisher => "publisher",
            Dimension::Subject => "subject",
            Dimension::ResourceType => "resource_type",
            Dimension::Language => "language",
            Dimension::License => "license",
            Dimension::Kind => "kind",
            Dimension::GradeLevel => "grade",
            Dimension::Standard => "code",
        }
    }
}

/// Counts, per value of one `STRING | FAST` field, the matching documents.
pub struct TermCounter {
    field_name: &'static str,
}

impl TermCounter {
    pub fn new(field_name: &'static str) -> Self {
        Self { field_name }
    }
}

/// The documents of one segment a facet is counted over, gathered while the query runs and
/// counted once it has (see [`SegmentTermCounter::count`]).
pub struct SegmentDocs {
    words: Vec<u64>,
    len: usize,
}

impl SegmentDocs {
    /// No documents of a segment of `max_doc` documents.
    pub fn empty(max_doc: DocId) -> Self {
        Self { words: vec![0; (max_doc as usize).div_ceil(64)], len: 0 }
    }

    /// The segment's live documents.
    pub fn alive(segment: &SegmentReader) -> Self {
        let mut docs = Self::empty(segment.max_doc());
        match segment.alive_bitset() {
            Some(alive) => alive.iter_alive().for_each(|doc| docs.insert(doc)),
            None => (0..segment.max_doc()).for_each(|doc| docs.insert(doc)),
        }
        docs
    }

    /// Adds `doc` (each document at most once: the query yields it once).
    pub fn insert(&mut self, doc: DocId) {
        if let Some(word) = self.words.get_mut(doc as usize / 64) {
            *word |= 1 << (doc % 64);
            self.len += 1;
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The documents in the set (`inside`) or, of the segment's `max_doc`, not in it, ascending.
    fn for_each(&self, inside: bool, max_doc: DocId, mut visit: impl FnMut(DocId)) {
        for (index, word) in self.words.iter().enumerate() {
            let mut bits = if inside { *word } else { !*word };
            while bits != 0 {
                let doc = index as DocId * 64 + bits.trailing_zeros();
                if doc >= max_doc {
                    break;
                }
                visit(doc);
                bits &= bits - 1;
            }
        }
    }
}

pub struct SegmentTermCounter {
    column: Option<StrColumn>,
    /// Every document of the segment has exactly one value (publisher, kind, often language
    /// and licence): its ordinal is read directly, without going through the column index.
    single_valued: bool,
    /// The column's ordinals per document, when it is not single-valued and they were laid out
    /// (see [`DocOrds`]).
    doc_ords: Option<Arc<DocOrds>>,
    /// The field's terms in the inverted index, for counting a set of most of the segment's
    /// documents from the document frequencies (see [`SegmentTermCounter::count`]).
    inverted: Option<Arc<InvertedIndexReader>>,
    max_doc: DocId,
    counts: Vec<u64>,
}

impl Collector for TermCounter {
    type Fruit = HashMap<String, u64>;
    type Child = SegmentTermCounter;

    fn for_segment(&self, _segment_local_id: SegmentOrdinal, segment: &SegmentReader) -> tantivy::Result<Self::Child> {
        SegmentTermCounter::open(self.field_name, segment, segment.fast_fields().str(self.field_name)?, None)
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, segment_fruits: Vec<HashMap<String, u64>>) -> tantivy::Result<Self::Fruit> {
        let mut merged: HashMap<String, u64> = HashMap::new();
        for fruit in segment_fruits {
            for (value, count) in fruit {
                *merged.entry(value).or_default() += count;
            }
        }
        Ok(merged)
    }
}

impl SegmentTermCounter {
    /// A counter of `field_name`'s values in `segment`, whose string column is `column` (and
    /// its ordinals per document `doc_ords`, when laid out).
    pub fn open(
        field_name: &str,
        segment: &SegmentReader,
        column: Option<StrColumn>,
        doc_ords: Option<Arc<DocOrds>>,
    ) -> tantivy::Result<Self> {
        let num_terms = column.as_ref().map(|c| c.num_terms()).unwrap_or(0);
        let single_valued = column.as_ref().is_some_and(|c| c.ords().get_cardinality() == Cardinality::Full);
        let inverted = match segment.schema().get_field(field_name) {
            Ok(field) if column.is_some() => Some(segment.inverted_index(field)?),
            _ => None,
        };
        Ok(SegmentTermCounter {
            column,
            single_valued,
            doc_ords,
            inverted,
            max_doc: segment.max_doc(),
            counts: vec![0; num_terms],
        })
    }

    /// Counts the values of `docs`. When they are most of the segment, the documents outside
    /// the set are counted instead and taken off the inverted index's document frequencies:
    /// a word found in 80% of the resources costs the counting of 20%. The frequencies count
    /// deleted documents too, which are never in `docs`, so they are taken off with the rest.
    pub fn count(&mut self, docs: &SegmentDocs) {
        if docs.len() * 2 > self.max_doc as usize {
            if let Some(frequencies) = self.doc_freqs() {
                docs.for_each(false, self.max_doc, |doc| self.count_doc(doc));
                for (count, frequency) in self.counts.iter_mut().zip(frequencies) {
                    *count = frequency.saturating_sub(*count);
                }
                return;
            }
        }
        docs.for_each(true, self.max_doc, |doc| self.count_doc(doc));
    }

    fn count_doc(&mut self, doc: DocId) {
        let Some(column) = &self.column else { return };
        if self.single_valued {
            let ord = column.ords().values.get_val(doc);
            if let Some(count) = self.counts.get_mut(ord as usize) {
                *count += 1;
            }
            return;
        }
        if let Some(doc_ords) = &self.doc_ords {
            for &ord in doc_ords.of_doc(doc) {
                if let Some(count) = self.counts.get_mut(ord as usize) {
                    *count += 1;
                }
            }
            return;
        }
        for ord in column.term_ords(doc) {
            if let Some(count) = self.counts.get_mut(ord as usize) {
                *count += 1;
            }
        }
    }

    /// The document frequency of every value, by ordinal, when the field's term dictionary
    /// holds exactly the fast column's values. A facet field's indexed terms are its column's
    /// values (both `STRING`: one untokenised term per value, each value once per document),
    /// so the term at position `i` is ordinal `i`; the two dictionaries are compared as they
    /// are walked, and should they ever differ the documents are counted one by one instead.
    fn doc_freqs(&self) -> Option<Vec<u64>> {
        let (Some(column), Some(inverted)) = (&self.column, &self.inverted) else { return None };
        let terms = inverted.terms();
        if terms.num_terms() != column.num_terms() {
            return None;
        }
        let mut frequencies = Vec::with_capacity(terms.num_terms());
        let mut indexed = terms.stream().ok()?;
        let mut columnar = column.dictionary().stream().ok()?;
        while indexed.advance() {
            if !columnar.advance() || columnar.key() != indexed.key() {
                tracing::warn!("a facet's indexed terms differ from its fast column; counting documents");
                return None;
            }
            frequencies.push(u64::from(indexed.value().doc_freq));
        }
        Some(frequencies)
    }
}

impl SegmentCollector for SegmentTermCounter {
    type Fruit = HashMap<String, u64>;

    fn collect(&mut self, doc: DocId, _score: Score) {
        self.count_doc(doc);
    }

    fn harvest(self) -> Self::Fruit {
        let mut out = HashMap::new();
        let Some(column) = self.column else {
            return out;
        };
        let (ords, counts): (Vec<u64>, Vec<u64>) =
            self.counts.into_iter().enumerate().filter(|(_, count)| *count > 0).map(|(ord, n)| (ord as u64, n)).unzip();
        // One walk of the dictionary for every counted value (a lookup per value would
        // re-read its block from the start each time).
        let mut counts = counts.into_iter();
        let walked = column.dictionary().sorted_ords_to_term_cb(&ords, |bytes| {
            if let (Ok(value), Some(count)) = (std::str::from_utf8(bytes), counts.next()) {
                out.insert(value.to_string(), count);
            }
        });
        if let Err(err) = walked {
            tracing::warn!(%err, "facet values could not be read from a segment's dictionary");
        }
        out
    }
}

/// Every value's count over the live documents of `segment`: what a search with no words and
/// no filters counts. With few deletions this is the document frequencies less the deleted
/// documents' values (see [`SegmentTermCounter::count`]): work in the number of values and
/// deletions, not of documents, which keeps a first screen over a million resources cheap.
pub fn count_whole_segment(segment: &SegmentReader, field_name: &'static str) -> tantivy::Result<HashMap<String, u64>> {
    let mut counter = TermCounter::new(field_name).for_segment(0, segment)?;
    counter.count(&SegmentDocs::alive(segment));
    Ok(counter.harvest())
}
