//! The follower: applies the catalog log to this replica's index, in order, one entry per
//! commit (each commit records the entry's position, so a restart resumes after the last one
//! applied). It is the only writer of the index: pushes and harvests accepted here append to
//! the log and wait for the follower to apply their entry, with the catalog they already
//! parsed; entries other replicas appended are read from the log and parsed here.
//!
//! A new replica, or one whose index folder was deleted, starts at position 0 and catches up
//! from the whole log; entries a later one supersedes (a replace or removal of the same source,
//! the publisher's removal) are skipped on the way. `/readyz` answers 503 until the follower
//! has reached the head the log had when it started.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{oneshot, Notify};
use tokio_util::sync::CancellationToken;

use super::content::ContentFiles;
use crate::catalog::{self, Diagnostic, Limits, ParsedCatalog};
use crate::error::AppError;
use crate::metrics::Metrics;
use crate::registry::{CatalogLog, LogEntry, LogKind};
use crate::resource::{IngestMode, ResourceRecord};
use crate::search::{ChangeCounts, IndexChange, IngestBatch, SearchBackend};

/// How often the log is read when nothing woke the follower (other replicas' appends).
pub const POLL_INTERVAL: Duration = Duration::from_millis(200);
/// Entries read from the log at once (their documents are read one entry at a time).
const BATCH: usize = 64;
/// Outcomes kept for a local caller that asks after its entry was applied.
const OUTCOMES_KEPT: Duration = Duration::from_secs(120);

/// What applying one entry did.
#[derive(Debug, Clone, Default)]
pub struct Applied {
    pub counts: ChangeCounts,
    /// Items the parser refused.
    pub rejected: usize,
    /// The parser's diagnostics, and the follower's (repeated identifiers).
    pub diagnostics: Vec<Diagnostic>,
}

type Outcome = Result<Applied, AppError>;

/// Entries accepted by this replica whose callers wait for them.
#[derive(Default)]
struct Local {
    /// Catalogs the accepting call parsed already, by position.
    parsed: HashMap<u64, ParsedCatalog>,
    waiters: HashMap<u64, oneshot::Sender<Outcome>>,
    /// Outcomes nobody waited for yet (the follower was quicker than the caller).
    outcomes: HashMap<u64, (Instant, Outcome)>,
    /// Local appends in flight: only then can an outcome without a waiter still be asked for.
    appending: usize,
}

/// Marks a local append in flight (see [`Follower::expect_local`]).
pub struct LocalAppend<'a> {
    follower: &'a Follower,
}

impl Drop for LocalAppend<'_> {
    fn drop(&mut self) {
        let mut local = self.follower.lock_local();
        local.appending = local.appending.saturating_sub(1);
    }
}

pub struct Follower {
    log: Arc<dyn CatalogLog>,
    backend: Arc<dyn SearchBackend>,
    content: ContentFiles,
    limits: Limits,
    metrics: Arc<Metrics>,
    local: Mutex<Local>,
    wake: Notify,
    /// The last position applied or skipped (0: none).
    position: AtomicU64,
    /// The head of the log when the follower started; ready once reached.
    start_head: AtomicU64,
    caught_up: AtomicBool,
    /// Why the log could not be read or an entry not applied, while that lasts.
    trouble: Mutex<Option<String>>,
    applied_changed: Notify,
}

impl Follower {
    pub fn new(
        log: Arc<dyn CatalogLog>,
        backend: Arc<dyn SearchBackend>,
        content: ContentFiles,
        limits: Limits,
        metrics: Arc<Metrics>,
    ) -> Self {
        let position = backend.applied_position().unwrap_or(0);
        Self {
            log,
            backend,
            content,
            limits,
            metrics,
            local: Mutex::new(Local::default()),
            wake: Notify::new(),
            position: AtomicU64::new(position),
            start_head: AtomicU64::new(u64::MAX),
            caught_up: AtomicBool::new(false),
            trouble: Mutex::new(None),
            applied_changed: Notify::new(),
        }
    }

    /// Resources of a publisher in this replica's index.
    pub async fn indexed_of(&self, publisher: &crate::resource::PublisherId) -> Result<u64, AppError> {
        let counts = self.backend.counts_by_publisher().await?;
        Ok(counts.get(publisher.as_str()).copied().unwrap_or(0))
    }

    /// The last position applied.
    pub fn position(&self) -> u64 {
        self.position.load(Ordering::SeqCst)
    }

    /// Whether this replica has caught up with the log and can apply it (for `/readyz`).
    pub fn ready(&self) -> Result<(), String> {
        if let Some(trouble) = self.lock_trouble().clone() {
            return Err(trouble);
        }
        if !self.caught_up.load(Ordering::SeqCst) {
            let head = self.start_head.load(Ordering::SeqCst);
            let head = if head == u64::MAX { "unknown".to_string() } else { head.to_string() };
            return Err(format!("catching up with the catalog log: at {} of {head}", self.position()));
        }
        Ok(())
    }

    /// Applies everything up to the log's current head (start-up and one-shot commands).
    pub async fn catch_up(&self) -> Result<(), AppError> {
        let head = self.log.head().await?;
        self.start_head.store(head, Ordering::SeqCst);
        while self.position() < head {
            if !self.step().await? {
                break;
            }
        }
        self.caught_up.store(true, Ordering::SeqCst);
        Ok(())
    }

    /// Follows the log until `cancel`: wakes on local appends, and polls for other replicas'.
    pub async fn run(self: Arc<Self>, cancel: CancellationToken) {
        if self.start_head.load(Ordering::SeqCst) == u64::MAX {
            match self.log.head().await {
                Ok(head) => self.start_head.store(head, Ordering::SeqCst),
                Err(err) => self.set_trouble(format!("cannot read the catalog log: {err}")),
            }
        }
        let mut backoff = POLL_INTERVAL;
        loop {
            if cancel.is_cancelled() {
                break;
            }
            match self.step().await {
                Ok(true) => {
                    backoff = POLL_INTERVAL;
                    continue;
                }
                Ok(false) => {
                    backoff = POLL_INTERVAL;
                    let head = self.start_head.load(Ordering::SeqCst);
                    if head == u64::MAX {
                        if let Ok(head) = self.log.head().await {
                            self.start_head.store(head, Ordering::SeqCst);
                        }
                    } else if self.position() >= head {
                        self.caught_up.store(true, Ordering::SeqCst);
                    }
                }
                Err(err) => {
                    tracing::warn!(error = %err, position = self.position(), "the catalog log could not be followed; trying again");
                    self.set_trouble(err.message.clone());
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
            tokio::select! {
                () = cancel.cancelled() => break,
                () = self.wake.notified() => {}
                () = tokio::time::sleep(backoff) => {}
            }
        }
        tracing::debug!(position = self.position(), "catalog log follower stopped");
    }

    /// Called before appending to the log: until the guard is dropped, the outcome of an entry
    /// applied before its caller asks is kept for it.
    pub fn expect_local(&self) -> LocalAppend<'_> {
        self.lock_local().appending += 1;
        LocalAppend { follower: self }
    }

    /// Hands over the catalog a local ingest parsed for entry `seq` and waits until it is
    /// applied.
    pub async fn apply_local(&self, seq: u64, parsed: ParsedCatalog) -> Outcome {
        let answer = {
            let mut local = self.lock_local();
            if let Some((_, outcome)) = local.outcomes.remove(&seq) {
                return outcome;
            }
            let (reply, answer) = oneshot::channel();
            local.waiters.insert(seq, reply);
            if self.position() < seq {
                local.parsed.insert(seq, parsed);
            }
            answer
        };
        self.wake.notify_one();
        answer
            .await
            .map_err(|_| AppError::unavailable("the gateway is stopping; the catalog is applied at its next start"))?
    }

    /// Waits until this replica has applied `seq` (a removal logged here: its count).
    pub async fn wait_for(&self, seq: u64) -> Outcome {
        self.apply_local(seq, ParsedCatalog::default()).await
    }

    /// Waits until the position reaches `seq` or `timeout` passes; answers whether it did.
    pub async fn applied_by(&self, seq: u64, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let changed = self.applied_changed.notified();
            if self.position() >= seq {
                return true;
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                return self.position() >= seq;
            }
        }
    }

    /// Reads the next entries and applies them; answers whether there were any.
    async fn step(&self) -> Result<bool, AppError> {
        let after = self.position();
        let entries = self.log.entries_after(after, BATCH).await?;
        if entries.is_empty() {
            self.clear_trouble();
            return Ok(false);
        }
        for (i, entry) in entries.iter().enumerate() {
            let awaited = {
                let local = self.lock_local();
                local.waiters.contains_key(&entry.seq) || local.parsed.contains_key(&entry.seq)
            };
            if !awaited && entries[i + 1..].iter().any(|later| entry.superseded_by(later)) {
                self.advance(entry.seq);
                continue;
            }
            let outcome = self.apply(entry).await;
            match outcome {
                Err(err) if err.code == crate::error::ErrorCode::Unavailable => {
                    // The database or the index is unavailable: this entry again, later. A
                    // caller waiting for it is told now (it was accepted all the same).
                    if let Some(waiter) = self.lock_local().waiters.remove(&entry.seq) {
                        let _ = waiter.send(Err(AppError::unavailable(format!(
                            "the catalog was accepted (catalog log entry {}), but this replica cannot index it now ({}); it is indexed as soon as it can",
                            entry.seq, err.message
                        ))));
                    }
                    return Err(err);
                }
                outcome => {
                    if let Err(err) = &outcome {
                        tracing::error!(seq = entry.seq, publisher = %entry.publisher, error = %err.message, "a catalog log entry could not be applied; it is skipped");
                        if self.backend.mark_applied(entry.seq).await.is_err() {
                            return Err(AppError::unavailable("the index cannot record its position"));
                        }
                    }
                    self.advance(entry.seq);
                    self.deliver(entry.seq, outcome);
                }
            }
        }
        self.clear_trouble();
        self.metrics.indexed_resources.set(i64::try_from(self.backend.num_resources()).unwrap_or(i64::MAX));
        Ok(true)
    }

    async fn apply(&self, entry: &LogEntry) -> Outcome {
        match entry.kind {
            LogKind::Ingest { format, mode } => {
                let local = self.lock_local().parsed.remove(&entry.seq);
                let parsed = match local {
                    Some(parsed) => parsed,
                    None => {
                        let Some(documents) = self.log.documents(entry.seq).await? else {
                            // Superseded and deleted since it was listed.
                            return Ok(Applied::default());
                        };
                        let limits = self.limits;
                        let replaces = mode == IngestMode::Replace;
                        let parsed = tokio::task::spawn_blocking(move || {
                            catalog::parse_documents(format, &documents, replaces, &limits)
                        })
                        .await
                        .map_err(AppError::internal)?;
                        parsed.map_err(|err| {
                            AppError::internal(format!("a logged catalog no longer parses here: {err}"))
                        })?
                    }
                };
                let source_id = entry.source_id.clone().unwrap_or_default();
                self.apply_catalog(entry, &source_id, format, mode, parsed).await
            }
            LogKind::RemoveSource => {
                let source_id = entry.source_id.clone().unwrap_or_default();
                let change =
                    IndexChange::RemoveSource { publisher: entry.publisher.clone(), source_id: source_id.clone() };
                let counts = self.backend.apply(change, entry.seq).await?;
                let content = self.content.clone();
                let publisher = entry.publisher.clone();
                blocking_io(move || content.remove_source(&publisher, &source_id).map(|_| ())).await?;
                Ok(Applied { counts, ..Applied::default() })
            }
            LogKind::RemovePublisher => {
                let counts =
                    self.backend.apply(IndexChange::RemovePublisher(entry.publisher.clone()), entry.seq).await?;
                let content = self.content.clone();
                let publisher = entry.publisher.clone();
                blocking_io(move || content.remove_publisher(&publisher).map(|_| ())).await?;
                Ok(Applied { counts, ..Applied::default() })
            }
        }
    }

    /// Unpacks the catalog's web content, then commits its resources with the entry's position.
    async fn apply_catalog(
        &self,
        entry: &LogEntry,
        source_id: &str,
        format: crate::resource::CatalogFormat,
        mode: IngestMode,
        parsed: ParsedCatalog,
    ) -> Outcome {
        let ParsedCatalog { resources, deleted, mut diagnostics, rejected, files, .. } = parsed;
        if !files.is_empty() {
            let content = self.content.clone();
            let (publisher, source) = (entry.publisher.clone(), source_id.to_string());
            blocking_io(move || content.store(&publisher, &source, &files)).await?;
        }
        let mut seen = HashSet::new();
        let mut records: Vec<ResourceRecord> = Vec::with_capacity(resources.len());
        for mut resource in resources.into_iter().rev() {
            if !seen.insert(resource.local_id.clone()) {
                diagnostics.push(Diagnostic::warning(
                    Some(resource.local_id.clone()),
                    "identifier appears more than once in the document; the last occurrence was kept",
                ));
                continue;
            }
            if let Some(path) = &resource.packaged_path {
                resource.url = self.content.url(&entry.publisher, source_id, path);
            }
            records.push(ResourceRecord {
                publisher: entry.publisher.clone(),
                source_id: source_id.to_string(),
                format,
                resource,
            });
        }
        records.reverse();
        let batch = IngestBatch {
            publisher: entry.publisher.clone(),
            source_id: source_id.to_string(),
            mode,
            records,
            deleted,
        };
        let counts = self.backend.apply(IndexChange::Ingest(batch), entry.seq).await?;
        Ok(Applied { counts, rejected, diagnostics })
    }

    fn advance(&self, seq: u64) {
        self.position.fetch_max(seq, Ordering::SeqCst);
        self.applied_changed.notify_waiters();
    }

    fn deliver(&self, seq: u64, outcome: Outcome) {
        let mut local = self.lock_local();
        local.parsed.remove(&seq);
        match local.waiters.remove(&seq) {
            Some(waiter) => {
                let _ = waiter.send(outcome);
            }
            None if local.appending > 0 => {
                let now = Instant::now();
                local.outcomes.retain(|_, (at, _)| now.duration_since(*at) < OUTCOMES_KEPT);
                local.outcomes.insert(seq, (now, outcome));
            }
            None => {}
        }
    }

    fn set_trouble(&self, message: String) {
        *self.lock_trouble() = Some(message);
    }

    fn clear_trouble(&self) {
        self.lock_trouble().take();
    }

    fn lock_local(&self) -> std::sync::MutexGuard<'_, Local> {
        self.local.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn lock_trouble(&self) -> std::sync::MutexGuard<'_, Option<String>> {
        self.trouble.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

async fn blocking_io(work: impl FnOnce() -> std::io::Result<()> + Send + 'static) -> Result<(), AppError> {
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result.map_err(AppError::internal),
        Err(join) => Err(AppError::internal(join)),
    }
}
