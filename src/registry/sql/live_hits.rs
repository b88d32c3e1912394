//! Remembered live hits (migration `0032_live_hits`): the record as JSON, with its expiry in
//! milliseconds since the epoch.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::SqlRegistry;
use crate::registry::live_hits::LiveHitStore;
use crate::registry::RegistryError;
use crate::resource::ResourceRecord;

#[async_trait]
impl LiveHitStore for SqlRegistry {
    async fn remember_live_hits(
        &self,
        hits: &[ResourceRecord],
        expires_at: DateTime<Utc>,
    ) -> Result<(), RegistryError> {
        if hits.is_empty() {
            return Ok(());
        }
        let mut rows = Vec::with_capacity(hits.len());
        for hit in hits {
            let record = serde_json::to_string(hit).map_err(|err| RegistryError::Corrupt(err.to_string()))?;
            rows.push((hit.id().to_string(), record));
        }
        self.db
            .timed(async {
                let mut tx = self.db.begin_write().await?;
                for (id, record) in &rows {
                    sqlx::query(
                        "INSERT INTO live_hits (id, record, expires_at) VALUES ($1, $2, $3)
                         ON CONFLICT (id) DO UPDATE SET record = excluded.record, expires_at = excluded.expires_at",
                    )
                    .bind(id)
                    .bind(record)
                    .bind(expires_at.timestamp_millis())
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(())
            })
            .await
    }

    async fn live_hit(&self, id: &str, now: DateTime<Utc>) -> Result<Option<ResourceRecord>, RegistryError> {
        let record: Option<String> = self
            .db
            .timed(async {
                Ok(sqlx::query_scalar("SELECT record FROM live_hits WHERE id = $1 AND expires_at > $2")
                    .bind(id)
                    .bind(now.timestamp_millis())
                    .fetch_optional(self.db.pool())
                    .await?)
            })
            .await?;
        record
            .map(|record| {
                serde_json::from_str(&record).map_err(|err| RegistryError::Corrupt(format!("live hit: {err}")))
            })
            .transpose()
    }

    async fn purge_live_hits(&self, now: DateTime<Utc>) -> Result<usize, RegistryError> {
        self.db
            .timed(async {
                let purged = sqlx::query("DELETE FROM live_hits WHERE expires_at <= $1")
                    .bind(now.timestamp_millis())
                    .execute(self.db.pool())
                    .await?
                    .rows_affected();
                Ok(purged as usize)
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::registries;
    use super::*;
    use crate::resource::{CatalogFormat, PublisherId, Resource, ResourceKind};

    #[tokio::test]
    async fn test_live_hits_resolve_until_they_expire() {
        for registry in registries().await {
            let hit = ResourceRecord {
                publisher: PublisherId::parse("acme").unwrap(),
                source_id: "rs".into(),
                format: CatalogFormat::ResourceSearch,
                resource: Resource::new("new-1", "Brand new", "https://acme.example/new-1", ResourceKind::Link),
            };
            let now = Utc::now();
            registry.remember_live_hits(std::slice::from_ref(&hit), now + chrono::Duration::minutes(60)).await.unwrap();
            registry.remember_live_hits(std::slice::from_ref(&hit), now + chrono::Duration::minutes(90)).await.unwrap();
            assert_eq!(registry.live_hit("acme:new-1", now).await.unwrap(), Some(hit));
            assert_eq!(registry.live_hit("acme:other", now).await.unwrap(), None);
            let later = now + chrono::Duration::minutes(91);
            assert_eq!(registry.live_hit("acme:new-1", later).await.unwrap(), None);
            assert_eq!(registry.purge_live_hits(later).await.unwrap(), 1);
        }
    }
}
