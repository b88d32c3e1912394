//! The GraphQL API: schema assembly, limits, and the error codes of the contract.

pub mod labels;
pub mod lti;
pub mod mutation;
pub mod query;
pub mod sources;
pub mod types;

use std::sync::Arc;

use async_graphql::{EmptySubscription, MergedObject, Schema};

use crate::app::App;
use lti::{BrokerMutation, LtiMutation, LtiQuery};
use mutation::CatalogMutation;
use query::CatalogQuery;

/// Every query, merged from the domains.
#[derive(MergedObject, Default)]
pub struct QueryRoot(CatalogQuery, LtiQuery);

/// Every mutation, merged from the domains.
#[derive(MergedObject, Default)]
pub struct MutationRoot(CatalogMutation, LtiMutation, BrokerMutation);

pub type GatewaySchema = Schema<QueryRoot, MutationRoot, EmptySubscription>;

/// Deepest selection a query may nest.
pub const MAX_DEPTH: usize = 12;
/// Largest computed query cost (a `search` page multiplies its selection's cost).
pub const MAX_COMPLEXITY: usize = 5_000;

/// Builds the served schema; `app` is `None` only for printing the SDL.
pub fn build_schema(app: Option<Arc<App>>) -> GatewaySchema {
    let mut builder = Schema::build(QueryRoot::default(), MutationRoot::default(), EmptySubscription)
        .limit_depth(MAX_DEPTH)
        .limit_complexity(MAX_COMPLEXITY)
        .limit_recursive_depth(32)
        .limit_directives(20);
    if let Some(app) = app {
        builder = builder.data(app);
    }
    builder.finish()
}

/// The SDL that `schema.graphql` must equal.
pub fn sdl() -> String {
    build_schema(None).sdl()
}
