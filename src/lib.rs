//! resource-gateway: search learning resources from many publishers at once and insert them
//! into an LMS as LTI deep links.
//!
//! Module map:
//! - [`resource`]: the one domain model (resources, ids, grades, alignments, LTI links).
//! - [`catalog`]: pure parsers, bytes in, resources and diagnostics out (Common Cartridge,
//!   LTI Resource Search, LRMI, OAI-PMH) and vocabulary normalisation.
//! - [`index`]: the tantivy index: schema, the single writer task, search with facets.
//! - [`registry`]: publishers, key hashes, ingest history, catalog sources and harvest runs
//!   in SQLite.
//! - [`gateway`]: the service between transport and domain; checks rights, drives the rest.
//! - [`harvest`]: publishers' feeds fetched on a schedule (conditional GET, retries, OAI-PMH,
//!   Resource Search paging, OAuth) and applied through the ingest path.
//! - [`federation`]: live fan-out of searches to publishers' Resource Search endpoints under
//!   one deadline, with a cache, merged with the index's hits.
//! - [`outbound`]: the one outbound HTTP client with its private-network guard.
//! - [`graphql`] and [`http`]: thin transport layers.
//! - [`lti`]: deep-linking content items.
//! - [`archive`]: the catalog documents as sent, to rebuild the index from.
//! - [`allocator`], [`auth`], [`config`], [`error`], [`metrics`], [`samples`]: the plumbing.

pub mod allocator;
pub mod archive;
pub mod auth;
pub mod catalog;
pub mod config;
pub mod error;
pub mod federation;
pub mod gateway;
pub mod graphql;
pub mod harvest;
pub mod http;
pub mod index;
pub mod lti;
pub mod metrics;
pub mod outbound;
pub mod registry;
pub mod resource;
pub mod samples;

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;

pub use config::Config;
pub use gateway::Gateway;

/// Why serving stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Start(#[from] gateway::StartError),
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
    let gateway = Gateway::open(config, public_url).await?;
    gateway.rebuild_index_if_needed().await.map_err(ServeError::Samples)?;
    if load_samples {
        gateway.load_samples_if_empty().await.map_err(ServeError::Samples)?;
    }
    let router = app(gateway.clone());
    let scheduler = harvest::scheduler::spawn(gateway.clone());
    let stop_harvests = gateway.harvester().cancellation();
    tracing::info!(address = %bound, public_url = gateway.public_url(), data_dir = %data_dir.display(), "resource-gateway listening");
    let served = axum::serve(listener, router)
        .with_graceful_shutdown(async move {
            shutdown.await;
            // Harvests stop with the server: no new run starts, running ones wind down.
            stop_harvests.cancel();
        })
        .await;
    gateway.harvester().shutdown().await;
    if let Err(err) = scheduler.await {
        tracing::error!(error = %err, "the harvest scheduler ended abnormally");
    }
    // Release the index lock before answering, so a restart (or the CLI) can write at once.
    gateway.close().await;
    served?;
    tracing::info!("resource-gateway stopped");
    Ok(())
}

/// The HTTP application around an opened gateway.
pub fn app(gateway: Arc<Gateway>) -> axum::Router {
    let schema = graphql::build_schema(Some(gateway.clone()));
    http::router(http::AppState { gateway, schema })
}
