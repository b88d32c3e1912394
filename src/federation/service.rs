//! The gateway's search with live federation: index hits and live hits in one connection.
//!
//! The result list is the live-only hits first (resources an endpoint answered that the
//! index does not hold: the publisher's newest content), then the index's hits. Paging runs
//! over that combined list; the live answers are cached, so the next page sees the same
//! live hits. A live hit whose id is in the index is dropped: the indexed copy is found by
//! the normal search, so nothing appears twice. Facets count indexed resources.

use std::collections::HashSet;

use super::{LiveReport, LIVE_LIMIT};
use crate::error::AppError;
use crate::gateway::{blocking, Gateway};
use crate::index::{IndexView, SearchHit, SearchRequest, SearchResults};
use crate::resource::{CatalogFormat, PublisherId, ResourceId, ResourceRecord};

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

impl Gateway {
    /// Searches the index and, with `live`, the live Resource Search sources (those
    /// registered with `live: true`), merged. `with_sources` asks for the per-source report.
    pub async fn federated_search(
        &self,
        request: SearchRequest,
        live: bool,
        with_sources: bool,
    ) -> Result<FederatedResults, AppError> {
        let live_sources = if live {
            self.all_catalog_sources()
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
        // One index generation for the local page and for telling which live hits the index
        // holds: a harvest committing meanwhile would otherwise drop its publisher's hits from
        // both halves (gone from the live half as indexed, missing from the older local page).
        let view = self.index().view();
        let deadline = self.config().live_deadline;
        let offset = request.offset;
        let limit = request.limit;
        // The local work runs while the live sources are asked, not after the deadline: the
        // per-publisher report, and on the first page (where local hits never shift) the search.
        let ask = self.live().ask(live_sources, request.text.as_deref(), &request.filter, deadline);
        let (live_results, first_page, index_reports) = if offset == 0 {
            let (live_results, local, reports) = tokio::join!(
                ask,
                self.search_in(Some(view.clone()), request.clone()),
                self.index_reports(with_sources)
            );
            (live_results, Some(local?), reports)
        } else {
            let (live_results, reports) = tokio::join!(ask, self.index_reports(with_sources));
            (live_results, None, reports)
        };
        let live_only = self.not_indexed(&view, live_results.records).await?;
        self.live().remember(&live_only).await;
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
                self.search_in(Some(view), local_request).await?
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

    /// The live hits `view` does not hold.
    async fn not_indexed(
        &self,
        view: &IndexView,
        records: Vec<ResourceRecord>,
    ) -> Result<Vec<ResourceRecord>, AppError> {
        if records.is_empty() {
            return Ok(records);
        }
        let ids: Vec<ResourceId> = records.iter().map(ResourceRecord::id).collect();
        let index = self.index().clone();
        let view = view.clone();
        let indexed: HashSet<String> =
            blocking(move || index.get_in(&view, &ids)).await?.iter().map(|record| record.id().to_string()).collect();
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
        let mut counts: Vec<(String, u64)> = self.resource_counts().await?.into_iter().collect();
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
