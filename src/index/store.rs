//! Reading the hits' records straight from the document store.
//!
//! A hit's record is the postcard payload, the one stored field. tantivy's document reader
//! builds a whole document first, and reads a bytes value one byte at a time: with the block's
//! decompression, that was 4.5% of the serving CPU under the peer kit's mix (BENCHMARKS.md,
//! issue 14). Here the payload is sliced out of the stored bytes and decoded in place. A stored
//! document of any other layout is read by tantivy's reader instead (see
//! [`Stores::payload`]), so nothing depends on the layout but the speed.

use std::ops::Range;

use tantivy::directory::OwnedBytes;
use tantivy::schema::Field;
use tantivy::store::StoreReader;
use tantivy::{DocAddress, Searcher};
use tantivy_common::{BinarySerializable, VInt};

/// tantivy's type code of a bytes value in a stored document (`schema::document::type_codes`,
/// private to tantivy; a test below holds it to what tantivy writes).
const BYTES_CODE: u8 = 4;

/// Blocks each segment's store keeps decoded. The store is not compressed ([`super::schema`]), so
/// a cached block would only save copying it, for a lock and an LRU update on every hit.
const CACHED_BLOCKS: usize = 0;

/// The document stores of one generation's segments.
pub struct Stores {
    readers: Vec<StoreReader>,
}

impl Stores {
    /// Opens the stores of `searcher`'s segments (their footers and skip indexes: cheap).
    pub fn open(searcher: &Searcher) -> std::io::Result<Self> {
        let readers = searcher
            .segment_readers()
            .iter()
            .map(|segment| segment.get_store_reader(CACHED_BLOCKS))
            .collect::<std::io::Result<Vec<_>>>()?;
        Ok(Self { readers })
    }

    /// The bytes of `field` in the stored document at `address`; `None` when the document is
    /// not a plain list of bytes values (the caller then reads it with tantivy's reader).
    pub fn payload(&self, address: DocAddress, field: Field) -> tantivy::Result<Option<OwnedBytes>> {
        let Some(reader) = self.readers.get(address.segment_ord as usize) else {
            return Ok(None);
        };
        let bytes = reader.get_document_bytes(address.doc_id)?;
        Ok(bytes_value(bytes.as_slice(), field).map(|range| bytes.slice(range)))
    }
}

/// Where the first value of `field` is in a stored document whose values are all bytes: the
/// count of values, then for each its field id, type code and length-prefixed bytes.
fn bytes_value(stored: &[u8], field: Field) -> Option<Range<usize>> {
    let mut doc = stored;
    let num_values = VInt::deserialize(&mut doc).ok()?.val();
    for _ in 0..num_values {
        let field_id = u32::deserialize(&mut doc).ok()?;
        let type_code = u8::deserialize(&mut doc).ok()?;
        if type_code != BYTES_CODE {
            return None;
        }
        let len = usize::try_from(VInt::deserialize(&mut doc).ok()?.val()).ok()?;
        let (value, rest) = doc.split_at_checked(len)?;
        if field_id == field.field_id() {
            let start = stored.len() - doc.len();
            return Some(start..start + value.len());
        }
        doc = rest;
    }
    None
}

#[cfg(test)]
mod tests {
    use tantivy::schema::{Schema, Value, STORED};
    use tantivy::{doc, Index, TantivyDocument};

    use super::*;

    #[test]
    fn test_payloads_read_from_the_store_equal_tantivys_reading() {
        let mut builder = Schema::builder();
        let other = builder.add_bytes_field("other", STORED);
        let payload = builder.add_bytes_field("payload", STORED);
        let index = Index::create_in_ram(builder.build());
        let mut writer = index.writer_with_num_threads(1, 15_000_000).expect("writer");
        let long: Vec<u8> = (0..5_000u32).map(|n| (n % 251) as u8).collect();
        let values: Vec<Vec<u8>> = vec![b"first".to_vec(), Vec::new(), long, vec![0x80, 0xff, 0]];
        for value in &values {
            writer.add_document(doc!(other => b"x".to_vec(), payload => value.clone())).expect("add");
        }
        writer.add_document(doc!(other => b"only the other".to_vec())).expect("add");
        writer.commit().expect("commit");
        let searcher = index.reader().expect("reader").searcher();
        let stores = Stores::open(&searcher).expect("stores");
        for (doc_id, value) in values.iter().enumerate() {
            let address = DocAddress::new(0, doc_id as u32);
            let read = stores.payload(address, payload).expect("read").expect("bytes layout").as_slice().to_vec();
            let doc: TantivyDocument = searcher.doc(address).expect("doc");
            let expected: Vec<u8> =
                doc.get_first(payload).and_then(|v| v.as_value().as_bytes()).expect("payload").to_vec();
            assert_eq!((&read, &expected), (value, value));
        }
        assert!(stores.payload(DocAddress::new(0, 4), payload).expect("read").is_none(), "no payload");
        assert!(stores.payload(DocAddress::new(7, 0), payload).expect("read").is_none(), "no such segment");
        assert!(bytes_value(&[0x81, 1, 0, 0, 0, 2, 0x81], payload).is_none(), "a text value");
        assert!(bytes_value(&[0x81, 1, 0, 0, 0, BYTES_CODE, 0x85, 1], payload).is_none(), "cut short");
    }
}
