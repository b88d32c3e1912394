//! The registry in SQL, one implementation for both databases it runs on: the embedded SQLite
//! file of a data folder (the default) and a PostgreSQL server shared by several replicas.
//!
//! Queries go through sqlx's runtime-chosen driver (`Any`) and are written in the SQL both
//! dialects share (`$1` parameters, `ON CONFLICT`, `RETURNING`, text timestamps, integers for
//! booleans); the few statements that differ ask [`Db::kind`]. Every call is bounded by
//! [`QUERY_TIMEOUT`], so a database that stops answering makes requests fail with
//! [`RegistryError::Unavailable`] instead of hanging, and the pool reconnects by itself when the
//! database is back.

mod broker;
mod live_hits;
mod log;
mod lti;
mod migrations;
mod publishers;
mod registration;
mod secrets;
mod sitemap_pages;
mod sources;

use std::future::Future;
use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Executor, Row};

use super::sealing::Sealer;
use super::{Registry, RegistryError};

/// The `meta` row that tells which key (or none) the database's secrets are sealed with.
const SEALING_CHECK: &str = "sealing_check";

/// Longest wait for one registry operation (a connection included) before it is `Unavailable`.
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a request waits for a free connection.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);
/// Connections per process: SQLite serves reads in parallel beside its one writer; PostgreSQL
/// connections are shared by every replica, so each takes a few.
const SQLITE_CONNECTIONS: u32 = 4;
const POSTGRES_CONNECTIONS: u32 = 8;

/// Which database a registry runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatabaseKind {
    Sqlite,
    Postgres,
}

/// A pool and the dialect it speaks.
#[derive(Clone, Debug)]
pub(crate) struct Db {
    pool: AnyPool,
    kind: DatabaseKind,
}

impl Db {
    pub fn kind(&self) -> DatabaseKind {
        self.kind
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Runs one registry operation under [`QUERY_TIMEOUT`].
    pub async fn timed<T>(&self, work: impl Future<Output = Result<T, RegistryError>>) -> Result<T, RegistryError> {
        match tokio::time::timeout(QUERY_TIMEOUT, work).await {
            Ok(result) => result,
            Err(_) => Err(RegistryError::Unavailable(format!("no answer within {} s", QUERY_TIMEOUT.as_secs()))),
        }
    }

    /// Starts a transaction that will write. SQLite takes its write lock at once (a deferred
    /// transaction that reads first could find its snapshot stale when it comes to write).
    pub async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, RegistryError> {
        let tx = match self.kind {
            DatabaseKind::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            DatabaseKind::Postgres => self.pool.begin().await?,
        };
        Ok(tx)
    }
}

/// The registry on SQL: implements every store trait of [`super`].
pub struct SqlRegistry {
    pub(crate) db: Db,
    /// Seals the secrets it stores (plain until [`SqlRegistry::sealed_with`] gives a key).
    pub(crate) sealer: Sealer,
}

impl SqlRegistry {
    /// Opens (creating and migrating) the SQLite registry of a data folder
    /// (`<data>/registry.sqlite3`, readable by the gateway's user only).
    pub async fn open_in_data_dir(data_dir: &Path) -> Result<Self, RegistryError> {
        let path = data_dir.join("registry.sqlite3");
        let registry = Self::open_sqlite(&path).await?;
        restrict_to_owner(&path);
        Ok(registry)
    }

    /// Opens (creating and migrating) an SQLite registry file.
    pub async fn open_sqlite(path: &Path) -> Result<Self, RegistryError> {
        let url = format!("sqlite://{}?mode=rwc", path.display());
        let registry = Self::connect(&url, DatabaseKind::Sqlite).await?;
        // WAL lets readers go on while one connection writes; it is a property of the file.
        registry
            .db
            .timed(async { Ok(sqlx::query("PRAGMA journal_mode = WAL").execute(&registry.db.pool).await?) })
            .await?;
        registry.migrate().await?;
        Ok(registry)
    }

    /// Connects to a PostgreSQL database (`postgres://user[:password]@host:port/db`) and applies
    /// the migrations it lacks; replicas starting together migrate once.
    pub async fn open_postgres(url: &str) -> Result<Self, RegistryError> {
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(RegistryError::Storage(
                "the database URL must start with postgres:// (postgres://user:password@host:port/db)".into(),
            ));
        }
        let registry = Self::connect(url, DatabaseKind::Postgres).await?;
        registry.migrate().await?;
        Ok(registry)
    }

    async fn connect(url: &str, kind: DatabaseKind) -> Result<Self, RegistryError> {
        sqlx::any::install_default_drivers();
        let options = AnyPoolOptions::new().acquire_timeout(ACQUIRE_TIMEOUT);
        let options = match kind {
            DatabaseKind::Sqlite => options.max_connections(SQLITE_CONNECTIONS).after_connect(|conn, _| {
                Box::pin(async move {
                    // Per connection: full sync so a committed write survives a crash, foreign
                    // keys enforced, and writers wait for each other rather than fail.
                    conn.execute("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000")
                        .await?;
                    Ok(())
                })
            }),
            DatabaseKind::Postgres => options.max_connections(POSTGRES_CONNECTIONS).min_connections(1),
        };
        let pool = match tokio::time::timeout(QUERY_TIMEOUT * 2, options.connect(url)).await {
            Ok(pool) => pool?,
            Err(_) => return Err(RegistryError::Unavailable("the database did not answer the connection".into())),
        };
        Ok(Self { db: Db { pool, kind }, sealer: Sealer::plain() })
    }

    /// Seals secrets with `sealer` from now on, after checking it opens what the database's
    /// secrets were sealed with (the check value the first start wrote).
    pub async fn sealed_with(mut self, sealer: Sealer) -> Result<Self, RegistryError> {
        self.claim_meta(SEALING_CHECK, &sealer.check_value()).await?;
        let check = self.meta(SEALING_CHECK).await?.unwrap_or_default();
        sealer.verify(&check).map_err(|err| RegistryError::Storage(err.to_string()))?;
        if sealer.encrypts() && Sealer::is_plain(&check) {
            // A database of plain secrets gets its first key: from now on it needs that key.
            self.set_meta(SEALING_CHECK, &sealer.check_value()).await?;
        }
        self.sealer = sealer;
        Ok(self)
    }

    pub fn kind(&self) -> DatabaseKind {
        self.db.kind
    }

    /// Closes every connection (a process about to exit, or a test).
    pub async fn close(&self) {
        self.db.pool.close().await;
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

impl From<sqlx::Error> for RegistryError {
    fn from(err: sqlx::Error) -> Self {
        match err {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::Tls(_) => {
                RegistryError::Unavailable(err.to_string())
            }
            sqlx::Error::Protocol(_) | sqlx::Error::WorkerCrashed => RegistryError::Unavailable(err.to_string()),
            sqlx::Error::Database(db) => {
                // PostgreSQL's classes 08 (connection), 53 (resources) and 57 (operator
                // intervention, e.g. a shutdown) pass; the statement itself was fine.
                let code = db.code().map(|c| c.to_string()).unwrap_or_default();
                if ["08", "53", "57"].iter().any(|class| code.starts_with(class)) {
                    RegistryError::Unavailable(db.message().to_string())
                } else {
                    RegistryError::Storage(db.message().to_string())
                }
            }
            other => RegistryError::Storage(other.to_string()),
        }
    }
}

/// Whether an error is a unique-constraint violation (an id or a key already taken).
pub(crate) fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.is_unique_violation())
}

/// How timestamps are stored: RFC 3339 in UTC with a fixed width, so that they sort as text.
pub(crate) fn ts(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub(crate) fn parse_time(raw: &str) -> Result<DateTime<Utc>, RegistryError> {
    DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|err| RegistryError::Corrupt(format!("bad timestamp '{raw}': {err}")))
}

pub(crate) fn optional_time(raw: Option<String>) -> Result<Option<DateTime<Utc>>, RegistryError> {
    raw.map(|t| parse_time(&t)).transpose()
}

/// A counter as stored (a non-negative integer).
pub(crate) fn count(value: usize) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

pub(crate) fn to_count(value: i64) -> usize {
    usize::try_from(value).unwrap_or(0)
}

pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> Result<String, RegistryError> {
    serde_json::to_string(value).map_err(|err| RegistryError::Corrupt(err.to_string()))
}

pub(crate) fn json_list(raw: &str) -> Result<Vec<String>, RegistryError> {
    serde_json::from_str(raw).map_err(|err| RegistryError::Corrupt(format!("list: {err}")))
}

/// Reads a column, naming it when the stored value does not fit.
pub(crate) fn get<T>(row: &AnyRow, column: &str) -> Result<T, RegistryError>
where
    T: for<'r> sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    row.try_get(column).map_err(|err| RegistryError::Corrupt(format!("column {column}: {err}")))
}

#[cfg(test)]
pub(crate) mod testing {
    //! Registries for unit tests: SQLite in a temporary folder always, and PostgreSQL too when
    //! `RG_TEST_POSTGRES_URL` names a server (`.ci/run` starts one), each test in a database of
    //! its own.

    use super::*;

    /// A registry and what keeps it alive.
    pub struct TestRegistry {
        pub registry: SqlRegistry,
        _dir: Option<tempfile::TempDir>,
    }

    impl TestRegistry {
        /// The registry to share between services, with what keeps it alive.
        pub fn shared(self) -> (std::sync::Arc<SqlRegistry>, Option<tempfile::TempDir>) {
            (std::sync::Arc::new(self.registry), self._dir)
        }
    }

    impl std::ops::Deref for TestRegistry {
        type Target = SqlRegistry;
        fn deref(&self) -> &SqlRegistry {
            &self.registry
        }
    }

    /// One registry per database this machine offers the tests.
    pub async fn registries() -> Vec<TestRegistry> {
        let dir = tempfile::tempdir().expect("temp dir");
        let sqlite = SqlRegistry::open_sqlite(&dir.path().join("registry.sqlite3")).await.expect("sqlite registry");
        let mut out = vec![TestRegistry { registry: sqlite, _dir: Some(dir) }];
        if let Ok(admin_url) = std::env::var("RG_TEST_POSTGRES_URL") {
            out.push(TestRegistry { registry: postgres(&admin_url).await, _dir: None });
        }
        out
    }

    async fn postgres(admin_url: &str) -> SqlRegistry {
        sqlx::any::install_default_drivers();
        let name = format!("rg_unit_{}", hex::encode(rand::random::<[u8; 6]>()));
        let admin = sqlx::AnyPool::connect(admin_url).await.expect("connect to the test PostgreSQL");
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&admin).await.expect("create test database");
        admin.close().await;
        let base = admin_url.rsplit_once('/').map_or(admin_url, |(base, _)| base);
        SqlRegistry::open_postgres(&format!("{base}/{name}")).await.expect("postgres registry")
    }
}
