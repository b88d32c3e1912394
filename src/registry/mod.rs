//! The registry: publishers, their key hashes, ingest history, catalog sources and harvest
//! runs, in SQLite in the data folder.
//!
//! Behind the [`Registry`] trait so that a shared database can take its place when several
//! gateway replicas run. Every write is one transaction, committed durably before it returns.

pub mod broker_store;
pub mod lti_store;
pub mod sitemap_pages;
mod sources;
mod sqlite;
mod sqlite_sources;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use broker_store::{AgsGrant, BrokerStore, BrokeredLaunch, PublisherTool, ToolToken};
pub use lti_store::{DeepLinkLaunch, LoginState, LtiStore, Platform};
pub use sitemap_pages::{SitemapPage, SitemapPageStore};
pub use sources::{
    CatalogSourceRecord, HarvestCursor, HarvestRunRecord, HarvestStatus, HarvestStore, HarvestTrigger,
    SourceCredentials,
};
pub use sqlite::SqliteRegistry;

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
    #[error("registry database error: {0}")]
    Database(#[from] rusqlite::Error),
    #[error("registry data is unreadable: {0}")]
    Corrupt(String),
}

impl HasErrorCode for RegistryError {
    fn error_code(&self) -> ErrorCode {
        match self {
            RegistryError::PublisherExists(_) | RegistryError::Conflict(_) | RegistryError::SourceExists(_) => {
                ErrorCode::BadUserInput
            }
            _ => ErrorCode::Internal,
        }
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
pub trait Registry: HarvestStore + Send + Sync {
    /// Adds a publisher with the hash of its key; fails if the id is taken.
    fn insert_publisher(&self, publisher: &Publisher, key_hash: Option<&str>) -> Result<(), RegistryError>;
    fn publisher(&self, id: &PublisherId) -> Result<Option<Publisher>, RegistryError>;
    fn publishers(&self) -> Result<Vec<Publisher>, RegistryError>;
    /// The stored hash of the publisher's key, if it has one.
    fn publisher_key_hash(&self, id: &PublisherId) -> Result<Option<String>, RegistryError>;
    /// Removes a publisher and everything registered under it (catalog sources and their runs,
    /// ingest history, LTI tools with their tokens, grants and pending launches) in one
    /// transaction; answers what there was, `None` when there was no such publisher.
    fn delete_publisher(&self, id: &PublisherId) -> Result<Option<DeletedPublisher>, RegistryError>;
    /// Replaces the publisher's key hash (a new key was issued).
    fn set_publisher_key_hash(&self, id: &PublisherId, key_hash: &str) -> Result<(), RegistryError>;
    /// Appends to the ingest history and answers the record's id.
    fn record_ingest(&self, record: &IngestRecord) -> Result<i64, RegistryError>;
    /// The newest ingests of a publisher, newest first.
    fn ingests(&self, publisher: &PublisherId, limit: usize) -> Result<Vec<IngestRecord>, RegistryError>;
    fn meta(&self, key: &str) -> Result<Option<String>, RegistryError>;
    fn set_meta(&self, key: &str, value: &str) -> Result<(), RegistryError>;
    /// Whether the store answers (for `/readyz`).
    fn ping(&self) -> Result<(), RegistryError>;
}
