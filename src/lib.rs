//! resource-gateway: search learning resources from many publishers at once and insert them
//! into an LMS as LTI deep links.
//!
//! Module map:
//! - [`resource`]: the one domain model (resources, ids, grades, alignments, LTI links).
//! - [`catalog`]: pure parsers, bytes in, resources and diagnostics out (Common Cartridge,
//!   LTI Resource Search, LRMI, OAI-PMH) and vocabulary normalisation.
//! - [`index`]: the tantivy index: schema, the single writer task, search with facets.
//! - [`registry`]: async store traits (publishers and keys, sources, runs and leases, LTI and
//!   broker state, the catalog log, live hits) and their SQL implementation on the data
//!   folder's SQLite or a PostgreSQL shared by replicas.
//! - [`search`]: the engine-neutral request types, the `SearchBackend` trait, and the search
//!   service (index and live sources merged).
//! - [`ingest`]: pushes and harvests become catalog log entries; the follower applies the log
//!   to this replica's index.
//! - [`harvest`]: publishers' feeds fetched on a schedule under leases (conditional GET,
//!   retries, OAI-PMH, Resource Search paging, OAuth).
//! - [`federation`]: live fan-out of searches to publishers' Resource Search endpoints under
//!   one deadline, with a cache.
//! - [`publishers`]: credentials and the publisher directory.
//! - [`lti`]: the LTI 1.3 tool (deep linking) and platform (brokered launches).
//! - [`app`]: the composition root.
//! - [`outbound`]: the one outbound HTTP client with its private-network guard.
//! - [`graphql`] and [`http`]: thin transport layers.
//! - [`allocator`], [`auth`], [`config`], [`error`], [`metrics`], [`samples`]: the plumbing.

pub mod allocator;
pub mod app;
pub mod auth;
pub mod catalog;
pub mod config;
pub mod error;
pub mod federation;
pub mod graphql;
pub mod harvest;
pub mod http;
pub mod index;
pub mod ingest;
pub mod labels;
pub mod lti;
pub mod metrics;
pub mod outbound;
pub mod publishers;
pub mod registry;
pub mod resource;
pub mod samples;
pub mod search;

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;

pub use app::App;
pub use config::Config;

/// Why serving stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Start(#[from] app::StartError),
    #[error("cannot load the catalogs: {0}")]
    Samples(error::AppError),
    #[error("server I/O error: {0}")]
    Io(#[from] std::io::Error),
}

/// Opens the data folder and serves on an already bound listener until `shutdown` completes.
/// Tests bind `127.0.0.1:0` and pass the listener in.
pub async fn serve(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let bound = listener.local_addr()?;
    let public_url = config.public_url_for(bound);
    let load_samples = config.load_samples;
    let data_dir = config.data_dir.clone();
    let app = App::open(config, public_url).await?;
    if load_samples {
        app.ingest.load_samples_if_empty().await.map_err(ServeError::Samples)?;
    }
    let router = router(app.clone());
    let scheduler = harvest::scheduler::spawn(app.harvest.clone());
    let stop_harvests = app.harvest.cancellation();
    tracing::info!(address = %bound, public_url = %app.public_url, data_dir = %data_dir.display(), replica = app.harvest.replica(), "resource-gateway listening");
    let served = axum::serve(http::LingeringListener(listener), router)
        .with_graceful_shutdown(async move {
            shutdown.await;
            // Harvests stop with the server: no new run starts, running ones wind down.
            stop_harvests.cancel();
        })
        .await;
    app.harvest.shutdown().await;
    if let Err(err) = scheduler.await {
        tracing::error!(error = %err, "the harvest scheduler ended abnormally");
    }
    // Release the index lock before answering, so a restart (or the CLI) can write at once.
    app.close().await;
    served?;
    tracing::info!("resource-gateway stopped");
    Ok(())
}

/// The HTTP application around an opened gateway.
pub fn router(app: Arc<App>) -> axum::Router {
    let schema = graphql::build_schema(Some(app.clone()));
    http::router(http::AppState { app, schema, documents: Default::default() })
}
