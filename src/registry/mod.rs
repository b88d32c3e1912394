//! The registry: everything the gateway must not lose besides the index itself — publishers,
//! their key hashes, ingest history, catalog sources and harvest runs, LMS platforms, LTI and
//! broker state.
//!
//! Behind async store traits ([`Registry`], [`HarvestStore`], [`LtiStore`], [`BrokerStore`],
//! [`RegistrationStore`])
//! whose errors name no database, so that the embedded SQLite of a data folder and a PostgreSQL
//! shared by several replicas are interchangeable ([`sql::SqlRegistry`] serves both). Every write
//! is one transaction, committed durably before it returns.

pub mod broker_store;
pub mod live_hits;
pub mod log;
pub mod lti_store;
pub mod registration_store;
pub mod sealing;
pub mod secrets;
pub mod sitemap_pages;
mod sources;
pub mod sql;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use broker_store::{AgsGrant, BrokerStore, BrokeredLaunch, PublisherTool, ToolToken};
pub use live_hits::LiveHitStore;
pub use log::{CatalogLog, LogEntry, LogKind, LoggedRemoval, NewIngest};
pub use lti_store::{DeepLinkLaunch, LtiStore, Platform};
pub use registration_store::{RegistrationGrant, RegistrationKind, RegistrationStore};
pub use secrets::{SecretStore, SigningKeyRecord};
pub use sitemap_pages::{SitemapPage, SitemapPageStore};
pub use sources::{
    CatalogSourceRecord, HarvestCursor, HarvestRunRecord, HarvestStatus, HarvestStore, HarvestTrigger,
    SourceCredentials,
};
pub use sql::{DatabaseKind, SqlRegistry};

use crate::catalog::Diagnostic;
use crate::error::{ErrorCode, HasErrorCode};
use crate::resource::{CatalogFormat, PublisherId};

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("publisher '{0}' already exists")]
    PublisherExists(String),
    #[error("{0}")]
    Conflict(String),
    #[error("catalog source '{0}' already exists")]
    SourceExists(String),
    /// The database did not answer in time or the connection broke; asking again later works.
    #[error("the registry database is unavailable: {0}")]
    Unavailable(String),
    #[error("registry database error: {0}")]
    Storage(String),
    #[error("registry data is unreadable: {0}")]
    Corrupt(String),
}

impl HasErrorCode for RegistryError {
    fn error_code(&self) -> ErrorCode {
        match self {
            RegistryError::PublisherExists(_) | RegistryError::Conflict(_) | RegistryError::SourceExists(_) => {
                ErrorCode::BadUserInput
            }
            RegistryError::Unavailable(_) => ErrorCode::Unavailable,
            _ => ErrorCode::Internal,
        }
    }
}

impl From<RegistryError> for crate::error::AppError {
    fn from(err: RegistryError) -> Self {
        crate::error::AppError::from_coded(err)
    }
}

/// A registered publisher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publisher {
    pub id: PublisherId,
    pub name: String,
    pub homepage: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// What removing a publisher took out of the registry.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeletedPublisher {
    pub sources: usize,
    pub tools: usize,
}

/// The outcome of one ingest, kept as history.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IngestRecord {
    pub id: i64,
    pub publisher: PublisherId,
    pub source_id: String,
    pub format: CatalogFormat,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    /// `SUCCEEDED`, `PARTIAL` (some items rejected) or `FAILED` (nothing changed).
    pub status: String,
    pub added: usize,
    pub updated: usize,
    pub removed: usize,
    pub rejected: usize,
    pub diagnostics: Vec<StoredDiagnostic>,
}

/// A diagnostic as stored in the history.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct StoredDiagnostic {
    pub item: Option<String>,
    pub severity: String,
    pub message: String,
}

impl From<&Diagnostic> for StoredDiagnostic {
    fn from(diagnostic: &Diagnostic) -> Self {
        let severity = match diagnostic.severity {
            crate::catalog::Severity::Error => "ERROR",
            crate::catalog::Severity::Warning => "WARNING",
            crate::catalog::Severity::Info => "INFO",
        };
        Self { item: diagnostic.item.clone(), severity: severity.to_string(), message: diagnostic.message.clone() }
    }
}

/// Storage of everything the gateway must not lose besides the index itself.
#[async_trait]
pub trait Registry: HarvestStore + Send + Sync {
    /// Adds a publisher with the hash of its key; fails if the id is taken.
    async fn insert_publisher(&self, publisher: &Publisher, key_hash: Option<&str>) -> Result<(), RegistryError>;
    async fn publisher(&self, id: &PublisherId) -> Result<Option<Publisher>, RegistryError>;
    async fn publishers(&self) -> Result<Vec<Publisher>, RegistryError>;
    /// The stored hash of the publisher's key, if it has one.
    async fn publisher_key_hash(&self, id: &PublisherId) -> Result<Option<String>, RegistryError>;
    /// Removes a publisher and everything registered under it (catalog sources and their runs,
    /// ingest history, LTI tools with their tokens, grants and pending launches) in one
    /// transaction; answers what there was, `None` when there was no such publisher.
    async fn delete_publisher(&self, id: &PublisherId) -> Result<Option<DeletedPublisher>, RegistryError>;
    /// Replaces the publisher's key hash (a new key was issued).
    async fn set_publisher_key_hash(&self, id: &PublisherId, key_hash: &str) -> Result<(), RegistryError>;
    /// Appends to the ingest history and answers the record's id.
    async fn record_ingest(&self, record: &IngestRecord) -> Result<i64, RegistryError>;
    /// The newest ingests of a publisher, newest first.
    async fn ingests(&self, publisher: &PublisherId, limit: usize) -> Result<Vec<IngestRecord>, RegistryError>;
    async fn meta(&self, key: &str) -> Result<Option<String>, RegistryError>;
    async fn set_meta(&self, key: &str, value: &str) -> Result<(), RegistryError>;
    /// Sets a setting only if it is absent; answers whether this call set it (the one replica
    /// that does, among several starting together, does the work the setting records).
    async fn claim_meta(&self, key: &str, value: &str) -> Result<bool, RegistryError>;
    /// Whether the store answers (for `/readyz`).
    async fn ping(&self) -> Result<(), RegistryError>;
}
