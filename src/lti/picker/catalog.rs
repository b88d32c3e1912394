//! The gateway's search service as the picker's source of resources, remembering the
//! picker's searches per applied catalog-log position.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use super::source::PickerSource;
use crate::error::AppError;
use crate::publishers::PublisherService;
use crate::resource::ResourceRecord;
use crate::search::{SearchRequest, SearchResults, SearchService};

/// Searches remembered at most, and for how long (a log position rarely lasts longer).
const PICKER_RESULTS: u64 = 512;
const PICKER_RESULT_SECONDS: u64 = 600;

/// Search and publishers for the picker, with its recent searches remembered: every
/// teacher's first screen is the same few searches over the whole index, and counting
/// facets over every resource is the costly part.
pub struct PickerCatalog {
    search: Arc<SearchService>,
    publishers: Arc<PublisherService>,
    /// Keyed by the index's applied log position and the request: the index changes only by
    /// applying a log entry (after which its position moves), so a remembered answer is what
    /// the index answers until then.
    results: moka::future::Cache<String, Arc<SearchResults>>,
}

impl PickerCatalog {
    pub fn new(search: Arc<SearchService>, publishers: Arc<PublisherService>) -> Self {
        let results = moka::future::Cache::builder()
            .max_capacity(PICKER_RESULTS)
            .time_to_live(Duration::from_secs(PICKER_RESULT_SECONDS))
            .build();
        Self { search, publishers, results }
    }
}

impl PickerSource for PickerCatalog {
    async fn search(&self, request: SearchRequest) -> Result<SearchResults, AppError> {
        // Read before searching: a change applied meanwhile moves the position, so what is
        // stored under the old one is never read again.
        let position = self.search.backend().applied_position();
        let key = format!("{position:?}|{request:?}");
        if let Some(found) = self.results.get(&key).await {
            return Ok((*found).clone());
        }
        let results = self.search.search(request).await?;
        self.results.insert(key, Arc::new(results.clone())).await;
        Ok(results)
    }

    async fn records(&self, ids: &[String]) -> Result<Vec<ResourceRecord>, AppError> {
        self.search.resources(ids).await
    }

    async fn publisher_names(&self) -> HashMap<String, String> {
        let publishers = self.publishers.list().await.unwrap_or_default();
        publishers.into_iter().map(|p| (p.id.to_string(), p.name)).collect()
    }
}
