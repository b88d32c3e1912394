//! Catalog sources and harvest runs (tables of migration `0002_catalog_sources`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;

use super::{
    count, get, is_unique_violation, optional_time, parse_time, to_count, to_json, ts, DatabaseKind, SqlRegistry,
};
use crate::registry::sealing::Sealer;
use crate::registry::sources::{
    CatalogSourceRecord, HarvestCursor, HarvestRunRecord, HarvestStatus, HarvestStore, HarvestTrigger,
    SourceCredentials,
};
use crate::registry::{RegistryError, StoredDiagnostic};
use crate::resource::{CatalogFormat, PublisherId};

const SOURCE_COLUMNS: &str = "id, publisher, url, format, refresh_seconds, live, credentials, created_at, next_run_at, etag, last_modified, content_hash, harvested_since";

const RUN_COLUMNS: &str = "id, source_id, publisher, trigger, status, started_at, finished_at, added, updated, removed, rejected, http_status, requests, diagnostics";

fn to_source(row: &AnyRow, sealer: &Sealer) -> Result<CatalogSourceRecord, RegistryError> {
    let id: String = get(row, "id")?;
    let credentials: String = get(row, "credentials")?;
    let credentials = sealer.open_text(&credentials).map_err(|err| RegistryError::Storage(err.to_string()))?;
    let credentials: SourceCredentials = serde_json::from_str(&credentials)
        // Never echo the column: it holds secrets.
        .map_err(|_| RegistryError::Corrupt(format!("credentials of source {id}")))?;
    let publisher: String = get(row, "publisher")?;
    let format: String = get(row, "format")?;
    Ok(CatalogSourceRecord {
        publisher: PublisherId::parse(&publisher).map_err(|err| RegistryError::Corrupt(err.to_string()))?,
        format: CatalogFormat::parse(&format).ok_or_else(|| RegistryError::Corrupt(format!("format {format}")))?,
        url: get(row, "url")?,
        refresh_seconds: u64::try_from(get::<i64>(row, "refresh_seconds")?).unwrap_or(0),
        live: get::<i64>(row, "live")? != 0,
        credentials,
        created_at: parse_time(&get::<String>(row, "created_at")?)?,
        next_run_at: optional_time(get(row, "next_run_at")?)?,
        cursor: HarvestCursor {
            etag: get(row, "etag")?,
            last_modified: get(row, "last_modified")?,
            content_hash: get(row, "content_hash")?,
            harvested_since: optional_time(get(row, "harvested_since")?)?,
        },
        id,
    })
}

fn to_run(row: &AnyRow) -> Result<HarvestRunRecord, RegistryError> {
    let diagnostics: String = get(row, "diagnostics")?;
    let diagnostics: Vec<StoredDiagnostic> =
        serde_json::from_str(&diagnostics).map_err(|err| RegistryError::Corrupt(err.to_string()))?;
    let publisher: String = get(row, "publisher")?;
    let status: String = get(row, "status")?;
    Ok(HarvestRunRecord {
        id: get(row, "id")?,
        source_id: get(row, "source_id")?,
        publisher: PublisherId::parse(&publisher).map_err(|err| RegistryError::Corrupt(err.to_string()))?,
        trigger: HarvestTrigger::parse(&get::<String>(row, "trigger")?),
        status: HarvestStatus::parse(&status)
            .ok_or_else(|| RegistryError::Corrupt(format!("harvest status {status}")))?,
        started_at: parse_time(&get::<String>(row, "started_at")?)?,
        finished_at: optional_time(get(row, "finished_at")?)?,
        added: to_count(get(row, "added")?),
        updated: to_count(get(row, "updated")?),
        removed: to_count(get(row, "removed")?),
        rejected: to_count(get(row, "rejected")?),
        http_status: get::<Option<i64>>(row, "http_status")?.and_then(|s| u16::try_from(s).ok()),
        requests: to_count(get(row, "requests")?),
        diagnostics,
    })
}

impl SqlRegistry {
    async fn query_sources(
        &self,
        filter: &str,
        value: Option<&str>,
    ) -> Result<Vec<CatalogSourceRecord>, RegistryError> {
        self.db
            .timed(async {
                let sql = format!("SELECT {SOURCE_COLUMNS} FROM catalog_sources {filter} ORDER BY created_at, id");
                let mut query = sqlx::query(&sql);
                if let Some(value) = value {
                    query = query.bind(value);
                }
                let rows = query.fetch_all(self.db.pool()).await?;
                rows.iter().map(|row| to_source(row, &self.sealer)).collect()
            })
            .await
    }
}

#[async_trait]
impl HarvestStore for SqlRegistry {
    async fn insert_source(&self, source: &CatalogSourceRecord) -> Result<(), RegistryError> {
        // Secrets sealed; a public feed's credentials stay readable JSON.
        let credentials = match source.credentials {
            SourceCredentials::None => to_json(&source.credentials)?,
            _ => self.sealer.seal(to_json(&source.credentials)?.as_bytes()),
        };
        self.db
            .timed(async {
                let result = sqlx::query(&format!(
                    "INSERT INTO catalog_sources ({SOURCE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
                ))
                .bind(&source.id)
                .bind(source.publisher.as_str())
                .bind(&source.url)
                .bind(source.format.as_str())
                .bind(i64::try_from(source.refresh_seconds).unwrap_or(i64::MAX))
                .bind(i64::from(source.live))
                .bind(&credentials)
                .bind(ts(source.created_at))
                .bind(source.next_run_at.map(ts))
                .bind(&source.cursor.etag)
                .bind(&source.cursor.last_modified)
                .bind(&source.cursor.content_hash)
                .bind(source.cursor.harvested_since.map(ts))
                .execute(self.db.pool())
                .await;
                match result {
                    Ok(_) => Ok(()),
                    Err(err) if is_unique_violation(&err) => Err(RegistryError::SourceExists(source.id.clone())),
                    Err(err) => Err(err.into()),
                }
            })
            .await
    }

    async fn source(&self, id: &str) -> Result<Option<CatalogSourceRecord>, RegistryError> {
        Ok(self.query_sources("WHERE id = $1", Some(id)).await?.into_iter().next())
    }

    async fn delete_source(&self, id: &str) -> Result<bool, RegistryError> {
        self.db
            .timed(async {
                let mut tx = self.db.begin_write().await?;
                sqlx::query("DELETE FROM harvest_runs WHERE source_id = $1").bind(id).execute(&mut *tx).await?;
                let deleted = sqlx::query("DELETE FROM catalog_sources WHERE id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                tx.commit().await?;
                Ok(deleted > 0)
            })
            .await
    }

    async fn sources_of(&self, publisher: &PublisherId) -> Result<Vec<CatalogSourceRecord>, RegistryError> {
        self.query_sources("WHERE publisher = $1", Some(publisher.as_str())).await
    }

    async fn all_sources(&self) -> Result<Vec<CatalogSourceRecord>, RegistryError> {
        self.query_sources("", None).await
    }

    async fn set_next_run(&self, id: &str, next_run_at: Option<DateTime<Utc>>) -> Result<(), RegistryError> {
        self.db
            .timed(async {
                sqlx::query("UPDATE catalog_sources SET next_run_at = $2 WHERE id = $1")
                    .bind(id)
                    .bind(next_run_at.map(ts))
                    .execute(self.db.pool())
                    .await?;
                Ok(())
            })
            .await
    }

    async fn set_cursor(&self, id: &str, cursor: &HarvestCursor) -> Result<(), RegistryError> {
        self.db
            .timed(async {
                sqlx::query(
                    "UPDATE catalog_sources SET etag = $2, last_modified = $3, content_hash = $4, harvested_since = $5 WHERE id = $1",
                )
                .bind(id)
                .bind(&cursor.etag)
                .bind(&cursor.last_modified)
                .bind(&cursor.content_hash)
                .bind(cursor.harvested_since.map(ts))
                .execute(self.db.pool())
                .await?;
                Ok(())
            })
            .await
    }

    async fn insert_run(&self, run: &HarvestRunRecord) -> Result<i64, RegistryError> {
        let diagnostics = to_json(&run.diagnostics)?;
        self.db
            .timed(async {
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO harvest_runs (source_id, publisher, trigger, status, started_at, finished_at, added, updated, removed, rejected, http_status, requests, diagnostics)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
                )
                .bind(&run.source_id)
                .bind(run.publisher.as_str())
                .bind(run.trigger.as_str())
                .bind(run.status.as_str())
                .bind(ts(run.started_at))
                .bind(run.finished_at.map(ts))
                .bind(count(run.added))
                .bind(count(run.updated))
                .bind(count(run.removed))
                .bind(count(run.rejected))
                .bind(run.http_status.map(i64::from))
                .bind(count(run.requests))
                .bind(&diagnostics)
                .fetch_one(self.db.pool())
                .await?;
                Ok(id)
            })
            .await
    }

    async fn update_run(&self, run: &HarvestRunRecord) -> Result<(), RegistryError> {
        let diagnostics = to_json(&run.diagnostics)?;
        self.db
            .timed(async {
                sqlx::query(
                    "UPDATE harvest_runs SET status = $2, started_at = $3, finished_at = $4, added = $5, updated = $6, removed = $7, rejected = $8, http_status = $9, requests = $10, diagnostics = $11 WHERE id = $1",
                )
                .bind(run.id)
                .bind(run.status.as_str())
                .bind(ts(run.started_at))
                .bind(run.finished_at.map(ts))
                .bind(count(run.added))
                .bind(count(run.updated))
                .bind(count(run.removed))
                .bind(count(run.rejected))
                .bind(run.http_status.map(i64::from))
                .bind(count(run.requests))
                .bind(&diagnostics)
                .execute(self.db.pool())
                .await?;
                Ok(())
            })
            .await
    }

    async fn runs(&self, source_id: &str, limit: usize) -> Result<Vec<HarvestRunRecord>, RegistryError> {
        self.db
            .timed(async {
                let rows = sqlx::query(&format!(
                    "SELECT {RUN_COLUMNS} FROM harvest_runs WHERE source_id = $1 ORDER BY id DESC LIMIT $2"
                ))
                .bind(source_id)
                .bind(count(limit))
                .fetch_all(self.db.pool())
                .await?;
                rows.iter().map(to_run).collect()
            })
            .await
    }

    async fn fail_unfinished_runs(&self, message: &str) -> Result<usize, RegistryError> {
        let diagnostics =
            to_json(&[StoredDiagnostic { item: None, severity: "ERROR".to_string(), message: message.to_string() }])?;
        let now = Utc::now();
        self.db
            .timed(async {
                let changed = sqlx::query(
                    "UPDATE harvest_runs SET status = 'FAILED', finished_at = $1, diagnostics = $2
                     WHERE status IN ('PENDING', 'RUNNING')
                       AND source_id NOT IN (SELECT id FROM catalog_sources WHERE lease_until > $3)",
                )
                .bind(ts(now))
                .bind(&diagnostics)
                .bind(now.timestamp_millis())
                .execute(self.db.pool())
                .await?
                .rows_affected();
                Ok(changed as usize)
            })
            .await
    }

    async fn fail_unfinished_runs_of(&self, source_id: &str, message: &str) -> Result<usize, RegistryError> {
        let diagnostics =
            to_json(&[StoredDiagnostic { item: None, severity: "ERROR".to_string(), message: message.to_string() }])?;
        self.db
            .timed(async {
                let changed = sqlx::query(
                    "UPDATE harvest_runs SET status = 'FAILED', finished_at = $1, diagnostics = $2
                     WHERE source_id = $3 AND status IN ('PENDING', 'RUNNING')",
                )
                .bind(ts(Utc::now()))
                .bind(&diagnostics)
                .bind(source_id)
                .execute(self.db.pool())
                .await?
                .rows_affected();
                Ok(changed as usize)
            })
            .await
    }

    async fn claim_due_source(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        ttl: chrono::Duration,
    ) -> Result<Option<CatalogSourceRecord>, RegistryError> {
        // PostgreSQL: another replica choosing at the same moment skips the row this one locked.
        let skip_locked = match self.db.kind() {
            DatabaseKind::Postgres => " FOR UPDATE SKIP LOCKED",
            DatabaseKind::Sqlite => "",
        };
        self.db
            .timed(async {
                let row = sqlx::query(&format!(
                    "UPDATE catalog_sources SET lease_owner = $1, lease_until = $2
                     WHERE id = (SELECT id FROM catalog_sources
                                 WHERE (next_run_at IS NULL OR next_run_at <= $3)
                                   AND (lease_until IS NULL OR lease_until <= $4)
                                 ORDER BY next_run_at NULLS FIRST, id LIMIT 1{skip_locked})
                     RETURNING {SOURCE_COLUMNS}"
                ))
                .bind(owner)
                .bind((now + ttl).timestamp_millis())
                .bind(ts(now))
                .bind(now.timestamp_millis())
                .fetch_optional(self.db.pool())
                .await?;
                row.as_ref().map(|row| to_source(row, &self.sealer)).transpose()
            })
            .await
    }

    async fn claim_source(
        &self,
        source_id: &str,
        owner: &str,
        now: DateTime<Utc>,
        ttl: chrono::Duration,
    ) -> Result<bool, RegistryError> {
        self.db
            .timed(async {
                let changed = sqlx::query(
                    "UPDATE catalog_sources SET lease_owner = $1, lease_until = $2
                     WHERE id = $3 AND (lease_until IS NULL OR lease_until <= $4)",
                )
                .bind(owner)
                .bind((now + ttl).timestamp_millis())
                .bind(source_id)
                .bind(now.timestamp_millis())
                .execute(self.db.pool())
                .await?
                .rows_affected();
                Ok(changed == 1)
            })
            .await
    }

    async fn renew_lease(&self, source_id: &str, owner: &str, until: DateTime<Utc>) -> Result<bool, RegistryError> {
        self.db
            .timed(async {
                let changed =
                    sqlx::query("UPDATE catalog_sources SET lease_until = $1 WHERE id = $2 AND lease_owner = $3")
                        .bind(until.timestamp_millis())
                        .bind(source_id)
                        .bind(owner)
                        .execute(self.db.pool())
                        .await?
                        .rows_affected();
                Ok(changed == 1)
            })
            .await
    }

    async fn release_lease(&self, source_id: &str, owner: &str) -> Result<(), RegistryError> {
        self.db
            .timed(async {
                sqlx::query(
                    "UPDATE catalog_sources SET lease_owner = NULL, lease_until = NULL WHERE id = $1 AND lease_owner = $2",
                )
                .bind(source_id)
                .bind(owner)
                .execute(self.db.pool())
                .await?;
                Ok(())
            })
            .await
    }

    async fn lease_holder(&self, source_id: &str, now: DateTime<Utc>) -> Result<Option<String>, RegistryError> {
        self.db
            .timed(async {
                let holder: Option<Option<String>> =
                    sqlx::query_scalar("SELECT lease_owner FROM catalog_sources WHERE id = $1 AND lease_until > $2")
                        .bind(source_id)
                        .bind(now.timestamp_millis())
                        .fetch_optional(self.db.pool())
                        .await?;
                Ok(holder.flatten())
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::registries;
    use super::*;
    use crate::registry::{Publisher, Registry};

    async fn with_publisher(registry: &SqlRegistry) -> PublisherId {
        let id = PublisherId::parse("acme").unwrap();
        registry
            .insert_publisher(
                &Publisher { id: id.clone(), name: "Acme".into(), homepage: None, created_at: Utc::now() },
                None,
            )
            .await
            .unwrap();
        id
    }

    fn source(publisher: &PublisherId) -> CatalogSourceRecord {
        CatalogSourceRecord {
            id: "src-1".into(),
            publisher: publisher.clone(),
            url: "https://feeds.example.com/rs/v1p0".into(),
            format: CatalogFormat::ResourceSearch,
            refresh_seconds: 3600,
            live: true,
            credentials: SourceCredentials::OAuthClient {
                token_url: "https://auth.example.com/token".into(),
                client_id: "gateway".into(),
                client_secret: "s3cret-value".into(),
                scope: Some("rs.read".into()),
            },
            created_at: Utc::now(),
            next_run_at: None,
            cursor: HarvestCursor::default(),
        }
    }

    #[tokio::test]
    async fn test_sources_round_trip_with_cursor_and_schedule() {
        for registry in registries().await {
            let publisher = with_publisher(&registry).await;
            let stored = source(&publisher);
            registry.insert_source(&stored).await.unwrap();
            assert!(matches!(registry.insert_source(&stored).await, Err(RegistryError::SourceExists(_))));
            let cursor = HarvestCursor {
                etag: Some("\"v1\"".into()),
                last_modified: None,
                content_hash: Some("abc".into()),
                harvested_since: Some(Utc::now()),
            };
            registry.set_cursor("src-1", &cursor).await.unwrap();
            let at = Utc::now();
            registry.set_next_run("src-1", Some(at)).await.unwrap();
            let loaded = registry.source("src-1").await.unwrap().unwrap();
            assert_eq!(loaded.credentials, stored.credentials);
            assert!(loaded.live);
            assert_eq!(loaded.refresh_seconds, 3600);
            assert_eq!(loaded.cursor.etag, cursor.etag);
            assert_eq!(loaded.next_run_at.map(|t| t.timestamp()), Some(at.timestamp()));
            assert_eq!(registry.sources_of(&publisher).await.unwrap().len(), 1);
            assert_eq!(registry.all_sources().await.unwrap().len(), 1);
            assert!(!format!("{:?}", loaded.credentials).contains("s3cret"));
        }
    }

    #[tokio::test]
    async fn test_runs_newest_first_and_unfinished_runs_fail_on_restart() {
        for registry in registries().await {
            let publisher = with_publisher(&registry).await;
            let stored = source(&publisher);
            registry.insert_source(&stored).await.unwrap();
            let mut first = HarvestRunRecord::pending(&stored, HarvestTrigger::Manual);
            first.id = registry.insert_run(&first).await.unwrap();
            first.status = HarvestStatus::Succeeded;
            first.added = 7;
            first.http_status = Some(200);
            registry.update_run(&first).await.unwrap();
            let second = HarvestRunRecord::pending(&stored, HarvestTrigger::Schedule);
            registry.insert_run(&second).await.unwrap();
            assert_eq!(registry.fail_unfinished_runs("interrupted").await.unwrap(), 1);
            let runs = registry.runs("src-1", 10).await.unwrap();
            assert_eq!(runs.len(), 2);
            assert_eq!(runs[0].status, HarvestStatus::Failed);
            assert_eq!(runs[0].diagnostics[0].message, "interrupted");
            assert_eq!(runs[1].added, 7);
            assert_eq!(runs[1].http_status, Some(200));
            assert_eq!(runs[1].trigger, HarvestTrigger::Manual);
        }
    }

    #[tokio::test]
    async fn test_a_due_source_is_leased_to_one_replica_until_its_lease_runs_out() {
        for registry in registries().await {
            let publisher = with_publisher(&registry).await;
            let now = Utc::now();
            let due =
                CatalogSourceRecord { next_run_at: Some(now - chrono::Duration::seconds(5)), ..source(&publisher) };
            registry.insert_source(&due).await.unwrap();
            let later = CatalogSourceRecord {
                id: "src-later".into(),
                url: "https://example.org/later.json".into(),
                next_run_at: Some(now + chrono::Duration::hours(1)),
                ..source(&publisher)
            };
            registry.insert_source(&later).await.unwrap();
            let ttl = chrono::Duration::seconds(30);
            let first = registry.claim_due_source("a", now, ttl).await.unwrap();
            assert_eq!(first.map(|s| s.id).as_deref(), Some("src-1"));
            assert!(
                registry.claim_due_source("b", now, ttl).await.unwrap().is_none(),
                "leased, and the other is not due"
            );
            assert!(!registry.claim_source("src-1", "b", now, ttl).await.unwrap());
            assert_eq!(registry.lease_holder("src-1", now).await.unwrap().as_deref(), Some("a"));
            assert!(registry.renew_lease("src-1", "a", now + ttl * 2).await.unwrap());
            assert!(!registry.renew_lease("src-1", "b", now + ttl * 2).await.unwrap(), "not b's");

            // a dies: once its lease has run out, b takes the source over, and a's renewal fails.
            let expired = now + ttl * 3;
            let taken = registry.claim_due_source("b", expired, ttl).await.unwrap();
            assert_eq!(taken.map(|s| s.id).as_deref(), Some("src-1"));
            assert!(!registry.renew_lease("src-1", "a", expired + ttl).await.unwrap());
            registry.release_lease("src-1", "a").await.unwrap();
            assert_eq!(
                registry.lease_holder("src-1", expired).await.unwrap().as_deref(),
                Some("b"),
                "a cannot release b's"
            );
            registry.release_lease("src-1", "b").await.unwrap();
            assert_eq!(registry.lease_holder("src-1", expired).await.unwrap(), None);
            assert!(registry.claim_source("src-later", "a", expired, ttl).await.unwrap(), "by hand, not due");
        }
    }

    #[tokio::test]
    async fn test_deleting_a_source_takes_its_runs() {
        for registry in registries().await {
            let publisher = with_publisher(&registry).await;
            let stored = source(&publisher);
            registry.insert_source(&stored).await.unwrap();
            registry.insert_run(&HarvestRunRecord::pending(&stored, HarvestTrigger::Manual)).await.unwrap();
            let kept = CatalogSourceRecord {
                id: "src-2".into(),
                url: "https://example.org/other.json".into(),
                ..stored.clone()
            };
            registry.insert_source(&kept).await.unwrap();
            registry.insert_run(&HarvestRunRecord::pending(&kept, HarvestTrigger::Manual)).await.unwrap();
            assert!(registry.delete_source("src-1").await.unwrap());
            assert!(registry.source("src-1").await.unwrap().is_none());
            assert!(registry.runs("src-1", 10).await.unwrap().is_empty());
            let left: Vec<String> = registry.sources_of(&publisher).await.unwrap().into_iter().map(|s| s.id).collect();
            assert_eq!(left, vec!["src-2"], "the publisher's other source stays");
            assert_eq!(registry.runs("src-2", 10).await.unwrap().len(), 1);
            assert!(!registry.delete_source("src-1").await.unwrap());
            // The id is free again.
            registry.insert_source(&stored).await.unwrap();
        }
    }
}
