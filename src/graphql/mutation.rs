//! GraphQL mutations: translate arguments, call the services, convert results.

use std::sync::Arc;

use async_graphql::{Context, InputObject, Object, Result, SimpleObject, ID};

use super::sources::{self, CatalogSource, CatalogSourceInput, HarvestRun};
use super::types::{CatalogFormat, IngestMode, IngestReport, Publisher, PublisherRegistration};
use crate::app::App;
use crate::auth::Principal;
use crate::error::AppError;
use crate::ingest::IngestOptions;
use crate::resource::PublisherId;

/// A publisher to register; `id` is a slug derived from `name` when absent.
#[derive(InputObject)]
pub struct RegisterPublisherInput {
    pub name: String,
    pub id: Option<ID>,
    pub homepage: Option<String>,
}

/// Publisher and catalog mutations.
#[derive(Default)]
pub struct CatalogMutation;

/// What `removePublisher` took out of the gateway.
#[derive(SimpleObject)]
pub struct PublisherRemoval {
    pub id: ID,
    /// Resources no longer searchable.
    pub removed: i32,
    /// Registered feeds that went with it.
    pub sources: i32,
    /// LTI tools that went with it (brokered launches to them stop).
    pub tools: i32,
}

#[Object]
impl CatalogMutation {
    /// Registers a publisher (admin). The key in the answer is shown only this once.
    async fn register_publisher(
        &self,
        ctx: &Context<'_>,
        input: RegisterPublisherInput,
    ) -> Result<PublisherRegistration> {
        let app = ctx.data::<Arc<App>>()?;
        let principal = ctx.data::<Principal>()?;
        let (publisher, api_key) = app
            .publishers
            .register(principal, &input.name, input.id.as_ref().map(|id| id.as_str()), input.homepage.as_deref())
            .await?;
        Ok(PublisherRegistration { publisher: Publisher(publisher), api_key })
    }

    /// Removes a publisher (admin): its key stops working, and its catalog sources, LTI tools,
    /// ingest history, resources, archived catalogs and packaged content go. Refused while a
    /// harvest of one of its feeds runs. The id can be registered again afterwards.
    async fn remove_publisher(&self, ctx: &Context<'_>, id: ID) -> Result<PublisherRemoval> {
        let app = ctx.data::<Arc<App>>()?;
        let principal = ctx.data::<Principal>()?;
        let publisher = PublisherId::parse(&id).map_err(|err| AppError::bad_input(err.to_string()))?;
        let removal = app.ingest.remove_publisher(principal, &publisher).await?;
        Ok(PublisherRemoval {
            id: ID(removal.publisher.to_string()),
            removed: sources::count(removal.removed),
            sources: sources::count(removal.sources),
            tools: sources::count(removal.tools),
        })
    }

    /// Ingests a text catalog document for the key's own publisher (or, as admin, the one named
    /// in `publisher`). By default the document replaces its source's previous catalog
    /// (OAI-PMH merges, honouring deleted records). Zipped cartridges go through
    /// `POST /publishers/{id}/catalog`.
    async fn ingest_catalog(
        &self,
        ctx: &Context<'_>,
        format: CatalogFormat,
        document: String,
        publisher: Option<ID>,
        source: Option<String>,
        mode: Option<IngestMode>,
    ) -> Result<IngestReport> {
        let app = ctx.data::<Arc<App>>()?;
        let principal = ctx.data::<Principal>()?;
        let publisher = match (publisher, principal) {
            (Some(id), _) => PublisherId::parse(&id).map_err(|err| AppError::bad_input(err.to_string()))?,
            (None, Principal::Publisher(own)) => own.clone(),
            (None, Principal::Admin) => return Err(AppError::bad_input("name the publisher to ingest for").into()),
            (None, Principal::Anonymous) => {
                return Err(AppError::unauthenticated("ingesting needs a publisher key or the admin token").into())
            }
        };
        let options = IngestOptions { source, mode: mode.map(Into::into) };
        let report = app.ingest.ingest(principal, &publisher, format.into(), document.into_bytes(), options).await?;
        Ok(report.into())
    }

    /// Registers a feed the gateway harvests for the key's publisher (or, as admin, the one
    /// named in `input.publisher`). The first harvest starts at once.
    async fn add_catalog_source(&self, ctx: &Context<'_>, input: CatalogSourceInput) -> Result<CatalogSource> {
        sources::add_catalog_source(ctx, input).await
    }

    /// Harvests a source now. By default answers when the run has finished; with
    /// `wait: false` at once (status PENDING or RUNNING). A running source answers that run.
    async fn harvest_now(
        &self,
        ctx: &Context<'_>,
        source_id: ID,
        #[graphql(default = true)] wait: bool,
    ) -> Result<HarvestRun> {
        sources::harvest_now(ctx, source_id, wait).await
    }

    /// Removes a catalog source and its resources from search: a registered feed by its id
    /// (harvesting stops; refused while a harvest of it runs), or the documents pushed under
    /// one source name (`push-<format>` unless the push named one). The key's own publisher,
    /// or as admin the one named in `publisher`.
    async fn remove_catalog_source(
        &self,
        ctx: &Context<'_>,
        source_id: String,
        publisher: Option<ID>,
    ) -> Result<sources::CatalogSourceRemoval> {
        sources::remove_catalog_source(ctx, source_id, publisher).await
    }
}
