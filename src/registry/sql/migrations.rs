//! Versioned schema changes, applied once each in order and recorded by name in `migrations`.
//! Each is written once per dialect; names are shared, so both databases move in step.
//! PostgreSQL applies them under an advisory lock, so replicas that start together migrate once.

use chrono::Utc;

use super::{ts, DatabaseKind, SqlRegistry};
use crate::registry::RegistryError;

/// One schema change: its name, then its SQL for SQLite and for PostgreSQL.
struct Migration {
    name: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

/// Arbitrary, fixed: the advisory lock key replicas migrate under.
const MIGRATION_LOCK: i64 = 0x7267_6d69_6772;

const MIGRATIONS: &[Migration] = &[
    Migration {
        name: "0001_publishers_and_ingests",
        sqlite: r#"
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
        postgres: r#"
CREATE TABLE publishers (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    homepage TEXT,
    key_hash TEXT,
    created_at TEXT NOT NULL
);
CREATE TABLE ingests (
    id BIGSERIAL PRIMARY KEY,
    publisher TEXT NOT NULL REFERENCES publishers(id),
    source_id TEXT NOT NULL,
    format TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    status TEXT NOT NULL,
    added BIGINT NOT NULL,
    updated BIGINT NOT NULL,
    removed BIGINT NOT NULL,
    rejected BIGINT NOT NULL,
    diagnostics TEXT NOT NULL
);
CREATE INDEX ingests_by_publisher ON ingests(publisher, id);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"#,
    },
    Migration {
        name: "0002_catalog_sources",
        sqlite: r#"
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
        postgres: r#"
CREATE TABLE catalog_sources (
    id TEXT PRIMARY KEY,
    publisher TEXT NOT NULL REFERENCES publishers(id),
    url TEXT NOT NULL,
    format TEXT NOT NULL,
    refresh_seconds BIGINT NOT NULL,
    live BIGINT NOT NULL,
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
    id BIGSERIAL PRIMARY KEY,
    source_id TEXT NOT NULL REFERENCES catalog_sources(id),
    publisher TEXT NOT NULL,
    trigger TEXT NOT NULL,
    status TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    added BIGINT NOT NULL,
    updated BIGINT NOT NULL,
    removed BIGINT NOT NULL,
    rejected BIGINT NOT NULL,
    http_status BIGINT,
    requests BIGINT NOT NULL,
    diagnostics TEXT NOT NULL
);
CREATE INDEX harvest_runs_by_source ON harvest_runs(source_id, id);
"#,
    },
    Migration { name: "0010_lti", sqlite: LTI_TABLES, postgres: LTI_TABLES },
    Migration {
        name: "0020_broker",
        sqlite: r#"
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
"#,
        postgres: r#"
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
    share_personal_data BIGINT NOT NULL,
    created_at TEXT NOT NULL
);
"#,
    },
    Migration { name: "0021_broker_state", sqlite: BROKER_STATE_TABLES, postgres: BROKER_STATE_TABLES },
    Migration {
        name: "0030_catalog_log",
        sqlite: r#"
CREATE TABLE catalog_log (
    seq INTEGER PRIMARY KEY,
    publisher TEXT NOT NULL,
    source_id TEXT,
    kind TEXT NOT NULL,
    format TEXT,
    mode TEXT,
    created_at TEXT NOT NULL,
    documents BLOB
);
CREATE INDEX catalog_log_by_source ON catalog_log(publisher, source_id, seq);
CREATE TABLE catalog_log_head (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL);
INSERT INTO catalog_log_head (id, seq) VALUES (1, 0);
"#,
        postgres: r#"
CREATE TABLE catalog_log (
    seq BIGINT PRIMARY KEY,
    publisher TEXT NOT NULL,
    source_id TEXT,
    kind TEXT NOT NULL,
    format TEXT,
    mode TEXT,
    created_at TEXT NOT NULL,
    documents BYTEA
);
CREATE INDEX catalog_log_by_source ON catalog_log(publisher, source_id, seq);
CREATE TABLE catalog_log_head (id BIGINT PRIMARY KEY CHECK (id = 1), seq BIGINT NOT NULL);
INSERT INTO catalog_log_head (id, seq) VALUES (1, 0);
"#,
    },
    Migration { name: "0031_harvest_leases", sqlite: HARVEST_LEASES, postgres: HARVEST_LEASES },
    Migration { name: "0032_live_hits", sqlite: LIVE_HITS, postgres: LIVE_HITS },
    Migration { name: "0033_secrets", sqlite: SECRETS, postgres: SECRETS },
    Migration {
        name: "0040_stateless_logins",
        sqlite: r#"
DROP INDEX IF EXISTS lti_login_states_expiry;
DROP TABLE IF EXISTS lti_login_states;
CREATE TABLE lti_used_nonces (nonce TEXT PRIMARY KEY, expires_at TEXT NOT NULL);
CREATE INDEX lti_used_nonces_expiry ON lti_used_nonces(expires_at);
ALTER TABLE lti_platforms ADD COLUMN deployments_open INTEGER NOT NULL DEFAULT 0;
"#,
        postgres: r#"
DROP INDEX IF EXISTS lti_login_states_expiry;
DROP TABLE IF EXISTS lti_login_states;
CREATE TABLE lti_used_nonces (nonce TEXT PRIMARY KEY, expires_at TEXT NOT NULL);
CREATE INDEX lti_used_nonces_expiry ON lti_used_nonces(expires_at);
ALTER TABLE lti_platforms ADD COLUMN deployments_open BIGINT NOT NULL DEFAULT 0;
"#,
    },
    Migration {
        name: "0041_lti_dynamic_registration",
        sqlite: r#"
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
        postgres: r#"
CREATE TABLE lti_registrations (
    token_hash TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    publisher TEXT,
    name TEXT,
    personal_data BIGINT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    claimed_at TEXT,
    completed_at TEXT,
    registered_id TEXT
);
CREATE INDEX lti_registrations_by_publisher ON lti_registrations(publisher);
"#,
    },
    Migration { name: "0042_lti_launch_presentation", sqlite: LAUNCH_PRESENTATION, postgres: LAUNCH_PRESENTATION },
    Migration { name: "0043_sitemap_pages", sqlite: SITEMAP_PAGES, postgres: SITEMAP_PAGES },
];

/// The gateway's signing keys and named secrets, sealed (text) as the registry's sealer wrote them.
const SECRETS: &str = r#"
CREATE TABLE secrets (name TEXT PRIMARY KEY, value TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE signing_keys (kid TEXT PRIMARY KEY, created_at TEXT NOT NULL, retired_at TEXT, private_key TEXT NOT NULL);
"#;

/// Live hits resolvable by id on every replica (expiry in milliseconds since the epoch).
const LIVE_HITS: &str = r#"
CREATE TABLE live_hits (id TEXT PRIMARY KEY, record TEXT NOT NULL, expires_at BIGINT NOT NULL);
CREATE INDEX live_hits_expiry ON live_hits(expires_at);
"#;

/// What the picker shows from a deep-linking launch besides its settings.
const LAUNCH_PRESENTATION: &str = r#"
ALTER TABLE lti_launches ADD COLUMN course_title TEXT;
ALTER TABLE lti_launches ADD COLUMN locale TEXT;
"#;

/// Who harvests a source now, and until when (milliseconds since the epoch).
const HARVEST_LEASES: &str = r#"
ALTER TABLE catalog_sources ADD COLUMN lease_owner TEXT;
ALTER TABLE catalog_sources ADD COLUMN lease_until BIGINT;
"#;

/// Tables of LMS registrations and launch state: text and integers only, the same in both.
const LTI_TABLES: &str = r#"
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
"#;

/// The rest of migration `0020_broker` as the first SQLite registries applied it in one go;
/// split off so that the one column type that differs stays in `0020_broker`.
const BROKER_STATE_TABLES: &str = r#"
CREATE TABLE IF NOT EXISTS brokered_launches (
    id TEXT PRIMARY KEY,
    tool_id TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    claims TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT
);
CREATE TABLE IF NOT EXISTS ags_grants (
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
CREATE TABLE IF NOT EXISTS tool_tokens (
    token_hash TEXT PRIMARY KEY,
    tool_id TEXT NOT NULL,
    scopes TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS seen_assertions (
    jti TEXT PRIMARY KEY,
    expires_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS brokered_launches_expiry ON brokered_launches(expires_at);
CREATE INDEX IF NOT EXISTS seen_assertions_expiry ON seen_assertions(expires_at);
CREATE INDEX IF NOT EXISTS tool_tokens_expiry ON tool_tokens(expires_at);
CREATE INDEX IF NOT EXISTS lti_login_states_expiry ON lti_login_states(expires_at);
CREATE INDEX IF NOT EXISTS lti_launches_expiry ON lti_launches(expires_at);
"#;

/// Per-page state of sitemap sources; rows go with their source.
const SITEMAP_PAGES: &str = r#"
CREATE TABLE sitemap_pages (
    source_id TEXT NOT NULL REFERENCES catalog_sources(id) ON DELETE CASCADE,
    url TEXT NOT NULL,
    lastmod TEXT,
    etag TEXT,
    last_modified TEXT,
    content_hash TEXT,
    resource_ids TEXT NOT NULL,
    fetched_at TEXT NOT NULL,
    PRIMARY KEY (source_id, url)
);
"#;

impl SqlRegistry {
    /// Applies every migration the database lacks, in one transaction. (Boxed: sqlx's executor
    /// futures are only `Send` for the concrete lifetimes a box fixes.)
    pub(super) fn migrate(&self) -> futures_util::future::BoxFuture<'_, Result<(), RegistryError>> {
        Box::pin(migrate(self.db.clone()))
    }
}

/// The migration transaction, on an owned handle (see [`SqlRegistry::migrate`]).
async fn migrate(db: super::Db) -> Result<(), RegistryError> {
    let mut tx = db.begin_write().await?;
    if db.kind() == DatabaseKind::Postgres {
        sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(MIGRATION_LOCK).execute(&mut *tx).await?;
    }
    sqlx::query("CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
        .execute(&mut *tx)
        .await?;
    let applied: Vec<String> = sqlx::query_scalar("SELECT name FROM migrations").fetch_all(&mut *tx).await?;
    for migration in MIGRATIONS {
        if applied.iter().any(|name| name == migration.name) {
            continue;
        }
        let sql = match db.kind() {
            DatabaseKind::Sqlite => migration.sqlite,
            DatabaseKind::Postgres => migration.postgres,
        };
        // Statement by statement: none of these contains a `;` of its own.
        for statement in sql.split(';').map(str::trim).filter(|statement| !statement.is_empty()) {
            sqlx::query(statement).execute(&mut *tx).await?;
        }
        sqlx::query("INSERT INTO migrations (name, applied_at) VALUES ($1, $2)")
            .bind(migration.name)
            .bind(ts(Utc::now()))
            .execute(&mut *tx)
            .await?;
        tracing::debug!(migration = migration.name, "registry migrated");
    }
    tx.commit().await?;
    Ok(())
}
