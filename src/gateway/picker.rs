//! The gateway as the picker's source of resources.

use std::collections::HashMap;

use super::Gateway;
use crate::error::AppError;
use crate::index::{SearchRequest, SearchResults};
use crate::lti::picker::PickerSource;
use crate::resource::ResourceRecord;

impl PickerSource for Gateway {
    async fn search(&self, request: SearchRequest) -> Result<SearchResults, AppError> {
        Gateway::search(self, request).await
    }

    async fn records(&self, ids: &[String]) -> Result<Vec<ResourceRecord>, AppError> {
        self.resources(ids).await
    }

    async fn publisher_names(&self) -> HashMap<String, String> {
        let publishers = self.publishers().await.unwrap_or_default();
        publishers.into_iter().map(|p| (p.id.to_string(), p.name)).collect()
    }
}
