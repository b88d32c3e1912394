//! The composition root: every store and service of one gateway process, wired in one place.
//!
//! ```text
//!            registry (SqlRegistry: SQLite in the data folder, or a shared PostgreSQL)
//!              │ stores: publishers, sources/runs/leases, LTI, broker, catalog log, live hits
//!   ┌──────────┼───────────────┬───────────────┬──────────────┐
//! PublisherService  IngestService ──► catalog log ──► Follower ──► SearchBackend (tantivy)
//!   │               ▲      ▲                                        ▲
//!   │      HarvestService   └── pushes (GraphQL, HTTP)     SearchService ◄── LiveFederation
//!   │                                                           ▲
//!   └──────────────────────────── LtiService (Lti + search + publishers)
//! ```
//! GraphQL resolvers and HTTP handlers receive an [`App`] and call its services; they only
//! convert types.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::error::AppError;
use crate::federation::LiveSearch;
use crate::harvest::HarvestService;
use crate::index::TantivyBackend;
use crate::ingest::content::ContentFiles;
use crate::ingest::follower::Follower;
use crate::ingest::{legacy, IngestService};
use crate::lti::keys::ToolKeys;
use crate::lti::service::LtiService;
use crate::lti::Lti;
use crate::metrics::Metrics;
use crate::outbound::Outbound;
use crate::publishers::PublisherService;
use crate::registry::sealing::Sealer;
use crate::registry::{HarvestStore, Registry, RegistryError, SqlRegistry};
use crate::search::{SearchBackend, SearchService};

/// Why the gateway could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot use data folder {path}: {source}")]
    DataDir { path: PathBuf, source: std::io::Error },
    #[error(transparent)]
    Index(#[from] crate::index::IndexError),
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error("cannot build the outbound HTTP client: {0}")]
    Outbound(String),
    #[error(transparent)]
    Keys(#[from] crate::lti::keys::KeyError),
    #[error(transparent)]
    Publishers(#[from] crate::publishers::OpenError),
    #[error("cannot start: {0}")]
    Other(String),
}

impl From<AppError> for StartError {
    fn from(err: AppError) -> Self {
        StartError::Other(err.message)
    }
}

/// One gateway process: its services, and the background work it owns.
pub struct App {
    pub config: Config,
    /// `<public URL>`, without trailing slash.
    pub public_url: String,
    pub registry: Arc<SqlRegistry>,
    pub publishers: Arc<PublisherService>,
    pub ingest: Arc<IngestService>,
    pub search: Arc<SearchService>,
    pub harvest: Arc<HarvestService>,
    pub lti: Arc<LtiService>,
    pub metrics: Arc<Metrics>,
    backend: Arc<dyn SearchBackend>,
    content: ContentFiles,
    follower: Arc<Follower>,
    follower_task: Mutex<Option<tokio::task::JoinHandle<()>>>,
    stop: CancellationToken,
}

impl App {
    /// Opens (or creates) everything the gateway needs and starts following the catalog log.
    pub async fn open(config: Config, public_url: String) -> Result<Arc<Self>, StartError> {
        let data_dir = config.data_dir.clone();
        std::fs::create_dir_all(&data_dir).map_err(|source| StartError::DataDir { path: data_dir.clone(), source })?;
        let index_dir = data_dir.join("tantivy");
        let metrics = Arc::new(Metrics::new());
        let searches = metrics.searches.clone();
        let backend =
            tokio::task::spawn_blocking(move || TantivyBackend::open(&index_dir).map(|b| b.counting(searches)))
                .await
                .map_err(|err| StartError::Other(err.to_string()))??;
        Self::assemble(config, public_url, Arc::new(backend), metrics).await
    }

    /// The gateway on another [`SearchBackend`] than the data folder's tantivy index: the
    /// composition is the same, so HTTP and GraphQL routes can be tested on a scripted backend.
    pub async fn open_with_backend(
        config: Config,
        public_url: String,
        backend: Arc<dyn SearchBackend>,
    ) -> Result<Arc<Self>, StartError> {
        Self::assemble(config, public_url, backend, Arc::new(Metrics::new())).await
    }

    async fn assemble(
        config: Config,
        public_url: String,
        backend: Arc<dyn SearchBackend>,
        metrics: Arc<Metrics>,
    ) -> Result<Arc<Self>, StartError> {
        let data_dir = config.data_dir.clone();
        let io_err = |source| StartError::DataDir { path: data_dir.clone(), source };
        std::fs::create_dir_all(&data_dir).map_err(io_err)?;
        let registry = Arc::new(open_registry(&config).await?);
        let keys = ToolKeys::open(registry.clone(), &data_dir).await?;
        let publishers =
            Arc::new(PublisherService::open(registry.clone(), &data_dir, config.admin_token.as_deref()).await?);
        let outbound =
            Outbound::new(config.allow_networks.clone()).map_err(|err| StartError::Outbound(err.to_string()))?;
        let limits = config.catalog_limits;

        legacy::import(&data_dir, registry.as_ref(), registry.as_ref(), backend.as_ref()).await?;
        let content_dir = data_dir.join("content");
        std::fs::create_dir_all(&content_dir).map_err(io_err)?;
        let content = ContentFiles::new(content_dir, public_url.clone());
        let follower =
            Arc::new(Follower::new(registry.clone(), backend.clone(), content.clone(), limits, metrics.clone()));
        let stop = CancellationToken::new();
        let follower_task = tokio::spawn(follower.clone().run(stop.child_token()));

        let ingest = Arc::new(IngestService::new(
            registry.clone(),
            registry.clone(),
            publishers.clone(),
            follower.clone(),
            limits,
            metrics.clone(),
        ));
        let harvest = Arc::new(
            HarvestService::new(
                outbound.clone(),
                registry.clone(),
                ingest.clone(),
                config.max_upload_bytes,
                replica_id(),
                config.harvest_lease,
            )
            .with_sitemaps(registry.clone(), config.sitemap),
        );
        let live = Arc::new(LiveSearch::new(harvest.fetcher().clone(), config.live_retry_after));
        let search = Arc::new(SearchService::new(
            backend.clone(),
            live,
            registry.clone(),
            registry.clone(),
            config.live_deadline,
            metrics.clone(),
        ));
        let lti = Arc::new(Lti::new(registry.clone(), keys, outbound, public_url.clone()));
        let lti = Arc::new(LtiService::new(lti, search.clone(), publishers.clone()));

        let interrupted = registry
            .fail_unfinished_runs(
                "the gateway stopped during the run; nothing was changed and the source runs again after the restart",
            )
            .await?;
        if interrupted > 0 {
            tracing::warn!(runs = interrupted, "harvest runs were interrupted by the last stop");
        }
        metrics.indexed_resources.set(i64::try_from(backend.num_resources()).unwrap_or(i64::MAX));
        Ok(Arc::new(Self {
            config,
            public_url,
            registry,
            publishers,
            ingest,
            search,
            harvest,
            lti,
            metrics,
            backend,
            content,
            follower,
            follower_task: Mutex::new(Some(follower_task)),
            stop,
        }))
    }

    /// Where packaged web content is served from.
    pub fn content_dir(&self) -> &Path {
        self.content.root()
    }

    pub fn follower(&self) -> &Arc<Follower> {
        &self.follower
    }

    /// Whether this replica serves: the registry answers, the index can take changes, and the
    /// catalog log has been caught up with (for `/readyz`).
    pub async fn ready(&self) -> Result<(), AppError> {
        self.registry.ping().await?;
        self.backend.health()?;
        self.follower.ready().map_err(AppError::unavailable)?;
        Ok(())
    }

    /// Stops following the log and releases the index (blocking until its last commit is done),
    /// so a restart or the CLI can write at once.
    pub async fn close(&self) {
        self.stop.cancel();
        let task = self.follower_task.lock().ok().and_then(|mut task| task.take());
        if let Some(task) = task {
            if task.await.is_err() {
                tracing::error!("the catalog log follower ended abnormally");
            }
        }
        self.backend.close().await;
        self.registry.close().await;
    }
}

/// The registry the settings name: the shared PostgreSQL of `--database-url`, or the data
/// folder's SQLite; secrets sealed with `--secret-key` when one is given.
pub async fn open_registry(config: &Config) -> Result<SqlRegistry, StartError> {
    let registry = match &config.database_url {
        Some(url) => SqlRegistry::open_postgres(url).await?,
        None => {
            std::fs::create_dir_all(&config.data_dir)
                .map_err(|source| StartError::DataDir { path: config.data_dir.clone(), source })?;
            SqlRegistry::open_in_data_dir(&config.data_dir).await?
        }
    };
    let sealer = match &config.secret_key {
        Some(key) => Sealer::with_key(key).map_err(|err| StartError::Other(err.to_string()))?,
        None => Sealer::plain(),
    };
    Ok(registry.sealed_with(sealer).await?)
}

/// This process among replicas: the host name, the process id and a random part (a restarted
/// process is a new replica, so leases it held before its crash are not mistaken for its own).
fn replica_id() -> String {
    let host = std::fs::read_to_string("/etc/hostname").map(|h| h.trim().to_string()).unwrap_or_default();
    let host = if host.is_empty() { "gateway".to_string() } else { host };
    format!("{host}-{}-{}", std::process::id(), hex::encode(rand::random::<[u8; 4]>()))
}
