//! SQLite storage of catalog sources and harvest runs (tables of migration
//! `0002_catalog_sources`).

use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension, Row};

use super::sources::{
    CatalogSourceRecord, HarvestCursor, HarvestRunRecord, HarvestStatus, HarvestStore, HarvestTrigger,
    SourceCredentials,
};
use super::sqlite::{parse_time, SqliteRegistry};
use super::{RegistryError, StoredDiagnostic};
use crate::resource::{CatalogFormat, PublisherId};

const SOURCE_COLUMNS: &str = "id, publisher, url, format, refresh_seconds, live, credentials, created_at, next_run_at, etag, last_modified, content_hash, harvested_since";

const RUN_COLUMNS: &str = "id, source_id, publisher, trigger, status, started_at, finished_at, added, updated, removed, rejected, http_status, requests, diagnostics";

/// A source row as SQLite gives it, converted (and checked) by [`to_source`].
struct RawSource {
    id: String,
    publisher: String,
    url: String,
    format: String,
    refresh_seconds: i64,
    live: bool,
    credentials: String,
    created_at: String,
    next_run_at: Option<String>,
    etag: Option<String>,
    last_modified: Option<String>,
    content_hash: Option<String>,
    harvested_since: Option<String>,
}

fn read_source(row: &Row<'_>) -> rusqlite::Result<RawSource> {
    Ok(RawSource {
        id: row.get(0)?,
        publisher: row.get(1)?,
        url: row.get(2)?,
        format: row.get(3)?,
        refresh_seconds: row.get(4)?,
        live: row.get(5)?,
        credentials: row.get(6)?,
        created_at: row.get(7)?,
        next_run_at: row.get(8)?,
        etag: row.get(9)?,
        last_modified: row.get(10)?,
        content_hash: row.get(11)?,
        harvested_since: row.get(12)?,
    })
}

fn optional_time(raw: Option<String>) -> Result<Option<DateTime<Utc>>, RegistryError> {
    raw.map(|t| parse_time(&t)).transpose()
}

fn to_source(raw: RawSource) -> Result<CatalogSourceRecord, RegistryError> {
    let credentials: SourceCredentials = serde_json::from_str(&raw.credentials)
        // Never echo the column: it holds secrets.
        .map_err(|_| RegistryError::Corrupt(format!("credentials of source {}", raw.id)))?;
    Ok(CatalogSourceRecord {
        publisher: PublisherId::parse(&raw.publisher).map_err(|err| RegistryError::Corrupt(err.to_string()))?,
        format: CatalogFormat::parse(&raw.format)
            .ok_or_else(|| RegistryError::Corrupt(format!("format {}", raw.format)))?,
        url: raw.url,
        refresh_seconds: raw.refresh_seconds.max(0) as u64,
        live: raw.live,
        credentials,
        created_at: parse_time(&raw.created_at)?,
        next_run_at: optional_time(raw.next_run_at)?,
        cursor: HarvestCursor {
            etag: raw.etag,
            last_modified: raw.last_modified,
            content_hash: raw.content_hash,
            harvested_since: optional_time(raw.harvested_since)?,
        },
        id: raw.id,
    })
}

/// A run row as SQLite gives it.
struct RawRun {
    id: i64,
    source_id: String,
    publisher: String,
    trigger: String,
    status: String,
    started_at: String,
    finished_at: Option<String>,
    counts: [i64; 4],
    http_status: Option<i64>,
    requests: i64,
    diagnostics: String,
}

fn read_run(row: &Row<'_>) -> rusqlite::Result<RawRun> {
    Ok(RawRun {
        id: row.get(0)?,
        source_id: row.get(1)?,
        publisher: row.get(2)?,
        trigger: row.get(3)?,
        status: row.get(4)?,
        started_at: row.get(5)?,
        finished_at: row.get(6)?,
        counts: [row.get(7)?, row.get(8)?, row.get(9)?, row.get(10)?],
        http_status: row.get(11)?,
        requests: row.get(12)?,
        diagnostics: row.get(13)?,
    })
}

fn to_run(raw: RawRun) -> Result<HarvestRunRecord, RegistryError> {
    let diagnostics: Vec<StoredDiagnostic> =
        serde_json::from_str(&raw.diagnostics).map_err(|err| RegistryError::Corrupt(err.to_string()))?;
    Ok(HarvestRunRecord {
        id: raw.id,
        source_id: raw.source_id,
        publisher: PublisherId::parse(&raw.publisher).map_err(|err| RegistryError::Corrupt(err.to_string()))?,
        trigger: HarvestTrigger::parse(&raw.trigger),
        status: HarvestStatus::parse(&raw.status)
            .ok_or_else(|| RegistryError::Corrupt(format!("harvest status {}", raw.status)))?,
        started_at: parse_time(&raw.started_at)?,
        finished_at: optional_time(raw.finished_at)?,
        added: raw.counts[0].max(0) as usize,
        updated: raw.counts[1].max(0) as usize,
        removed: raw.counts[2].max(0) as usize,
        rejected: raw.counts[3].max(0) as usize,
        http_status: raw.http_status.and_then(|s| u16::try_from(s).ok()),
        requests: raw.requests.max(0) as usize,
        diagnostics,
    })
}

fn diagnostics_json(run: &HarvestRunRecord) -> Result<String, RegistryError> {
    serde_json::to_string(&run.diagnostics).map_err(|err| RegistryError::Corrupt(err.to_string()))
}

impl SqliteRegistry {
    fn query_sources(
        &self,
        filter: &str,
        parameters: &[&dyn rusqlite::ToSql],
    ) -> Result<Vec<CatalogSourceRecord>, RegistryError> {
        let conn = self.lock()?;
        let mut statement =
            conn.prepare(&format!("SELECT {SOURCE_COLUMNS} FROM catalog_sources {filter} ORDER BY created_at, id"))?;
        let rows = statement.query_map(parameters, read_source)?;
        let mut out = Vec::new();
        for row in rows {
            out.push(to_source(row?)?);
        }
        Ok(out)
    }
}

impl HarvestStore for SqliteRegistry {
    fn insert_source(&self, source: &CatalogSourceRecord) -> Result<(), RegistryError> {
        let credentials =
            serde_json::to_string(&source.credentials).map_err(|err| RegistryError::Corrupt(err.to_string()))?;
        let conn = self.lock()?;
        let result = conn.execute(
            &format!("INSERT INTO catalog_sources ({SOURCE_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"),
            params![
                source.id,
                source.publisher.as_str(),
                source.url,
                source.format.as_str(),
                source.refresh_seconds as i64,
                source.live,
                credentials,
                source.created_at.to_rfc3339(),
                source.next_run_at.map(|t| t.to_rfc3339()),
                source.cursor.etag,
                source.cursor.last_modified,
                source.cursor.content_hash,
                source.cursor.harvested_since.map(|t| t.to_rfc3339()),
            ],
        );
        match result {
            Ok(_) => Ok(()),
            Err(rusqlite::Error::SqliteFailure(err, _))
                if err.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY =>
            {
                Err(RegistryError::SourceExists(source.id.clone()))
            }
            Err(err) => Err(err.into()),
        }
    }

    fn source(&self, id: &str) -> Result<Option<CatalogSourceRecord>, RegistryError> {
        let conn = self.lock()?;
        let raw = conn
            .query_row(&format!("SELECT {SOURCE_COLUMNS} FROM catalog_sources WHERE id = ?1"), params![id], read_source)
            .optional()?;
        raw.map(to_source).transpose()
    }

    fn delete_source(&self, id: &str) -> Result<bool, RegistryError> {
        let mut conn = self.lock()?;
        let tx = conn.transaction()?;
        tx.execute("DELETE FROM harvest_runs WHERE source_id = ?1", params![id])?;
        let deleted = tx.execute("DELETE FROM catalog_sources WHERE id = ?1", params![id])?;
        tx.commit()?;
        Ok(deleted > 0)
    }

    fn sources_of(&self, publisher: &PublisherId) -> Result<Vec<CatalogSourceRecord>, RegistryError> {
        self.query_sources("WHERE publisher = ?1", &[&publisher.as_str()])
    }

    fn all_sources(&self) -> Result<Vec<CatalogSourceRecord>, RegistryError> {
        self.query_sources("", &[])
    }

    fn set_next_run(&self, id: &str, next_run_at: Option<DateTime<Utc>>) -> Result<(), RegistryError> {
        let conn = self.lock()?;
        conn.execute(
            "UPDATE catalog_sources SET next_run_at = ?2 WHERE id = ?1",
            params![id, next_run_at.map(|t| t.to_rfc3339())],
        )?;
        Ok(())
    }

    fn set_cursor(&self, id: &str, cursor: &HarvestCursor) -> Result<(), RegistryError> {
        let conn = self.lock()?;
        conn.execute(
            "UPDATE catalog_sources SET etag = ?2, last_modified = ?3, content_hash = ?4, harvested_since = ?5 WHERE id = ?1",
            params![
                id,
                cursor.etag,
                cursor.last_modified,
                cursor.content_hash,
                cursor.harvested_since.map(|t| t.to_rfc3339()),
            ],
        )?;
        Ok(())
    }

    fn insert_run(&self, run: &HarvestRunRecord) -> Result<i64, RegistryError> {
        let diagnostics = diagnostics_json(run)?;
        let conn = self.lock()?;
        conn.execute(
            "INSERT INTO harvest_runs (source_id, publisher, trigger, status, started_at, finished_at, added, updated, removed, rejected, http_status, requests, diagnostics)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            params![
                run.source_id,
                run.publisher.as_str(),
                run.trigger.as_str(),
                run.status.as_str(),
                run.started_at.to_rfc3339(),
                run.finished_at.map(|t| t.to_rfc3339()),
                run.added as i64,
                run.updated as i64,
                run.removed as i64,
                run.rejected as i64,
                run.http_status.map(i64::from),
                run.requests as i64,
                diagnostics,
            ],
        )?;
        Ok(conn.last_insert_rowid())
    }

    fn update_run(&self, run: &HarvestRunRecord) -> Result<(), RegistryError> {
        let diagnostics = diagnostics_json(run)?;
        let conn = self.lock()?;
        conn.execute(
            "UPDATE harvest_runs SET status = ?2, started_at = ?3, finished_at = ?4, added = ?5, updated = ?6, removed = ?7, rejected = ?8, http_status = ?9, requests = ?10, diagnostics = ?11 WHERE id = ?1",
            params![
                run.id,
                run.status.as_str(),
                run.started_at.to_rfc3339(),
                run.finished_at.map(|t| t.to_rfc3339()),
                run.added as i64,
                run.updated as i64,
                run.removed as i64,
                run.rejected as i64,
                run.http_status.map(i64::from),
                run.requests as i64,
                diagnostics,
            ],
        )?;
        Ok(())
    }

    fn runs(&self, source_id: &str, limit: usize) -> Result<Vec<HarvestRunRecord>, RegistryError> {
        let conn = self.lock()?;
        let mut statement = conn.prepare(&format!(
            "SELECT {RUN_COLUMNS} FROM harvest_runs WHERE source_id = ?1 ORDER BY id DESC LIMIT ?2"
        ))?;
        let rows = statement.query_map(params![source_id, limit as i64], read_run)?;
        let mut out = Vec::new();
        for row in rows {
            out.push(to_run(row?)?);
        }
        Ok(out)
    }

    fn fail_unfinished_runs(&self, message: &str) -> Result<usize, RegistryError> {
        let diagnostics = serde_json::to_string(&[StoredDiagnostic {
            item: None,
            severity: "ERROR".to_string(),
            message: message.to_string(),
        }])
        .map_err(|err| RegistryError::Corrupt(err.to_string()))?;
        let conn = self.lock()?;
        let changed = conn.execute(
            "UPDATE harvest_runs SET status = 'FAILED', finished_at = ?1, diagnostics = ?2 WHERE status IN ('PENDING', 'RUNNING')",
            params![Utc::now().to_rfc3339(), diagnostics],
        )?;
        Ok(changed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::{Publisher, Registry};

    fn registry_with_publisher() -> (tempfile::TempDir, SqliteRegistry, PublisherId) {
        let dir = tempfile::tempdir().unwrap();
        let registry = SqliteRegistry::open(&dir.path().join("r.sqlite3")).unwrap();
        let id = PublisherId::parse("acme").unwrap();
        registry
            .insert_publisher(
                &Publisher { id: id.clone(), name: "Acme".into(), homepage: None, created_at: Utc::now() },
                None,
            )
            .unwrap();
        (dir, registry, id)
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

    #[test]
    fn test_sources_round_trip_with_cursor_and_schedule() {
        let (_dir, registry, publisher) = registry_with_publisher();
        let stored = source(&publisher);
        registry.insert_source(&stored).unwrap();
        assert!(matches!(registry.insert_source(&stored), Err(RegistryError::SourceExists(_))));
        let cursor = HarvestCursor {
            etag: Some("\"v1\"".into()),
            last_modified: None,
            content_hash: Some("abc".into()),
            harvested_since: Some(Utc::now()),
        };
        registry.set_cursor("src-1", &cursor).unwrap();
        let at = Utc::now();
        registry.set_next_run("src-1", Some(at)).unwrap();
        let loaded = registry.source("src-1").unwrap().unwrap();
        assert_eq!(loaded.credentials, stored.credentials);
        assert_eq!(loaded.cursor.etag, cursor.etag);
        assert_eq!(loaded.next_run_at.map(|t| t.timestamp()), Some(at.timestamp()));
        assert_eq!(registry.sources_of(&publisher).unwrap().len(), 1);
        assert_eq!(registry.all_sources().unwrap().len(), 1);
        assert!(!format!("{:?}", loaded.credentials).contains("s3cret"));
    }

    #[test]
    fn test_runs_newest_first_and_unfinished_runs_fail_on_restart() {
        let (_dir, registry, publisher) = registry_with_publisher();
        let stored = source(&publisher);
        registry.insert_source(&stored).unwrap();
        let mut first = HarvestRunRecord::pending(&stored, HarvestTrigger::Manual);
        first.id = registry.insert_run(&first).unwrap();
        first.status = HarvestStatus::Succeeded;
        first.added = 7;
        first.http_status = Some(200);
        registry.update_run(&first).unwrap();
        let second = HarvestRunRecord::pending(&stored, HarvestTrigger::Schedule);
        registry.insert_run(&second).unwrap();
        assert_eq!(registry.fail_unfinished_runs("interrupted").unwrap(), 1);
        let runs = registry.runs("src-1", 10).unwrap();
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[0].status, HarvestStatus::Failed);
        assert_eq!(runs[0].diagnostics[0].message, "interrupted");
        assert_eq!(runs[1].added, 7);
        assert_eq!(runs[1].http_status, Some(200));
        assert_eq!(runs[1].trigger, HarvestTrigger::Manual);
    }

    #[test]
    fn test_deleting_a_source_takes_its_runs() {
        let (_dir, registry, publisher) = registry_with_publisher();
        let stored = source(&publisher);
        registry.insert_source(&stored).unwrap();
        registry.insert_run(&HarvestRunRecord::pending(&stored, HarvestTrigger::Manual)).unwrap();
        let kept =
            CatalogSourceRecord { id: "src-2".into(), url: "https://example.org/other.json".into(), ..stored.clone() };
        registry.insert_source(&kept).unwrap();
        registry.insert_run(&HarvestRunRecord::pending(&kept, HarvestTrigger::Manual)).unwrap();
        assert!(registry.delete_source("src-1").unwrap());
        assert!(registry.source("src-1").unwrap().is_none());
        assert!(registry.runs("src-1", 10).unwrap().is_empty());
        let left: Vec<String> = registry.sources_of(&publisher).unwrap().into_iter().map(|s| s.id).collect();
        assert_eq!(left, vec!["src-2"], "the publisher's other source stays");
        assert_eq!(registry.runs("src-2", 10).unwrap().len(), 1);
        assert!(!registry.delete_source("src-1").unwrap());
        // The id is free again.
        registry.insert_source(&stored).unwrap();
    }
}
