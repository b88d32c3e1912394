//! LTI Dynamic Registration grants: the single-use, expiring credentials that let an LMS
//! register the gateway (a registration link the admin pastes into the LMS) or a publisher's
//! tool register itself with the gateway (a registration token). Only their SHA-256 is kept.
//!
//! A grant is *claimed* while its registration runs (so two uses cannot race), *released* when
//! the registration fails (nothing else was stored, the admin may try again) and *completed*
//! when it succeeded (it names what was registered and can never be used again).

use chrono::{DateTime, Duration, Utc};
use rusqlite::{params, OptionalExtension};

use super::sqlite::SqliteRegistry;
use super::RegistryError;
use crate::resource::PublisherId;

/// A claim older than this belongs to a registration that died half-way (the process stopped):
/// the grant may be claimed again.
const STALE_CLAIM_SECONDS: i64 = 120;

/// Which side registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistrationKind {
    /// An LMS registers the gateway as its tool.
    Platform,
    /// A publisher's tool registers with the gateway as its platform.
    Tool,
}

impl RegistrationKind {
    fn as_str(self) -> &'static str {
        match self {
            RegistrationKind::Platform => "platform",
            RegistrationKind::Tool => "tool",
        }
    }

    fn parse(raw: &str) -> Result<Self, RegistryError> {
        match raw {
            "platform" => Ok(RegistrationKind::Platform),
            "tool" => Ok(RegistrationKind::Tool),
            other => Err(RegistryError::Corrupt(format!("registration kind '{other}'"))),
        }
    }
}

/// One registration credential and what it allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationGrant {
    /// SHA-256 (hex) of the secret handed out.
    pub token_hash: String,
    pub kind: RegistrationKind,
    /// The publisher a tool registration is for (none for an LMS).
    pub publisher: Option<PublisherId>,
    /// Display name given when the grant was made.
    pub name: Option<String>,
    /// LMS: ask for the user's name and email; tool: let them reach the tool.
    pub personal_data: bool,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub claimed_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    /// What the registration created (platform or tool id).
    pub registered_id: Option<String>,
}

impl RegistrationGrant {
    /// Whether the grant can no longer be used, and why (for the page the admin sees).
    pub fn unusable_reason(&self, now: DateTime<Utc>) -> Option<&'static str> {
        if self.completed_at.is_some() {
            Some("was already used")
        } else if self.expires_at <= now {
            Some("has expired")
        } else {
            None
        }
    }
}

pub(super) const MIGRATION: (&str, &str) = (
    "0040_lti_dynamic_registration",
    r#"
CREATE TABLE lti_registrations (
    token_hash TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    publisher TEXT,
    name TEXT,
    personal_data INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    claimed_at TEXT,
    completed_at TEXT,
    registered_id TEXT
);
CREATE INDEX lti_registrations_by_publisher ON lti_registrations(publisher);
"#,
);

/// Storage of registration grants.
pub trait RegistrationStore: Send + Sync {
    fn insert_registration(&self, grant: &RegistrationGrant) -> Result<(), RegistryError>;
    fn registration(&self, token_hash: &str) -> Result<Option<RegistrationGrant>, RegistryError>;
    /// Claims an unexpired, uncompleted grant that nobody else is using; answers whether it did.
    fn claim_registration(&self, token_hash: &str, now: DateTime<Utc>) -> Result<bool, RegistryError>;
    /// Gives a claimed grant back after a failed registration.
    fn release_registration(&self, token_hash: &str) -> Result<(), RegistryError>;
    /// Marks a grant used for good, naming what it registered.
    fn complete_registration(&self, token_hash: &str, registered_id: &str) -> Result<(), RegistryError>;
}

type GrantRow = (
    String,
    String,
    Option<String>,
    Option<String>,
    i64,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
);

fn time(raw: &str) -> Result<DateTime<Utc>, RegistryError> {
    super::sqlite::parse_time(raw)
}

fn to_grant(row: GrantRow) -> Result<RegistrationGrant, RegistryError> {
    let (token_hash, kind, publisher, name, personal, created, expires, claimed, completed, registered_id) = row;
    Ok(RegistrationGrant {
        token_hash,
        kind: RegistrationKind::parse(&kind)?,
        publisher: publisher
            .map(|p| PublisherId::parse(&p).map_err(|err| RegistryError::Corrupt(err.to_string())))
            .transpose()?,
        name,
        personal_data: personal != 0,
        created_at: time(&created)?,
        expires_at: time(&expires)?,
        claimed_at: claimed.as_deref().map(time).transpose()?,
        completed_at: completed.as_deref().map(time).transpose()?,
        registered_id,
    })
}

impl RegistrationStore for SqliteRegistry {
    fn insert_registration(&self, grant: &RegistrationGrant) -> Result<(), RegistryError> {
        let conn = self.lock()?;
        conn.execute(
            "INSERT INTO lti_registrations (token_hash, kind, publisher, name, personal_data, created_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                grant.token_hash,
                grant.kind.as_str(),
                grant.publisher.as_ref().map(|p| p.as_str()),
                grant.name,
                i64::from(grant.personal_data),
                grant.created_at.to_rfc3339(),
                grant.expires_at.to_rfc3339()
            ],
        )?;
        Ok(())
    }

    fn registration(&self, token_hash: &str) -> Result<Option<RegistrationGrant>, RegistryError> {
        let conn = self.lock()?;
        let row: Option<GrantRow> = conn
            .query_row(
                "SELECT token_hash, kind, publisher, name, personal_data, created_at, expires_at, claimed_at,
                        completed_at, registered_id
                 FROM lti_registrations WHERE token_hash = ?1",
                params![token_hash],
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
                        row.get(9)?,
                    ))
                },
            )
            .optional()?;
        row.map(to_grant).transpose()
    }

    fn claim_registration(&self, token_hash: &str, now: DateTime<Utc>) -> Result<bool, RegistryError> {
        let conn = self.lock()?;
        let stale = now - Duration::seconds(STALE_CLAIM_SECONDS);
        let changed = conn.execute(
            "UPDATE lti_registrations SET claimed_at = ?2
             WHERE token_hash = ?1 AND completed_at IS NULL AND expires_at > ?2
               AND (claimed_at IS NULL OR claimed_at < ?3)",
            params![token_hash, now.to_rfc3339(), stale.to_rfc3339()],
        )?;
        Ok(changed == 1)
    }

    fn release_registration(&self, token_hash: &str) -> Result<(), RegistryError> {
        let conn = self.lock()?;
        conn.execute(
            "UPDATE lti_registrations SET claimed_at = NULL WHERE token_hash = ?1 AND completed_at IS NULL",
            params![token_hash],
        )?;
        Ok(())
    }

    fn complete_registration(&self, token_hash: &str, registered_id: &str) -> Result<(), RegistryError> {
        let conn = self.lock()?;
        conn.execute(
            "UPDATE lti_registrations SET completed_at = ?2, registered_id = ?3 WHERE token_hash = ?1",
            params![token_hash, Utc::now().to_rfc3339(), registered_id],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(hash: &str, expires_in_minutes: i64) -> RegistrationGrant {
        let now = Utc::now();
        RegistrationGrant {
            token_hash: hash.to_string(),
            kind: RegistrationKind::Platform,
            publisher: None,
            name: Some("District Moodle".into()),
            personal_data: false,
            created_at: now,
            expires_at: now + Duration::minutes(expires_in_minutes),
            claimed_at: None,
            completed_at: None,
            registered_id: None,
        }
    }

    #[test]
    fn test_a_grant_is_claimed_once_released_on_failure_and_completed_for_good() {
        let dir = tempfile::tempdir().unwrap();
        let registry = SqliteRegistry::open(&dir.path().join("r.sqlite3")).unwrap();
        registry.insert_registration(&grant("a", 60)).unwrap();
        registry.insert_registration(&grant("expired", -1)).unwrap();
        let now = Utc::now();
        assert!(!registry.claim_registration("unknown", now).unwrap());
        assert!(!registry.claim_registration("expired", now).unwrap());
        assert!(registry.claim_registration("a", now).unwrap());
        assert!(!registry.claim_registration("a", now).unwrap(), "in use by another registration");
        registry.release_registration("a").unwrap();
        assert!(registry.claim_registration("a", now).unwrap(), "a failed registration gives it back");
        assert!(
            registry.claim_registration("a", now + Duration::seconds(STALE_CLAIM_SECONDS + 1)).unwrap(),
            "a claim left by a stopped process goes stale"
        );
        registry.complete_registration("a", "plt-1").unwrap();
        registry.release_registration("a").unwrap();
        assert!(!registry.claim_registration("a", now).unwrap(), "used for good");
        let stored = registry.registration("a").unwrap().unwrap();
        assert_eq!(stored.registered_id.as_deref(), Some("plt-1"));
        assert_eq!(stored.unusable_reason(now), Some("was already used"));
        assert_eq!(registry.registration("expired").unwrap().unwrap().unusable_reason(now), Some("has expired"));
    }
}
