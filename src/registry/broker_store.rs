//! Brokered launches in the registry: publishers' tools, launches on their way to a tool, the
//! AGS grants a tool received, its access tokens and the assertion ids already seen.

use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::sqlite::SqliteRegistry;
use super::RegistryError;
use crate::resource::PublisherId;

/// A publisher's LTI tool, to which the gateway is the platform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublisherTool {
    pub id: String,
    pub publisher: PublisherId,
    pub name: Option<String>,
    pub login_url: String,
    pub launch_url: String,
    pub redirect_uris: Vec<String>,
    /// The client id the publisher issued to the gateway.
    pub client_id: String,
    pub deployment_id: String,
    pub jwks_url: String,
    /// Whether name, email, picture and `lis` claims reach this tool.
    pub share_personal_data: bool,
    pub created_at: DateTime<Utc>,
}

/// A launch on its way from the LMS to a publisher's tool.
#[derive(Debug, Clone, PartialEq)]
pub struct BrokeredLaunch {
    pub id: String,
    pub tool_id: String,
    pub resource_id: String,
    /// The id_token claims the tool will receive, minus nonce and times (set at signing).
    pub claims_json: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
}

/// What a tool may do with one LMS line item: the LMS's own coordinates stay here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgsGrant {
    pub id: String,
    pub tool_id: String,
    pub platform_id: String,
    /// The LMS line item URL.
    pub lineitem_url: String,
    /// The LMS user's own id, which replaces the tool's pseudonym in scores.
    pub lms_user_id: String,
    /// The pseudonymous `sub` the tool knows the user by.
    pub tool_user_id: String,
    pub scopes: Vec<String>,
    pub created_at: DateTime<Utc>,
}

/// An access token issued to a tool (stored as a hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolToken {
    pub token_hash: String,
    pub tool_id: String,
    pub scopes: Vec<String>,
    pub expires_at: DateTime<Utc>,
}

pub(super) const MIGRATION: (&str, &str) = (
    "0020_broker",
    r#"
CREATE TABLE publisher_tools (
    id TEXT PRIMARY KEY,
    publisher TEXT NOT NULL REFERENCES publishers(id),
    name TEXT,
    login_url TEXT NOT NULL,
    launch_url TEXT NOT NULL,
    redirect_uris TEXT NOT NULL,
    client_id TEXT NOT NULL UNIQUE,
    deployment_id TEXT NOT NULL,
    jwks_url TEXT NOT NULL,
    share_personal_data INTEGER NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE brokered_launches (
    id TEXT PRIMARY KEY,
    tool_id TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    claims TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT
);
CREATE TABLE ags_grants (
    id TEXT PRIMARY KEY,
    tool_id TEXT NOT NULL,
    platform_id TEXT NOT NULL,
    lineitem_url TEXT NOT NULL,
    lms_user_id TEXT NOT NULL,
    tool_user_id TEXT NOT NULL,
    scopes TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (tool_id, lineitem_url, lms_user_id)
);
CREATE TABLE tool_tokens (
    token_hash TEXT PRIMARY KEY,
    tool_id TEXT NOT NULL,
    scopes TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE TABLE seen_assertions (
    jti TEXT PRIMARY KEY,
    expires_at TEXT NOT NULL
);
CREATE INDEX brokered_launches_expiry ON brokered_launches(expires_at);
CREATE INDEX seen_assertions_expiry ON seen_assertions(expires_at);
CREATE INDEX tool_tokens_expiry ON tool_tokens(expires_at);
CREATE INDEX lti_login_states_expiry ON lti_login_states(expires_at);
CREATE INDEX lti_launches_expiry ON lti_launches(expires_at);
"#,
);

/// Storage of what brokered launches need.
pub trait BrokerStore: Send + Sync {
    /// Inserts, or updates the tool with the same client id when it belongs to the same publisher.
    fn upsert_tool(&self, tool: &PublisherTool) -> Result<PublisherTool, RegistryError>;
    fn tools_of(&self, publisher: &PublisherId) -> Result<Vec<PublisherTool>, RegistryError>;
    fn tool(&self, id: &str) -> Result<Option<PublisherTool>, RegistryError>;
    fn tool_by_client_id(&self, client_id: &str) -> Result<Option<PublisherTool>, RegistryError>;
    /// Removes a tool with its access tokens, grade grants and pending launches; answers
    /// whether it existed.
    fn delete_tool(&self, id: &str) -> Result<bool, RegistryError>;
    fn insert_brokered_launch(&self, launch: &BrokeredLaunch) -> Result<(), RegistryError>;
    fn brokered_launch(&self, id: &str) -> Result<Option<BrokeredLaunch>, RegistryError>;
    /// Marks a launch used if unused and unexpired; answers whether it was.
    fn consume_brokered_launch(&self, id: &str, now: DateTime<Utc>) -> Result<bool, RegistryError>;
    /// Stores a grant, or answers the existing one for the same tool, line item and user.
    fn upsert_grant(&self, grant: &AgsGrant) -> Result<AgsGrant, RegistryError>;
    fn grant(&self, id: &str) -> Result<Option<AgsGrant>, RegistryError>;
    fn insert_tool_token(&self, token: &ToolToken) -> Result<(), RegistryError>;
    fn tool_token(&self, token_hash: &str) -> Result<Option<ToolToken>, RegistryError>;
    /// Records an assertion id; answers false when it was seen before (a replay).
    fn remember_assertion(&self, jti: &str, expires_at: DateTime<Utc>) -> Result<bool, RegistryError>;
}

type LaunchRow = (String, String, String, String, String, String, Option<String>);
type GrantRow = (String, String, String, String, String, String, String, String);

fn time(raw: &str) -> Result<DateTime<Utc>, RegistryError> {
    DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|err| RegistryError::Corrupt(format!("bad timestamp '{raw}': {err}")))
}

fn json_list(raw: &str) -> Result<Vec<String>, RegistryError> {
    serde_json::from_str(raw).map_err(|err| RegistryError::Corrupt(format!("list: {err}")))
}

fn to_json<T: Serialize>(value: &T) -> Result<String, RegistryError> {
    serde_json::to_string(value).map_err(|err| RegistryError::Corrupt(err.to_string()))
}

const TOOL_COLUMNS: &str = "id, publisher, name, login_url, launch_url, redirect_uris, client_id, deployment_id, jwks_url, share_personal_data, created_at";

fn read_tool(row: &rusqlite::Row<'_>) -> rusqlite::Result<Result<PublisherTool, RegistryError>> {
    let publisher: String = row.get(1)?;
    let redirect_uris: String = row.get(5)?;
    let created_at: String = row.get(10)?;
    let id: String = row.get(0)?;
    let name: Option<String> = row.get(2)?;
    let login_url: String = row.get(3)?;
    let launch_url: String = row.get(4)?;
    let client_id: String = row.get(6)?;
    let deployment_id: String = row.get(7)?;
    let jwks_url: String = row.get(8)?;
    let share: i64 = row.get(9)?;
    Ok((|| {
        Ok(PublisherTool {
            id,
            publisher: PublisherId::parse(&publisher).map_err(|err| RegistryError::Corrupt(err.to_string()))?,
            name,
            login_url,
            launch_url,
            redirect_uris: json_list(&redirect_uris)?,
            client_id,
            deployment_id,
            jwks_url,
            share_personal_data: share != 0,
            created_at: time(&created_at)?,
        })
    })())
}

impl SqliteRegistry {
    fn query_tools(&self, condition: &str, value: &str) -> Result<Vec<PublisherTool>, RegistryError> {
        let conn = self.lock()?;
        let mut statement = conn.prepare(&format!(
            "SELECT {TOOL_COLUMNS} FROM publisher_tools WHERE {condition} = ?1 ORDER BY created_at, id"
        ))?;
        let rows = statement.query_map(params![value], read_tool)?;
        let mut out = Vec::new();
        for row in rows {
            out.push(row??);
        }
        Ok(out)
    }
}

impl BrokerStore for SqliteRegistry {
    fn upsert_tool(&self, tool: &PublisherTool) -> Result<PublisherTool, RegistryError> {
        {
            let conn = self.lock()?;
            let changed = conn.execute(
                &format!(
                    "INSERT INTO publisher_tools ({TOOL_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
                     ON CONFLICT(client_id) DO UPDATE SET name = excluded.name, login_url = excluded.login_url,
                       launch_url = excluded.launch_url, redirect_uris = excluded.redirect_uris,
                       deployment_id = excluded.deployment_id, jwks_url = excluded.jwks_url,
                       share_personal_data = excluded.share_personal_data
                     WHERE publisher_tools.publisher = excluded.publisher"
                ),
                params![
                    tool.id,
                    tool.publisher.as_str(),
                    tool.name,
                    tool.login_url,
                    tool.launch_url,
                    to_json(&tool.redirect_uris)?,
                    tool.client_id,
                    tool.deployment_id,
                    tool.jwks_url,
                    i64::from(tool.share_personal_data),
                    tool.created_at.to_rfc3339()
                ],
            )?;
            if changed == 0 {
                return Err(RegistryError::Conflict(format!(
                    "client id '{}' belongs to another publisher's tool",
                    tool.client_id
                )));
            }
        }
        self.tool_by_client_id(&tool.client_id)?.ok_or_else(|| RegistryError::Corrupt("tool vanished".into()))
    }

    fn tools_of(&self, publisher: &PublisherId) -> Result<Vec<PublisherTool>, RegistryError> {
        self.query_tools("publisher", publisher.as_str())
    }

    fn tool(&self, id: &str) -> Result<Option<PublisherTool>, RegistryError> {
        Ok(self.query_tools("id", id)?.into_iter().next())
    }

    fn tool_by_client_id(&self, client_id: &str) -> Result<Option<PublisherTool>, RegistryError> {
        Ok(self.query_tools("client_id", client_id)?.into_iter().next())
    }

    fn delete_tool(&self, id: &str) -> Result<bool, RegistryError> {
        let mut conn = self.lock()?;
        let tx = conn.transaction()?;
        for table in ["tool_tokens", "ags_grants", "brokered_launches"] {
            tx.execute(&format!("DELETE FROM {table} WHERE tool_id = ?1"), params![id])?;
        }
        let deleted = tx.execute("DELETE FROM publisher_tools WHERE id = ?1", params![id])?;
        tx.commit()?;
        Ok(deleted > 0)
    }

    fn insert_brokered_launch(&self, launch: &BrokeredLaunch) -> Result<(), RegistryError> {
        let conn = self.lock()?;
        conn.execute(
            "INSERT INTO brokered_launches (id, tool_id, resource_id, claims, created_at, expires_at, used_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL)",
            params![
                launch.id,
                launch.tool_id,
                launch.resource_id,
                launch.claims_json,
                launch.created_at.to_rfc3339(),
                launch.expires_at.to_rfc3339()
            ],
        )?;
        Ok(())
    }

    fn brokered_launch(&self, id: &str) -> Result<Option<BrokeredLaunch>, RegistryError> {
        let conn = self.lock()?;
        let row: Option<LaunchRow> = conn
            .query_row(
                "SELECT id, tool_id, resource_id, claims, created_at, expires_at, used_at FROM brokered_launches WHERE id = ?1",
                params![id],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?, row.get(5)?, row.get(6)?)),
            )
            .optional()?;
        let Some((id, tool_id, resource_id, claims_json, created_at, expires_at, used_at)) = row else {
            return Ok(None);
        };
        Ok(Some(BrokeredLaunch {
            id,
            tool_id,
            resource_id,
            claims_json,
            created_at: time(&created_at)?,
            expires_at: time(&expires_at)?,
            used_at: used_at.as_deref().map(time).transpose()?,
        }))
    }

    fn consume_brokered_launch(&self, id: &str, now: DateTime<Utc>) -> Result<bool, RegistryError> {
        let conn = self.lock()?;
        let changed = conn.execute(
            "UPDATE brokered_launches SET used_at = ?2 WHERE id = ?1 AND used_at IS NULL AND expires_at > ?2",
            params![id, now.to_rfc3339()],
        )?;
        Ok(changed == 1)
    }

    fn upsert_grant(&self, grant: &AgsGrant) -> Result<AgsGrant, RegistryError> {
        let conn = self.lock()?;
        conn.execute(
            "INSERT INTO ags_grants (id, tool_id, platform_id, lineitem_url, lms_user_id, tool_user_id, scopes, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT(tool_id, lineitem_url, lms_user_id) DO UPDATE SET scopes = excluded.scopes",
            params![
                grant.id,
                grant.tool_id,
                grant.platform_id,
                grant.lineitem_url,
                grant.lms_user_id,
                grant.tool_user_id,
                to_json(&grant.scopes)?,
                grant.created_at.to_rfc3339()
            ],
        )?;
        let id: String = conn.query_row(
            "SELECT id FROM ags_grants WHERE tool_id = ?1 AND lineitem_url = ?2 AND lms_user_id = ?3",
            params![grant.tool_id, grant.lineitem_url, grant.lms_user_id],
            |row| row.get(0),
        )?;
        drop(conn);
        self.grant(&id)?.ok_or_else(|| RegistryError::Corrupt("grant vanished".into()))
    }

    fn grant(&self, id: &str) -> Result<Option<AgsGrant>, RegistryError> {
        let conn = self.lock()?;
        let row: Option<GrantRow> = conn
            .query_row(
                "SELECT id, tool_id, platform_id, lineitem_url, lms_user_id, tool_user_id, scopes, created_at FROM ags_grants WHERE id = ?1",
                params![id],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?, row.get(5)?, row.get(6)?, row.get(7)?)),
            )
            .optional()?;
        let Some((id, tool_id, platform_id, lineitem_url, lms_user_id, tool_user_id, scopes, created_at)) = row else {
            return Ok(None);
        };
        Ok(Some(AgsGrant {
            id,
            tool_id,
            platform_id,
            lineitem_url,
            lms_user_id,
            tool_user_id,
            scopes: json_list(&scopes)?,
            created_at: time(&created_at)?,
        }))
    }

    fn insert_tool_token(&self, token: &ToolToken) -> Result<(), RegistryError> {
        let conn = self.lock()?;
        conn.execute("DELETE FROM tool_tokens WHERE expires_at < ?1", params![Utc::now().to_rfc3339()])?;
        conn.execute(
            "INSERT INTO tool_tokens (token_hash, tool_id, scopes, expires_at) VALUES (?1, ?2, ?3, ?4)",
            params![token.token_hash, token.tool_id, to_json(&token.scopes)?, token.expires_at.to_rfc3339()],
        )?;
        Ok(())
    }

    fn tool_token(&self, token_hash: &str) -> Result<Option<ToolToken>, RegistryError> {
        let conn = self.lock()?;
        let row: Option<(String, String, String, String)> = conn
            .query_row(
                "SELECT token_hash, tool_id, scopes, expires_at FROM tool_tokens WHERE token_hash = ?1",
                params![token_hash],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)),
            )
            .optional()?;
        let Some((token_hash, tool_id, scopes, expires_at)) = row else { return Ok(None) };
        Ok(Some(ToolToken { token_hash, tool_id, scopes: json_list(&scopes)?, expires_at: time(&expires_at)? }))
    }

    fn remember_assertion(&self, jti: &str, expires_at: DateTime<Utc>) -> Result<bool, RegistryError> {
        let conn = self.lock()?;
        conn.execute("DELETE FROM seen_assertions WHERE expires_at < ?1", params![Utc::now().to_rfc3339()])?;
        let inserted = conn.execute(
            "INSERT OR IGNORE INTO seen_assertions (jti, expires_at) VALUES (?1, ?2)",
            params![jti, expires_at.to_rfc3339()],
        )?;
        Ok(inserted == 1)
    }
}
