//! The fast columns searches read, opened once per segment.
//!
//! Opening a column parses its header and, for a string column, its term dictionary's index.
//! Every facet and filter of every search opened its columns again, 2.6% of the serving CPU
//! under the peer kit's mix (BENCHMARKS.md, issue 14). A generation's segments never change,
//! so what one search opened serves the next ones of the same generation. The ordinal arrays
//! laid out from a column ([`DocOrds`]) outlive generations: a segment's columns never change
//! (a deletion only hides documents), so a commit lays out only its new segments' arrays.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tantivy::columnar::{Cardinality, Column, StrColumn};
use tantivy::index::SegmentId;
use tantivy::{DocId, Searcher, SegmentReader};

/// Columns opened so far, by segment and field name (`None`: no document has a value).
type Opened<C> = Mutex<HashMap<(SegmentId, &'static str), Option<C>>>;

/// The columns opened so far in one generation's segments.
#[derive(Default)]
pub struct SegmentColumns {
    strings: Opened<StrColumn>,
    numbers: Opened<Column<i64>>,
    doc_ords: Arc<LaidOutOrds>,
}

/// The ordinal arrays laid out so far, by segment and field name, across generations.
#[derive(Default)]
pub struct LaidOutOrds {
    kept: Opened<Arc<DocOrds>>,
}

impl SegmentColumns {
    /// The columns of `searcher`'s generation, sharing the arrays earlier generations laid out
    /// (those of segments `searcher` no longer has, merged away, are dropped).
    pub fn new(searcher: &Searcher, laid_out: Arc<LaidOutOrds>) -> Self {
        if let Ok(mut kept) = laid_out.kept.lock() {
            let live: Vec<_> = searcher.segment_readers().iter().map(|segment| segment.segment_id()).collect();
            kept.retain(|(segment, _), _| live.contains(segment));
        }
        Self { strings: Opened::default(), numbers: Opened::default(), doc_ords: laid_out }
    }

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
        opened(&self.doc_ords.kept, segment, name, || {
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
/// document and four a value, made once per segment by the first search that counts or filters
/// the column.
pub struct DocOrds {
    /// Where each document's ordinals start in `ords`; one more entry than documents.
    starts: Vec<u32>,
    ords: Vec<u32>,
}

impl DocOrds {
    /// The ordinals of `column` for documents `0..max_doc`; `None` past `u32` ordinals or
    /// values, or should a document's values not follow the previous one's (the column is then
    /// read directly). The values are decoded in one sequential pass rather than per document.
    pub fn of(column: &StrColumn, max_doc: DocId) -> Option<Self> {
        let ords = column.ords();
        let mut values = vec![0u64; usize::try_from(ords.values.num_vals()).ok()?];
        ords.values.get_range(0, &mut values);
        let mut starts = Vec::with_capacity(max_doc as usize + 1);
        starts.push(0u32);
        for doc in 0..max_doc {
            let rows = ords.index.value_row_ids(doc);
            if starts.last() != Some(&rows.start) && !rows.is_empty() {
                return None;
            }
            let end = if rows.is_empty() { starts.last().copied().unwrap_or(0) } else { rows.end };
            starts.push(end);
        }
        if starts.last().copied().map(|end| end as usize) != Some(values.len()) {
            return None;
        }
        let ords = values.into_iter().map(u32::try_from).collect::<Result<Vec<u32>, _>>().ok()?;
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

        // A later generation with the same segment reuses the arrays; one without it drops them.
        let laid_out = Arc::new(LaidOutOrds::default());
        let first = SegmentColumns::new(&searcher, laid_out.clone());
        let ords = first.doc_ords(segment, "subject").expect("open").expect("laid out");
        let next = SegmentColumns::new(&searcher, laid_out.clone());
        assert!(Arc::ptr_eq(&ords, &next.doc_ords(segment, "subject").expect("open").expect("kept")), "reused");
        let other = Index::create_in_ram(index.schema());
        let mut other_writer = other.writer_with_num_threads(1, 15_000_000).expect("writer");
        other_writer.add_document(doc!(subject => "Arts")).expect("add");
        other_writer.commit().expect("commit");
        SegmentColumns::new(&other.reader().expect("reader").searcher(), laid_out.clone());
        assert!(laid_out.kept.lock().expect("lock").is_empty(), "the merged-away segment's arrays are dropped");
    }

    #[test]
    fn test_a_single_valued_column_is_read_directly_and_an_optional_one_laid_out() {
        let mut builder = Schema::builder();
        let kind = builder.add_text_field("kind", STRING | FAST);
        let license = builder.add_text_field("license", STRING | FAST);
        let index = Index::create_in_ram(builder.build());
        let mut writer = index.writer_with_num_threads(1, 15_000_000).expect("writer");
        writer.add_document(doc!(kind => "link", license => "CC-BY-4.0")).expect("add");
        writer.add_document(doc!(kind => "lti")).expect("add");
        writer.add_document(doc!(kind => "link", license => "CC0-1.0")).expect("add");
        writer.add_document(doc!(kind => "link")).expect("add");
        writer.commit().expect("commit");
        let searcher = index.reader().expect("reader").searcher();
        let segment = searcher.segment_reader(0);
        let columns = SegmentColumns::default();
        assert!(columns.doc_ords(segment, "kind").expect("open").is_none());
        assert!(columns.doc_ords(segment, "absent").expect("open").is_none());
        let column = columns.str(segment, "license").expect("open").expect("column");
        assert_eq!(column.ords().get_cardinality(), Cardinality::Optional);
        let ords = columns.doc_ords(segment, "license").expect("open").expect("laid out");
        for doc in 0..segment.max_doc() {
            let expected: Vec<u32> = column.term_ords(doc).map(|ord| ord as u32).collect();
            assert_eq!(ords.of_doc(doc), expected.as_slice(), "doc {doc}");
        }
    }
}
