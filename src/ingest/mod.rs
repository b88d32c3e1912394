//! Ingest: catalogs pushed by publishers and harvested from their feeds become changes of the
//! catalog log, which every replica's [`follower::Follower`] applies to its index.
//!
//! One path for pushes and harvests alike: the document is parsed here (a document that cannot
//! be read changes nothing and answers a `FAILED` report), appended to the log — only while its
//! publisher, and for a harvest its feed, is still registered: that is the removal fence — and
//! applied by this replica's follower with the catalog already parsed; the report says what
//! the commit changed and is kept in the ingest history.
//!
//! - [`follower`]: applies the log to the index (every replica, in order).
//! - [`content`]: packed web content unpacked into the data folder.
//! - [`removal`]: a source's or a publisher's removal, logged like an ingest.
//! - [`samples`]: the bundled catalogs, loaded once per database.
//! - [`legacy`]: catalogs archived in the data folder before the catalog log existed.

pub mod content;
pub mod follower;
pub mod legacy;
pub mod removal;
pub mod samples;

use std::sync::Arc;

use chrono::Utc;

use crate::auth::Principal;
use crate::catalog::{self, Diagnostic, Limits, ParsedCatalog, Severity};
use crate::error::AppError;
use crate::metrics::Metrics;
use crate::publishers::PublisherService;
use crate::registry::{CatalogLog, IngestRecord, NewIngest, Registry, StoredDiagnostic};
use crate::resource::{CatalogFormat, IngestMode, PublisherId};
use follower::Follower;

pub use removal::{PublisherRemoval, SourceRemoval};

/// Diagnostics kept with an ingest in the history.
const MAX_HISTORY_DIAGNOSTICS: usize = 1000;

/// Options of one push.
#[derive(Debug, Clone, Default)]
pub struct IngestOptions {
    /// The catalog source to replace or merge into; defaults to `push-<format>`.
    pub source: Option<String>,
    /// Defaults to `Merge` for OAI-PMH (pages and incremental lists) and `Replace` otherwise.
    pub mode: Option<IngestMode>,
}

/// Overall outcome of an ingest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IngestStatus {
    Succeeded,
    Partial,
    Failed,
}

impl IngestStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            IngestStatus::Succeeded => "SUCCEEDED",
            IngestStatus::Partial => "PARTIAL",
            IngestStatus::Failed => "FAILED",
        }
    }
}

/// What an ingest did, for the publisher who sent it.
#[derive(Debug, Clone)]
pub struct IngestReport {
    pub status: IngestStatus,
    pub source_id: String,
    pub added: usize,
    pub updated: usize,
    pub removed: usize,
    pub rejected: usize,
    pub diagnostics: Vec<Diagnostic>,
}

/// A catalog ready to be logged: parsed, with the documents it was parsed from.
pub struct Accepted {
    pub publisher: PublisherId,
    pub source_id: String,
    pub format: CatalogFormat,
    pub mode: IngestMode,
    pub documents: Vec<Vec<u8>>,
    pub parsed: Result<ParsedCatalog, catalog::CatalogError>,
    /// A harvest: the replica holding the feed's lease (the feed must still be registered and
    /// leased to it).
    pub lease_owner: Option<String>,
}

pub struct IngestService {
    registry: Arc<dyn Registry>,
    log: Arc<dyn CatalogLog>,
    publishers: Arc<PublisherService>,
    follower: Arc<Follower>,
    limits: Limits,
    metrics: Arc<Metrics>,
}

impl IngestService {
    pub fn new(
        registry: Arc<dyn Registry>,
        log: Arc<dyn CatalogLog>,
        publishers: Arc<PublisherService>,
        follower: Arc<Follower>,
        limits: Limits,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self { registry, log, publishers, follower, limits, metrics }
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    pub fn follower(&self) -> &Arc<Follower> {
        &self.follower
    }

    /// Parses a pushed catalog document and applies it to the publisher's source in one commit.
    pub async fn ingest(
        &self,
        principal: &Principal,
        publisher: &PublisherId,
        format: CatalogFormat,
        document: Vec<u8>,
        options: IngestOptions,
    ) -> Result<IngestReport, AppError> {
        principal.require_for(publisher)?;
        if self.publishers.get_fresh(publisher).await?.is_none() {
            return Err(AppError::not_found(format!("no publisher '{publisher}': register it first")));
        }
        let source_id = source_id(format, options.source.as_deref())?;
        let mode = options.mode.unwrap_or(default_mode(format));
        let limits = self.limits;
        let (parsed, document) =
            tokio::task::spawn_blocking(move || (catalog::parse(format, &document, &limits), document))
                .await
                .map_err(AppError::internal)?;
        let parsed = parsed.map(|parsed| ParsedCatalog::from_pages([parsed], mode == IngestMode::Replace));
        self.accept(Accepted {
            publisher: publisher.clone(),
            source_id,
            format,
            mode,
            documents: vec![document],
            parsed,
            lease_owner: None,
        })
        .await
    }

    /// Logs a parsed catalog and waits until this replica has applied it: the common tail of
    /// pushes and harvests. The report is kept in the ingest history.
    pub async fn accept(&self, accepted: Accepted) -> Result<IngestReport, AppError> {
        let started_at = Utc::now();
        let Accepted { publisher, source_id, format, mode, documents, parsed, lease_owner } = accepted;
        let report = match parsed {
            Err(err) => IngestReport {
                status: IngestStatus::Failed,
                source_id: source_id.clone(),
                added: 0,
                updated: 0,
                removed: 0,
                rejected: 0,
                diagnostics: vec![Diagnostic::error(None, err.to_string())],
            },
            Ok(parsed) if parsed.nothing_indexable() => {
                // Applying it would only take the source's resources away: it is not logged.
                let mut diagnostics = parsed.diagnostics;
                diagnostics.push(Diagnostic::error(
                    None,
                    format!(
                        "no item of the document could be indexed ({} rejected, {} skipped); nothing was changed",
                        parsed.rejected, parsed.skipped
                    ),
                ));
                IngestReport {
                    status: IngestStatus::Failed,
                    source_id: source_id.clone(),
                    added: 0,
                    updated: 0,
                    removed: 0,
                    rejected: parsed.rejected,
                    diagnostics,
                }
            }
            Ok(parsed) => {
                let appending = self.follower.expect_local();
                let logged = self
                    .log
                    .append_ingest(NewIngest {
                        publisher: &publisher,
                        source_id: &source_id,
                        format,
                        mode,
                        documents,
                        lease_owner: lease_owner.as_deref(),
                    })
                    .await?;
                let Some(seq) = logged else {
                    return Err(match lease_owner {
                        None => AppError::not_found(format!("publisher '{publisher}' was removed; nothing was indexed")),
                        Some(_) => AppError::not_found(format!(
                            "catalog source '{source_id}' was removed, or another replica took its harvest over; nothing was indexed"
                        )),
                    });
                };
                let applied = self.follower.apply_local(seq, parsed).await?;
                drop(appending);
                let status =
                    if applied.rejected > 0 || applied.diagnostics.iter().any(|d| d.severity == Severity::Error) {
                        IngestStatus::Partial
                    } else {
                        IngestStatus::Succeeded
                    };
                IngestReport {
                    status,
                    source_id: source_id.clone(),
                    added: applied.counts.added,
                    updated: applied.counts.updated,
                    removed: applied.counts.removed,
                    rejected: applied.rejected,
                    diagnostics: applied.diagnostics,
                }
            }
        };
        self.metrics.ingests.with_label_values(&[report.status.as_str()]).inc();
        self.record(&publisher, format, started_at, &report).await;
        tracing::info!(
            publisher = %publisher, source = %source_id, status = report.status.as_str(),
            added = report.added, updated = report.updated, removed = report.removed, rejected = report.rejected,
            "catalog ingested"
        );
        Ok(report)
    }

    /// Keeps the report in the publisher's ingest history (a publisher removed meanwhile has
    /// none: the failure is only logged).
    async fn record(
        &self,
        publisher: &PublisherId,
        format: CatalogFormat,
        started_at: chrono::DateTime<Utc>,
        report: &IngestReport,
    ) {
        let record = IngestRecord {
            id: 0,
            publisher: publisher.clone(),
            source_id: report.source_id.clone(),
            format,
            started_at,
            finished_at: Utc::now(),
            status: report.status.as_str().to_string(),
            added: report.added,
            updated: report.updated,
            removed: report.removed,
            rejected: report.rejected,
            diagnostics: report.diagnostics.iter().take(MAX_HISTORY_DIAGNOSTICS).map(StoredDiagnostic::from).collect(),
        };
        if let Err(err) = self.registry.record_ingest(&record).await {
            tracing::warn!(publisher = %publisher, error = %err, "cannot record the ingest in the history");
        }
    }
}

/// OAI-PMH lists are pages or increments; every other format sends its whole catalog.
pub fn default_mode(format: CatalogFormat) -> IngestMode {
    match format {
        CatalogFormat::OaiPmh => IngestMode::Merge,
        _ => IngestMode::Replace,
    }
}

/// The source a push goes to: given, or `push-<format>`. A source given but empty is refused
/// rather than taken as the default: a script whose variable came out empty must not replace
/// the default source's catalog.
pub fn source_id(format: CatalogFormat, given: Option<&str>) -> Result<String, AppError> {
    match given.map(str::trim) {
        None => Ok(format!("push-{}", format.as_param().replace('_', "-"))),
        Some("") => Err(AppError::bad_input(
            "source is empty: name the source (1-64 letters, digits, '-', '_' or '.') or leave it out for the default",
        )),
        Some(name) => valid_source_name(name),
    }
}

/// A source name a publisher chose. It names a folder of the unpacked content, so it starts
/// with a letter or digit: `.` and `..` would be the publisher's folder or the whole store.
pub fn valid_source_name(name: &str) -> Result<String, AppError> {
    let valid = name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if valid {
        Ok(name.to_string())
    } else {
        Err(AppError::bad_input(
            "source must be 1-64 letters, digits, '-', '_' or '.', starting with a letter or digit",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_source_names_cannot_leave_the_content_folder() {
        assert!(valid_source_name("math-2025_v1.2").is_ok());
        for bad in [".", "..", ".hidden", "-x", "a/b", "a\\b", "", &"x".repeat(65)] {
            assert!(valid_source_name(bad).is_err(), "{bad:?}");
        }
    }
}
