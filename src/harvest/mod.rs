//! Harvesting publishers' feeds: catalog sources registered with `addCatalogSource` are
//! fetched on a schedule (or at once with `harvestNow`) and applied through the same ingest
//! path as pushed catalogs, so history, counts, the archive and the index stay consistent.
//!
//! - [`fetch`]: GETs on the shared outbound client with credentials, conditional requests,
//!   per-host limits, retries with backoff and `Retry-After`.
//! - [`oauth`]: OAuth 2 client-credentials tokens, cached until expiry.
//! - [`document`], [`resource_search`], [`oai`], [`sitemap`]: one harvest loop per kind of feed.
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

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use rand::Rng;
use sha2::{Digest, Sha256};
use tokio::sync::{Notify, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::catalog::{self, CatalogError, Diagnostic, Limits, ParsedCatalog};
use crate::config::SitemapSettings;
use crate::error::{AppError, ErrorCode, HasErrorCode};
use crate::ingest::{Accepted, IngestService, IngestStatus};
use crate::outbound::{AddressGuard, Outbound};
use crate::registry::{
    CatalogSourceRecord, HarvestCursor, HarvestRunRecord, HarvestStatus, HarvestTrigger, Registry, SitemapPageStore,
    StoredDiagnostic,
};
use crate::resource::{CatalogFormat, IngestMode};
use fetch::{FetchError, FetchRequest, Fetched, Fetcher, RetryPolicy, Validators};

/// Harvest runs at once, over all sources.
const MAX_CONCURRENT_RUNS: usize = 4;
/// A failed source is tried again after at most this long (or its refresh interval if shorter).
const RETRY_FAILED_AFTER: Duration = Duration::from_secs(600);
/// Diagnostics kept per run.
const MAX_RUN_DIAGNOSTICS: usize = 1000;
/// Times a start waits 20 ms for a run that is starting or ending to let go of its lease.
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
    /// The documents as fetched: what the catalog log keeps (applied together, with `mode`),
    /// and what `parsed` must equal when they are parsed again.
    pub documents: Vec<Vec<u8>>,
    pub cursor: HarvestCursor,
    /// Sitemap sources: the page state to write once the catalog was applied.
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

/// Harvesting: the fetcher, the run slots, this replica's leases, the shutdown signal, and
/// the ingest path harvested catalogs take.
pub struct HarvestService {
    fetcher: Fetcher,
    registry: Arc<dyn Registry>,
    ingest: Arc<IngestService>,
    /// Per-page state of sitemap sources, and how politely their pages are fetched.
    sitemap_pages: Option<Arc<dyn SitemapPageStore>>,
    sitemap: SitemapSettings,
    guard: AddressGuard,
    /// Who this process is when it leases a source (unique per process start).
    replica: String,
    /// How long a lease lasts unless renewed: a replica that dies holds its sources that long.
    lease_ttl: Duration,
    slots: Arc<Semaphore>,
    /// Runs started by this replica and not finished (it claims no more than it has slots for).
    in_flight: Arc<AtomicUsize>,
    /// Wakes the scheduler (a source was added, a run ended).
    wake: Notify,
    cancel: CancellationToken,
    tasks: TaskTracker,
}

impl HarvestService {
    pub fn new(
        outbound: Outbound,
        registry: Arc<dyn Registry>,
        ingest: Arc<IngestService>,
        max_body: usize,
        replica: String,
        lease_ttl: Duration,
    ) -> Self {
        Self {
            guard: outbound.guard().clone(),
            fetcher: Fetcher::new(outbound, RetryPolicy::default(), max_body),
            registry,
            ingest,
            sitemap_pages: None,
            sitemap: SitemapSettings::default(),
            replica,
            lease_ttl,
            slots: Arc::new(Semaphore::new(MAX_CONCURRENT_RUNS)),
            in_flight: Arc::new(AtomicUsize::new(0)),
            wake: Notify::new(),
            cancel: CancellationToken::new(),
            tasks: TaskTracker::new(),
        }
    }

    /// Lets the service harvest `SITEMAP` sources: their page state is kept in `pages`.
    pub fn with_sitemaps(mut self, pages: Arc<dyn SitemapPageStore>, settings: SitemapSettings) -> Self {
        self.sitemap_pages = Some(pages);
        self.sitemap = settings;
        self
    }

    pub fn fetcher(&self) -> &Fetcher {
        &self.fetcher
    }

    pub fn replica(&self) -> &str {
        &self.replica
    }

    /// Fires when the gateway shuts down.
    pub fn cancellation(&self) -> CancellationToken {
        self.cancel.clone()
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

    fn lease_until(&self) -> chrono::DateTime<Utc> {
        Utc::now() + chrono::Duration::from_std(self.lease_ttl).unwrap_or_default()
    }

    /// Starts a run of `source` in the background (queued as `PENDING` until a slot is free).
    /// `leased`: the scheduler leased it already; otherwise it is leased here, and when
    /// another run holds it (here or on another replica) that run is answered.
    pub async fn start_run(
        self: &Arc<Self>,
        source: CatalogSourceRecord,
        trigger: HarvestTrigger,
        leased: bool,
    ) -> Result<StartedRun, AppError> {
        if !leased {
            let mut attempts = 0;
            loop {
                let ttl = chrono::Duration::from_std(self.lease_ttl).unwrap_or_default();
                if self.registry.claim_source(&source.id, &self.replica, Utc::now(), ttl).await? {
                    break;
                }
                let current = self.registry.runs(&source.id, 1).await?;
                match current.into_iter().next() {
                    Some(run) if !run.status.is_final() => return Ok(StartedRun { run, task: None }),
                    // The lease is held but its run is not (or no longer) pending or running:
                    // it is starting or wrapping up. Wait a moment rather than answer a stale run.
                    _ if attempts < CLAIM_ATTEMPTS => {
                        attempts += 1;
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    _ => {
                        return Err(AppError::unavailable(
                            "a run of this source is starting or ending; ask again in a moment",
                        ))
                    }
                }
            }
        }
        // The source may have been removed since the caller read it (removal refuses while a
        // lease holds, so this check under the lease is final).
        if self.registry.source(&source.id).await?.is_none() {
            let _ = self.registry.release_lease(&source.id, &self.replica).await;
            return Err(AppError::not_found(format!("catalog source '{}' was removed", source.id)));
        }
        // Runs left unfinished by a replica whose lease ran out end here, as failed.
        self.registry
            .fail_unfinished_runs_of(
                &source.id,
                "the replica running this harvest stopped; the source was harvested again",
            )
            .await?;
        let mut run = HarvestRunRecord::pending(&source, trigger);
        run.id = match self.registry.insert_run(&run).await {
            Ok(id) => id,
            Err(err) => {
                let _ = self.registry.release_lease(&source.id, &self.replica).await;
                return Err(err.into());
            }
        };
        let first = run.clone();
        let service = self.clone();
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        let task = self.tasks.spawn(async move {
            let keeper = service.keep_lease(&source.id);
            let finished = service.execute(source.clone(), run, keeper.cancel.clone()).await;
            keeper.stop();
            if let Err(err) = service.registry.release_lease(&source.id, &service.replica).await {
                tracing::warn!(source = %source.id, error = %err, "cannot release a harvest lease; it runs out by itself");
            }
            service.in_flight.fetch_sub(1, Ordering::SeqCst);
            service.wake();
            finished
        });
        Ok(StartedRun { run: first, task: Some(task) })
    }

    /// Renews the source's lease while a run lasts; if it is lost (this replica was too slow
    /// and another took the source over) the run is cancelled.
    fn keep_lease(self: &Arc<Self>, source_id: &str) -> LeaseKeeper {
        let cancel = self.cancel.child_token();
        let (service, source_id, run_cancel) = (self.clone(), source_id.to_string(), cancel.clone());
        let renewing = tokio::spawn(async move {
            let every = service.lease_ttl / 3;
            loop {
                tokio::select! {
                    () = tokio::time::sleep(every) => {}
                    () = run_cancel.cancelled() => return,
                }
                match service.registry.renew_lease(&source_id, &service.replica, service.lease_until()).await {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::warn!(source = %source_id, "the harvest lease was taken over by another replica; this run stops");
                        run_cancel.cancel();
                        return;
                    }
                    Err(err) => tracing::warn!(source = %source_id, error = %err, "cannot renew a harvest lease"),
                }
            }
        });
        LeaseKeeper { cancel, renewing }
    }

    /// Runs one harvest to its end and records it; never fails (a failure is the run's status).
    async fn execute(
        &self,
        source: CatalogSourceRecord,
        mut run: HarvestRunRecord,
        cancel: CancellationToken,
    ) -> HarvestRunRecord {
        let _slot = tokio::select! {
            slot = self.slots.clone().acquire_owned() => slot.ok(),
            () = cancel.cancelled() => None,
        };
        if cancel.is_cancelled() {
            return self.finish_stopped(&source, run).await;
        }
        run.status = HarvestStatus::Running;
        run.started_at = Utc::now();
        self.save_run(&run).await;
        tracing::info!(source = %source.id, publisher = %source.publisher, format = source.format.as_param(), trigger = run.trigger.as_str(), replica = %self.replica, "harvest started");

        let mut ctx = HarvestContext {
            fetcher: &self.fetcher,
            source: &source,
            cancel: &cancel,
            limits: self.ingest.limits(),
            requests: 0,
            http_status: None,
            diagnostics: Vec::new(),
        };
        let outcome = match source.format {
            CatalogFormat::ResourceSearch => resource_search::harvest(&mut ctx).await,
            CatalogFormat::OaiPmh => oai::harvest(&mut ctx).await,
            CatalogFormat::CommonCartridge | CatalogFormat::Lrmi => document::harvest(&mut ctx).await,
            CatalogFormat::Sitemap => sitemap::harvest(&mut ctx, self).await,
        };
        run.requests = ctx.requests;
        run.http_status = ctx.http_status;
        let mut diagnostics = std::mem::take(&mut ctx.diagnostics);
        let succeeded = match outcome {
            Err(HarvestError::Fetch(FetchError::Cancelled)) => {
                return self.finish_stopped(&source, run).await;
            }
            Err(err) => {
                diagnostics.push(Diagnostic::error(None, err.to_string()));
                run.status = HarvestStatus::Failed;
                false
            }
            Ok(Harvested::Unchanged { cursor }) => {
                run.status = HarvestStatus::Unchanged;
                self.save_cursor(&source.id, cursor).await
            }
            Ok(Harvested::Catalog(_)) if cancel.is_cancelled() => {
                return self.finish_stopped(&source, run).await;
            }
            Ok(Harvested::Catalog(catalog)) => self.apply(&source, &mut run, &mut diagnostics, catalog).await,
        };
        run.diagnostics = diagnostics.iter().take(MAX_RUN_DIAGNOSTICS).map(StoredDiagnostic::from).collect();
        let finished_at = Utc::now();
        run.finished_at = Some(finished_at);
        // The next run is set before the run shows as finished, so readers never see a finished
        // run with a stale schedule.
        self.schedule_next(&source, succeeded, finished_at).await;
        self.save_run(&run).await;
        tracing::info!(
            source = %source.id, publisher = %source.publisher, status = run.status.as_str(),
            added = run.added, updated = run.updated, removed = run.removed, rejected = run.rejected,
            http_status = run.http_status, requests = run.requests,
            "harvest finished"
        );
        run
    }

    /// Applies a harvested catalog through the ingest path; answers whether it worked.
    async fn apply(
        &self,
        source: &CatalogSourceRecord,
        run: &mut HarvestRunRecord,
        diagnostics: &mut Vec<Diagnostic>,
        catalog: HarvestedCatalog,
    ) -> bool {
        let HarvestedCatalog { parsed, mode, documents, cursor, pages } = catalog;
        let accepted = Accepted {
            publisher: source.publisher.clone(),
            source_id: source.id.clone(),
            format: source.format,
            mode,
            documents,
            parsed: Ok(parsed),
            lease_owner: Some(self.replica.clone()),
        };
        let report = match self.ingest.accept(accepted).await {
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
        if let Some(pages) = pages {
            if !sitemap::commit_pages(self, source, *pages).await {
                return false;
            }
        }
        self.save_cursor(&source.id, cursor).await
    }

    /// A run the shutdown (or a lost lease) interrupted: recorded as failed, and the source
    /// stays due so the next start (or the replica holding it now) runs it again.
    async fn finish_stopped(&self, source: &CatalogSourceRecord, mut run: HarvestRunRecord) -> HarvestRunRecord {
        run.status = HarvestStatus::Failed;
        run.finished_at = Some(Utc::now());
        run.diagnostics.push(StoredDiagnostic {
            item: None,
            severity: "ERROR".to_string(),
            message:
                "the gateway stopped during the run; nothing was changed and the source runs again after the restart"
                    .to_string(),
        });
        self.save_run(&run).await;
        if let Err(err) = self.registry.set_next_run(&source.id, Some(Utc::now())).await {
            tracing::error!(source = %source.id, error = %err, "cannot reschedule an interrupted harvest");
        }
        run
    }

    async fn save_run(&self, run: &HarvestRunRecord) {
        if let Err(err) = self.registry.update_run(run).await {
            tracing::error!(run = run.id, error = %err, "cannot record a harvest run");
        }
    }

    async fn save_cursor(&self, source_id: &str, cursor: HarvestCursor) -> bool {
        match self.registry.set_cursor(source_id, &cursor).await {
            Ok(()) => true,
            Err(err) => {
                tracing::error!(source = source_id, error = %err, "cannot store the harvest cursor");
                false
            }
        }
    }

    /// Next run: the refresh interval after this one (sooner after a failure), plus jitter so
    /// that sources added together do not stay in lockstep.
    async fn schedule_next(&self, source: &CatalogSourceRecord, succeeded: bool, finished_at: chrono::DateTime<Utc>) {
        let refresh = Duration::from_secs(source.refresh_seconds.max(1));
        let wait = if succeeded { refresh } else { refresh.min(RETRY_FAILED_AFTER) };
        let next = finished_at + chrono::Duration::from_std(wait + jitter(wait)).unwrap_or_default();
        if let Err(err) = self.registry.set_next_run(&source.id, Some(next)).await {
            tracing::error!(source = %source.id, error = %err, "cannot schedule the next harvest");
        }
    }
}

/// The task renewing a run's lease, and the run's cancellation.
struct LeaseKeeper {
    cancel: CancellationToken,
    renewing: tokio::task::JoinHandle<()>,
}

impl LeaseKeeper {
    fn stop(self) {
        self.renewing.abort();
    }
}

/// A started run: its record as first stored, and the task that finishes it.
pub struct StartedRun {
    pub run: HarvestRunRecord,
    /// `None` when the source was already running (`run` is then that run).
    pub task: Option<tokio::task::JoinHandle<HarvestRunRecord>>,
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
