//! Harvesting publishers' feeds: catalog sources registered with `addCatalogSource` are
//! fetched on a schedule (or at once with `harvestNow`) and applied through the same ingest
//! path as pushed catalogs, so history, counts, the archive and the index stay consistent.
//!
//! - [`fetch`]: GETs on the shared outbound client with credentials, conditional requests,
//!   per-host limits, retries with backoff and `Retry-After`.
//! - [`oauth`]: OAuth 2 client-credentials tokens, cached until expiry.
//! - [`document`], [`resource_search`], [`oai`]: one harvest loop per kind of feed.
//! - [`scheduler`]: the tokio task that starts due runs and stops on shutdown.
//! - [`service`]: the gateway's methods behind `addCatalogSource`, `harvestNow` and
//!   `Publisher.sources`.
//!
//! A run that fails changes nothing: the source's previous resources stay searchable and the
//! run is recorded as `FAILED` with diagnostics.

pub mod document;
pub mod fetch;
pub mod oai;
pub mod oauth;
pub mod resource_search;
pub mod scheduler;
pub mod service;
pub mod sitemap;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use rand::Rng;
use sha2::{Digest, Sha256};
use tokio::sync::{Notify, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::catalog::{self, CatalogError, Diagnostic, Limits, ParsedCatalog};
use crate::error::{AppError, ErrorCode, HasErrorCode};
use crate::gateway::{Gateway, IngestStatus};
use crate::index::IngestMode;
use crate::registry::{
    CatalogSourceRecord, HarvestCursor, HarvestRunRecord, HarvestStatus, HarvestTrigger, StoredDiagnostic,
};
use crate::resource::CatalogFormat;
use fetch::{FetchError, FetchRequest, Fetched, Fetcher, RetryPolicy, Validators};

/// Harvest runs at once, over all sources.
const MAX_CONCURRENT_RUNS: usize = 4;
/// A failed source is tried again after at most this long (or its refresh interval if shorter).
const RETRY_FAILED_AFTER: Duration = Duration::from_secs(600);
/// Diagnostics kept per run.
const MAX_RUN_DIAGNOSTICS: usize = 1000;
/// Times a start waits 20 ms for a run that is starting or ending to let go of its source.
const CLAIM_ATTEMPTS: usize = 100;
/// How long shutdown waits for running harvests to wind down.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// Why a harvest run failed. Messages are written for the publisher and never carry secrets.
#[derive(Debug, Clone, thiserror::Error)]
pub enum HarvestError {
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error("{page}: {error}")]
    Catalog { page: String, error: CatalogError },
    #[error("{0}")]
    Protocol(String),
}

impl HasErrorCode for HarvestError {
    fn error_code(&self) -> ErrorCode {
        ErrorCode::Unavailable
    }
}

/// What a harvest loop brought back.
pub enum Harvested {
    /// Nothing to re-index (304, the same content, or no changes since the last harvest).
    Unchanged {
        cursor: HarvestCursor,
    },
    Catalog(HarvestedCatalog),
}

/// A catalog to apply in one commit.
pub struct HarvestedCatalog {
    pub parsed: ParsedCatalog,
    pub mode: IngestMode,
    /// The documents as fetched, for the archive: the first one is stored with `mode`, the
    /// others as merges after it.
    pub documents: Vec<Vec<u8>>,
    pub cursor: HarvestCursor,
    /// Sitemap sources: the page state and archived pages to write once the commit succeeded.
    pub pages: Option<Box<sitemap::PageChanges>>,
}

/// The state one run carries through its harvest loop.
pub struct HarvestContext<'a> {
    fetcher: &'a Fetcher,
    pub source: &'a CatalogSourceRecord,
    cancel: &'a CancellationToken,
    limits: Limits,
    /// HTTP requests made.
    pub requests: usize,
    /// The status of the publisher's last answer.
    pub http_status: Option<u16>,
    /// Warnings and notes for the run report.
    pub diagnostics: Vec<Diagnostic>,
}

impl HarvestContext<'_> {
    /// GETs with retries, recording the answer's status.
    async fn get(&mut self, url: &str, accept: &str, validators: Option<&Validators>) -> Result<Fetched, HarvestError> {
        let request = FetchRequest { url, credentials: &self.source.credentials, accept, validators };
        let result = self.fetcher.get(&request, &mut self.requests, self.cancel).await;
        match &result {
            Ok(Fetched::NotModified) => self.http_status = Some(304),
            Ok(Fetched::Body(body)) => self.http_status = Some(body.status.as_u16()),
            Err(err) => {
                if let Some(status) = err.http_status() {
                    self.http_status = Some(status);
                }
            }
        }
        Ok(result?)
    }

    /// Parses one document of the source's format off the async workers.
    async fn parse(&self, bytes: &[u8], page: String) -> Result<ParsedCatalog, HarvestError> {
        let format = self.source.format;
        let limits = self.limits;
        let bytes = bytes.to_vec();
        match tokio::task::spawn_blocking(move || catalog::parse(format, &bytes, &limits)).await {
            Ok(Ok(parsed)) => Ok(parsed),
            Ok(Err(error)) => Err(HarvestError::Catalog { page, error }),
            Err(join) => Err(HarvestError::Protocol(format!("{page}: parser crashed: {join}"))),
        }
    }
}

/// SHA-256 over the documents of one harvest, hex.
pub fn content_hash<'a>(documents: impl IntoIterator<Item = &'a [u8]>) -> String {
    let mut hasher = Sha256::new();
    for document in documents {
        hasher.update((document.len() as u64).to_be_bytes());
        hasher.update(document);
    }
    hex::encode(hasher.finalize())
}

/// The harvest machinery the gateway owns: the fetcher, which sources are running, the run
/// slots, and the shutdown signal.
pub struct Harvester {
    fetcher: Fetcher,
    /// Sources with a run in progress: a source never runs twice at once.
    running: Arc<Mutex<HashSet<String>>>,
    slots: Arc<Semaphore>,
    /// Wakes the scheduler (a source was added, a run ended).
    wake: Notify,
    cancel: CancellationToken,
    tasks: TaskTracker,
}

impl Harvester {
    pub fn new(outbound: crate::outbound::Outbound, max_body: usize) -> Self {
        Self {
            fetcher: Fetcher::new(outbound, RetryPolicy::default(), max_body),
            running: Arc::new(Mutex::new(HashSet::new())),
            slots: Arc::new(Semaphore::new(MAX_CONCURRENT_RUNS)),
            wake: Notify::new(),
            cancel: CancellationToken::new(),
            tasks: TaskTracker::new(),
        }
    }

    pub fn fetcher(&self) -> &Fetcher {
        &self.fetcher
    }

    /// Fires when the gateway shuts down.
    pub fn cancellation(&self) -> CancellationToken {
        self.cancel.clone()
    }

    pub fn is_running(&self, source_id: &str) -> bool {
        self.lock_running().contains(source_id)
    }

    /// Wakes the scheduler so it looks at the sources again.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Stops scheduling, cancels running harvests (they commit nothing more) and waits for
    /// them to end.
    pub async fn shutdown(&self) {
        self.cancel.cancel();
        self.tasks.close();
        if tokio::time::timeout(SHUTDOWN_GRACE, self.tasks.wait()).await.is_err() {
            tracing::warn!("harvest runs did not stop in time");
        }
    }

    fn lock_running(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        match self.running.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Marks a source as running, unless it already is. Removing a source holds this mark too,
    /// so no run starts while the source's resources are taken out.
    pub(crate) fn claim(&self, source_id: &str) -> Option<RunClaim> {
        if self.lock_running().insert(source_id.to_string()) {
            Some(RunClaim { running: self.running.clone(), source_id: source_id.to_string() })
        } else {
            None
        }
    }
}

/// A source's "running" mark, released when dropped (even if the run panics).
pub(crate) struct RunClaim {
    running: Arc<Mutex<HashSet<String>>>,
    source_id: String,
}

impl Drop for RunClaim {
    fn drop(&mut self) {
        let mut running = match self.running.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        running.remove(&self.source_id);
    }
}

/// A started run: its record as first stored, and the task that finishes it.
pub struct StartedRun {
    pub run: HarvestRunRecord,
    /// `None` when the source was already running (`run` is then that run).
    pub task: Option<tokio::task::JoinHandle<HarvestRunRecord>>,
}

/// Starts a run of `source` in the background (queued as `PENDING` until a slot is free).
pub async fn start_run(
    gateway: &Arc<Gateway>,
    source: CatalogSourceRecord,
    trigger: HarvestTrigger,
) -> Result<StartedRun, AppError> {
    let harvester = gateway.harvester();
    let mut attempts = 0;
    let claim = loop {
        if let Some(claim) = harvester.claim(&source.id) {
            break claim;
        }
        let current = gateway.registry().runs(&source.id, 1).await.map_err(AppError::from)?;
        match current.into_iter().next() {
            Some(run) if !run.status.is_final() => return Ok(StartedRun { run, task: None }),
            // The claim is held but its run is not (or no longer) pending or running: it is
            // starting or wrapping up. Wait a moment rather than answer a stale run.
            _ if attempts < CLAIM_ATTEMPTS => {
                attempts += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            _ => {
                return Err(AppError::unavailable("a run of this source is starting or ending; ask again in a moment"))
            }
        }
    };
    // The source may have been removed since the caller read it (removal holds the claim
    // while it deletes, so this check under the claim is final).
    if gateway.registry().source(&source.id).await.map_err(AppError::from)?.is_none() {
        return Err(AppError::not_found(format!("catalog source '{}' was removed", source.id)));
    }
    let mut run = HarvestRunRecord::pending(&source, trigger);
    run.id = gateway.registry().insert_run(&run).await.map_err(AppError::from)?;
    let first = run.clone();
    let task_gateway = gateway.clone();
    let task = harvester.tasks.spawn(async move {
        let finished = execute(&task_gateway, source, run).await;
        drop(claim);
        task_gateway.harvester().wake();
        finished
    });
    Ok(StartedRun { run: first, task: Some(task) })
}

/// Runs one harvest to its end and records it; never fails (a failure is the run's status).
async fn execute(gateway: &Arc<Gateway>, source: CatalogSourceRecord, mut run: HarvestRunRecord) -> HarvestRunRecord {
    let harvester = gateway.harvester();
    let cancel = harvester.cancel.clone();
    let _slot = tokio::select! {
        slot = harvester.slots.clone().acquire_owned() => slot.ok(),
        () = cancel.cancelled() => None,
    };
    if cancel.is_cancelled() {
        return finish_stopped(gateway, &source, run).await;
    }
    run.status = HarvestStatus::Running;
    run.started_at = Utc::now();
    save_run(gateway, &run).await;
    tracing::info!(source = %source.id, publisher = %source.publisher, format = source.format.as_param(), trigger = run.trigger.as_str(), "harvest started");

    let mut ctx = HarvestContext {
        fetcher: &harvester.fetcher,
        source: &source,
        cancel: &cancel,
        limits: gateway.limits(),
        requests: 0,
        http_status: None,
        diagnostics: Vec::new(),
    };
    let outcome = match source.format {
        CatalogFormat::ResourceSearch => resource_search::harvest(&mut ctx).await,
        CatalogFormat::OaiPmh => oai::harvest(&mut ctx).await,
        CatalogFormat::CommonCartridge | CatalogFormat::Lrmi => document::harvest(&mut ctx).await,
        CatalogFormat::Sitemap => sitemap::harvest(&mut ctx, gateway).await,
    };
    run.requests = ctx.requests;
    run.http_status = ctx.http_status;
    let mut diagnostics = std::mem::take(&mut ctx.diagnostics);
    let succeeded = match outcome {
        Err(HarvestError::Fetch(FetchError::Cancelled)) => {
            return finish_stopped(gateway, &source, run).await;
        }
        Err(err) => {
            diagnostics.push(Diagnostic::error(None, err.to_string()));
            run.status = HarvestStatus::Failed;
            false
        }
        Ok(Harvested::Unchanged { cursor }) => {
            run.status = HarvestStatus::Unchanged;
            save_cursor(gateway, &source.id, cursor).await
        }
        Ok(Harvested::Catalog(_)) if cancel.is_cancelled() => {
            return finish_stopped(gateway, &source, run).await;
        }
        Ok(Harvested::Catalog(catalog)) => apply(gateway, &source, &mut run, &mut diagnostics, catalog).await,
    };
    run.diagnostics = diagnostics.iter().take(MAX_RUN_DIAGNOSTICS).map(StoredDiagnostic::from).collect();
    let finished_at = Utc::now();
    run.finished_at = Some(finished_at);
    // The next run is set before the run shows as finished, so readers never see a finished
    // run with a stale schedule.
    schedule_next(gateway, &source, succeeded, finished_at).await;
    save_run(gateway, &run).await;
    tracing::info!(
        source = %source.id, publisher = %source.publisher, status = run.status.as_str(),
        added = run.added, updated = run.updated, removed = run.removed, rejected = run.rejected,
        http_status = run.http_status, requests = run.requests,
        "harvest finished"
    );
    run
}

/// Applies a harvested catalog through the gateway's ingest path; answers whether it worked.
async fn apply(
    gateway: &Arc<Gateway>,
    source: &CatalogSourceRecord,
    run: &mut HarvestRunRecord,
    diagnostics: &mut Vec<Diagnostic>,
    catalog: HarvestedCatalog,
) -> bool {
    let HarvestedCatalog { parsed, mode, documents, cursor, pages } = catalog;
    let report = match gateway.apply_parsed(&source.publisher, source.format, &source.id, mode, Ok(parsed)).await {
        Ok(report) => report,
        Err(err) => {
            diagnostics.push(Diagnostic::error(None, format!("the harvested catalog could not be applied: {err}")));
            run.status = HarvestStatus::Failed;
            return false;
        }
    };
    run.added = report.added;
    run.updated = report.updated;
    run.removed = report.removed;
    run.rejected = report.rejected;
    diagnostics.extend(report.diagnostics);
    run.status = match report.status {
        IngestStatus::Succeeded => HarvestStatus::Succeeded,
        IngestStatus::Partial => HarvestStatus::Partial,
        IngestStatus::Failed => HarvestStatus::Failed,
    };
    if run.status == HarvestStatus::Failed {
        return false;
    }
    for (position, document) in documents.into_iter().enumerate() {
        let document_mode = if position == 0 { mode } else { IngestMode::Merge };
        if let Err(err) =
            gateway.archive_document(&source.publisher, &source.id, document_mode, source.format, document).await
        {
            tracing::error!(source = %source.id, error = %err, "cannot archive a harvested document");
        }
    }
    if let Some(pages) = pages {
        if !sitemap::commit_pages(gateway, source, *pages).await {
            return false;
        }
    }
    save_cursor(gateway, &source.id, cursor).await
}

/// A run the shutdown interrupted: recorded as failed, and the source stays due so the next
/// start runs it again.
async fn finish_stopped(
    gateway: &Arc<Gateway>,
    source: &CatalogSourceRecord,
    mut run: HarvestRunRecord,
) -> HarvestRunRecord {
    run.status = HarvestStatus::Failed;
    run.finished_at = Some(Utc::now());
    run.diagnostics.push(StoredDiagnostic {
        item: None,
        severity: "ERROR".to_string(),
        message: "the gateway stopped during the run; nothing was changed and the source runs again after the restart"
            .to_string(),
    });
    save_run(gateway, &run).await;
    if let Err(err) = gateway.registry().set_next_run(&source.id, Some(Utc::now())).await {
        tracing::error!(source = %source.id, error = %err, "cannot reschedule an interrupted harvest");
    }
    run
}

async fn save_run(gateway: &Gateway, run: &HarvestRunRecord) {
    if let Err(err) = gateway.registry().update_run(&run).await.map_err(AppError::from) {
        tracing::error!(run = run.id, error = %err, "cannot record a harvest run");
    }
}

async fn save_cursor(gateway: &Gateway, source_id: &str, cursor: HarvestCursor) -> bool {
    match gateway.registry().set_cursor(source_id, &cursor).await {
        Ok(()) => true,
        Err(err) => {
            tracing::error!(source = source_id, error = %err, "cannot store the harvest cursor");
            false
        }
    }
}

/// Next run: the refresh interval after this one (sooner after a failure), plus jitter so
/// that sources added together do not stay in lockstep.
async fn schedule_next(
    gateway: &Gateway,
    source: &CatalogSourceRecord,
    succeeded: bool,
    finished_at: chrono::DateTime<Utc>,
) {
    let refresh = Duration::from_secs(source.refresh_seconds.max(1));
    let wait = if succeeded { refresh } else { refresh.min(RETRY_FAILED_AFTER) };
    let next = finished_at + chrono::Duration::from_std(wait + jitter(wait)).unwrap_or_default();
    if let Err(err) = gateway.registry().set_next_run(&source.id, Some(next)).await.map_err(AppError::from) {
        tracing::error!(source = %source.id, error = %err, "cannot schedule the next harvest");
    }
}

/// Up to a tenth of the interval, at most 15 minutes.
pub fn jitter(interval: Duration) -> Duration {
    let bound = (interval / 10).min(Duration::from_secs(900));
    if bound.is_zero() {
        return Duration::ZERO;
    }
    bound.mul_f64(rand::thread_rng().gen_range(0.0..=1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_jitter_is_bounded() {
        for _ in 0..100 {
            assert!(jitter(Duration::from_secs(3600)) <= Duration::from_secs(360));
            assert!(jitter(Duration::from_secs(86_400)) <= Duration::from_secs(900));
        }
        assert_eq!(jitter(Duration::ZERO), Duration::ZERO);
    }

    #[test]
    fn test_content_hash_separates_documents() {
        assert_ne!(
            content_hash([b"ab".as_slice(), b"c".as_slice()]),
            content_hash([b"a".as_slice(), b"bc".as_slice()])
        );
        assert_eq!(content_hash([b"x".as_slice()]), content_hash([b"x".as_slice()]));
    }
}
