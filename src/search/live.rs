//! Live federation as search sees it: publishers' Resource Search endpoints asked at query
//! time under one deadline ([`crate::federation::LiveSearch`] implements it). Partial failure
//! is data: every source asked is reported, however it answered.

use std::time::Duration;

use async_trait::async_trait;

use super::request::Filter;
use crate::registry::CatalogSourceRecord;
use crate::resource::{PublisherId, ResourceRecord};

/// Resources asked from each endpoint (the same for every page, so paging stays consistent).
pub const LIVE_LIMIT: usize = 50;

/// How one live source answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiveState {
    Live,
    Cached,
    Timeout,
    /// Not asked: it missed the deadline recently and no check has answered in time since.
    Unavailable,
    Error,
}

/// The report of one live source for `SearchConnection.sources`.
#[derive(Debug, Clone)]
pub struct LiveReport {
    pub source_id: String,
    pub publisher: PublisherId,
    pub state: LiveState,
    pub took_ms: u64,
    pub message: Option<String>,
    /// Hits it contributed that match the search's filters.
    pub hits: usize,
}

/// What a fan-out brought back.
#[derive(Debug, Default)]
pub struct LiveResults {
    /// Matching hits, interleaved across sources, without duplicate ids.
    pub records: Vec<ResourceRecord>,
    pub reports: Vec<LiveReport>,
}

/// Asks live sources at query time.
#[async_trait]
pub trait LiveFederation: Send + Sync {
    /// Asks every source at once and waits at most `deadline` in all; the answers pass the
    /// search's filters, interleaved across sources, without repeated ids.
    async fn ask(
        &self,
        sources: Vec<CatalogSourceRecord>,
        text: Option<&str>,
        filter: &Filter,
        deadline: Duration,
    ) -> LiveResults;
}
