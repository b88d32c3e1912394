//! What a sitemap harvest remembers per page: the `lastmod` it last saw, the validators of
//! the last fetch (`ETag`, `Last-Modified`), a hash of the page, and the resources the page
//! yielded. With it a run fetches only pages whose `lastmod` changed (conditionally), and
//! knows which resources to remove when a page changes or leaves the sitemap.
//!
//! Rows go with their catalog source (`ON DELETE CASCADE`, migration `0040_sitemap_pages`), so
//! removing a source or a publisher removes its pages' state too.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::RegistryError;

/// One page of a sitemap source, as of its last successful fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SitemapPage {
    pub url: String,
    /// The sitemap's `lastmod` for the page when it was last read.
    pub lastmod: Option<String>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    /// SHA-256 of the page body, hex.
    pub content_hash: Option<String>,
    /// Local ids of the resources the page yielded.
    pub resource_ids: Vec<String>,
    pub fetched_at: DateTime<Utc>,
}

/// Storage of sitemap page state.
#[async_trait]
pub trait SitemapPageStore: Send + Sync {
    /// Every page the source knows.
    async fn sitemap_pages(&self, source_id: &str) -> Result<Vec<SitemapPage>, RegistryError>;
    /// Writes the pages in `upsert` and forgets the URLs in `remove`, in one transaction.
    async fn update_sitemap_pages(
        &self,
        source_id: &str,
        upsert: &[SitemapPage],
        remove: &[String],
    ) -> Result<(), RegistryError>;
}
