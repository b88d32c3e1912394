//! The tantivy index as a [`SearchBackend`]: searches and lookups run on the task that asks,
//! at most two per core at once (the others wait their turn, in order), and changes go to the
//! one writer thread.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::Semaphore;

use super::{IndexError, IndexView, SearchIndex};
use crate::resource::{IngestMode, ResourceId, ResourceRecord};
use crate::search::{
    ChangeCounts, IndexChange, IngestBatch, SearchBackend, SearchError, SearchRequest, SearchResults, Snapshot,
};

/// Sentinel of [`TantivyBackend::position`]: nothing applied yet.
const NO_POSITION: u64 = u64::MAX;

/// How many searches run at once: two per core. Searches are CPU-bound, so more at once only
/// adds buffers and allocator pages without adding throughput. With the runtime's one worker
/// per core the workers bound it first; the slots bound a runtime with more.
fn search_slots() -> usize {
    std::thread::available_parallelism().map_or(2, |cores| cores.get()).max(1) * 2
}

pub struct TantivyBackend {
    index: Arc<SearchIndex>,
    /// A running search keeps its slot until the index is done with it, even when its caller
    /// has gone away (a request past its deadline); a waiting one gives its place up.
    slots: Semaphore,
    /// Counts the searches the index started (`gateway_searches_total`).
    searches: Option<prometheus::IntCounter>,
    /// The last catalog log position applied ([`NO_POSITION`] for none).
    position: AtomicU64,
}

impl TantivyBackend {
    /// Opens the index in `dir` (see [`SearchIndex::open`]); blocking.
    pub fn open(dir: &Path) -> Result<Self, IndexError> {
        Ok(Self::new(Arc::new(SearchIndex::open(dir)?)))
    }

    pub fn new(index: Arc<SearchIndex>) -> Self {
        let position = index.opened_at_position().unwrap_or(NO_POSITION);
        Self { index, slots: Semaphore::new(search_slots()), searches: None, position: AtomicU64::new(position) }
    }

    /// Counts every search the index starts in `counter`.
    pub fn counting(mut self, counter: prometheus::IntCounter) -> Self {
        self.searches = Some(counter);
        self
    }

    pub fn index(&self) -> &Arc<SearchIndex> {
        &self.index
    }

    /// Runs a read of the index on the calling task, in a slot. Searches are short and
    /// CPU-bound (BENCHMARKS.md: p99 13 ms at a million resources), and the runtime has a
    /// worker per core: handing each to the blocking pool and back cost two thread wake-ups
    /// per search, 5% of the throughput at 16 connections and 16% of a lone client's
    /// (BENCHMARKS.md, issue 14). While one runs, the worker's other tasks are taken by the
    /// other workers.
    async fn read<T>(&self, work: impl FnOnce(&SearchIndex) -> Result<T, IndexError>) -> Result<T, SearchError> {
        let _slot = self.slots.acquire().await.map_err(|_| SearchError::Unavailable("the index is closing".into()))?;
        work(&self.index).map_err(SearchError::from)
    }

    fn applied(&self, position: u64) {
        self.position.store(position, Ordering::SeqCst);
    }
}

impl From<IndexError> for SearchError {
    fn from(err: IndexError) -> Self {
        match err {
            IndexError::Locked(_) | IndexError::WriterGone => SearchError::Unavailable(err.to_string()),
            other => SearchError::Internal(other.to_string()),
        }
    }
}

#[async_trait]
impl SearchBackend for TantivyBackend {
    async fn search(&self, request: SearchRequest) -> Result<SearchResults, SearchError> {
        let searches = self.searches.clone();
        self.read(move |index| {
            if let Some(searches) = searches {
                searches.inc();
            }
            index.search(&request)
        })
        .await
    }

    async fn get(&self, ids: Vec<ResourceId>) -> Result<Vec<ResourceRecord>, SearchError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        self.read(move |index| index.get(&ids)).await
    }

    fn snapshot(&self) -> Snapshot {
        Snapshot::of(self.index.view())
    }

    async fn search_at(&self, snapshot: &Snapshot, request: SearchRequest) -> Result<SearchResults, SearchError> {
        let Some(view) = snapshot.view::<IndexView>().cloned() else {
            return self.search(request).await;
        };
        let searches = self.searches.clone();
        self.read(move |index| {
            if let Some(searches) = searches {
                searches.inc();
            }
            index.search_in(&view, &request)
        })
        .await
    }

    async fn get_at(&self, snapshot: &Snapshot, ids: Vec<ResourceId>) -> Result<Vec<ResourceRecord>, SearchError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let Some(view) = snapshot.view::<IndexView>().cloned() else {
            return self.get(ids).await;
        };
        self.read(move |index| index.get_in(&view, &ids)).await
    }

    async fn apply(&self, change: IndexChange, position: u64) -> Result<ChangeCounts, SearchError> {
        let counts = match change {
            IndexChange::Ingest(batch) => self.index.ingest(batch, Some(position)).await?,
            IndexChange::RemoveSource { publisher, source_id } => {
                // The source's whole catalog replaced by nothing, in one commit.
                let batch = IngestBatch {
                    publisher,
                    source_id,
                    mode: IngestMode::Replace,
                    records: Vec::new(),
                    deleted: Vec::new(),
                };
                self.index.ingest(batch, Some(position)).await?
            }
            IndexChange::RemovePublisher(publisher) => {
                let removed = self.index.remove_publisher(&publisher, Some(position)).await?;
                ChangeCounts { removed, ..ChangeCounts::default() }
            }
        };
        self.applied(position);
        Ok(counts)
    }

    async fn mark_applied(&self, position: u64) -> Result<(), SearchError> {
        self.index.mark_applied(position).await?;
        self.applied(position);
        Ok(())
    }

    fn applied_position(&self) -> Option<u64> {
        Some(self.position.load(Ordering::SeqCst)).filter(|position| *position != NO_POSITION)
    }

    fn num_resources(&self) -> u64 {
        self.index.num_resources()
    }

    async fn counts_by_publisher(&self) -> Result<HashMap<String, u64>, SearchError> {
        let index = self.index.clone();
        match tokio::task::spawn_blocking(move || index.count_by_publisher()).await {
            Ok(result) => result.map_err(SearchError::from),
            Err(join) => Err(SearchError::Internal(join.to_string())),
        }
    }

    fn health(&self) -> Result<(), SearchError> {
        if self.index.writer_alive() {
            Ok(())
        } else {
            Err(SearchError::Unavailable("the index writer has stopped".into()))
        }
    }

    async fn close(&self) {
        let index = self.index.clone();
        if tokio::task::spawn_blocking(move || index.close()).await.is_err() {
            tracing::error!("closing the index failed");
        }
    }
}
