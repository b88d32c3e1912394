//! The engine behind search: a [`SearchBackend`] answers searches and lookups, and applies
//! the catalog log's changes one at a time, in log order, each durably with its position, so
//! that after a crash it knows where to resume.

use std::collections::HashMap;

use async_trait::async_trait;

use super::request::{SearchRequest, SearchResults};
use crate::error::{ErrorCode, HasErrorCode};
use crate::resource::{IngestMode, PublisherId, ResourceId, ResourceRecord};

/// Why the backend could not answer.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// Busy, closed or locked by another process: asking again later may work.
    #[error("{0}")]
    Unavailable(String),
    #[error("search backend error: {0}")]
    Internal(String),
}

impl HasErrorCode for SearchError {
    fn error_code(&self) -> ErrorCode {
        match self {
            SearchError::Unavailable(_) => ErrorCode::Unavailable,
            SearchError::Internal(_) => ErrorCode::Internal,
        }
    }
}

impl From<SearchError> for crate::error::AppError {
    fn from(err: SearchError) -> Self {
        crate::error::AppError::from_coded(err)
    }
}

/// One atomic change to a publisher's resources.
#[derive(Debug)]
pub struct IngestBatch {
    pub publisher: PublisherId,
    pub source_id: String,
    pub mode: IngestMode,
    /// Unique local ids (the caller dedups).
    pub records: Vec<ResourceRecord>,
    /// Local ids to remove.
    pub deleted: Vec<String>,
}

/// A change of the catalog log, as the index applies it.
#[derive(Debug)]
pub enum IndexChange {
    Ingest(IngestBatch),
    RemoveSource { publisher: PublisherId, source_id: String },
    RemovePublisher(PublisherId),
}

/// What an applied change did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChangeCounts {
    pub added: usize,
    pub updated: usize,
    pub removed: usize,
}

/// An index the gateway searches.
#[async_trait]
pub trait SearchBackend: Send + Sync {
    async fn search(&self, request: SearchRequest) -> Result<SearchResults, SearchError>;
    /// Resources by id, in the order asked; unknown ids are left out.
    async fn get(&self, ids: Vec<ResourceId>) -> Result<Vec<ResourceRecord>, SearchError>;
    /// Applies one change in one commit that also records `position` (the change's place in
    /// the catalog log): readers see all of it or none, and a restart resumes after it.
    async fn apply(&self, change: IndexChange, position: u64) -> Result<ChangeCounts, SearchError>;
    /// Records `position` as applied without changing resources (changes skipped as
    /// superseded, an imported history).
    async fn mark_applied(&self, position: u64) -> Result<(), SearchError>;
    /// The position of the last change applied; `None` for a new, empty index.
    fn applied_position(&self) -> Option<u64>;
    fn num_resources(&self) -> u64;
    async fn counts_by_publisher(&self) -> Result<HashMap<String, u64>, SearchError>;
    /// Whether it can apply changes (for `/readyz`).
    fn health(&self) -> Result<(), SearchError>;
    /// Finishes pending work and releases the index (a restart or the CLI can then open it).
    async fn close(&self);
}
