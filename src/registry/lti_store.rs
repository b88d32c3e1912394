//! LTI state in the registry: platforms (LMS registrations), OIDC login states and
//! deep-linking launches. Kept in the database rather than in memory or cookies, so a launch
//! works inside an LMS iframe without third-party cookies and across gateway replicas.

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
}

/// What a login initiation promised: the `state` and `nonce` the id_token must come back with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginState {
    pub state: String,
    pub nonce: String,
    pub platform_id: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
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
    /// The context claim's course title (or label), for the picker's starting point.
    pub course_title: Option<String>,
    /// `launch_presentation.locale`, the language the LMS shows the teacher.
    pub locale: Option<String>,
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

/// What the picker shows from the launch besides its settings (course title, locale).
pub(super) const LAUNCH_PRESENTATION_MIGRATION: (&str, &str) = (
    "0011_lti_launch_presentation",
    r#"
ALTER TABLE lti_launches ADD COLUMN course_title TEXT;
ALTER TABLE lti_launches ADD COLUMN locale TEXT;
"#,
);

/// Storage of LTI registrations and the short-lived state of launches.
pub trait LtiStore: Send + Sync {
    /// Inserts, or updates the platform with the same issuer and client id (keeping its id).
    fn upsert_platform(&self, platform: &Platform) -> Result<Platform, RegistryError>;
    fn platforms(&self) -> Result<Vec<Platform>, RegistryError>;
    fn platform(&self, id: &str) -> Result<Option<Platform>, RegistryError>;
    fn platforms_by_issuer(&self, issuer: &str) -> Result<Vec<Platform>, RegistryError>;
    /// Stores a login state unless `max_pending` unexpired ones are already waiting; answers
    /// whether it was stored. Anyone can start a login, so their number is bounded.
    fn insert_login_state(&self, state: &LoginState, max_pending: usize) -> Result<bool, RegistryError>;
    /// Removes and answers a login state: each can be used once.
    fn take_login_state(&self, state: &str) -> Result<Option<LoginState>, RegistryError>;
    fn insert_launch(&self, launch: &DeepLinkLaunch) -> Result<(), RegistryError>;
    fn launch(&self, id: &str) -> Result<Option<DeepLinkLaunch>, RegistryError>;
    /// Marks a launch used if it is unused and unexpired; answers whether it was.
    fn consume_launch(&self, id: &str, now: DateTime<Utc>) -> Result<bool, RegistryError>;
    /// Forgets login states, deep-linking launches and brokered launches that expired before `now`.
    fn purge_expired(&self, now: DateTime<Utc>) -> Result<usize, RegistryError>;
}

fn time(raw: &str) -> Result<DateTime<Utc>, RegistryError> {
    DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|err| RegistryError::Corrupt(format!("bad timestamp '{raw}': {err}")))
}

type LaunchRow = (String, String, String, String, String, String, Option<String>, Option<String>, Option<String>);

type PlatformRow = (String, String, String, String, String, String, Option<String>, Option<String>, String);

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
    ))
}

fn to_platform(row: PlatformRow) -> Result<Platform, RegistryError> {
    let (id, issuer, client_id, deployments, auth_login_url, jwks_url, token_url, name, created_at) = row;
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
    })
}

const PLATFORM_COLUMNS: &str =
    "id, issuer, client_id, deployment_ids, auth_login_url, jwks_url, token_url, name, created_at";

impl LtiStore for SqliteRegistry {
    fn upsert_platform(&self, platform: &Platform) -> Result<Platform, RegistryError> {
        let conn = self.lock()?;
        let deployments =
            serde_json::to_string(&platform.deployment_ids).map_err(|e| RegistryError::Corrupt(e.to_string()))?;
        conn.execute(
            "INSERT INTO lti_platforms (id, issuer, client_id, deployment_ids, auth_login_url, jwks_url, token_url, name, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
             ON CONFLICT(issuer, client_id) DO UPDATE SET
               deployment_ids = excluded.deployment_ids, auth_login_url = excluded.auth_login_url,
               jwks_url = excluded.jwks_url, token_url = excluded.token_url, name = excluded.name",
            params![
                platform.id,
                platform.issuer,
                platform.client_id,
                deployments,
                platform.auth_login_url,
                platform.jwks_url,
                platform.token_url,
                platform.name,
                platform.created_at.to_rfc3339()
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

    fn insert_login_state(&self, state: &LoginState, max_pending: usize) -> Result<bool, RegistryError> {
        let conn = self.lock()?;
        let pending: i64 = conn.query_row(
            "SELECT COUNT(*) FROM (SELECT 1 FROM lti_login_states WHERE expires_at >= ?1 LIMIT ?2)",
            params![state.created_at.to_rfc3339(), i64::try_from(max_pending).unwrap_or(i64::MAX)],
            |row| row.get(0),
        )?;
        if usize::try_from(pending).unwrap_or(usize::MAX) >= max_pending {
            return Ok(false);
        }
        conn.execute(
            "INSERT INTO lti_login_states (state, nonce, platform_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![state.state, state.nonce, state.platform_id, state.created_at.to_rfc3339(), state.expires_at.to_rfc3339()],
        )?;
        Ok(true)
    }

    fn take_login_state(&self, state: &str) -> Result<Option<LoginState>, RegistryError> {
        let mut conn = self.lock()?;
        let tx = conn.transaction()?;
        let row: Option<(String, String, String, String, String)> = tx
            .query_row(
                "SELECT state, nonce, platform_id, created_at, expires_at FROM lti_login_states WHERE state = ?1",
                params![state],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?)),
            )
            .optional()?;
        tx.execute("DELETE FROM lti_login_states WHERE state = ?1", params![state])?;
        tx.commit()?;
        match row {
            None => Ok(None),
            Some((state, nonce, platform_id, created_at, expires_at)) => Ok(Some(LoginState {
                state,
                nonce,
                platform_id,
                created_at: time(&created_at)?,
                expires_at: time(&expires_at)?,
            })),
        }
    }

    fn insert_launch(&self, launch: &DeepLinkLaunch) -> Result<(), RegistryError> {
        let conn = self.lock()?;
        conn.execute(
            "INSERT INTO lti_launches (id, platform_id, deployment_id, settings, created_at, expires_at, used_at, course_title, locale)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL, ?7, ?8)",
            params![
                launch.id,
                launch.platform_id,
                launch.deployment_id,
                launch.settings_json,
                launch.created_at.to_rfc3339(),
                launch.expires_at.to_rfc3339(),
                launch.course_title,
                launch.locale
            ],
        )?;
        Ok(())
    }

    fn launch(&self, id: &str) -> Result<Option<DeepLinkLaunch>, RegistryError> {
        let conn = self.lock()?;
        let row: Option<LaunchRow> = conn
            .query_row(
                "SELECT id, platform_id, deployment_id, settings, created_at, expires_at, used_at, course_title, locale
                 FROM lti_launches WHERE id = ?1",
                params![id],
                |row| {
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
                    ))
                },
            )
            .optional()?;
        let Some((
            id,
            platform_id,
            deployment_id,
            settings_json,
            created_at,
            expires_at,
            used_at,
            course_title,
            locale,
        )) = row
        else {
            return Ok(None);
        };
        Ok(Some(DeepLinkLaunch {
            id,
            platform_id,
            deployment_id,
            settings_json,
            course_title,
            locale,
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
        let states = conn.execute("DELETE FROM lti_login_states WHERE expires_at < ?1", params![now])?;
        let launches = conn.execute("DELETE FROM lti_launches WHERE expires_at < ?1", params![now])?;
        // Brokered launches carry personal claims: they go as soon as they expire too.
        let brokered = conn.execute("DELETE FROM brokered_launches WHERE expires_at < ?1", params![now])?;
        Ok(states + launches + brokered)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::SqliteRegistry;

    fn state(name: &str, expires_in_minutes: i64) -> LoginState {
        let now = Utc::now();
        LoginState {
            state: name.to_string(),
            nonce: format!("nonce-{name}"),
            platform_id: "platform-1".to_string(),
            created_at: now,
            expires_at: now + chrono::Duration::minutes(expires_in_minutes),
        }
    }

    #[test]
    fn test_pending_login_states_are_bounded_and_single_use() {
        let dir = tempfile::tempdir().unwrap();
        let registry = SqliteRegistry::open(&dir.path().join("r.sqlite3")).unwrap();
        assert!(registry.insert_login_state(&state("old", -1), 2).unwrap(), "stored, already expired");
        assert!(registry.insert_login_state(&state("a", 10), 2).unwrap());
        assert!(registry.insert_login_state(&state("b", 10), 2).unwrap(), "an expired state does not count");
        assert!(!registry.insert_login_state(&state("c", 10), 2).unwrap(), "two are waiting: full");
        assert!(registry.take_login_state("c").unwrap().is_none());
        assert_eq!(registry.take_login_state("a").unwrap().map(|s| s.nonce).as_deref(), Some("nonce-a"));
        assert!(registry.take_login_state("a").unwrap().is_none(), "each state is used once");
        assert!(registry.insert_login_state(&state("c", 10), 2).unwrap(), "room again");
    }
}
