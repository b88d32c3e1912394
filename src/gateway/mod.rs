//! The service between transport and domain: GraphQL resolvers and HTTP handlers call these
//! methods, which check the caller's rights and drive the registry, parsers and index.

mod deep_linking;
mod removal;

pub use deep_linking::LinkTarget;
pub use removal::{PublisherRemoval, SourceRemoval};

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use chrono::Utc;

use crate::archive::CatalogArchive;
use crate::auth::{self, Principal};
use crate::catalog::{self, Diagnostic, Limits, ParsedCatalog, Severity};
use crate::config::Config;
use crate::error::{AppError, HasErrorCode};
use crate::federation::LiveSearch;
use crate::harvest::Harvester;
use crate::index::{IngestBatch, IngestMode, SearchIndex, SearchRequest, SearchResults};
use crate::lti::keys::ToolKeys;
use crate::lti::Lti;
use crate::metrics::Metrics;
use crate::outbound::Outbound;
use crate::registry::{IngestRecord, Publisher, Registry, SitemapPageStore, SqlRegistry, StoredDiagnostic};
use crate::resource::{CatalogFormat, PublisherId, ResourceId, ResourceRecord};
use crate::samples::SAMPLES;

/// Results a page may ask for at most.
pub const MAX_PAGE_SIZE: usize = 100;
/// Deepest offset a cursor may reach (keeps one query's cost bounded).
pub const MAX_OFFSET: usize = 100_000;
/// Resource ids one `contentItems` or `resource` lookup may name.
pub const MAX_LOOKUP_IDS: usize = 100;

/// Why the gateway could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot use data folder {path}: {source}")]
    DataDir { path: PathBuf, source: std::io::Error },
    #[error(transparent)]
    Index(#[from] crate::index::IndexError),
    #[error(transparent)]
    Registry(#[from] crate::registry::RegistryError),
    #[error("cannot build the outbound HTTP client: {0}")]
    Outbound(String),
    #[error(transparent)]
    Keys(#[from] crate::lti::keys::KeyError),
}

/// Options of one ingest.
#[derive(Debug, Clone, Default)]
pub struct IngestOptions {
    /// The catalog source to replace or merge into; defaults to `push-<format>`.
    pub source: Option<String>,
    /// Defaults to `Merge` for OAI-PMH (pages and incremental lists) and `Replace` otherwise.
    pub mode: Option<IngestMode>,
}

/// Overall outcome of an ingest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IngestStatus {
    Succeeded,
    Partial,
    Failed,
}

impl IngestStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            IngestStatus::Succeeded => "SUCCEEDED",
            IngestStatus::Partial => "PARTIAL",
            IngestStatus::Failed => "FAILED",
        }
    }
}

/// What an ingest did, for the publisher who sent it.
#[derive(Debug, Clone)]
pub struct IngestReport {
    pub status: IngestStatus,
    pub source_id: String,
    pub added: usize,
    pub updated: usize,
    pub removed: usize,
    pub rejected: usize,
    pub diagnostics: Vec<Diagnostic>,
}

pub struct Gateway {
    config: Config,
    public_url: String,
    registry: Arc<dyn Registry>,
    /// Per-page state of sitemap sources (lastmod, validators, resources per page).
    sitemap_pages: Arc<dyn SitemapPageStore>,
    index: Arc<SearchIndex>,
    admin_token: String,
    content_dir: PathBuf,
    limits: Limits,
    pub metrics: Metrics,
    /// The shared outbound HTTP client (harvests, live federation, JWKS).
    outbound: Outbound,
    lti: Lti,
    /// Publishers by id, so rendering a page of results does not query the registry per hit.
    publisher_cache: RwLock<HashMap<PublisherId, Publisher>>,
    /// Harvesting of registered catalog sources (fetcher, running runs, shutdown signal).
    harvester: Harvester,
    /// Live fan-out to publishers' Resource Search endpoints, with its caches.
    live: LiveSearch,
    /// Searches running at once ([`search_slots`]); the others wait their turn in order.
    search_slots: tokio::sync::Semaphore,
    /// Ingests commit under a shared guard and removing a publisher takes it exclusively, so an
    /// ingest that was already parsing when its publisher was removed cannot commit afterwards.
    removals: tokio::sync::RwLock<()>,
}

/// How many searches run at once: two per core. Searches are CPU-bound, so more at once only
/// adds threads (each with its own buffers and allocator pages) without adding throughput.
fn search_slots() -> usize {
    std::thread::available_parallelism().map_or(2, |cores| cores.get()).max(1) * 2
}

impl Gateway {
    /// Opens (or creates) everything in the data folder.
    pub async fn open(config: Config, public_url: String) -> Result<Arc<Self>, StartError> {
        let data_dir = config.data_dir.clone();
        let io_err = |source| StartError::DataDir { path: data_dir.clone(), source };
        std::fs::create_dir_all(&data_dir).map_err(io_err)?;
        let sql = Arc::new(SqlRegistry::open_in_data_dir(&data_dir).await?);
        let registry: Arc<dyn Registry> = sql.clone();
        let sitemap_pages: Arc<dyn SitemapPageStore> = sql.clone();
        let index_dir = data_dir.join("tantivy");
        let keys_dir = data_dir.clone();
        let (index, keys) = tokio::task::spawn_blocking(move || -> Result<_, StartError> {
            Ok((SearchIndex::open(&index_dir)?, ToolKeys::load_or_create(&keys_dir)?))
        })
        .await
        .map_err(|err| StartError::DataDir { path: data_dir.clone(), source: std::io::Error::other(err) })??;
        let index = Arc::new(index);
        let admin_token = auth::load_or_create_admin_token(&data_dir, config.admin_token.as_deref()).map_err(io_err)?;
        let outbound =
            Outbound::new(config.allow_networks.clone()).map_err(|err| StartError::Outbound(err.to_string()))?;
        let lti = Lti::new(sql, keys, outbound.clone(), public_url.clone());
        let content_dir = data_dir.join("content");
        std::fs::create_dir_all(&content_dir).map_err(io_err)?;
        let interrupted = registry
            .fail_unfinished_runs(
                "the gateway stopped during the run; nothing was changed and the source runs again after the restart",
            )
            .await?;
        if interrupted > 0 {
            tracing::warn!(runs = interrupted, "harvest runs were interrupted by the last stop");
        }
        let harvester = Harvester::new(outbound.clone(), config.max_upload_bytes);
        let live = LiveSearch::new(harvester.fetcher().clone(), config.live_retry_after);
        let gateway = Self {
            public_url,
            registry,
            sitemap_pages,
            index,
            admin_token,
            content_dir,
            limits: config.catalog_limits,
            metrics: Metrics::new(),
            outbound,
            lti,
            publisher_cache: RwLock::new(HashMap::new()),
            harvester,
            live,
            search_slots: tokio::sync::Semaphore::new(search_slots()),
            removals: tokio::sync::RwLock::new(()),
            config,
        };
        gateway.metrics.indexed_resources.set(gateway.index.num_resources() as i64);
        Ok(Arc::new(gateway))
    }

    pub fn lti(&self) -> &Lti {
        &self.lti
    }

    pub fn outbound(&self) -> &Outbound {
        &self.outbound
    }

    pub fn harvester(&self) -> &Harvester {
        &self.harvester
    }

    pub(crate) fn live(&self) -> &LiveSearch {
        &self.live
    }

    pub(crate) fn registry(&self) -> &Arc<dyn Registry> {
        &self.registry
    }

    pub(crate) fn sitemap_pages(&self) -> &Arc<dyn SitemapPageStore> {
        &self.sitemap_pages
    }

    pub(crate) fn index(&self) -> &Arc<SearchIndex> {
        &self.index
    }

    pub(crate) fn limits(&self) -> Limits {
        self.limits
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    pub fn content_dir(&self) -> &Path {
        &self.content_dir
    }

    /// Where a source's unpacked web content lives.
    pub(crate) fn source_content_dir(&self, publisher: &PublisherId, source_id: &str) -> PathBuf {
        self.content_dir.join(publisher.as_str()).join(source_id)
    }

    /// Resolves a bearer token to a principal; no token is an anonymous caller.
    pub async fn authenticate(&self, bearer: Option<&str>) -> Result<Principal, AppError> {
        let Some(token) = bearer.map(str::trim).filter(|t| !t.is_empty()) else {
            return Ok(Principal::Anonymous);
        };
        if auth::secrets_equal(token, &self.admin_token) {
            return Ok(Principal::Admin);
        }
        let invalid = || AppError::unauthenticated("the bearer token is not a valid admin token or publisher key");
        let Some(publisher) = auth::key_publisher(token) else {
            return Err(invalid());
        };
        let stored = self.registry.publisher_key_hash(&publisher).await.map_err(AppError::from)?;
        match stored {
            Some(hash) if auth::key_matches(token, &hash) => Ok(Principal::Publisher(publisher)),
            _ => Err(invalid()),
        }
    }

    /// Registers a publisher (admin only) and answers its key, which is not stored in clear.
    pub async fn register_publisher(
        &self,
        principal: &Principal,
        name: &str,
        id: Option<&str>,
        homepage: Option<&str>,
    ) -> Result<(Publisher, String), AppError> {
        require_admin(principal)?;
        let (publisher, key, hash) = prepare_publisher(name, id, homepage)?;
        let id = publisher.id.clone();
        self.registry.insert_publisher(&publisher, Some(&hash)).await.map_err(AppError::from)?;
        self.cache_publisher(&publisher);
        tracing::info!(publisher = %id, "publisher registered");
        Ok((publisher, key))
    }

    pub async fn publishers(&self) -> Result<Vec<Publisher>, AppError> {
        let publishers = self.registry.publishers().await.map_err(AppError::from)?;
        for publisher in &publishers {
            self.cache_publisher(publisher);
        }
        Ok(publishers)
    }

    pub async fn publisher(&self, id: &PublisherId) -> Result<Option<Publisher>, AppError> {
        if let Some(found) = self.publisher_cache.read().ok().and_then(|cache| cache.get(id).cloned()) {
            return Ok(Some(found));
        }
        let found = self.registry.publisher(&id).await.map_err(AppError::from)?;
        if let Some(publisher) = &found {
            self.cache_publisher(publisher);
        }
        Ok(found)
    }

    fn cache_publisher(&self, publisher: &Publisher) {
        if let Ok(mut cache) = self.publisher_cache.write() {
            cache.insert(publisher.id.clone(), publisher.clone());
        }
    }

    /// Indexed resources per publisher id.
    pub async fn resource_counts(&self) -> Result<HashMap<String, u64>, AppError> {
        let index = self.index.clone();
        blocking(move || index.count_by_publisher()).await
    }

    /// The ingest history of a publisher (its own key or the admin).
    pub async fn ingest_history(
        &self,
        principal: &Principal,
        id: &PublisherId,
        limit: usize,
    ) -> Result<Vec<IngestRecord>, AppError> {
        if !principal.may_act_for(id) {
            return Err(forbidden_or_unauthenticated(principal, id));
        }
        self.registry.ingests(&id, limit).await.map_err(AppError::from)
    }

    /// Parses a catalog document and applies it to the publisher's resources in one commit.
    /// A document that cannot be read changes nothing and answers a `FAILED` report.
    pub async fn ingest(
        &self,
        principal: &Principal,
        publisher: &PublisherId,
        format: CatalogFormat,
        document: Vec<u8>,
        options: IngestOptions,
    ) -> Result<IngestReport, AppError> {
        if !principal.may_act_for(publisher) {
            return Err(forbidden_or_unauthenticated(principal, publisher));
        }
        if self.publisher(publisher).await?.is_none() {
            return Err(AppError::not_found(format!("no publisher '{publisher}': register it first")));
        }
        let source_id = source_id(format, options.source.as_deref())?;
        let limits = self.limits;
        let (parsed, document) =
            tokio::task::spawn_blocking(move || (catalog::parse(format, &document, &limits), document))
                .await
                .map_err(AppError::internal)?;
        let mode = options.mode.unwrap_or(default_mode(format));
        let report = self.apply_parsed(publisher, format, &source_id, mode, parsed).await?;
        if report.status != IngestStatus::Failed {
            self.archive_document(publisher, &source_id, mode, format, document).await?;
        }
        Ok(report)
    }

    pub(crate) async fn archive_document(
        &self,
        publisher: &PublisherId,
        source_id: &str,
        mode: IngestMode,
        format: CatalogFormat,
        document: Vec<u8>,
    ) -> Result<(), AppError> {
        let archive = CatalogArchive::new(&self.config.data_dir);
        let publisher = publisher.clone();
        let source_id = source_id.to_string();
        blocking(move || archive.store(&publisher, &source_id, mode, format, &document)).await
    }

    /// After the index was created afresh (a schema change) while catalogs exist, replays
    /// every archived catalog document so nothing a publisher sent is lost.
    pub async fn rebuild_index_if_needed(&self) -> Result<usize, AppError> {
        if !self.index.created() {
            return Ok(0);
        }
        let archive = CatalogArchive::new(&self.config.data_dir);
        let documents = blocking(move || archive.documents()).await?;
        let mut replayed = 0;
        for document in documents {
            if self.publisher(&document.publisher).await?.is_none() {
                tracing::warn!(publisher = %document.publisher, path = %document.path.display(), "archived catalog of a removed publisher; skipped");
                continue;
            }
            let path = document.path.clone();
            let bytes = blocking(move || std::fs::read(&path)).await?;
            let Ok(parsed) = catalog::parse(document.format, &bytes, &self.limits) else {
                tracing::warn!(path = %document.path.display(), "archived catalog no longer parses; skipped");
                continue;
            };
            self.commit_parsed(&document.publisher, document.format, &document.source_id, document.mode, parsed)
                .await?;
            replayed += 1;
        }
        if replayed > 0 {
            tracing::info!(documents = replayed, "rebuilt the index from the archived catalogs");
        }
        self.metrics.indexed_resources.set(self.index.num_resources() as i64);
        Ok(replayed)
    }

    /// Applies an already parsed document (or several merged): the common tail of every ingest.
    pub async fn apply_parsed(
        &self,
        publisher: &PublisherId,
        format: CatalogFormat,
        source_id: &str,
        mode: IngestMode,
        parsed: Result<ParsedCatalog, catalog::CatalogError>,
    ) -> Result<IngestReport, AppError> {
        let started_at = Utc::now();
        let report = match parsed {
            Err(err) => IngestReport {
                status: IngestStatus::Failed,
                source_id: source_id.to_string(),
                added: 0,
                updated: 0,
                removed: 0,
                rejected: 0,
                diagnostics: vec![Diagnostic::error(None, err.to_string())],
            },
            Ok(parsed) => self.commit_parsed(publisher, format, source_id, mode, parsed).await?,
        };
        self.metrics.ingests.with_label_values(&[report.status.as_str()]).inc();
        self.metrics.indexed_resources.set(self.index.num_resources() as i64);
        let record = IngestRecord {
            id: 0,
            publisher: publisher.clone(),
            source_id: source_id.to_string(),
            format,
            started_at,
            finished_at: Utc::now(),
            status: report.status.as_str().to_string(),
            added: report.added,
            updated: report.updated,
            removed: report.removed,
            rejected: report.rejected,
            diagnostics: report.diagnostics.iter().take(1000).map(StoredDiagnostic::from).collect(),
        };
        self.registry.record_ingest(&record).await.map_err(AppError::from)?;
        tracing::info!(
            publisher = %publisher, source = source_id, status = report.status.as_str(),
            added = report.added, updated = report.updated, removed = report.removed, rejected = report.rejected,
            "catalog ingested"
        );
        Ok(report)
    }

    async fn commit_parsed(
        &self,
        publisher: &PublisherId,
        format: CatalogFormat,
        source_id: &str,
        mode: IngestMode,
        parsed: ParsedCatalog,
    ) -> Result<IngestReport, AppError> {
        if parsed.nothing_indexable() {
            // Applying it would only take the source's resources away.
            let mut diagnostics = parsed.diagnostics;
            diagnostics.push(Diagnostic::error(
                None,
                format!(
                    "no item of the document could be indexed ({} rejected, {} skipped); nothing was changed",
                    parsed.rejected, parsed.skipped
                ),
            ));
            return Ok(IngestReport {
                status: IngestStatus::Failed,
                source_id: source_id.to_string(),
                added: 0,
                updated: 0,
                removed: 0,
                rejected: parsed.rejected,
                diagnostics,
            });
        }
        let ParsedCatalog { resources, deleted, mut diagnostics, rejected, files, .. } = parsed;
        let _not_being_removed = self.removals.read().await;
        if self.registry.publisher(&publisher).await.map_err(AppError::from)?.is_none() {
            return Err(AppError::not_found(format!("publisher '{publisher}' was removed; nothing was indexed")));
        }
        self.store_content(publisher, source_id, &files).await?;
        let mut seen = HashSet::new();
        let mut records: Vec<ResourceRecord> = Vec::with_capacity(resources.len());
        for mut resource in resources.into_iter().rev() {
            if !seen.insert(resource.local_id.clone()) {
                diagnostics.push(Diagnostic::warning(
                    Some(resource.local_id.clone()),
                    "identifier appears more than once in the document; the last occurrence was kept",
                ));
                continue;
            }
            if let Some(path) = &resource.packaged_path {
                resource.url = self.content_url(publisher, source_id, path);
            }
            records.push(ResourceRecord {
                publisher: publisher.clone(),
                source_id: source_id.to_string(),
                format,
                resource,
            });
        }
        records.reverse();
        let batch =
            IngestBatch { publisher: publisher.clone(), source_id: source_id.to_string(), mode, records, deleted };
        let counts = self.index.ingest(batch).await.map_err(to_app_error)?;
        let status = if rejected > 0 || diagnostics.iter().any(|d| d.severity == Severity::Error) {
            IngestStatus::Partial
        } else {
            IngestStatus::Succeeded
        };
        Ok(IngestReport {
            status,
            source_id: source_id.to_string(),
            added: counts.added,
            updated: counts.updated,
            removed: counts.removed,
            rejected,
            diagnostics,
        })
    }

    /// Where packed web content of a publisher's source is served.
    pub fn content_url(&self, publisher: &PublisherId, source_id: &str, path: &str) -> String {
        let encoded: Vec<String> = path
            .split('/')
            .map(|segment| {
                url::form_urlencoded::byte_serialize(segment.as_bytes()).collect::<String>().replace('+', "%20")
            })
            .collect();
        format!("{}/content/{}/{}/{}", self.public_url, publisher, source_id, encoded.join("/"))
    }

    /// Unpacks a cartridge's web content under `content/<publisher>/<source>/`: one folder per
    /// source, so that removing a source takes its pages with it.
    async fn store_content(
        &self,
        publisher: &PublisherId,
        source_id: &str,
        files: &[catalog::PackagedFile],
    ) -> Result<(), AppError> {
        if files.is_empty() {
            return Ok(());
        }
        let root = self.source_content_dir(publisher, source_id);
        let files = files.to_vec();
        blocking(move || -> std::io::Result<()> {
            for file in &files {
                if file.path.split('/').any(|part| part.is_empty() || part == "." || part == "..") {
                    continue;
                }
                let target = root.join(&file.path);
                if let Some(parent) = target.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                let temporary = target.with_extension("partial-upload");
                std::fs::write(&temporary, &file.bytes)?;
                std::fs::rename(&temporary, &target)?;
            }
            Ok(())
        })
        .await
    }

    /// Runs a search in the blocking pool.
    pub async fn search(&self, request: SearchRequest) -> Result<SearchResults, AppError> {
        if request.limit == 0 || request.limit > MAX_PAGE_SIZE {
            return Err(AppError::bad_input(format!("first must be between 1 and {MAX_PAGE_SIZE}")));
        }
        if request.offset > MAX_OFFSET {
            return Err(AppError::bad_input(format!(
                "cannot page deeper than {MAX_OFFSET} results; narrow the search"
            )));
        }
        let index = self.index.clone();
        let timer = self.metrics.search_seconds.start_timer();
        let _slot = self.search_slots.acquire().await.map_err(AppError::internal)?;
        let results = blocking(move || index.search(&request)).await;
        timer.observe_duration();
        results
    }

    /// Resources by gateway id, in the order asked; unknown ids are left out.
    pub async fn resources(&self, ids: &[String]) -> Result<Vec<ResourceRecord>, AppError> {
        if ids.len() > MAX_LOOKUP_IDS {
            return Err(AppError::bad_input(format!("at most {MAX_LOOKUP_IDS} ids at once")));
        }
        let parsed: Vec<ResourceId> = ids.iter().filter_map(|id| ResourceId::parse(id)).collect();
        let index = self.index.clone();
        let found = blocking(move || index.get(&parsed)).await?;
        if found.len() == ids.len() {
            return Ok(found);
        }
        // Live search hits that are not indexed yet stay resolvable for a while.
        let mut by_id: HashMap<String, ResourceRecord> =
            found.into_iter().map(|record| (record.id().to_string(), record)).collect();
        for id in ids {
            if !by_id.contains_key(id) {
                if let Some(record) = self.live.remembered(id).await {
                    by_id.insert(id.clone(), record);
                }
            }
        }
        Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
    }

    /// Loads the bundled sample catalogs into an empty gateway (first start only).
    pub async fn load_samples_if_empty(&self) -> Result<(), AppError> {
        let already = self.registry.meta("samples_loaded").await.map_err(AppError::from)?;
        let has_publishers = !self.registry.publishers().await.map_err(AppError::from)?.is_empty();
        if already.is_some() || has_publishers || self.index.num_resources() > 0 {
            return Ok(());
        }
        for sample in SAMPLES {
            let id = PublisherId::parse(sample.id).map_err(|err| AppError::internal(err.to_string()))?;
            let publisher = Publisher {
                id: id.clone(),
                name: sample.name.to_string(),
                homepage: Some(sample.homepage.to_string()),
                created_at: Utc::now(),
            };
            self.registry.insert_publisher(&publisher, None).await.map_err(AppError::from)?;
            self.cache_publisher(&publisher);
            let source = format!("samples-{}", sample.format.as_param().replace('_', "-"));
            let mut merged = ParsedCatalog::default();
            for (position, (name, bytes)) in sample.documents.iter().enumerate() {
                let mode = if position == 0 { IngestMode::Replace } else { IngestMode::Merge };
                self.archive_document(&id, &source, mode, sample.format, bytes.to_vec()).await?;
                match catalog::parse(sample.format, bytes, &self.limits) {
                    Ok(parsed) => merge_into(&mut merged, parsed),
                    Err(err) => {
                        tracing::error!(file = name, error = %err, "bundled sample catalog failed to parse")
                    }
                }
            }
            // The sample set is complete, so later pages' deletions apply to earlier pages.
            let deleted: HashSet<String> = merged.deleted.drain(..).collect();
            merged.resources.retain(|r| !deleted.contains(&r.local_id));
            let report = self.apply_parsed(&id, sample.format, &source, IngestMode::Replace, Ok(merged)).await?;
            tracing::info!(publisher = sample.id, added = report.added, "loaded sample catalog");
        }
        self.registry.set_meta("samples_loaded", &Utc::now().to_rfc3339()).await.map_err(AppError::from)?;
        Ok(())
    }

    /// Releases the index writer (blocking until its last commit is done).
    pub async fn close(&self) {
        let index = self.index.clone();
        if tokio::task::spawn_blocking(move || index.close()).await.is_err() {
            tracing::error!("closing the index failed");
        }
    }

    /// Whether the index and registry answer (for `/readyz`).
    pub async fn ready(&self) -> Result<(), AppError> {
        self.registry.ping().await.map_err(AppError::from)?;
        let _ = self.index.num_resources();
        Ok(())
    }
}

/// Validates a new publisher and issues its key: answers the publisher, the key (shown once)
/// and the hash to store.
pub fn prepare_publisher(
    name: &str,
    id: Option<&str>,
    homepage: Option<&str>,
) -> Result<(Publisher, String, String), AppError> {
    let name = name.trim();
    if name.is_empty() || name.len() > 200 {
        return Err(AppError::bad_input("name must be 1-200 characters"));
    }
    let id = match id {
        Some(id) => PublisherId::parse(id.trim()),
        None => PublisherId::slugify(name),
    }
    .map_err(|err| AppError::bad_input(err.to_string()))?;
    if let Some(homepage) = homepage {
        validate_http_url(homepage, "homepage")?;
    }
    let publisher = Publisher {
        id: id.clone(),
        name: name.to_string(),
        homepage: homepage.map(str::to_string),
        created_at: Utc::now(),
    };
    let key = auth::new_publisher_key(&id);
    let hash = auth::hash_key(&key);
    Ok((publisher, key, hash))
}

fn merge_into(target: &mut ParsedCatalog, parsed: ParsedCatalog) {
    target.resources.extend(parsed.resources);
    target.deleted.extend(parsed.deleted);
    target.diagnostics.extend(parsed.diagnostics);
    target.rejected += parsed.rejected;
    target.skipped += parsed.skipped;
    target.files.extend(parsed.files);
}

/// OAI-PMH lists are pages or increments; every other format sends its whole catalog.
pub fn default_mode(format: CatalogFormat) -> IngestMode {
    match format {
        CatalogFormat::OaiPmh => IngestMode::Merge,
        _ => IngestMode::Replace,
    }
}

/// The source a push goes to: given, or `push-<format>`. A source given but empty is refused
/// rather than taken as the default: a script whose variable came out empty must not replace
/// the default source's catalog.
pub fn source_id(format: CatalogFormat, given: Option<&str>) -> Result<String, AppError> {
    match given.map(str::trim) {
        None => Ok(format!("push-{}", format.as_param().replace('_', "-"))),
        Some("") => Err(AppError::bad_input(
            "source is empty: name the source (1-64 letters, digits, '-', '_' or '.') or leave it out for the default",
        )),
        Some(name) => valid_source_name(name),
    }
}

/// A source name a publisher chose. It names a folder of the catalog archive, so it starts
/// with a letter or digit: `.` and `..` would be the publisher's folder or the whole archive.
pub fn valid_source_name(name: &str) -> Result<String, AppError> {
    let valid = name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if valid {
        Ok(name.to_string())
    } else {
        Err(AppError::bad_input(
            "source must be 1-64 letters, digits, '-', '_' or '.', starting with a letter or digit",
        ))
    }
}

pub(crate) fn require_admin(principal: &Principal) -> Result<(), AppError> {
    match principal {
        Principal::Admin => Ok(()),
        Principal::Anonymous => Err(AppError::unauthenticated("this operation needs the admin token")),
        Principal::Publisher(_) => {
            Err(AppError::forbidden("this operation needs the admin token, not a publisher key"))
        }
    }
}

pub(crate) fn forbidden_or_unauthenticated(principal: &Principal, publisher: &PublisherId) -> AppError {
    match principal {
        Principal::Anonymous => AppError::unauthenticated("this operation needs a publisher key or the admin token"),
        _ => AppError::forbidden(format!("this key may not act on publisher '{publisher}'s catalogs")),
    }
}

fn validate_http_url(raw: &str, what: &str) -> Result<(), AppError> {
    match url::Url::parse(raw) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") => Ok(()),
        _ => Err(AppError::bad_input(format!("{what} must be an http(s) URL"))),
    }
}

pub(crate) fn to_app_error<E: HasErrorCode + std::fmt::Display>(err: E) -> AppError {
    AppError::from_coded(err)
}

/// Runs blocking work (SQLite, tantivy) off the async workers.
pub(crate) async fn blocking<T, E, F>(work: F) -> Result<T, AppError>
where
    F: FnOnce() -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: HasErrorCode + std::fmt::Display + Send + 'static,
{
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result.map_err(to_app_error),
        Err(join_error) => Err(AppError::internal(join_error)),
    }
}

impl HasErrorCode for std::io::Error {
    fn error_code(&self) -> crate::error::ErrorCode {
        crate::error::ErrorCode::Internal
    }
}
