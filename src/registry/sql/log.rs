//! The catalog log in SQL (migration `0030_catalog_log`).
//!
//! Positions come from a one-row counter that every append increments inside its transaction:
//! the row lock orders appends, so positions are handed out in commit order and a replica
//! reading "everything after n" can never see n + 2 before n + 1 commits.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::{Any, Transaction};

use super::{count, get, parse_time, ts, DatabaseKind, SqlRegistry};
use crate::registry::log::{
    decode_documents, encode_documents, CatalogLog, LogEntry, LogKind, LoggedRemoval, NewIngest,
};
use crate::registry::{DeletedPublisher, RegistryError};
use crate::resource::{CatalogFormat, IngestMode, PublisherId};

fn kind_columns(kind: LogKind) -> (&'static str, Option<&'static str>, Option<&'static str>) {
    match kind {
        LogKind::Ingest { format, mode } => ("INGEST", Some(format.as_str()), Some(mode.as_str())),
        LogKind::RemoveSource => ("REMOVE_SOURCE", None, None),
        LogKind::RemovePublisher => ("REMOVE_PUBLISHER", None, None),
    }
}

fn to_entry(row: &AnyRow) -> Result<LogEntry, RegistryError> {
    let kind: String = get(row, "kind")?;
    let kind = match kind.as_str() {
        "INGEST" => {
            let format: Option<String> = get(row, "format")?;
            let mode: Option<String> = get(row, "mode")?;
            let format = format.as_deref().and_then(CatalogFormat::parse);
            let mode = mode.as_deref().and_then(IngestMode::parse);
            match (format, mode) {
                (Some(format), Some(mode)) => LogKind::Ingest { format, mode },
                _ => return Err(RegistryError::Corrupt("catalog log entry without format or mode".into())),
            }
        }
        "REMOVE_SOURCE" => LogKind::RemoveSource,
        "REMOVE_PUBLISHER" => LogKind::RemovePublisher,
        other => return Err(RegistryError::Corrupt(format!("catalog log entry of kind {other}"))),
    };
    let publisher: String = get(row, "publisher")?;
    Ok(LogEntry {
        seq: u64::try_from(get::<i64>(row, "seq")?).unwrap_or(0),
        publisher: PublisherId::parse(&publisher).map_err(|err| RegistryError::Corrupt(err.to_string()))?,
        source_id: get(row, "source_id")?,
        kind,
        created_at: parse_time(&get::<String>(row, "created_at")?)?,
    })
}

impl SqlRegistry {
    /// `FOR SHARE` where the database has row locks: the row then cannot be deleted (a removal)
    /// until this transaction ends. SQLite's one writer at a time gives the same guarantee.
    fn share_lock(&self) -> &'static str {
        match self.db.kind() {
            DatabaseKind::Postgres => " FOR SHARE",
            DatabaseKind::Sqlite => "",
        }
    }

    /// Takes the next position and appends an entry; deletes the entries it supersedes.
    async fn append(
        tx: &mut Transaction<'static, Any>,
        publisher: &PublisherId,
        source_id: Option<&str>,
        kind: LogKind,
        documents: Option<&[u8]>,
        now: DateTime<Utc>,
    ) -> Result<u64, RegistryError> {
        let seq: i64 = sqlx::query_scalar("UPDATE catalog_log_head SET seq = seq + 1 WHERE id = 1 RETURNING seq")
            .fetch_one(&mut **tx)
            .await?;
        let (kind_name, format, mode) = kind_columns(kind);
        sqlx::query(
            "INSERT INTO catalog_log (seq, publisher, source_id, kind, format, mode, created_at, documents)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(seq)
        .bind(publisher.as_str())
        .bind(source_id)
        .bind(kind_name)
        .bind(format)
        .bind(mode)
        .bind(ts(now))
        .bind(documents.map(<[u8]>::to_vec))
        .execute(&mut **tx)
        .await?;
        let superseded = match kind {
            LogKind::RemovePublisher => Some(("DELETE FROM catalog_log WHERE publisher = $1 AND seq < $2", None)),
            LogKind::RemoveSource | LogKind::Ingest { mode: IngestMode::Replace, .. } => {
                Some(("DELETE FROM catalog_log WHERE publisher = $1 AND seq < $2 AND source_id = $3", source_id))
            }
            LogKind::Ingest { mode: IngestMode::Merge, .. } => None,
        };
        if let Some((sql, source)) = superseded {
            let mut query = sqlx::query(sql).bind(publisher.as_str()).bind(seq);
            if let Some(source) = source {
                query = query.bind(source);
            }
            query.execute(&mut **tx).await?;
        }
        Ok(u64::try_from(seq).unwrap_or(0))
    }

    /// Whether a feed holds a lease that has not run out (a harvest is running).
    async fn leased_feeds(
        tx: &mut Transaction<'static, Any>,
        filter: &str,
        value: &str,
        now: DateTime<Utc>,
    ) -> Result<i64, RegistryError> {
        Ok(sqlx::query_scalar(&format!(
            "SELECT COUNT(*) FROM catalog_sources WHERE {filter} = $1 AND lease_until > $2"
        ))
        .bind(value)
        .bind(now.timestamp_millis())
        .fetch_one(&mut **tx)
        .await?)
    }
}

#[async_trait]
impl CatalogLog for SqlRegistry {
    async fn append_ingest(&self, ingest: NewIngest<'_>) -> Result<Option<u64>, RegistryError> {
        let documents = ingest.documents;
        let encoded = tokio::task::spawn_blocking(move || encode_documents(&documents))
            .await
            .map_err(|err| RegistryError::Storage(err.to_string()))??;
        let lock = self.share_lock();
        self.db
            .timed(async {
                let mut tx = self.db.begin_write().await?;
                let registered: Option<String> =
                    sqlx::query_scalar(&format!("SELECT id FROM publishers WHERE id = $1{lock}"))
                        .bind(ingest.publisher.as_str())
                        .fetch_optional(&mut *tx)
                        .await?;
                if registered.is_none() {
                    return Ok(None);
                }
                if let Some(owner) = ingest.lease_owner {
                    let feed: Option<String> = sqlx::query_scalar(&format!(
                        "SELECT id FROM catalog_sources WHERE id = $1 AND publisher = $2 AND lease_owner = $3{lock}"
                    ))
                    .bind(ingest.source_id)
                    .bind(ingest.publisher.as_str())
                    .bind(owner)
                    .fetch_optional(&mut *tx)
                    .await?;
                    if feed.is_none() {
                        return Ok(None);
                    }
                }
                let kind = LogKind::Ingest { format: ingest.format, mode: ingest.mode };
                let seq =
                    Self::append(&mut tx, ingest.publisher, Some(ingest.source_id), kind, Some(&encoded), Utc::now())
                        .await?;
                tx.commit().await?;
                Ok(Some(seq))
            })
            .await
    }

    async fn remove_publisher(
        &self,
        publisher: &PublisherId,
        now: DateTime<Utc>,
    ) -> Result<Option<LoggedRemoval>, RegistryError> {
        self.db
            .timed(async {
                let mut tx = self.db.begin_write().await?;
                let id = publisher.as_str();
                if Self::leased_feeds(&mut tx, "publisher", id, now).await? > 0 {
                    return Err(RegistryError::Conflict(
                        "one of the publisher's sources is being harvested; try again when that has ended".into(),
                    ));
                }
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
                if !existed {
                    return Ok(None);
                }
                let seq = Self::append(&mut tx, publisher, None, LogKind::RemovePublisher, None, now).await?;
                tx.commit().await?;
                let deleted = DeletedPublisher { sources: sources as usize, tools: tools as usize };
                Ok(Some(LoggedRemoval { deleted, seq }))
            })
            .await
    }

    async fn log_publisher_removal(&self, publisher: &PublisherId, now: DateTime<Utc>) -> Result<u64, RegistryError> {
        self.db
            .timed(async {
                let mut tx = self.db.begin_write().await?;
                let seq = Self::append(&mut tx, publisher, None, LogKind::RemovePublisher, None, now).await?;
                tx.commit().await?;
                Ok(seq)
            })
            .await
    }

    async fn remove_source(
        &self,
        publisher: &PublisherId,
        source_id: &str,
        feed: bool,
        now: DateTime<Utc>,
    ) -> Result<u64, RegistryError> {
        self.db
            .timed(async {
                let mut tx = self.db.begin_write().await?;
                if feed {
                    if Self::leased_feeds(&mut tx, "id", source_id, now).await? > 0 {
                        return Err(RegistryError::Conflict(
                            "this source is being harvested; try again when the run has ended".into(),
                        ));
                    }
                    sqlx::query("DELETE FROM harvest_runs WHERE source_id = $1")
                        .bind(source_id)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query("DELETE FROM catalog_sources WHERE id = $1 AND publisher = $2")
                        .bind(source_id)
                        .bind(publisher.as_str())
                        .execute(&mut *tx)
                        .await?;
                }
                let seq = Self::append(&mut tx, publisher, Some(source_id), LogKind::RemoveSource, None, now).await?;
                tx.commit().await?;
                Ok(seq)
            })
            .await
    }

    async fn head(&self) -> Result<u64, RegistryError> {
        self.db
            .timed(async {
                let seq: i64 = sqlx::query_scalar("SELECT seq FROM catalog_log_head WHERE id = 1")
                    .fetch_one(self.db.pool())
                    .await?;
                Ok(u64::try_from(seq).unwrap_or(0))
            })
            .await
    }

    async fn entries_after(&self, seq: u64, limit: usize) -> Result<Vec<LogEntry>, RegistryError> {
        self.db
            .timed(async {
                let rows = sqlx::query(
                    "SELECT seq, publisher, source_id, kind, format, mode, created_at FROM catalog_log
                     WHERE seq > $1 ORDER BY seq LIMIT $2",
                )
                .bind(i64::try_from(seq).unwrap_or(i64::MAX))
                .bind(count(limit))
                .fetch_all(self.db.pool())
                .await?;
                rows.iter().map(to_entry).collect()
            })
            .await
    }

    async fn documents(&self, seq: u64) -> Result<Option<Vec<Vec<u8>>>, RegistryError> {
        let stored: Option<Option<Vec<u8>>> = self
            .db
            .timed(async {
                Ok(sqlx::query_scalar("SELECT documents FROM catalog_log WHERE seq = $1")
                    .bind(i64::try_from(seq).unwrap_or(i64::MAX))
                    .fetch_optional(self.db.pool())
                    .await?)
            })
            .await?;
        let Some(stored) = stored.flatten() else { return Ok(None) };
        let documents = tokio::task::spawn_blocking(move || decode_documents(&stored))
            .await
            .map_err(|err| RegistryError::Storage(err.to_string()))??;
        Ok(Some(documents))
    }
}

impl DeletedPublisher {
    /// Nothing was registered (a removal that only cleans the index).
    pub fn none() -> Self {
        Self { sources: 0, tools: 0 }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::registries;
    use super::*;
    use crate::registry::{CatalogSourceRecord, HarvestStore, Publisher, Registry, SourceCredentials};

    async fn add_publisher(registry: &SqlRegistry, id: &str) -> PublisherId {
        let id = PublisherId::parse(id).unwrap();
        let publisher = Publisher { id: id.clone(), name: id.to_string(), homepage: None, created_at: Utc::now() };
        registry.insert_publisher(&publisher, None).await.unwrap();
        id
    }

    fn ingest<'a>(publisher: &'a PublisherId, source: &'a str, mode: IngestMode, body: &str) -> NewIngest<'a> {
        NewIngest {
            publisher,
            source_id: source,
            format: CatalogFormat::Lrmi,
            mode,
            documents: vec![body.as_bytes().to_vec()],
            lease_owner: None,
        }
    }

    #[tokio::test]
    async fn test_appends_are_ordered_and_superseded_entries_go() {
        for registry in registries().await {
            let acme = add_publisher(&registry, "acme").await;
            let other = add_publisher(&registry, "other").await;
            assert_eq!(registry.head().await.unwrap(), 0);
            let first = registry.append_ingest(ingest(&acme, "s", IngestMode::Replace, "one")).await.unwrap();
            let merge = registry.append_ingest(ingest(&acme, "s", IngestMode::Merge, "two")).await.unwrap();
            let kept = registry.append_ingest(ingest(&other, "s", IngestMode::Replace, "three")).await.unwrap();
            assert_eq!((first, merge, kept), (Some(1), Some(2), Some(3)));
            let listed = registry.entries_after(0, 10).await.unwrap();
            assert_eq!(listed.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![1, 2, 3]);
            assert_eq!(listed[1].kind, LogKind::Ingest { format: CatalogFormat::Lrmi, mode: IngestMode::Merge });
            assert_eq!(registry.documents(2).await.unwrap(), Some(vec![b"two".to_vec()]));

            // A replace of acme's source makes its earlier entries unnecessary.
            let replace = registry.append_ingest(ingest(&acme, "s", IngestMode::Replace, "four")).await.unwrap();
            assert_eq!(replace, Some(4));
            let seqs: Vec<u64> = registry.entries_after(0, 10).await.unwrap().iter().map(|e| e.seq).collect();
            assert_eq!(seqs, vec![3, 4]);
            assert_eq!(registry.documents(1).await.unwrap(), None, "superseded and deleted");
            assert_eq!(registry.entries_after(3, 10).await.unwrap().len(), 1);
            assert_eq!(registry.head().await.unwrap(), 4);

            // Removing a source logs it and drops the source's ingests.
            let removed = registry.remove_source(&acme, "s", false, Utc::now()).await.unwrap();
            assert_eq!(removed, 5);
            let entries = registry.entries_after(0, 10).await.unwrap();
            assert_eq!(entries.iter().map(|e| (e.seq, e.kind)).collect::<Vec<_>>()[1], (5, LogKind::RemoveSource));
            assert_eq!(entries.len(), 2);
        }
    }

    #[tokio::test]
    async fn test_no_ingest_is_logged_for_a_removed_publisher_or_feed() {
        for registry in registries().await {
            let acme = add_publisher(&registry, "acme").await;
            let feed = CatalogSourceRecord {
                id: "feed-1".into(),
                publisher: acme.clone(),
                url: "https://acme.example/catalog.json".into(),
                format: CatalogFormat::Lrmi,
                refresh_seconds: 3600,
                live: false,
                credentials: SourceCredentials::None,
                created_at: Utc::now(),
                next_run_at: None,
                cursor: Default::default(),
            };
            registry.insert_source(&feed).await.unwrap();
            let mut harvest = ingest(&acme, "feed-1", IngestMode::Replace, "x");
            harvest.lease_owner = Some("replica-a");
            assert_eq!(registry.append_ingest(harvest.clone()).await.unwrap(), None, "not leased");
            assert!(registry
                .claim_source("feed-1", "replica-a", Utc::now(), chrono::Duration::seconds(30))
                .await
                .unwrap());
            let mut other_replica = harvest.clone();
            other_replica.lease_owner = Some("replica-b");
            assert_eq!(registry.append_ingest(other_replica).await.unwrap(), None, "leased to another replica");
            assert_eq!(registry.append_ingest(harvest.clone()).await.unwrap(), Some(1));
            let mut unknown_feed = harvest.clone();
            unknown_feed.source_id = "feed-2";
            assert_eq!(registry.append_ingest(unknown_feed).await.unwrap(), None);

            registry.release_lease("feed-1", "replica-a").await.unwrap();
            let removal = registry.remove_publisher(&acme, Utc::now()).await.unwrap().unwrap();
            assert_eq!(removal.deleted, DeletedPublisher { sources: 1, tools: 0 });
            assert_eq!(removal.seq, 2);
            assert_eq!(registry.append_ingest(harvest).await.unwrap(), None, "fenced");
            assert_eq!(registry.append_ingest(ingest(&acme, "push", IngestMode::Replace, "y")).await.unwrap(), None);
            assert_eq!(registry.remove_publisher(&acme, Utc::now()).await.unwrap(), None);
            let entries = registry.entries_after(0, 10).await.unwrap();
            assert_eq!(entries.len(), 1, "only the removal is left");
            assert_eq!(entries[0].kind, LogKind::RemovePublisher);
        }
    }

    #[tokio::test]
    async fn test_a_leased_feed_is_not_removed() {
        for registry in registries().await {
            let acme = add_publisher(&registry, "acme").await;
            let feed = CatalogSourceRecord {
                id: "feed-1".into(),
                publisher: acme.clone(),
                url: "https://acme.example/catalog.json".into(),
                format: CatalogFormat::Lrmi,
                refresh_seconds: 3600,
                live: false,
                credentials: SourceCredentials::None,
                created_at: Utc::now(),
                next_run_at: Some(Utc::now()),
                cursor: Default::default(),
            };
            registry.insert_source(&feed).await.unwrap();
            let now = Utc::now();
            let leased = registry.claim_due_source("replica-a", now, chrono::Duration::seconds(30)).await.unwrap();
            assert_eq!(leased.map(|s| s.id).as_deref(), Some("feed-1"));
            assert!(matches!(
                registry.remove_source(&acme, "feed-1", true, now).await,
                Err(RegistryError::Conflict(_))
            ));
            assert!(matches!(registry.remove_publisher(&acme, now).await, Err(RegistryError::Conflict(_))));
            let later = now + chrono::Duration::seconds(31);
            registry.remove_source(&acme, "feed-1", true, later).await.unwrap();
            assert!(registry.source("feed-1").await.unwrap().is_none());
        }
    }
}
