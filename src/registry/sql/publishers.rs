//! Publishers, their key hashes, ingest history and settings (`meta`).

use async_trait::async_trait;
use sqlx::any::AnyRow;

use super::{count, get, is_unique_violation, parse_time, to_count, to_json, ts, SqlRegistry};
use crate::registry::{DeletedPublisher, IngestRecord, Publisher, Registry, RegistryError};
use crate::resource::{CatalogFormat, PublisherId};

fn to_publisher(row: &AnyRow) -> Result<Publisher, RegistryError> {
    let id: String = get(row, "id")?;
    Ok(Publisher {
        id: PublisherId::parse(&id).map_err(|err| RegistryError::Corrupt(err.to_string()))?,
        name: get(row, "name")?,
        homepage: get(row, "homepage")?,
        created_at: parse_time(&get::<String>(row, "created_at")?)?,
    })
}

fn to_ingest(row: &AnyRow, publisher: &PublisherId) -> Result<IngestRecord, RegistryError> {
    let format: String = get(row, "format")?;
    let diagnostics: String = get(row, "diagnostics")?;
    Ok(IngestRecord {
        id: get(row, "id")?,
        publisher: publisher.clone(),
        source_id: get(row, "source_id")?,
        format: CatalogFormat::parse(&format).ok_or_else(|| RegistryError::Corrupt(format!("format {format}")))?,
        started_at: parse_time(&get::<String>(row, "started_at")?)?,
        finished_at: parse_time(&get::<String>(row, "finished_at")?)?,
        status: get(row, "status")?,
        added: to_count(get(row, "added")?),
        updated: to_count(get(row, "updated")?),
        removed: to_count(get(row, "removed")?),
        rejected: to_count(get(row, "rejected")?),
        diagnostics: serde_json::from_str(&diagnostics).map_err(|err| RegistryError::Corrupt(err.to_string()))?,
    })
}

#[async_trait]
impl Registry for SqlRegistry {
    async fn insert_publisher(&self, publisher: &Publisher, key_hash: Option<&str>) -> Result<(), RegistryError> {
        self.db
            .timed(async {
                let result = sqlx::query(
                    "INSERT INTO publishers (id, name, homepage, key_hash, created_at) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(publisher.id.as_str())
                .bind(&publisher.name)
                .bind(&publisher.homepage)
                .bind(key_hash)
                .bind(ts(publisher.created_at))
                .execute(self.db.pool())
                .await;
                match result {
                    Ok(_) => Ok(()),
                    Err(err) if is_unique_violation(&err) => {
                        Err(RegistryError::PublisherExists(publisher.id.to_string()))
                    }
                    Err(err) => Err(err.into()),
                }
            })
            .await
    }

    async fn publisher(&self, id: &PublisherId) -> Result<Option<Publisher>, RegistryError> {
        self.db
            .timed(async {
                let row = sqlx::query("SELECT id, name, homepage, created_at FROM publishers WHERE id = $1")
                    .bind(id.as_str())
                    .fetch_optional(self.db.pool())
                    .await?;
                row.as_ref().map(to_publisher).transpose()
            })
            .await
    }

    async fn publishers(&self) -> Result<Vec<Publisher>, RegistryError> {
        self.db
            .timed(async {
                let rows = sqlx::query("SELECT id, name, homepage, created_at FROM publishers ORDER BY name, id")
                    .fetch_all(self.db.pool())
                    .await?;
                rows.iter().map(to_publisher).collect()
            })
            .await
    }

    async fn delete_publisher(&self, id: &PublisherId) -> Result<Option<DeletedPublisher>, RegistryError> {
        self.db
            .timed(async {
                let mut tx = self.db.begin_write().await?;
                let id = id.as_str();
                let tools_of = "SELECT id FROM publisher_tools WHERE publisher = $1";
                for table in ["tool_tokens", "ags_grants", "brokered_launches"] {
                    sqlx::query(&format!("DELETE FROM {table} WHERE tool_id IN ({tools_of})"))
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                }
                let tools = sqlx::query("DELETE FROM publisher_tools WHERE publisher = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                sqlx::query(
                    "DELETE FROM harvest_runs WHERE source_id IN (SELECT id FROM catalog_sources WHERE publisher = $1)",
                )
                .bind(id)
                .execute(&mut *tx)
                .await?;
                let sources = sqlx::query("DELETE FROM catalog_sources WHERE publisher = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                sqlx::query("DELETE FROM ingests WHERE publisher = $1").bind(id).execute(&mut *tx).await?;
                let existed = sqlx::query("DELETE FROM publishers WHERE id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
                    > 0;
                tx.commit().await?;
                Ok(existed.then_some(DeletedPublisher { sources: sources as usize, tools: tools as usize }))
            })
            .await
    }

    async fn publisher_key_hash(&self, id: &PublisherId) -> Result<Option<String>, RegistryError> {
        self.db
            .timed(async {
                let hash: Option<Option<String>> = sqlx::query_scalar("SELECT key_hash FROM publishers WHERE id = $1")
                    .bind(id.as_str())
                    .fetch_optional(self.db.pool())
                    .await?;
                Ok(hash.flatten())
            })
            .await
    }

    async fn set_publisher_key_hash(&self, id: &PublisherId, key_hash: &str) -> Result<(), RegistryError> {
        self.db
            .timed(async {
                sqlx::query("UPDATE publishers SET key_hash = $2 WHERE id = $1")
                    .bind(id.as_str())
                    .bind(key_hash)
                    .execute(self.db.pool())
                    .await?;
                Ok(())
            })
            .await
    }

    async fn record_ingest(&self, record: &IngestRecord) -> Result<i64, RegistryError> {
        let diagnostics = to_json(&record.diagnostics)?;
        self.db
            .timed(async {
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO ingests (publisher, source_id, format, started_at, finished_at, status, added, updated, removed, rejected, diagnostics)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
                )
                .bind(record.publisher.as_str())
                .bind(&record.source_id)
                .bind(record.format.as_str())
                .bind(ts(record.started_at))
                .bind(ts(record.finished_at))
                .bind(&record.status)
                .bind(count(record.added))
                .bind(count(record.updated))
                .bind(count(record.removed))
                .bind(count(record.rejected))
                .bind(&diagnostics)
                .fetch_one(self.db.pool())
                .await?;
                Ok(id)
            })
            .await
    }

    async fn ingests(&self, publisher: &PublisherId, limit: usize) -> Result<Vec<IngestRecord>, RegistryError> {
        self.db
            .timed(async {
                let rows = sqlx::query(
                    "SELECT id, source_id, format, started_at, finished_at, status, added, updated, removed, rejected, diagnostics
                     FROM ingests WHERE publisher = $1 ORDER BY id DESC LIMIT $2",
                )
                .bind(publisher.as_str())
                .bind(count(limit))
                .fetch_all(self.db.pool())
                .await?;
                rows.iter().map(|row| to_ingest(row, publisher)).collect()
            })
            .await
    }

    async fn meta(&self, key: &str) -> Result<Option<String>, RegistryError> {
        self.db
            .timed(async {
                Ok(sqlx::query_scalar("SELECT value FROM meta WHERE key = $1")
                    .bind(key)
                    .fetch_optional(self.db.pool())
                    .await?)
            })
            .await
    }

    async fn set_meta(&self, key: &str, value: &str) -> Result<(), RegistryError> {
        self.db
            .timed(async {
                sqlx::query(
                    "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                )
                .bind(key)
                .bind(value)
                .execute(self.db.pool())
                .await?;
                Ok(())
            })
            .await
    }

    async fn claim_meta(&self, key: &str, value: &str) -> Result<bool, RegistryError> {
        self.db
            .timed(async {
                let inserted =
                    sqlx::query("INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING")
                        .bind(key)
                        .bind(value)
                        .execute(self.db.pool())
                        .await?
                        .rows_affected();
                Ok(inserted == 1)
            })
            .await
    }

    async fn ping(&self) -> Result<(), RegistryError> {
        self.db
            .timed(async {
                let _: i64 = sqlx::query_scalar("SELECT 1").fetch_one(self.db.pool()).await?;
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
    use crate::registry::{
        AgsGrant, BrokerStore, BrokeredLaunch, CatalogSourceRecord, HarvestRunRecord, HarvestStore, HarvestTrigger,
        PublisherTool, SourceCredentials, ToolToken,
    };

    fn publisher(id: &str) -> Publisher {
        Publisher {
            id: PublisherId::parse(id).unwrap(),
            name: id.to_uppercase(),
            homepage: None,
            created_at: Utc::now(),
        }
    }

    #[tokio::test]
    async fn test_publishers_persist_across_reopen_and_ids_are_unique() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("registry.sqlite3");
        {
            let registry = SqlRegistry::open_sqlite(&path).await.unwrap();
            registry.insert_publisher(&publisher("acme"), Some("hash")).await.unwrap();
            assert!(matches!(
                registry.insert_publisher(&publisher("acme"), None).await,
                Err(RegistryError::PublisherExists(_))
            ));
            registry.close().await;
        }
        let registry = SqlRegistry::open_sqlite(&path).await.unwrap();
        let id = PublisherId::parse("acme").unwrap();
        assert_eq!(registry.publisher(&id).await.unwrap().unwrap().name, "ACME");
        assert_eq!(registry.publisher_key_hash(&id).await.unwrap().as_deref(), Some("hash"));
        assert_eq!(registry.publishers().await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn test_publishers_and_meta_on_every_database() {
        for registry in registries().await {
            registry.insert_publisher(&publisher("acme"), Some("hash")).await.unwrap();
            assert!(matches!(
                registry.insert_publisher(&publisher("acme"), None).await,
                Err(RegistryError::PublisherExists(_))
            ));
            let id = PublisherId::parse("acme").unwrap();
            registry.set_publisher_key_hash(&id, "other").await.unwrap();
            assert_eq!(registry.publisher_key_hash(&id).await.unwrap().as_deref(), Some("other"));
            assert!(registry.publisher(&PublisherId::parse("nobody").unwrap()).await.unwrap().is_none());
            assert_eq!(registry.meta("k").await.unwrap(), None);
            registry.set_meta("k", "1").await.unwrap();
            registry.set_meta("k", "2").await.unwrap();
            assert_eq!(registry.meta("k").await.unwrap().as_deref(), Some("2"));
            assert!(registry.claim_meta("once", "a").await.unwrap());
            assert!(!registry.claim_meta("once", "b").await.unwrap(), "claimed once");
            assert_eq!(registry.meta("once").await.unwrap().as_deref(), Some("a"));
            registry.ping().await.unwrap();
        }
    }

    /// A publisher with one of everything that hangs off it: a feed with a run, an ingest, and
    /// a tool with a token, a grade grant and a pending brokered launch.
    async fn publisher_with_everything(registry: &SqlRegistry, id: &str) -> String {
        registry.insert_publisher(&publisher(id), Some("hash")).await.unwrap();
        let publisher_id = PublisherId::parse(id).unwrap();
        let source = CatalogSourceRecord {
            id: format!("src-{id}"),
            publisher: publisher_id.clone(),
            url: format!("https://{id}.example/catalog.json"),
            format: CatalogFormat::Lrmi,
            refresh_seconds: 3600,
            live: false,
            credentials: SourceCredentials::None,
            created_at: Utc::now(),
            next_run_at: None,
            cursor: Default::default(),
        };
        registry.insert_source(&source).await.unwrap();
        let run = HarvestRunRecord::pending(&source, HarvestTrigger::Manual);
        registry.insert_run(&run).await.unwrap();
        registry
            .record_ingest(&IngestRecord {
                id: 0,
                publisher: publisher_id.clone(),
                source_id: "push-lrmi".into(),
                format: CatalogFormat::Lrmi,
                started_at: Utc::now(),
                finished_at: Utc::now(),
                status: "SUCCEEDED".into(),
                added: 1,
                updated: 0,
                removed: 0,
                rejected: 0,
                diagnostics: vec![],
            })
            .await
            .unwrap();
        let tool = registry
            .upsert_tool(&PublisherTool {
                id: format!("tool-{id}"),
                publisher: publisher_id,
                name: None,
                login_url: format!("https://{id}.example/login"),
                launch_url: format!("https://{id}.example/launch"),
                redirect_uris: vec![format!("https://{id}.example/launch")],
                client_id: format!("{id}-client"),
                deployment_id: "1".into(),
                jwks_url: format!("https://{id}.example/jwks"),
                share_personal_data: false,
                created_at: Utc::now(),
            })
            .await
            .unwrap();
        let later = Utc::now() + chrono::Duration::hours(1);
        registry
            .insert_tool_token(&ToolToken {
                token_hash: format!("token-{id}"),
                tool_id: tool.id.clone(),
                scopes: vec![],
                expires_at: later,
            })
            .await
            .unwrap();
        registry
            .upsert_grant(&AgsGrant {
                id: format!("grant-{id}"),
                tool_id: tool.id.clone(),
                platform_id: "platform-1".into(),
                lineitem_url: "https://lms.example/lineitems/1".into(),
                lms_user_id: "u1".into(),
                tool_user_id: "p1".into(),
                scopes: vec![],
                created_at: Utc::now(),
            })
            .await
            .unwrap();
        registry
            .insert_brokered_launch(&BrokeredLaunch {
                id: format!("launch-{id}"),
                tool_id: tool.id.clone(),
                resource_id: format!("{id}:r1"),
                claims_json: "{}".into(),
                created_at: Utc::now(),
                expires_at: later,
                used_at: None,
            })
            .await
            .unwrap();
        tool.id
    }

    /// Whether each of the publisher's rows is still there, table by table.
    async fn rows_of(registry: &SqlRegistry, id: &str, tool_id: &str) -> [bool; 8] {
        let publisher_id = PublisherId::parse(id).unwrap();
        [
            registry.publisher(&publisher_id).await.unwrap().is_some(),
            registry.source(&format!("src-{id}")).await.unwrap().is_some(),
            !registry.runs(&format!("src-{id}"), 10).await.unwrap().is_empty(),
            !registry.ingests(&publisher_id, 10).await.unwrap().is_empty(),
            registry.tool(tool_id).await.unwrap().is_some(),
            registry.tool_token(&format!("token-{id}")).await.unwrap().is_some(),
            registry.grant(&format!("grant-{id}")).await.unwrap().is_some(),
            registry.brokered_launch(&format!("launch-{id}")).await.unwrap().is_some(),
        ]
    }

    #[tokio::test]
    async fn test_deleting_a_publisher_takes_everything_registered_under_it_and_nothing_else() {
        for registry in registries().await {
            let acme_tool = publisher_with_everything(&registry, "acme").await;
            let other_tool = publisher_with_everything(&registry, "other").await;
            assert_eq!(rows_of(&registry, "acme", &acme_tool).await, [true; 8]);

            let acme = PublisherId::parse("acme").unwrap();
            assert_eq!(
                registry.delete_publisher(&acme).await.unwrap(),
                Some(DeletedPublisher { sources: 1, tools: 1 })
            );
            assert_eq!(rows_of(&registry, "acme", &acme_tool).await, [false; 8]);
            assert!(registry.publisher_key_hash(&acme).await.unwrap().is_none());
            assert_eq!(rows_of(&registry, "other", &other_tool).await, [true; 8], "another publisher keeps everything");
            assert_eq!(registry.delete_publisher(&acme).await.unwrap(), None);
            // The id can be registered again, from scratch.
            registry.insert_publisher(&publisher("acme"), None).await.unwrap();
        }
    }

    #[tokio::test]
    async fn test_deleting_a_tool_takes_its_tokens_grants_and_launches_only() {
        for registry in registries().await {
            let acme_tool = publisher_with_everything(&registry, "acme").await;
            let other_tool = publisher_with_everything(&registry, "other").await;
            assert!(registry.delete_tool(&acme_tool).await.unwrap());
            assert_eq!(
                rows_of(&registry, "acme", &acme_tool).await,
                [true, true, true, true, false, false, false, false]
            );
            assert_eq!(rows_of(&registry, "other", &other_tool).await, [true; 8]);
            assert!(!registry.delete_tool(&acme_tool).await.unwrap());
        }
    }

    #[tokio::test]
    async fn test_ingest_history_round_trips_newest_first() {
        for registry in registries().await {
            registry.insert_publisher(&publisher("acme"), None).await.unwrap();
            let id = PublisherId::parse("acme").unwrap();
            for n in 0..3 {
                let record = IngestRecord {
                    id: 0,
                    publisher: id.clone(),
                    source_id: "push-lrmi".into(),
                    format: CatalogFormat::Lrmi,
                    started_at: Utc::now(),
                    finished_at: Utc::now(),
                    status: "SUCCEEDED".into(),
                    added: n,
                    updated: 0,
                    removed: 0,
                    rejected: 0,
                    diagnostics: vec![crate::registry::StoredDiagnostic {
                        item: Some("x".into()),
                        severity: "WARNING".into(),
                        message: "m".into(),
                    }],
                };
                registry.record_ingest(&record).await.unwrap();
            }
            let history = registry.ingests(&id, 2).await.unwrap();
            assert_eq!(history.iter().map(|r| r.added).collect::<Vec<_>>(), vec![2, 1]);
            assert_eq!(history[0].diagnostics[0].item.as_deref(), Some("x"));
        }
    }
}
