//! Sitemap page state (table of migration `0040_sitemap_pages`).

use async_trait::async_trait;

use super::{get, json_list, parse_time, to_json, ts, SqlRegistry};
use crate::registry::sitemap_pages::{SitemapPage, SitemapPageStore};
use crate::registry::RegistryError;

#[async_trait]
impl SitemapPageStore for SqlRegistry {
    async fn sitemap_pages(&self, source_id: &str) -> Result<Vec<SitemapPage>, RegistryError> {
        self.db
            .timed(async {
                let rows = sqlx::query(
                    "SELECT url, lastmod, etag, last_modified, content_hash, resource_ids, fetched_at
                     FROM sitemap_pages WHERE source_id = $1 ORDER BY url",
                )
                .bind(source_id)
                .fetch_all(self.db.pool())
                .await?;
                let mut pages = Vec::with_capacity(rows.len());
                for row in &rows {
                    pages.push(SitemapPage {
                        url: get(row, "url")?,
                        lastmod: get(row, "lastmod")?,
                        etag: get(row, "etag")?,
                        last_modified: get(row, "last_modified")?,
                        content_hash: get(row, "content_hash")?,
                        resource_ids: json_list(&get::<String>(row, "resource_ids")?)?,
                        fetched_at: parse_time(&get::<String>(row, "fetched_at")?)?,
                    });
                }
                Ok(pages)
            })
            .await
    }

    async fn update_sitemap_pages(
        &self,
        source_id: &str,
        upsert: &[SitemapPage],
        remove: &[String],
    ) -> Result<(), RegistryError> {
        let mut encoded = Vec::with_capacity(upsert.len());
        for page in upsert {
            encoded.push((page, to_json(&page.resource_ids)?));
        }
        self.db
            .timed(async {
                let mut tx = self.db.begin_write().await?;
                for (page, ids) in &encoded {
                    sqlx::query(
                        "INSERT INTO sitemap_pages (source_id, url, lastmod, etag, last_modified, content_hash, resource_ids, fetched_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                         ON CONFLICT (source_id, url) DO UPDATE SET lastmod = excluded.lastmod, etag = excluded.etag,
                           last_modified = excluded.last_modified, content_hash = excluded.content_hash,
                           resource_ids = excluded.resource_ids, fetched_at = excluded.fetched_at",
                    )
                    .bind(source_id)
                    .bind(&page.url)
                    .bind(&page.lastmod)
                    .bind(&page.etag)
                    .bind(&page.last_modified)
                    .bind(&page.content_hash)
                    .bind(ids)
                    .bind(ts(page.fetched_at))
                    .execute(&mut *tx)
                    .await?;
                }
                for url in remove {
                    sqlx::query("DELETE FROM sitemap_pages WHERE source_id = $1 AND url = $2")
                        .bind(source_id)
                        .bind(url)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(())
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::super::testing::registries;
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

    #[tokio::test]
    async fn test_pages_are_stored_updated_removed_and_go_with_their_source() {
        for registry in registries().await {
            let publisher = PublisherId::parse("acme").unwrap();
            let owner =
                Publisher { id: publisher.clone(), name: "Acme".into(), homepage: None, created_at: Utc::now() };
            registry.insert_publisher(&owner, None).await.unwrap();
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
            registry.insert_source(&source).await.unwrap();
            let first = [page("https://acme.example/a", &["a"]), page("https://acme.example/b", &["b1", "b2"])];
            registry.update_sitemap_pages(&source.id, &first, &[]).await.unwrap();
            let mut changed = page("https://acme.example/a", &["a2"]);
            changed.lastmod = Some("2025-04-01".into());
            registry
                .update_sitemap_pages(&source.id, &[changed], &["https://acme.example/b".to_string()])
                .await
                .unwrap();
            let pages = registry.sitemap_pages(&source.id).await.unwrap();
            assert_eq!(pages.len(), 1);
            assert_eq!(pages[0].resource_ids, ["a2"]);
            assert_eq!(pages[0].lastmod.as_deref(), Some("2025-04-01"));
            assert!(registry.delete_source(&source.id).await.unwrap());
            assert!(registry.sitemap_pages(&source.id).await.unwrap().is_empty(), "pages go with their source");
        }
    }
}
