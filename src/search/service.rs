//! The search service: what GraphQL and the picker call.
//!
//! With live federation the result list is the live-only hits first (resources an endpoint
//! answered that the index does not hold: the publisher's newest content), then the index's
//! hits. Paging runs over that combined list; the live answers are cached, so the next page
//! sees the same live hits. A live hit whose id is in the index is dropped: the indexed copy is
//! found by the normal search, so nothing appears twice. Facets count indexed resources.
//! Live-only hits are remembered in the registry for an hour, so any replica resolves them.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use moka::future::Cache;

use super::backend::SearchBackend;
use super::live::{LiveFederation, LiveReport, LIVE_LIMIT};
use super::request::{SearchHit, SearchRequest, SearchResults};
use crate::error::AppError;
use crate::metrics::Metrics;
use crate::registry::{HarvestStore, LiveHitStore};
use crate::resource::{CatalogFormat, PublisherId, ResourceId, ResourceRecord};

/// Results a page may ask for at most.
pub const MAX_PAGE_SIZE: usize = 100;
/// Deepest offset a cursor may reach (keeps one query's cost bounded).
pub const MAX_OFFSET: usize = 100_000;
/// Resource ids one `contentItems` or `resource` lookup may name.
pub const MAX_LOOKUP_IDS: usize = 100;
/// How long a live hit stays resolvable by id (a teacher picks, then inserts).
const LIVE_HIT_TTL: Duration = Duration::from_secs(3600);
/// Live hits this replica keeps in memory in front of the registry.
const LOCAL_LIVE_HITS: u64 = 20_000;

/// Where one part of the answer came from.
#[derive(Debug, Clone)]
pub enum SourceReport {
    /// A publisher with resources in the index.
    Index { publisher: PublisherId, count: u64 },
    /// A live source asked for this search.
    Live(LiveReport),
}

/// A page of results and how every source answered.
#[derive(Debug)]
pub struct FederatedResults {
    pub results: SearchResults,
    pub sources: Vec<SourceReport>,
}

/// Search over the index and, when asked, the live sources.
pub struct SearchService {
    backend: Arc<dyn SearchBackend>,
    live: Arc<dyn LiveFederation>,
    sources: Arc<dyn HarvestStore>,
    live_hits: Arc<dyn LiveHitStore>,
    /// Live hits this replica saw or looked up recently.
    remembered: Cache<String, ResourceRecord>,
    live_deadline: Duration,
    metrics: Arc<Metrics>,
}

impl SearchService {
    pub fn new(
        backend: Arc<dyn SearchBackend>,
        live: Arc<dyn LiveFederation>,
        sources: Arc<dyn HarvestStore>,
        live_hits: Arc<dyn LiveHitStore>,
        live_deadline: Duration,
        metrics: Arc<Metrics>,
    ) -> Self {
        let remembered = Cache::builder().max_capacity(LOCAL_LIVE_HITS).time_to_live(LIVE_HIT_TTL).build();
        Self { backend, live, sources, live_hits, remembered, live_deadline, metrics }
    }

    pub fn backend(&self) -> &Arc<dyn SearchBackend> {
        &self.backend
    }

    /// Searches the index.
    pub async fn search(&self, request: SearchRequest) -> Result<SearchResults, AppError> {
        if request.limit == 0 || request.limit > MAX_PAGE_SIZE {
            return Err(AppError::bad_input(format!("first must be between 1 and {MAX_PAGE_SIZE}")));
        }
        if request.offset > MAX_OFFSET {
            return Err(AppError::bad_input(format!(
                "cannot page deeper than {MAX_OFFSET} results; narrow the search"
            )));
        }
        let timer = self.metrics.search_seconds.start_timer();
        let results = self.backend.search(request).await;
        timer.observe_duration();
        Ok(results?)
    }

    /// Searches the index and, with `live`, the live Resource Search sources (those
    /// registered with `live: true`), merged. `with_sources` asks for the per-source report.
    pub async fn federated_search(
        &self,
        request: SearchRequest,
        live: bool,
        with_sources: bool,
    ) -> Result<FederatedResults, AppError> {
        let live_sources = if live {
            self.sources
                .all_sources()
                .await?
                .into_iter()
                .filter(|s| s.live && s.format == CatalogFormat::ResourceSearch)
                .filter(|s| {
                    request.filter.publishers.is_empty()
                        || request.filter.publishers.iter().any(|p| p == s.publisher.as_str())
                })
                .collect()
        } else {
            Vec::new()
        };
        if live_sources.is_empty() {
            let results = self.search(request).await?;
            let sources = self.index_reports(with_sources).await?;
            return Ok(FederatedResults { results, sources });
        }
        let offset = request.offset;
        let limit = request.limit;
        // The local work runs while the live sources are asked, not after the deadline: the
        // per-publisher report, and on the first page (where local hits never shift) the search.
        let ask = self.live.ask(live_sources, request.text.as_deref(), &request.filter, self.live_deadline);
        let (live_results, first_page, index_reports) = if offset == 0 {
            let (live_results, local, reports) =
                tokio::join!(ask, self.search(request.clone()), self.index_reports(with_sources));
            (live_results, Some(local?), reports)
        } else {
            let (live_results, reports) = tokio::join!(ask, self.index_reports(with_sources));
            (live_results, None, reports)
        };
        let live_only = self.not_indexed(live_results.records).await?;
        self.remember(&live_only).await;
        let num_live = live_only.len();
        let live_start = offset.min(num_live);
        let live_end = (offset + limit).min(num_live);
        let mut hits: Vec<SearchHit> = live_only[live_start..live_end]
            .iter()
            .cloned()
            .map(|record| SearchHit { record, score: 0.0, highlights: Vec::new() })
            .collect();
        let local_count = limit - hits.len();
        let mut local = match first_page {
            Some(local) => local,
            None => {
                let local_request =
                    SearchRequest { offset: offset.saturating_sub(num_live), limit: local_count.max(1), ..request };
                self.search(local_request).await?
            }
        };
        hits.extend(local.hits.drain(..).take(local_count));
        let mut sources = index_reports?;
        sources.extend(live_results.reports.into_iter().map(SourceReport::Live));
        Ok(FederatedResults {
            results: SearchResults { total: local.total + num_live, hits, facets: local.facets },
            sources,
        })
    }

    /// Resources by gateway id, in the order asked; unknown ids are left out. Live hits that
    /// are not indexed yet stay resolvable for a while.
    pub async fn resources(&self, ids: &[String]) -> Result<Vec<ResourceRecord>, AppError> {
        if ids.len() > MAX_LOOKUP_IDS {
            return Err(AppError::bad_input(format!("at most {MAX_LOOKUP_IDS} ids at once")));
        }
        let parsed: Vec<ResourceId> = ids.iter().filter_map(|id| ResourceId::parse(id)).collect();
        let found = self.backend.get(parsed).await?;
        if found.len() == ids.len() {
            return Ok(found);
        }
        let mut by_id: HashMap<String, ResourceRecord> =
            found.into_iter().map(|record| (record.id().to_string(), record)).collect();
        for id in ids {
            if by_id.contains_key(id) {
                continue;
            }
            if let Some(record) = self.remembered(id).await? {
                by_id.insert(id.clone(), record);
            }
        }
        Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
    }

    /// Resources by id in the order given, each once; any unknown id is `NOT_FOUND`.
    pub async fn resources_in_order(&self, ids: &[String]) -> Result<Vec<ResourceRecord>, AppError> {
        if ids.len() > MAX_LOOKUP_IDS {
            return Err(AppError::bad_input(format!("at most {MAX_LOOKUP_IDS} resources at once")));
        }
        let mut unique: Vec<String> = Vec::with_capacity(ids.len());
        for id in ids {
            if !unique.contains(id) {
                unique.push(id.clone());
            }
        }
        let records = self.resources(&unique).await?;
        let missing: Vec<&str> = unique
            .iter()
            .filter(|id| !records.iter().any(|r| r.id().to_string() == **id))
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            return Err(AppError::not_found(format!("no resource with id {}", missing.join(", "))));
        }
        Ok(records)
    }

    /// Indexed resources per publisher id.
    pub async fn counts_by_publisher(&self) -> Result<HashMap<String, u64>, AppError> {
        Ok(self.backend.counts_by_publisher().await?)
    }

    /// Keeps live hits resolvable by id, here and on every replica.
    async fn remember(&self, records: &[ResourceRecord]) {
        if records.is_empty() {
            return;
        }
        for record in records {
            self.remembered.insert(record.id().to_string(), record.clone()).await;
        }
        let expires_at = Utc::now() + chrono::Duration::from_std(LIVE_HIT_TTL).unwrap_or_default();
        if let Err(err) = self.live_hits.remember_live_hits(records, expires_at).await {
            tracing::warn!(error = %err, hits = records.len(), "cannot share live hits with other replicas");
        }
    }

    async fn remembered(&self, id: &str) -> Result<Option<ResourceRecord>, AppError> {
        if let Some(record) = self.remembered.get(id).await {
            return Ok(Some(record));
        }
        let found = self.live_hits.live_hit(id, Utc::now()).await?;
        if let Some(record) = &found {
            self.remembered.insert(id.to_string(), record.clone()).await;
        }
        Ok(found)
    }

    /// The live hits the index does not hold.
    async fn not_indexed(&self, records: Vec<ResourceRecord>) -> Result<Vec<ResourceRecord>, AppError> {
        if records.is_empty() {
            return Ok(records);
        }
        let ids: Vec<ResourceId> = records.iter().map(ResourceRecord::id).collect();
        let indexed: HashSet<String> =
            self.backend.get(ids).await?.iter().map(|record| record.id().to_string()).collect();
        Ok(records
            .into_iter()
            .filter(|record| !indexed.contains(&record.id().to_string()))
            .take(LIVE_LIMIT * 10)
            .collect())
    }

    /// `INDEX` for every publisher with indexed resources.
    async fn index_reports(&self, wanted: bool) -> Result<Vec<SourceReport>, AppError> {
        if !wanted {
            return Ok(Vec::new());
        }
        let mut counts: Vec<(String, u64)> = self.counts_by_publisher().await?.into_iter().collect();
        counts.sort();
        Ok(counts
            .into_iter()
            .filter(|(_, count)| *count > 0)
            .filter_map(|(publisher, count)| {
                PublisherId::parse(&publisher).ok().map(|publisher| SourceReport::Index { publisher, count })
            })
            .collect())
    }
}
