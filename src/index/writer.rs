//! The single owner of the `IndexWriter`: ingests arrive as batches over a channel and each
//! becomes exactly one commit, so readers see a publisher's old set or its new one, never a mix.
//! Merges wait for a quiet moment ([`super::merging`]); the reader follows them when they end.

use std::collections::HashSet;
use std::sync::mpsc::{self, RecvTimeoutError};

use tantivy::collector::{Count, DocSetCollector};
use tantivy::query::TermQuery;
use tantivy::schema::IndexRecordOption;
use tantivy::{IndexReader, IndexWriter, Searcher, TantivyDocument, Term};
use tokio::sync::oneshot;

use super::document::{source_key, to_document};
use super::merging::{MergeGate, MERGE_AFTER_IDLE};
use super::schema::Fields;
use super::IndexError;
use crate::resource::PublisherId;

pub use crate::resource::IngestMode;
pub use crate::search::{ChangeCounts as IngestCounts, IngestBatch};

/// A batch with its tantivy documents already built (off the writer thread, which is the one
/// serial step of every ingest).
pub(super) struct PreparedBatch {
    pub batch: IngestBatch,
    /// `(gateway id, document)` of every record, in order.
    pub documents: Vec<(String, TantivyDocument)>,
}

impl PreparedBatch {
    /// Builds the documents of `batch`; its records are moved into them.
    pub fn prepare(fields: &Fields, mut batch: IngestBatch) -> Result<Self, IndexError> {
        let records = std::mem::take(&mut batch.records);
        let mut documents = Vec::with_capacity(records.len());
        for record in &records {
            let document = to_document(fields, record).map_err(|err| IndexError::Payload(err.to_string()))?;
            documents.push((record.id().to_string(), document));
        }
        Ok(Self { batch, documents })
    }
}

pub(super) enum Job {
    /// A batch in one commit; with a catalog log position, the commit records it.
    Ingest(PreparedBatch, Option<u64>, oneshot::Sender<Result<IngestCounts, IndexError>>),
    /// Every resource of the publisher out; answers how many there were.
    RemovePublisher(PublisherId, Option<u64>, oneshot::Sender<Result<usize, IndexError>>),
    /// Records a position without changing resources.
    MarkApplied(u64, oneshot::Sender<Result<(), IndexError>>),
}

/// The catalog log position the index reflects, recorded as the payload of every commit (a
/// commit without one would erase it).
struct Position(Option<u64>);

impl Position {
    fn commit(&self, writer: &mut IndexWriter) -> tantivy::Result<()> {
        let mut prepared = writer.prepare_commit()?;
        if let Some(position) = self.0 {
            prepared.set_payload(&position.to_string());
        }
        prepared.commit()?;
        Ok(())
    }
}

/// The position an index's last commit recorded.
pub(super) fn committed_position(index: &tantivy::Index) -> Option<u64> {
    index.load_metas().ok()?.payload?.trim().parse().ok()
}

/// Runs until every sender is dropped. While idle it starts deferred merges and, once a second,
/// moves the reader to segments that merges have replaced (so their old files can go).
pub(super) fn run(mut writer: IndexWriter, reader: IndexReader, fields: Fields, jobs: mpsc::Receiver<Job>) {
    let mut position = Position(committed_position(writer.index()));
    let gate = MergeGate::default();
    writer.set_merge_policy(gate.policy());
    // What an earlier process left unmerged (it may have stopped mid-burst) is considered at
    // the first idle moment, like the end of a burst.
    gate.defer();
    loop {
        let job = match jobs.recv_timeout(MERGE_AFTER_IDLE) {
            Ok(job) => job,
            Err(RecvTimeoutError::Timeout) => {
                if gate.is_deferring() {
                    start_merges(&mut writer, &gate, &position);
                } else {
                    follow_merges(&writer, &reader);
                }
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => break,
        };
        match job {
            Job::Ingest(prepared, at, reply) => {
                if MergeGate::too_many(reader.searcher().segment_readers().len()) {
                    gate.allow();
                } else {
                    gate.defer();
                }
                let publisher = prepared.batch.publisher.clone();
                let next = Position(at.or(position.0));
                let result = apply(&mut writer, &reader, &fields, prepared, &next);
                match &result {
                    Ok(_) => position = next,
                    Err(err) => {
                        tracing::error!(publisher = %publisher, error = %err, "ingest commit failed; rolled back")
                    }
                }
                let _ = reply.send(result);
            }
            Job::RemovePublisher(publisher, at, reply) => {
                gate.defer();
                let next = Position(at.or(position.0));
                let result = remove_publisher(&mut writer, &reader, &fields, &publisher, &next);
                match &result {
                    Ok(_) => position = next,
                    Err(err) => {
                        tracing::error!(publisher = %publisher, error = %err, "removing a publisher failed; rolled back")
                    }
                }
                let _ = reply.send(result);
            }
            Job::MarkApplied(at, reply) => {
                let next = Position(Some(at));
                let result = next.commit(&mut writer).map_err(IndexError::from);
                if result.is_ok() {
                    position = next;
                }
                let _ = reply.send(result);
            }
        }
    }
    if gate.is_deferring() {
        start_merges(&mut writer, &gate, &position);
    }
    if let Err(err) = writer.wait_merging_threads() {
        tracing::warn!(error = %err, "index merge threads did not finish cleanly");
    }
}

/// Ends a burst: merges are allowed again and an empty commit makes tantivy consider them
/// (it does so after every commit and every finished merge, so they cascade as usual).
fn start_merges(writer: &mut IndexWriter, gate: &MergeGate, position: &Position) {
    gate.allow();
    if let Err(err) = position.commit(writer) {
        tracing::warn!(error = %err, "could not start the deferred merges; they run after the next ingest");
    }
}

/// Reloads the reader when finished merges changed the committed segments.
fn follow_merges(writer: &IndexWriter, reader: &IndexReader) {
    let Ok(committed) = writer.index().searchable_segment_ids() else {
        return;
    };
    let searcher = reader.searcher();
    let mut seen: Vec<_> = searcher.segment_readers().iter().map(|segment| segment.segment_id()).collect();
    let mut committed = committed;
    seen.sort();
    committed.sort();
    if seen != committed {
        if let Err(err) = reader.reload() {
            tracing::warn!(error = %err, "could not reload the index after merges");
        }
    }
}

fn apply(
    writer: &mut IndexWriter,
    reader: &IndexReader,
    fields: &Fields,
    prepared: PreparedBatch,
    position: &Position,
) -> Result<IngestCounts, IndexError> {
    let PreparedBatch { batch, documents } = prepared;
    let searcher = reader.searcher();
    let publisher_term = Term::from_field_text(fields.publisher, batch.publisher.as_str());
    let source_term = Term::from_field_text(fields.source, &source_key(batch.publisher.as_str(), &batch.source_id));
    let publisher_ids = ids_matching(&searcher, publisher_term)?;
    let incoming: HashSet<String> = documents.iter().map(|(id, _)| id.clone()).collect();

    let mut counts = IngestCounts::default();
    for id in &incoming {
        if publisher_ids.contains(id) {
            counts.updated += 1;
        } else {
            counts.added += 1;
        }
    }
    // The source's own ids: what a replace removes, and the only ids a deletion may touch (an
    // OAI `deleted` header naming another source's resource leaves it alone).
    let source_ids = if batch.mode == IngestMode::Replace || !batch.deleted.is_empty() {
        ids_matching(&searcher, source_term.clone())?
    } else {
        HashSet::new()
    };
    match batch.mode {
        IngestMode::Replace => {
            counts.removed = source_ids.difference(&incoming).count();
            writer.delete_term(source_term);
        }
        IngestMode::Merge => {
            // Each deleted resource counts once, however many deleted headers name it.
            let deleted: HashSet<String> =
                batch.deleted.iter().map(|local_id| format!("{}:{}", batch.publisher, local_id)).collect();
            for id in &deleted {
                if !source_ids.contains(id) || incoming.contains(id) {
                    continue;
                }
                counts.removed += 1;
                writer.delete_term(Term::from_field_text(fields.id, id));
            }
        }
    }
    let result = add_documents(writer, fields, &publisher_ids, documents)
        .and_then(|()| position.commit(writer).map_err(IndexError::from));
    if let Err(err) = result {
        writer.rollback()?;
        return Err(err);
    }
    reader.reload()?;
    Ok(counts)
}

fn remove_publisher(
    writer: &mut IndexWriter,
    reader: &IndexReader,
    fields: &Fields,
    publisher: &PublisherId,
    position: &Position,
) -> Result<usize, IndexError> {
    let term = Term::from_field_text(fields.publisher, publisher.as_str());
    let removed = reader.searcher().search(&TermQuery::new(term.clone(), IndexRecordOption::Basic), &Count)?;
    writer.delete_term(term);
    if let Err(err) = position.commit(writer) {
        writer.rollback()?;
        return Err(err.into());
    }
    reader.reload()?;
    Ok(removed)
}

/// Adds the documents, first deleting the indexed version of those already there. `indexed` is
/// every id of the publisher as of the last commit (this thread makes every commit), so an id
/// outside it has nothing to delete: skipping those saves a dictionary lookup per segment and
/// new resource at commit time.
fn add_documents(
    writer: &mut IndexWriter,
    fields: &Fields,
    indexed: &HashSet<String>,
    documents: Vec<(String, TantivyDocument)>,
) -> Result<(), IndexError> {
    for (id, document) in documents {
        if indexed.contains(&id) {
            writer.delete_term(Term::from_field_text(fields.id, &id));
        }
        writer.add_document(document)?;
    }
    Ok(())
}

/// The gateway ids of every document matching `term`, read from the `id` fast column.
///
/// Ordinals are gathered per segment first and turned into strings in one sorted sweep of the
/// column's dictionary: looking each ordinal up alone decompresses a dictionary block per id,
/// which at a million resources was a fifth of all ingest CPU.
fn ids_matching(searcher: &Searcher, term: Term) -> Result<HashSet<String>, IndexError> {
    let query = TermQuery::new(term, IndexRecordOption::Basic);
    let addresses = searcher.search(&query, &DocSetCollector)?;
    let mut columns = Vec::new();
    for segment in searcher.segment_readers() {
        columns.push(segment.fast_fields().str("id")?);
    }
    let mut ords_per_segment: Vec<Vec<u64>> = vec![Vec::new(); columns.len()];
    for address in &addresses {
        let Some(Some(column)) = columns.get(address.segment_ord as usize) else {
            continue;
        };
        ords_per_segment[address.segment_ord as usize].extend(column.term_ords(address.doc_id));
    }
    let mut ids = HashSet::with_capacity(addresses.len());
    for (column, mut ords) in columns.iter().zip(ords_per_segment) {
        let Some(column) = column else { continue };
        if ords.is_empty() {
            continue;
        }
        ords.sort_unstable();
        ords.dedup();
        column.dictionary().sorted_ords_to_term_cb(&ords, |bytes| {
            ids.insert(String::from_utf8_lossy(bytes).into_owned());
        })?;
    }
    Ok(ids)
}
