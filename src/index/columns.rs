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
        opened(&self.strings, segment, name, || segment.fast_fields().str(name))
    }

    /// The `i64` column `name` of `segment` (`None` when no document has a value).
    pub fn i64(&self, segment: &SegmentReader, name: &'static str) -> tantivy::Result<Option<Column<i64>>> {
        opened(&self.numbers, segment, name, || segment.fast_fields().column_opt::<i64>(name))
    }
}

/// The column kept in `columns`, or opened now by `open` and kept.
fn opened<C: Clone>(
    columns: &Opened<C>,
    segment: &SegmentReader,
    name: &'static str,
    open: impl FnOnce() -> tantivy::Result<Option<C>>,
) -> tantivy::Result<Option<C>> {
    let key = (segment.segment_id(), name);
    if let Some(column) = columns.lock().ok().and_then(|kept| kept.get(&key).cloned()) {
        return Ok(column);
    }
    let column = open()?;
    if let Ok(mut kept) = columns.lock() {
        kept.insert(key, column.clone());
    }
    Ok(column)
}
