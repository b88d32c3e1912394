//! LTI state in the registry: platforms (LMS registrations), the nonces valid launches used and
//! deep-linking launches. Login initiations store nothing (their state travels signed through
//! the browser); what is stored here is written only after a platform-signed id_token passed,
//! so anonymous callers cannot fill it. Kept in the database rather than in memory or cookies,
//! so a launch works inside an LMS iframe without third-party cookies and across replicas.

use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::sqlite::SqliteRegistry;
use super::RegistryError;

/// An LMS registration: one issuer may have several client ids.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Platform {
    /// Stable id derived from issuer and client id.
    pub id: String,
    pub issuer: String,
    pub client_id: String,
    pub deployment_ids: Vec<String>,
    pub auth_login_url: String,
    pub jwks_url: String,
    pub token_url: Option<String>,
    pub name: Option<String>,
    pub created_at: DateTime<Utc>,
    /// Registered dynamically without a deployment id (Canvas creates deployments when an admin
    /// installs the key): every deployment a valid launch names is accepted and recorded.
    pub deployments_open: bool,
}

/// A validated deep-linking request waiting for the teacher's choice. Its id is the single-use
/// credential of `deepLinkingResponse`.
#[derive(Debug, Clone, PartialEq)]
pub struct DeepLinkLaunch {
    pub id: String,
    pub platform_id: String,
    pub deployment_id: String,
    /// The request's `deep_link_settings` JSON exactly as received.
    pub settings_json: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
}

pub(super) const MIGRATION: (&str, &str) = (
    "0010_lti",
    r#"
CREATE TABLE lti_platforms (
    id TEXT PRIMARY KEY,
    issuer TEXT NOT NULL,
    client_id TEXT NOT NULL,
    deployment_ids TEXT NOT NULL,
    auth_login_url TEXT NOT NULL,
    jwks_url TEXT NOT NULL,
    token_url TEXT,
    name TEXT,
    created_at TEXT NOT NULL,
    UNIQUE (issuer, client_id)
);
CREATE TABLE lti_login_states (
    state TEXT PRIMARY KEY,
    nonce TEXT NOT NULL,
    platform_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE TABLE lti_launches (
    id TEXT PRIMARY KEY,
    platform_id TEXT NOT NULL,
    deployment_id TEXT NOT NULL,
    settings TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT
);
"#,
);

/// Login initiations keep nothing: the table of pending states goes, the nonces valid launches
/// used come (each recorded once, until its login would have expired anyway).
pub(super) const MIGRATION_STATELESS_LOGINS: (&str, &str) = (
    "0030_stateless_logins",
    r#"
DROP INDEX IF EXISTS lti_login_states_expiry;
DROP TABLE IF EXISTS lti_login_states;
CREATE TABLE lti_used_nonces (
    nonce TEXT PRIMARY KEY,
    expires_at TEXT NOT NULL
);
CREATE INDEX lti_used_nonces_expiry ON lti_used_nonces(expires_at);
ALTER TABLE lti_platforms ADD COLUMN deployments_open INTEGER NOT NULL DEFAULT 0;
"#,
);

/// Storage of LTI registrations and the short-lived state of launches.
pub trait LtiStore: Send + Sync {
    /// Inserts, or updates the platform with the same issuer and client id (keeping its id).
    fn upsert_platform(&self, platform: &Platform) -> Result<Platform, RegistryError>;
    fn platforms(&self) -> Result<Vec<Platform>, RegistryError>;
    fn platform(&self, id: &str) -> Result<Option<Platform>, RegistryError>;
    fn platforms_by_issuer(&self, issuer: &str) -> Result<Vec<Platform>, RegistryError>;
    /// Adds a deployment id to a platform's list (a deployment of an open platform launched).
    fn add_deployment(&self, platform_id: &str, deployment_id: &str) -> Result<(), RegistryError>;
    /// Records the nonce of a launch whose id_token passed every check; answers false when it
    /// was recorded before (a replay). Kept until `expires_at`, when its state expires anyway.
    fn record_nonce(&self, nonce: &str, expires_at: DateTime<Utc>) -> Result<bool, RegistryError>;
    fn insert_launch(&self, launch: &DeepLinkLaunch) -> Result<(), RegistryError>;
    fn launch(&self, id: &str) -> Result<Option<DeepLinkLaunch>, RegistryError>;
    /// Marks a launch used if it is unused and unexpired; answers whether it was.
    fn consume_launch(&self, id: &str, now: DateTime<Utc>) -> Result<bool, RegistryError>;
    /// Forgets used nonces, deep-linking launches and brokered launches that expired before `now`.
    fn purge_expired(&self, now: DateTime<Utc>) -> Result<usize, RegistryError>;
}

fn time(raw: &str) -> Result<DateTime<Utc>, RegistryError> {
    DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|err| RegistryError::Corrupt(format!("bad timestamp '{raw}': {err}")))
}

type LaunchRow = (String, String, String, String, String, String, Option<String>);

type PlatformRow = (String, String, String, String, String, String, Option<String>, Option<String>, String, i64);

fn platform_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<PlatformRow> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
        row.get(6)?,
        row.get(7)?,
        row.get(8)?,
        row.get(9)?,
    ))
}

fn to_platform(row: PlatformRow) -> Result<Platform, RegistryError> {
    let (id, issuer, client_id, deployments, auth_login_url, jwks_url, token_url, name, created_at, open) = row;
    let deployment_ids =
        serde_json::from_str(&deployments).map_err(|err| RegistryError::Corrupt(format!("deployment ids: {err}")))?;
    Ok(Platform {
        id,
        issuer,
        client_id,
        deployment_ids,
        auth_login_url,
        jwks_url,
        token_url,
        name,
        created_at: time(&created_at)?,
        deployments_open: open != 0,
    })
}

const PLATFORM_COLUMNS: &str =
    "id, issuer, client_id, deployment_ids, auth_login_url, jwks_url, token_url, name, created_at, deployments_open";

impl LtiStore for SqliteRegistry {
    fn upsert_platform(&self, platform: &Platform) -> Result<Platform, RegistryError> {
        let conn = self.lock()?;
        let deployments =
            serde_json::to_string(&platform.deployment_ids).map_err(|e| RegistryError::Corrupt(e.to_string()))?;
        conn.execute(
            &format!(
                "INSERT INTO lti_platforms ({PLATFORM_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                 ON CONFLICT(issuer, client_id) DO UPDATE SET
                   deployment_ids = excluded.deployment_ids, auth_login_url = excluded.auth_login_url,
                   jwks_url = excluded.jwks_url, token_url = excluded.token_url, name = excluded.name,
                   deployments_open = excluded.deployments_open"
            ),
            params![
                platform.id,
                platform.issuer,
                platform.client_id,
                deployments,
                platform.auth_login_url,
                platform.jwks_url,
                platform.token_url,
                platform.name,
                platform.created_at.to_rfc3339(),
                i64::from(platform.deployments_open)
            ],
        )?;
        let row = conn.query_row(
            &format!("SELECT {PLATFORM_COLUMNS} FROM lti_platforms WHERE issuer = ?1 AND client_id = ?2"),
            params![platform.issuer, platform.client_id],
            platform_row,
        )?;
        to_platform(row)
    }

    fn platforms(&self) -> Result<Vec<Platform>, RegistryError> {
        let conn = self.lock()?;
        let mut statement =
            conn.prepare(&format!("SELECT {PLATFORM_COLUMNS} FROM lti_platforms ORDER BY issuer, client_id"))?;
        let rows = statement.query_map([], platform_row)?;
        let mut out = Vec::new();
        for row in rows {
            out.push(to_platform(row?)?);
        }
        Ok(out)
    }

    fn platform(&self, id: &str) -> Result<Option<Platform>, RegistryError> {
        let conn = self.lock()?;
        let row = conn
            .query_row(
                &format!("SELECT {PLATFORM_COLUMNS} FROM lti_platforms WHERE id = ?1"),
                params![id],
                platform_row,
            )
            .optional()?;
        row.map(to_platform).transpose()
    }

    fn platforms_by_issuer(&self, issuer: &str) -> Result<Vec<Platform>, RegistryError> {
        let conn = self.lock()?;
        let mut statement = conn
            .prepare(&format!("SELECT {PLATFORM_COLUMNS} FROM lti_platforms WHERE issuer = ?1 ORDER BY client_id"))?;
        let rows = statement.query_map(params![issuer], platform_row)?;
        let mut out = Vec::new();
        for row in rows {
            out.push(to_platform(row?)?);
        }
        Ok(out)
    }

    fn add_deployment(&self, platform_id: &str, deployment_id: &str) -> Result<(), RegistryError> {
        let mut conn = self.lock()?;
        let tx = conn.transaction()?;
        let listed: Option<String> = tx
            .query_row("SELECT deployment_ids FROM lti_platforms WHERE id = ?1", params![platform_id], |row| row.get(0))
            .optional()?;
        let Some(listed) = listed else { return Ok(()) };
        let mut deployments: Vec<String> =
            serde_json::from_str(&listed).map_err(|err| RegistryError::Corrupt(format!("deployment ids: {err}")))?;
        if !deployments.iter().any(|d| d == deployment_id) {
            deployments.push(deployment_id.to_string());
            let text = serde_json::to_string(&deployments).map_err(|e| RegistryError::Corrupt(e.to_string()))?;
            tx.execute("UPDATE lti_platforms SET deployment_ids = ?2 WHERE id = ?1", params![platform_id, text])?;
        }
        tx.commit()?;
        Ok(())
    }

    fn record_nonce(&self, nonce: &str, expires_at: DateTime<Utc>) -> Result<bool, RegistryError> {
        let conn = self.lock()?;
        let inserted = conn.execute(
            "INSERT OR IGNORE INTO lti_used_nonces (nonce, expires_at) VALUES (?1, ?2)",
            params![nonce, expires_at.to_rfc3339()],
        )?;
        Ok(inserted == 1)
    }

    fn insert_launch(&self, launch: &DeepLinkLaunch) -> Result<(), RegistryError> {
        let conn = self.lock()?;
        conn.execute(
            "INSERT INTO lti_launches (id, platform_id, deployment_id, settings, created_at, expires_at, used_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL)",
            params![
                launch.id,
                launch.platform_id,
                launch.deployment_id,
                launch.settings_json,
                launch.created_at.to_rfc3339(),
                launch.expires_at.to_rfc3339()
            ],
        )?;
        Ok(())
    }

    fn launch(&self, id: &str) -> Result<Option<DeepLinkLaunch>, RegistryError> {
        let conn = self.lock()?;
        let row: Option<LaunchRow> = conn
            .query_row(
                "SELECT id, platform_id, deployment_id, settings, created_at, expires_at, used_at FROM lti_launches WHERE id = ?1",
                params![id],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?, row.get(5)?, row.get(6)?)),
            )
            .optional()?;
        let Some((id, platform_id, deployment_id, settings_json, created_at, expires_at, used_at)) = row else {
            return Ok(None);
        };
        Ok(Some(DeepLinkLaunch {
            id,
            platform_id,
            deployment_id,
            settings_json,
            created_at: time(&created_at)?,
            expires_at: time(&expires_at)?,
            used_at: used_at.as_deref().map(time).transpose()?,
        }))
    }

    fn consume_launch(&self, id: &str, now: DateTime<Utc>) -> Result<bool, RegistryError> {
        let conn = self.lock()?;
        let changed = conn.execute(
            "UPDATE lti_launches SET used_at = ?2 WHERE id = ?1 AND used_at IS NULL AND expires_at > ?2",
            params![id, now.to_rfc3339()],
        )?;
        Ok(changed == 1)
    }

    fn purge_expired(&self, now: DateTime<Utc>) -> Result<usize, RegistryError> {
        let conn = self.lock()?;
        let now = now.to_rfc3339();
        let nonces = conn.execute("DELETE FROM lti_used_nonces WHERE expires_at < ?1", params![now])?;
        let launches = conn.execute("DELETE FROM lti_launches WHERE expires_at < ?1", params![now])?;
        // Brokered launches carry personal claims: they go as soon as they expire too.
        let brokered = conn.execute("DELETE FROM brokered_launches WHERE expires_at < ?1", params![now])?;
        Ok(nonces + launches + brokered)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::SqliteRegistry;

    #[test]
    fn test_nonces_are_recorded_once_and_forgotten_when_expired() {
        let dir = tempfile::tempdir().unwrap();
        let registry = SqliteRegistry::open(&dir.path().join("r.sqlite3")).unwrap();
        let later = Utc::now() + chrono::Duration::minutes(10);
        assert!(registry.record_nonce("n1", later).unwrap());
        assert!(!registry.record_nonce("n1", later).unwrap(), "a nonce is used once");
        assert!(registry.record_nonce("old", Utc::now() - chrono::Duration::minutes(1)).unwrap());
        assert_eq!(registry.purge_expired(Utc::now()).unwrap(), 1, "only the expired one goes");
        assert!(!registry.record_nonce("n1", later).unwrap(), "an unexpired nonce stays");
    }

    #[test]
    fn test_deployments_are_added_once() {
        let dir = tempfile::tempdir().unwrap();
        let registry = SqliteRegistry::open(&dir.path().join("r.sqlite3")).unwrap();
        let platform = registry
            .upsert_platform(&Platform {
                id: "p1".into(),
                issuer: "https://lms.example.edu".into(),
                client_id: "c1".into(),
                deployment_ids: vec![],
                auth_login_url: "https://lms.example.edu/auth".into(),
                jwks_url: "https://lms.example.edu/jwks".into(),
                token_url: None,
                name: None,
                created_at: Utc::now(),
                deployments_open: true,
            })
            .unwrap();
        assert!(platform.deployments_open);
        registry.add_deployment("p1", "d1").unwrap();
        registry.add_deployment("p1", "d1").unwrap();
        registry.add_deployment("p1", "d2").unwrap();
        registry.add_deployment("unknown", "d3").unwrap();
        assert_eq!(registry.platform("p1").unwrap().unwrap().deployment_ids, vec!["d1", "d2"]);
    }
}
