//! The gateway as the picker's source of resources.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use super::Gateway;
use crate::error::AppError;
use crate::index::{SearchRequest, SearchResults};
use crate::lti::picker::PickerSource;
use crate::resource::ResourceRecord;

/// Searches the picker made, keyed by index generation and request: a remembered answer is
/// exactly what the index would answer until the next commit or merge changes the generation.
pub type PickerResultCache = moka::future::Cache<String, Arc<SearchResults>>;

/// Searches remembered at most, and for how long (a generation rarely lasts longer).
const PICKER_RESULTS: u64 = 512;
const PICKER_RESULT_SECONDS: u64 = 600;

pub fn result_cache() -> PickerResultCache {
    moka::future::Cache::builder()
        .max_capacity(PICKER_RESULTS)
        .time_to_live(Duration::from_secs(PICKER_RESULT_SECONDS))
        .build()
}

impl PickerSource for Gateway {
    async fn search(&self, request: SearchRequest) -> Result<SearchResults, AppError> {
        // The first screen and its filters are the same few searches over the whole index for
        // every teacher, and counting facets over every resource is the costly part.
        let key = format!("{}|{request:?}", self.index.generation());
        if let Some(found) = self.picker_results.get(&key).await {
            return Ok((*found).clone());
        }
        let results = Gateway::search(self, request).await?;
        self.picker_results.insert(key, Arc::new(results.clone())).await;
        Ok(results)
    }

    async fn records(&self, ids: &[String]) -> Result<Vec<ResourceRecord>, AppError> {
        self.resources(ids).await
    }

    async fn publisher_names(&self) -> HashMap<String, String> {
        let publishers = self.publishers().await.unwrap_or_default();
        publishers.into_iter().map(|p| (p.id.to_string(), p.name)).collect()
    }
}
