//! The fast columns searches read, opened once per segment.
//!
//! Opening a column parses its header and, for a string column, its term dictionary's index.
//! Every facet and filter of every search opened its columns again, 2.6% of the serving CPU
//! under the peer kit's mix (BENCHMARKS.md, issue 14). A generation's segments never change,
//! so what one search opened serves the next ones of the same generation.

use std::collections::HashMap;
use std::sync::Mutex;

use tantivy::columnar::{Column, StrColumn};
use tantivy::index::SegmentId;
use tantivy::SegmentReader;

/// Columns opened so far, by segment and field name (`None`: no document has a value).
type Opened<C> = Mutex<HashMap<(SegmentId, &'static str), Option<C>>>;

/// The columns opened so far in one generation's segments.
#[derive(Default)]
pub struct SegmentColumns {
    strings: Opened<StrColumn>,
    numbers: Opened<Column<i64>>,
}

impl SegmentColumns {
    /// The string column `name` of `segment` (`None` when no document has a value).
    pub fn str(&self, segment: &SegmentReader, name: &'static str) -> tantivy::Result<Option<StrColumn>> {
        let key = (segment.segment_id(), name);
        if let Some(column) = self.strings.lock().ok().and_then(|opened| opened.get(&key).cloned()) {
            return Ok(column);
        }
        let column = segment.fast_fields().str(name)?;
        if let Ok(mut opened) = self.strings.lock() {
            opened.insert(key, column.clone());
        }
        Ok(column)
    }

    /// The `i64` column `name` of `segment` (`None` when no document has a value).
    pub fn i64(&self, segment: &SegmentReader, name: &'static str) -> tantivy::Result<Option<Column<i64>>> {
        let key = (segment.segment_id(), name);
        if let Some(column) = self.numbers.lock().ok().and_then(|opened| opened.get(&key).cloned()) {
            return Ok(column);
        }
        let column = segment.fast_fields().column_opt::<i64>(name)?;
        if let Ok(mut opened) = self.numbers.lock() {
            opened.insert(key, column.clone());
        }
        Ok(column)
    }
}
