//! SQLite implementation of the registry: WAL journal, full sync, one connection.

use std::path::Path;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};

use super::{DeletedPublisher, IngestRecord, Publisher, Registry, RegistryError};
use crate::resource::{CatalogFormat, PublisherId};

/// Schema changes, applied once each in this order and recorded by name, so that modules can
/// add their own tables without renumbering anyone else's.
const MIGRATIONS: &[(&str, &str)] = &[
    (
        "0001_publishers_and_ingests",
        r#"
CREATE TABLE publishers (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    homepage TEXT,
    key_hash TEXT,
    created_at TEXT NOT NULL
);
CREATE TABLE ingests (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    publisher TEXT NOT NULL REFERENCES publishers(id),
    source_id TEXT NOT NULL,
    format TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    status TEXT NOT NULL,
    added INTEGER NOT NULL,
    updated INTEGER NOT NULL,
    removed INTEGER NOT NULL,
    rejected INTEGER NOT NULL,
    diagnostics TEXT NOT NULL
);
CREATE INDEX ingests_by_publisher ON ingests(publisher, id);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"#,
    ),
    (
        "0002_catalog_sources",
        r#"
CREATE TABLE catalog_sources (
    id TEXT PRIMARY KEY,
    publisher TEXT NOT NULL REFERENCES publishers(id),
    url TEXT NOT NULL,
    format TEXT NOT NULL,
    refresh_seconds INTEGER NOT NULL,
    live INTEGER NOT NULL,
    credentials TEXT NOT NULL,
    created_at TEXT NOT NULL,
    next_run_at TEXT,
    etag TEXT,
    last_modified TEXT,
    content_hash TEXT,
    harvested_since TEXT
);
CREATE INDEX catalog_sources_by_publisher ON catalog_sources(publisher, created_at);
CREATE TABLE harvest_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    source_id TEXT NOT NULL REFERENCES catalog_sources(id),
    publisher TEXT NOT NULL,
    trigger TEXT NOT NULL,
    status TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    added INTEGER NOT NULL,
    updated INTEGER NOT NULL,
    removed INTEGER NOT NULL,
    rejected INTEGER NOT NULL,
    http_status INTEGER,
    requests INTEGER NOT NULL,
    diagnostics TEXT NOT NULL
);
CREATE INDEX harvest_runs_by_source ON harvest_runs(source_id, id);
"#,
    ),
    super::lti_store::MIGRATION,
    super::broker_store::MIGRATION,
    super::sitemap_pages::MIGRATION,
];

pub struct SqliteRegistry {
    conn: Mutex<Connection>,
}

impl SqliteRegistry {
    /// Opens the registry of a data folder (`<data>/registry.sqlite3`).
    pub fn open_in_data_dir(data_dir: &Path) -> Result<Self, RegistryError> {
        let path = data_dir.join("registry.sqlite3");
        let registry = Self::open(&path)?;
        restrict_to_owner(&path);
        Ok(registry)
    }

    /// Opens (creating and migrating) the registry database at `path`.
    pub fn open(path: &Path) -> Result<Self, RegistryError> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        let registry = Self { conn: Mutex::new(conn) };
        registry.migrate()?;
        Ok(registry)
    }

    fn migrate(&self) -> Result<(), RegistryError> {
        let mut conn = self.lock()?;
        let tx = conn.transaction()?;
        tx.execute_batch("CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")?;
        for (name, sql) in MIGRATIONS {
            let applied: bool =
                tx.query_row("SELECT EXISTS(SELECT 1 FROM migrations WHERE name = ?1)", params![name], |row| {
                    row.get(0)
                })?;
            if !applied {
                tx.execute_batch(sql)?;
                tx.execute(
                    "INSERT INTO migrations (name, applied_at) VALUES (?1, ?2)",
                    params![name, Utc::now().to_rfc3339()],
                )?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    pub(super) fn lock(&self) -> Result<std::sync::MutexGuard<'_, Connection>, RegistryError> {
        self.conn.lock().map_err(|_| RegistryError::Corrupt("registry lock poisoned".into()))
    }
}

/// The registry holds key hashes and feed credentials: only the gateway's user may read it.
fn restrict_to_owner(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Err(err) = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)) {
            tracing::warn!(path = %path.display(), error = %err, "cannot restrict the registry file to its owner");
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

pub(super) fn parse_time(raw: &str) -> Result<DateTime<Utc>, RegistryError> {
    DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|err| RegistryError::Corrupt(format!("bad timestamp '{raw}': {err}")))
}

fn row_to_publisher(row: &rusqlite::Row<'_>) -> rusqlite::Result<(String, String, Option<String>, String)> {
    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
}

fn to_publisher(raw: (String, String, Option<String>, String)) -> Result<Publisher, RegistryError> {
    let id = PublisherId::parse(&raw.0).map_err(|err| RegistryError::Corrupt(err.to_string()))?;
    Ok(Publisher { id, name: raw.1, homepage: raw.2, created_at: parse_time(&raw.3)? })
}

impl Registry for SqliteRegistry {
    fn insert_publisher(&self, publisher: &Publisher, key_hash: Option<&str>) -> Result<(), RegistryError> {
        let conn = self.lock()?;
        let result = conn.execute(
            "INSERT INTO publishers (id, name, homepage, key_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                publisher.id.as_str(),
                publisher.name,
                publisher.homepage,
                key_hash,
                publisher.created_at.to_rfc3339()
            ],
        );
        match result {
            Ok(_) => Ok(()),
            Err(rusqlite::Error::SqliteFailure(err, _)) if err.code == rusqlite::ErrorCode::ConstraintViolation => {
                Err(RegistryError::PublisherExists(publisher.id.to_string()))
            }
            Err(err) => Err(err.into()),
        }
    }

    fn publisher(&self, id: &PublisherId) -> Result<Option<Publisher>, RegistryError> {
        let conn = self.lock()?;
        let raw = conn
            .query_row(
                "SELECT id, name, homepage, created_at FROM publishers WHERE id = ?1",
                params![id.as_str()],
                row_to_publisher,
            )
            .optional()?;
        raw.map(to_publisher).transpose()
    }

    fn publishers(&self) -> Result<Vec<Publisher>, RegistryError> {
        let conn = self.lock()?;
        let mut statement = conn.prepare("SELECT id, name, homepage, created_at FROM publishers ORDER BY name, id")?;
        let rows = statement.query_map([], row_to_publisher)?;
        let mut out = Vec::new();
        for row in rows {
            out.push(to_publisher(row?)?);
        }
        Ok(out)
    }

    fn delete_publisher(&self, id: &PublisherId) -> Result<Option<DeletedPublisher>, RegistryError> {
        let mut conn = self.lock()?;
        let tx = conn.transaction()?;
        let id = id.as_str();
        let tools_of = "SELECT id FROM publisher_tools WHERE publisher = ?1";
        for table in ["tool_tokens", "ags_grants", "brokered_launches"] {
            tx.execute(&format!("DELETE FROM {table} WHERE tool_id IN ({tools_of})"), params![id])?;
        }
        let tools = tx.execute("DELETE FROM publisher_tools WHERE publisher = ?1", params![id])?;
        tx.execute(
            "DELETE FROM harvest_runs WHERE source_id IN (SELECT id FROM catalog_sources WHERE publisher = ?1)",
            params![id],
        )?;
        let sources = tx.execute("DELETE FROM catalog_sources WHERE publisher = ?1", params![id])?;
        tx.execute("DELETE FROM ingests WHERE publisher = ?1", params![id])?;
        let existed = tx.execute("DELETE FROM publishers WHERE id = ?1", params![id])? > 0;
        tx.commit()?;
        Ok(existed.then_some(DeletedPublisher { sources, tools }))
    }

    fn publisher_key_hash(&self, id: &PublisherId) -> Result<Option<String>, RegistryError> {
        let conn = self.lock()?;
        let hash: Option<Option<String>> = conn
            .query_row("SELECT key_hash FROM publishers WHERE id = ?1", params![id.as_str()], |row| row.get(0))
            .optional()?;
        Ok(hash.flatten())
    }

    fn set_publisher_key_hash(&self, id: &PublisherId, key_hash: &str) -> Result<(), RegistryError> {
        let conn = self.lock()?;
        conn.execute("UPDATE publishers SET key_hash = ?2 WHERE id = ?1", params![id.as_str(), key_hash])?;
        Ok(())
    }

    fn record_ingest(&self, record: &IngestRecord) -> Result<i64, RegistryError> {
        let conn = self.lock()?;
        let diagnostics =
            serde_json::to_string(&record.diagnostics).map_err(|err| RegistryError::Corrupt(err.to_string()))?;
        conn.execute(
            "INSERT INTO ingests (publisher, source_id, format, started_at, finished_at, status, added, updated, removed, rejected, diagnostics)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            params![
                record.publisher.as_str(),
                record.source_id,
                record.format.as_str(),
                record.started_at.to_rfc3339(),
                record.finished_at.to_rfc3339(),
                record.status,
                record.added as i64,
                record.updated as i64,
                record.removed as i64,
                record.rejected as i64,
                diagnostics
            ],
        )?;
        Ok(conn.last_insert_rowid())
    }

    fn ingests(&self, publisher: &PublisherId, limit: usize) -> Result<Vec<IngestRecord>, RegistryError> {
        let conn = self.lock()?;
        let mut statement = conn.prepare(
            "SELECT id, source_id, format, started_at, finished_at, status, added, updated, removed, rejected, diagnostics
             FROM ingests WHERE publisher = ?1 ORDER BY id DESC LIMIT ?2",
        )?;
        let rows = statement.query_map(params![publisher.as_str(), limit as i64], |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, String>(3)?,
                row.get::<_, String>(4)?,
                row.get::<_, String>(5)?,
                [row.get::<_, i64>(6)?, row.get::<_, i64>(7)?, row.get::<_, i64>(8)?, row.get::<_, i64>(9)?],
                row.get::<_, String>(10)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, source_id, format, started, finished, status, counts, diagnostics) = row?;
            out.push(IngestRecord {
                id,
                publisher: publisher.clone(),
                source_id,
                format: CatalogFormat::parse(&format)
                    .ok_or_else(|| RegistryError::Corrupt(format!("format {format}")))?,
                started_at: parse_time(&started)?,
                finished_at: parse_time(&finished)?,
                status,
                added: counts[0].max(0) as usize,
                updated: counts[1].max(0) as usize,
                removed: counts[2].max(0) as usize,
                rejected: counts[3].max(0) as usize,
                diagnostics: serde_json::from_str(&diagnostics)
                    .map_err(|err| RegistryError::Corrupt(err.to_string()))?,
            });
        }
        Ok(out)
    }

    fn meta(&self, key: &str) -> Result<Option<String>, RegistryError> {
        let conn = self.lock()?;
        Ok(conn.query_row("SELECT value FROM meta WHERE key = ?1", params![key], |row| row.get(0)).optional()?)
    }

    fn set_meta(&self, key: &str, value: &str) -> Result<(), RegistryError> {
        let conn = self.lock()?;
        conn.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }

    fn ping(&self) -> Result<(), RegistryError> {
        let conn = self.lock()?;
        conn.query_row("SELECT 1", [], |_| Ok(()))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn publisher(id: &str) -> Publisher {
        Publisher {
            id: PublisherId::parse(id).unwrap(),
            name: id.to_uppercase(),
            homepage: None,
            created_at: Utc::now(),
        }
    }

    #[test]
    fn test_publishers_persist_across_reopen_and_ids_are_unique() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("registry.sqlite3");
        {
            let registry = SqliteRegistry::open(&path).unwrap();
            registry.insert_publisher(&publisher("acme"), Some("hash")).unwrap();
            assert!(matches!(
                registry.insert_publisher(&publisher("acme"), None),
                Err(RegistryError::PublisherExists(_))
            ));
        }
        let registry = SqliteRegistry::open(&path).unwrap();
        let id = PublisherId::parse("acme").unwrap();
        assert_eq!(registry.publisher(&id).unwrap().unwrap().name, "ACME");
        assert_eq!(registry.publisher_key_hash(&id).unwrap().as_deref(), Some("hash"));
        assert_eq!(registry.publishers().unwrap().len(), 1);
    }

    /// A publisher with one of everything that hangs off it: a feed with a run, an ingest, and
    /// a tool with a token, a grade grant and a pending brokered launch.
    fn publisher_with_everything(registry: &SqliteRegistry, id: &str) -> String {
        use crate::registry::{AgsGrant, BrokerStore, BrokeredLaunch, HarvestStore, PublisherTool, ToolToken};
        registry.insert_publisher(&publisher(id), Some("hash")).unwrap();
        let publisher_id = PublisherId::parse(id).unwrap();
        let source = crate::registry::CatalogSourceRecord {
            id: format!("src-{id}"),
            publisher: publisher_id.clone(),
            url: format!("https://{id}.example/catalog.json"),
            format: CatalogFormat::Lrmi,
            refresh_seconds: 3600,
            live: false,
            credentials: crate::registry::SourceCredentials::None,
            created_at: Utc::now(),
            next_run_at: None,
            cursor: Default::default(),
        };
        registry.insert_source(&source).unwrap();
        let run = crate::registry::HarvestRunRecord::pending(&source, crate::registry::HarvestTrigger::Manual);
        registry.insert_run(&run).unwrap();
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
            .unwrap();
        let later = Utc::now() + chrono::Duration::hours(1);
        registry
            .insert_tool_token(&ToolToken {
                token_hash: format!("token-{id}"),
                tool_id: tool.id.clone(),
                scopes: vec![],
                expires_at: later,
            })
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
            .unwrap();
        tool.id
    }

    /// Whether each of the publisher's rows is still there, table by table.
    fn rows_of(registry: &SqliteRegistry, id: &str, tool_id: &str) -> [bool; 8] {
        use crate::registry::{BrokerStore, HarvestStore};
        let publisher_id = PublisherId::parse(id).unwrap();
        [
            registry.publisher(&publisher_id).unwrap().is_some(),
            registry.source(&format!("src-{id}")).unwrap().is_some(),
            !registry.runs(&format!("src-{id}"), 10).unwrap().is_empty(),
            !registry.ingests(&publisher_id, 10).unwrap().is_empty(),
            registry.tool(tool_id).unwrap().is_some(),
            registry.tool_token(&format!("token-{id}")).unwrap().is_some(),
            registry.grant(&format!("grant-{id}")).unwrap().is_some(),
            registry.brokered_launch(&format!("launch-{id}")).unwrap().is_some(),
        ]
    }

    #[test]
    fn test_deleting_a_publisher_takes_everything_registered_under_it_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let registry = SqliteRegistry::open(&dir.path().join("r.sqlite3")).unwrap();
        let acme_tool = publisher_with_everything(&registry, "acme");
        let other_tool = publisher_with_everything(&registry, "other");
        assert_eq!(rows_of(&registry, "acme", &acme_tool), [true; 8]);

        let acme = PublisherId::parse("acme").unwrap();
        assert_eq!(registry.delete_publisher(&acme).unwrap(), Some(DeletedPublisher { sources: 1, tools: 1 }));
        assert_eq!(rows_of(&registry, "acme", &acme_tool), [false; 8]);
        assert!(registry.publisher_key_hash(&acme).unwrap().is_none());
        assert_eq!(rows_of(&registry, "other", &other_tool), [true; 8], "another publisher keeps everything");
        assert_eq!(registry.delete_publisher(&acme).unwrap(), None);
        // The id can be registered again, from scratch.
        registry.insert_publisher(&publisher("acme"), None).unwrap();
    }

    #[test]
    fn test_deleting_a_tool_takes_its_tokens_grants_and_launches_only() {
        use crate::registry::BrokerStore;
        let dir = tempfile::tempdir().unwrap();
        let registry = SqliteRegistry::open(&dir.path().join("r.sqlite3")).unwrap();
        let acme_tool = publisher_with_everything(&registry, "acme");
        let other_tool = publisher_with_everything(&registry, "other");
        assert!(registry.delete_tool(&acme_tool).unwrap());
        assert_eq!(rows_of(&registry, "acme", &acme_tool), [true, true, true, true, false, false, false, false]);
        assert_eq!(rows_of(&registry, "other", &other_tool), [true; 8]);
        assert!(!registry.delete_tool(&acme_tool).unwrap());
    }

    #[test]
    fn test_ingest_history_round_trips_newest_first() {
        let dir = tempfile::tempdir().unwrap();
        let registry = SqliteRegistry::open(&dir.path().join("r.sqlite3")).unwrap();
        registry.insert_publisher(&publisher("acme"), None).unwrap();
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
                diagnostics: vec![],
            };
            registry.record_ingest(&record).unwrap();
        }
        let history = registry.ingests(&id, 2).unwrap();
        assert_eq!(history.iter().map(|r| r.added).collect::<Vec<_>>(), vec![2, 1]);
    }
}
