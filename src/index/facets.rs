//! Facet dimensions and the collector that counts their values.
//!
//! Each dimension is a `STRING | FAST` field used both to filter (a term query) and to count
//! (term ordinals read from the fast column), so a facet can be computed under exactly the
//! filters of the other dimensions.

use std::collections::HashMap;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::{Cardinality, StrColumn};
use tantivy::schema::Field;
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader};

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

pub struct SegmentTermCounter {
    column: Option<StrColumn>,
    /// Every document of the segment has exactly one value (publisher, kind, often language
    /// and licence): its ordinal is read directly, without going through the column index.
    single_valued: bool,
    counts: Vec<u64>,
}

impl Collector for TermCounter {
    type Fruit = HashMap<String, u64>;
    type Child = SegmentTermCounter;

    fn for_segment(&self, _segment_local_id: SegmentOrdinal, segment: &SegmentReader) -> tantivy::Result<Self::Child> {
        let column = segment.fast_fields().str(self.field_name)?;
        let num_terms = column.as_ref().map(|c| c.num_terms()).unwrap_or(0);
        let single_valued = column.as_ref().is_some_and(|c| c.ords().get_cardinality() == Cardinality::Full);
        Ok(SegmentTermCounter { column, single_valued, counts: vec![0; num_terms] })
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

impl SegmentCollector for SegmentTermCounter {
    type Fruit = HashMap<String, u64>;

    fn collect(&mut self, doc: DocId, _score: Score) {
        let Some(column) = &self.column else { return };
        if self.single_valued {
            let ord = column.ords().values.get_val(doc);
            if let Some(count) = self.counts.get_mut(ord as usize) {
                *count += 1;
            }
            return;
        }
        for ord in column.term_ords(doc) {
            if let Some(count) = self.counts.get_mut(ord as usize) {
                *count += 1;
            }
        }
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
