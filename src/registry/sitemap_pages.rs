//! What a sitemap harvest remembers per page: the `lastmod` it last saw, the validators of
//! the last fetch (`ETag`, `Last-Modified`), a hash of the page, and the resources the page
//! yielded. With it a run fetches only pages whose `lastmod` changed (conditionally), and
//! knows which resources to remove when a page changes or leaves the sitemap.
//!
//! Rows go with their catalog source (`ON DELETE CASCADE`), so removing a source or a
//! publisher removes its pages' state too.

use chrono::{DateTime, Utc};
use rusqlite::params;

use super::sqlite::{parse_time, SqliteRegistry};
use super::RegistryError;

pub(super) const MIGRATION: (&str, &str) = (
    "0020_sitemap_pages",
    r#"
CREATE TABLE sitemap_pages (
    source_id TEXT NOT NULL REFERENCES catalog_sources(id) ON DELETE CASCADE,
    url TEXT NOT NULL,
    lastmod TEXT,
    etag TEXT,
    last_modified TEXT,
    content_hash TEXT,
    resource_ids TEXT NOT NULL,
    fetched_at TEXT NOT NULL,
    PRIMARY KEY (source_id, url)
);
"#,
);

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
pub trait SitemapPageStore: Send + Sync {
    /// Every page the source knows.
    fn sitemap_pages(&self, source_id: &str) -> Result<Vec<SitemapPage>, RegistryError>;
    /// Writes the pages in `upsert` and forgets the URLs in `remove`, in one transaction.
    fn update_sitemap_pages(
        &self,
        source_id: &str,
        upsert: &[SitemapPage],
        remove: &[String],
    ) -> Result<(), RegistryError>;
}

impl SitemapPageStore for SqliteRegistry {
    fn sitemap_pages(&self, source_id: &str) -> Result<Vec<SitemapPage>, RegistryError> {
        let conn = self.lock()?;
        let mut statement = conn.prepare(
            "SELECT url, lastmod, etag, last_modified, content_hash, resource_ids, fetched_at
             FROM sitemap_pages WHERE source_id = ?1 ORDER BY url",
        )?;
        let rows = statement.query_map(params![source_id], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, Option<String>>(1)?,
                row.get::<_, Option<String>>(2)?,
                row.get::<_, Option<String>>(3)?,
                row.get::<_, Option<String>>(4)?,
                row.get::<_, String>(5)?,
                row.get::<_, String>(6)?,
            ))
        })?;
        let mut pages = Vec::new();
        for row in rows {
            let (url, lastmod, etag, last_modified, content_hash, ids, fetched_at) = row?;
            let resource_ids: Vec<String> = serde_json::from_str(&ids)
                .map_err(|err| RegistryError::Corrupt(format!("sitemap page resource ids: {err}")))?;
            pages.push(SitemapPage {
                url,
                lastmod,
                etag,
                last_modified,
                content_hash,
                resource_ids,
                fetched_at: parse_time(&fetched_at)?,
            });
        }
        Ok(pages)
    }

    fn update_sitemap_pages(
        &self,
        source_id: &str,
        upsert: &[SitemapPage],
        remove: &[String],
    ) -> Result<(), RegistryError> {
        let mut conn = self.lock()?;
        let tx = conn.transaction()?;
        for page in upsert {
            let ids =
                serde_json::to_string(&page.resource_ids).map_err(|err| RegistryError::Corrupt(err.to_string()))?;
            tx.execute(
                "INSERT INTO sitemap_pages (source_id, url, lastmod, etag, last_modified, content_hash, resource_ids, fetched_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT(source_id, url) DO UPDATE SET lastmod = excluded.lastmod, etag = excluded.etag,
                   last_modified = excluded.last_modified, content_hash = excluded.content_hash,
                   resource_ids = excluded.resource_ids, fetched_at = excluded.fetched_at",
                params![
                    source_id,
                    page.url,
                    page.lastmod,
                    page.etag,
                    page.last_modified,
                    page.content_hash,
                    ids,
                    page.fetched_at.to_rfc3339()
                ],
            )?;
        }
        for url in remove {
            tx.execute("DELETE FROM sitemap_pages WHERE source_id = ?1 AND url = ?2", params![source_id, url])?;
        }
        tx.commit()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::{CatalogSourceRecord, HarvestCursor, HarvestStore, Publisher, Registry, SourceCredentials};
    use crate::resource::{CatalogFormat, PublisherId};

    fn page(url: &str, ids: &[&str]) -> SitemapPage {
        SitemapPage {
            url: url.to_string(),
            lastmod: Some("2025-03-01".to_string()),
            etag: Some("\"v1\"".to_string()),
            last_modified: None,
            content_hash: Some("abc".to_string()),
            resource_ids: ids.iter().map(|id| id.to_string()).collect(),
            fetched_at: Utc::now(),
        }
    }

    #[test]
    fn test_pages_are_stored_updated_removed_and_go_with_their_source() {
        let dir = tempfile::tempdir().unwrap();
        let registry = SqliteRegistry::open(&dir.path().join("r.sqlite3")).unwrap();
        let publisher = PublisherId::parse("acme").unwrap();
        registry
            .insert_publisher(
                &Publisher { id: publisher.clone(), name: "Acme".into(), homepage: None, created_at: Utc::now() },
                None,
            )
            .unwrap();
        let source = CatalogSourceRecord {
            id: "site".into(),
            publisher: publisher.clone(),
            url: "https://acme.example/sitemap.xml".into(),
            format: CatalogFormat::Sitemap,
            refresh_seconds: 3600,
            live: false,
            credentials: SourceCredentials::None,
            created_at: Utc::now(),
            next_run_at: None,
            cursor: HarvestCursor::default(),
        };
        registry.insert_source(&source).unwrap();
        let first = [page("https://acme.example/a", &["a"]), page("https://acme.example/b", &["b1", "b2"])];
        registry.update_sitemap_pages(&source.id, &first, &[]).unwrap();
        let mut changed = page("https://acme.example/a", &["a2"]);
        changed.lastmod = Some("2025-04-01".into());
        registry.update_sitemap_pages(&source.id, &[changed], &["https://acme.example/b".to_string()]).unwrap();
        let pages = registry.sitemap_pages(&source.id).unwrap();
        assert_eq!(pages.len(), 1);
        assert_eq!(pages[0].resource_ids, ["a2"]);
        assert_eq!(pages[0].lastmod.as_deref(), Some("2025-04-01"));
        assert!(registry.delete_source(&source.id).unwrap());
        assert!(registry.sitemap_pages(&source.id).unwrap().is_empty(), "pages go with their source");
    }
}
