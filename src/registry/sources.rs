//! Catalog sources (feeds the gateway harvests for a publisher) and their harvest runs.
//!
//! Kept in the registry so that the scheduler survives restarts: every source's next run, its
//! conditional-GET validators and its harvest history live in the data folder. Credentials are
//! stored here too (the data folder is the gateway's secret store, like the key hashes); they
//! leave it only as request headers toward the publisher, never in GraphQL, logs or messages.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{RegistryError, StoredDiagnostic};
use crate::resource::{CatalogFormat, PublisherId};

/// How the gateway authenticates toward a publisher's feed.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SourceCredentials {
    /// A public feed.
    #[default]
    None,
    /// A static token sent as `Authorization: Bearer <token>`.
    Bearer { token: String },
    /// OAuth 2 client credentials: a token is fetched from `token_url` and cached until expiry.
    OAuthClient { token_url: String, client_id: String, client_secret: String, scope: Option<String> },
}

impl SourceCredentials {
    /// The kind without any secret, for display.
    pub fn kind(&self) -> &'static str {
        match self {
            SourceCredentials::None => "NONE",
            SourceCredentials::Bearer { .. } => "BEARER",
            SourceCredentials::OAuthClient { .. } => "OAUTH_CLIENT_CREDENTIALS",
        }
    }
}

/// Debug output never shows secrets, so a stray `{:?}` in a log cannot leak them.
impl fmt::Debug for SourceCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceCredentials::None => f.write_str("None"),
            SourceCredentials::Bearer { .. } => f.write_str("Bearer(<redacted>)"),
            SourceCredentials::OAuthClient { token_url, client_id, scope, .. } => f
                .debug_struct("OAuthClient")
                .field("token_url", token_url)
                .field("client_id", client_id)
                .field("client_secret", &"<redacted>")
                .field("scope", scope)
                .finish(),
        }
    }
}

/// What the previous successful harvest left behind, so the next one can ask only for changes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HarvestCursor {
    /// `ETag` of the last fetched document (sent back as `If-None-Match`).
    pub etag: Option<String>,
    /// `Last-Modified` of the last fetched document (sent back as `If-Modified-Since`).
    pub last_modified: Option<String>,
    /// SHA-256 of the last applied content: an unchanged body is not re-indexed.
    pub content_hash: Option<String>,
    /// Start of the last successful OAI-PMH harvest: the next one asks `from` that day.
    pub harvested_since: Option<DateTime<Utc>>,
}

/// A registered feed of a publisher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogSourceRecord {
    /// Also the index source id of the resources it delivers.
    pub id: String,
    pub publisher: PublisherId,
    /// The document URL; for Resource Search, the service base (`<url>/resources` is called);
    /// for OAI-PMH, the repository base URL.
    pub url: String,
    pub format: CatalogFormat,
    pub refresh_seconds: u64,
    /// Whether live searches may ask this (Resource Search) endpoint at query time.
    pub live: bool,
    pub credentials: SourceCredentials,
    pub created_at: DateTime<Utc>,
    /// When the scheduler runs it next; `None` while a run is due at once.
    pub next_run_at: Option<DateTime<Utc>>,
    pub cursor: HarvestCursor,
}

/// Where a harvest run stands, or how it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HarvestStatus {
    /// Waiting for a free harvest slot.
    Pending,
    Running,
    /// The catalog was fetched and applied.
    Succeeded,
    /// The publisher answered 304, or the same content as last time: nothing re-indexed.
    Unchanged,
    /// Applied, but some items were rejected (see the diagnostics).
    Partial,
    /// Nothing changed: the previous resources stay searchable.
    Failed,
}

impl HarvestStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            HarvestStatus::Pending => "PENDING",
            HarvestStatus::Running => "RUNNING",
            HarvestStatus::Succeeded => "SUCCEEDED",
            HarvestStatus::Unchanged => "UNCHANGED",
            HarvestStatus::Partial => "PARTIAL",
            HarvestStatus::Failed => "FAILED",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [
            HarvestStatus::Pending,
            HarvestStatus::Running,
            HarvestStatus::Succeeded,
            HarvestStatus::Unchanged,
            HarvestStatus::Partial,
            HarvestStatus::Failed,
        ]
        .into_iter()
        .find(|status| status.as_str() == raw)
    }

    /// Whether the run has ended.
    pub fn is_final(self) -> bool {
        !matches!(self, HarvestStatus::Pending | HarvestStatus::Running)
    }
}

/// Why a run was started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HarvestTrigger {
    Schedule,
    Manual,
}

impl HarvestTrigger {
    pub fn as_str(self) -> &'static str {
        match self {
            HarvestTrigger::Schedule => "SCHEDULE",
            HarvestTrigger::Manual => "MANUAL",
        }
    }

    pub fn parse(raw: &str) -> Self {
        if raw == "MANUAL" {
            HarvestTrigger::Manual
        } else {
            HarvestTrigger::Schedule
        }
    }
}

/// One harvest of a source: the report a publisher reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HarvestRunRecord {
    pub id: i64,
    pub source_id: String,
    pub publisher: PublisherId,
    pub trigger: HarvestTrigger,
    pub status: HarvestStatus,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub added: usize,
    pub updated: usize,
    pub removed: usize,
    pub rejected: usize,
    /// Status of the publisher's last answer (304 for an unchanged catalog).
    pub http_status: Option<u16>,
    /// HTTP requests the run made (pages, retries, token fetches).
    pub requests: usize,
    pub diagnostics: Vec<StoredDiagnostic>,
}

impl HarvestRunRecord {
    /// A new run, not started yet.
    pub fn pending(source: &CatalogSourceRecord, trigger: HarvestTrigger) -> Self {
        Self {
            id: 0,
            source_id: source.id.clone(),
            publisher: source.publisher.clone(),
            trigger,
            status: HarvestStatus::Pending,
            started_at: Utc::now(),
            finished_at: None,
            added: 0,
            updated: 0,
            removed: 0,
            rejected: 0,
            http_status: None,
            requests: 0,
            diagnostics: Vec::new(),
        }
    }
}

/// Storage of sources and runs; part of every [`super::Registry`].
#[async_trait::async_trait]
pub trait HarvestStore: Send + Sync {
    /// Adds a source; fails if the id is taken.
    async fn insert_source(&self, source: &CatalogSourceRecord) -> Result<(), RegistryError>;
    async fn source(&self, id: &str) -> Result<Option<CatalogSourceRecord>, RegistryError>;
    /// Removes a source and its run history; answers whether it existed.
    async fn delete_source(&self, id: &str) -> Result<bool, RegistryError>;
    /// A publisher's sources, oldest first.
    async fn sources_of(&self, publisher: &PublisherId) -> Result<Vec<CatalogSourceRecord>, RegistryError>;
    /// Every source, for the scheduler and live search.
    async fn all_sources(&self) -> Result<Vec<CatalogSourceRecord>, RegistryError>;
    async fn set_next_run(&self, id: &str, next_run_at: Option<DateTime<Utc>>) -> Result<(), RegistryError>;
    async fn set_cursor(&self, id: &str, cursor: &HarvestCursor) -> Result<(), RegistryError>;
    /// Appends a run and answers its id.
    async fn insert_run(&self, run: &HarvestRunRecord) -> Result<i64, RegistryError>;
    /// Rewrites a run (status, counts, diagnostics) by its id.
    async fn update_run(&self, run: &HarvestRunRecord) -> Result<(), RegistryError>;
    /// The newest runs of a source, newest first.
    async fn runs(&self, source_id: &str, limit: usize) -> Result<Vec<HarvestRunRecord>, RegistryError>;
    /// Marks runs left unfinished by a process that stopped as failed with `message`: those of
    /// sources no live lease covers (another replica may be running the others). Answers how many.
    async fn fail_unfinished_runs(&self, message: &str) -> Result<usize, RegistryError>;
    /// Marks a source's unfinished runs failed with `message` (the replica that ran them lost
    /// its lease); answers how many.
    async fn fail_unfinished_runs_of(&self, source_id: &str, message: &str) -> Result<usize, RegistryError>;
    /// Leases the source that is due first (`next_run_at` passed) and not leased, for `ttl`:
    /// among replicas, exactly one gets each due source. A lease that ran out (its replica
    /// died) can be taken over.
    async fn claim_due_source(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        ttl: chrono::Duration,
    ) -> Result<Option<CatalogSourceRecord>, RegistryError>;
    /// Leases one source now (a harvest asked for by hand); false while another lease holds.
    async fn claim_source(
        &self,
        source_id: &str,
        owner: &str,
        now: DateTime<Utc>,
        ttl: chrono::Duration,
    ) -> Result<bool, RegistryError>;
    /// Extends a lease `owner` holds; false when it no longer holds it (it ran out and another
    /// replica took the source over).
    async fn renew_lease(&self, source_id: &str, owner: &str, until: DateTime<Utc>) -> Result<bool, RegistryError>;
    async fn release_lease(&self, source_id: &str, owner: &str) -> Result<(), RegistryError>;
    /// Who holds a live lease on a source, if anyone.
    async fn lease_holder(&self, source_id: &str, now: DateTime<Utc>) -> Result<Option<String>, RegistryError>;
}
