//! The fast columns searches read, opened once per segment.
//!
//! Opening a column parses its header and, for a string column, its term dictionary's index.
//! Every facet and filter of every search opened its columns again, 2.6% of the serving CPU
//! under the peer kit's mix (BENCHMARKS.md, issue 14). A generation's segments never change,
//! so what one search opened serves the next ones of the same generation.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tantivy::columnar::{Cardinality, Column, StrColumn};
use tantivy::index::SegmentId;
use tantivy::{DocId, SegmentReader};

/// Columns opened so far, by segment and field name (`None`: no document has a value).
type Opened<C> = Mutex<HashMap<(SegmentId, &'static str), Option<C>>>;

/// The columns opened so far in one generation's segments.
#[derive(Default)]
pub struct SegmentColumns {
    strings: Opened<StrColumn>,
    numbers: Opened<Column<i64>>,
    doc_ords: Opened<Arc<DocOrds>>,
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

    /// The ordinals of the string column `name` of `segment` laid out per document, when some
    /// document has none or several values (`None` when each has exactly one, read straight
    /// from the column, or none has any).
    pub fn doc_ords(&self, segment: &SegmentReader, name: &'static str) -> tantivy::Result<Option<Arc<DocOrds>>> {
        opened(&self.doc_ords, segment, name, || {
            let Some(column) = self.str(segment, name)? else { return Ok(None) };
            if column.ords().get_cardinality() == Cardinality::Full {
                return Ok(None);
            }
            Ok(DocOrds::of(&column, segment.max_doc()).map(Arc::new))
        })
    }
}

/// A string column's term ordinals in two plain arrays, document by document. Reading a
/// multi-valued column goes through its index (a bit-packed start per document) and then its
/// bit-packed values: counting a facet over the matching documents that way was 5% of the
/// serving CPU under the peer kit's mix (BENCHMARKS.md, issue 14). The arrays cost four bytes a
/// document and four a value, made once per segment and generation by the first search that
/// counts or filters the column.
pub struct DocOrds {
    /// Where each document's ordinals start in `ords`; one more entry than documents.
    starts: Vec<u32>,
    ords: Vec<u32>,
}

impl DocOrds {
    /// The ordinals of `column` for documents `0..max_doc`; `None` past `u32` ordinals or
    /// values (the column is then read directly).
    pub fn of(column: &StrColumn, max_doc: DocId) -> Option<Self> {
        let mut starts = Vec::with_capacity(max_doc as usize + 1);
        let mut ords = Vec::new();
        starts.push(0);
        for doc in 0..max_doc {
            for ord in column.term_ords(doc) {
                ords.push(u32::try_from(ord).ok()?);
            }
            starts.push(u32::try_from(ords.len()).ok()?);
        }
        Some(Self { starts, ords })
    }

    /// The ordinals of `doc`, ascending (none for a document past the column).
    pub fn of_doc(&self, doc: DocId) -> &[u32] {
        let doc = doc as usize;
        match (self.starts.get(doc), self.starts.get(doc + 1)) {
            (Some(&start), Some(&end)) => self.ords.get(start as usize..end as usize).unwrap_or(&[]),
            _ => &[],
        }
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

#[cfg(test)]
mod tests {
    use tantivy::schema::{Schema, FAST, STRING};
    use tantivy::{doc, Index, TantivyDocument};

    use super::*;

    #[test]
    fn test_doc_ords_equal_the_columns_own_reading() {
        let mut builder = Schema::builder();
        let subject = builder.add_text_field("subject", STRING | FAST);
        let index = Index::create_in_ram(builder.build());
        let mut writer = index.writer_with_num_threads(1, 15_000_000).expect("writer");
        let values: [&[&str]; 5] = [&["Science"], &[], &["Arts", "Mathematics", "Science"], &["Arts"], &[]];
        for subjects in values {
            let mut document = TantivyDocument::default();
            for value in subjects {
                document.add_text(subject, value);
            }
            writer.add_document(document).expect("add");
        }
        writer.add_document(doc!()).expect("add");
        writer.commit().expect("commit");
        let searcher = index.reader().expect("reader").searcher();
        let segment = searcher.segment_reader(0);
        let columns = SegmentColumns::default();
        let ords = columns.doc_ords(segment, "subject").expect("open").expect("not single-valued");
        let column = columns.str(segment, "subject").expect("open").expect("column");
        for doc in 0..segment.max_doc() {
            let expected: Vec<u32> = column.term_ords(doc).map(|ord| ord as u32).collect();
            assert_eq!(ords.of_doc(doc), expected.as_slice(), "doc {doc}");
        }
        assert_eq!(ords.of_doc(2).len(), 3);
        assert!(ords.of_doc(segment.max_doc()).is_empty(), "past the segment");
        assert!(Arc::ptr_eq(&ords, &columns.doc_ords(segment, "subject").expect("open").expect("kept")), "kept");
    }

    #[test]
    fn test_a_single_valued_column_is_read_directly() {
        let mut builder = Schema::builder();
        let kind = builder.add_text_field("kind", STRING | FAST);
        let index = Index::create_in_ram(builder.build());
        let mut writer = index.writer_with_num_threads(1, 15_000_000).expect("writer");
        for value in ["link", "lti", "link"] {
            writer.add_document(doc!(kind => value)).expect("add");
        }
        writer.commit().expect("commit");
        let searcher = index.reader().expect("reader").searcher();
        let columns = SegmentColumns::default();
        assert!(columns.doc_ords(searcher.segment_reader(0), "kind").expect("open").is_none());
        assert!(columns.doc_ords(searcher.segment_reader(0), "absent").expect("open").is_none());
    }
}
