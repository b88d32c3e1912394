//! When segments merge. Every ingest is one commit, and every commit adds a segment per indexing
//! thread, so a publisher pushing fifty catalog documents in a row would have tantivy merge the
//! same resources again and again while the later documents are still being indexed: at a
//! million resources merges took a quarter of ingest CPU (BENCHMARKS.md). Instead, merges wait
//! until the writer has had no ingest for [`MERGE_AFTER_IDLE`] and then run once over the
//! whole burst, with tantivy's usual [`LogMergePolicy`]. Every commit is searchable at once
//! either way; only the segment layout waits. [`MAX_DEFERRED_SEGMENTS`] bounds how far a
//! never-ending stream of ingests can fragment the index.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tantivy::index::SegmentMeta;
use tantivy::indexer::{LogMergePolicy, MergeCandidate, MergePolicy};

/// Quiet time after the last ingest before deferred merges start.
pub const MERGE_AFTER_IDLE: Duration = Duration::from_secs(1);
/// Searchable segments beyond which commits merge even in the middle of a burst.
pub const MAX_DEFERRED_SEGMENTS: usize = 200;

/// Switches merging off and on; shared by the writer thread and the merge policy that tantivy
/// asks after every commit and every finished merge.
#[derive(Debug, Clone, Default)]
pub struct MergeGate {
    deferring: Arc<AtomicBool>,
}

impl MergeGate {
    /// The policy to install on the writer.
    pub fn policy(&self) -> Box<dyn MergePolicy> {
        Box::new(GatedMergePolicy { inner: LogMergePolicy::default(), gate: self.clone() })
    }

    /// Holds merges back (an ingest is arriving).
    pub fn defer(&self) {
        self.deferring.store(true, Ordering::SeqCst);
    }

    /// Lets merges run from the next time tantivy considers them.
    pub fn allow(&self) {
        self.deferring.store(false, Ordering::SeqCst);
    }

    pub fn is_deferring(&self) -> bool {
        self.deferring.load(Ordering::SeqCst)
    }

    /// Whether a burst has made so many segments that this commit should merge anyway.
    pub fn too_many(segments: usize) -> bool {
        segments >= MAX_DEFERRED_SEGMENTS
    }
}

/// [`LogMergePolicy`] that proposes nothing while the gate defers.
#[derive(Debug)]
struct GatedMergePolicy {
    inner: LogMergePolicy,
    gate: MergeGate,
}

impl MergePolicy for GatedMergePolicy {
    fn compute_merge_candidates(&self, segments: &[SegmentMeta]) -> Vec<MergeCandidate> {
        if self.gate.is_deferring() {
            return Vec::new();
        }
        self.inner.compute_merge_candidates(segments)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::super::{IngestBatch, IngestMode, SearchIndex};
    use super::*;
    use crate::resource::{CatalogFormat, PublisherId, Resource, ResourceKind, ResourceRecord};

    fn batch(source: usize) -> IngestBatch {
        let resource =
            Resource::new(format!("r{source}"), format!("Lesson {source}"), "https://example.com/", ResourceKind::Link);
        let publisher = PublisherId::parse("acme").unwrap();
        IngestBatch {
            publisher: publisher.clone(),
            source_id: format!("s{source}"),
            mode: IngestMode::Replace,
            records: vec![ResourceRecord {
                publisher,
                source_id: format!("s{source}"),
                format: CatalogFormat::ResourceSearch,
                resource,
            }],
            deleted: Vec::new(),
        }
    }

    #[tokio::test]
    async fn test_a_burst_of_commits_merges_once_the_writer_is_idle() {
        let dir = tempfile::tempdir().unwrap();
        let index = SearchIndex::open(dir.path()).unwrap();
        for source in 0..12 {
            index.ingest(batch(source), None).await.unwrap();
        }
        // Every commit is searchable at once, each in its own segment: nothing merged yet.
        let segments = || index.reader.searcher().segment_readers().len();
        assert_eq!(index.reader.searcher().num_docs(), 12);
        assert_eq!(segments(), 12);

        // Idle: the deferred merges run and the reader moves to the merged segments.
        let started = Instant::now();
        while segments() >= 12 && started.elapsed() < Duration::from_secs(20) {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(segments() < 12, "no merge after {:?}", started.elapsed());
        assert!(started.elapsed() >= MERGE_AFTER_IDLE / 2, "merged before the writer was idle");
        assert_eq!(index.reader.searcher().num_docs(), 12, "merging loses nothing");
    }

    #[test]
    fn test_the_gate_switches_and_bounds_how_many_segments_wait() {
        let gate = MergeGate::default();
        assert!(!gate.is_deferring());
        gate.defer();
        assert!(gate.is_deferring());
        assert!(!MergeGate::too_many(MAX_DEFERRED_SEGMENTS - 1));
        assert!(MergeGate::too_many(MAX_DEFERRED_SEGMENTS));
        gate.allow();
        assert!(!gate.is_deferring());
    }
}
