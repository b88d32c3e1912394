//! What the picker needs from the rest of the gateway: searching, looking resources up and
//! naming publishers. A trait, so the page logic is tested without an index.

use std::collections::HashMap;
use std::future::Future;

use crate::error::AppError;
use crate::resource::ResourceRecord;
use crate::search::{SearchRequest, SearchResults};

pub trait PickerSource: Sync {
    /// Runs a search of the index.
    fn search(&self, request: SearchRequest) -> impl Future<Output = Result<SearchResults, AppError>> + Send;
    /// Resources by gateway id; unknown ids are left out.
    fn records(&self, ids: &[String]) -> impl Future<Output = Result<Vec<ResourceRecord>, AppError>> + Send;
    /// Publishers' display names by id.
    fn publisher_names(&self) -> impl Future<Output = HashMap<String, String>> + Send;
}
