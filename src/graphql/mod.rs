//! The GraphQL API: schema assembly, limits, execution of a request, and the error codes of
//! the contract.

pub mod documents;
pub mod limits;
pub mod lti;
pub mod mutation;
pub mod query;
pub mod sources;
pub mod types;

use std::sync::Arc;

use async_graphql::parser::types::OperationType;
use async_graphql::{
    BatchRequest, BatchResponse, EmptySubscription, ErrorExtensions, MergedObject, Request, Response, Schema,
    ServerError,
};
use tokio::time::Instant;

use crate::app::App;
use crate::auth::Principal;
use crate::error::{AppError, ErrorCode};
use documents::ParsedDocuments;
use limits::{Budget, LimitError};
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

/// Builds the served schema; `app` is `None` only for printing the SDL. Depth and cost are
/// limited by [`limits`] (per request, not per operation) in [`execute`], not by an extension,
/// which would put every resolved field through async-graphql's extension chain;
/// async-graphql's own recursion limit stays as a backstop above [`limits::MAX_NESTING`].
pub fn build_schema(app: Option<Arc<App>>) -> GatewaySchema {
    let mut builder = Schema::build(QueryRoot::default(), MutationRoot::default(), EmptySubscription)
        .limit_recursive_depth(limits::MAX_NESTING + 2)
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

/// A GraphQL error carrying its contract code in `extensions.code`.
pub(crate) fn coded_error(err: &AppError) -> ServerError {
    async_graphql::Error::new(err.message.clone())
        .extend_with(|_, ext| ext.set("code", err.code.as_str()))
        .into_server_error(async_graphql::Pos::default())
}

/// Runs one HTTP request's operations in order, under one cost budget and, for queries, one
/// deadline: past it the query still running is dropped (releasing its place in the search
/// queue) and answers `UNAVAILABLE`, and the operations after it do not start.
pub async fn execute(
    schema: &GatewaySchema,
    documents: &ParsedDocuments,
    batch: BatchRequest,
    principal: Principal,
    deadline: Instant,
    deadline_ms: u128,
) -> BatchResponse {
    let budget = Budget::for_principal(&principal);
    let run = |request: Request| {
        let data = request.data(principal.clone());
        execute_one(schema, documents, data, &budget, deadline, deadline_ms)
    };
    let response = match batch {
        BatchRequest::Single(request) => BatchResponse::Single(run(request).await),
        BatchRequest::Batch(requests) => {
            let mut responses = Vec::with_capacity(requests.len());
            for request in requests {
                responses.push(run(request).await);
            }
            BatchResponse::Batch(responses)
        }
    };
    with_error_codes(response)
}

async fn execute_one(
    schema: &GatewaySchema,
    documents: &ParsedDocuments,
    mut request: Request,
    budget: &Budget,
    deadline: Instant,
    deadline_ms: u128,
) -> Response {
    let document = match documents.get(&request.query).await {
        Ok(document) => document,
        Err(err) => return Response::from_errors(vec![coded_error(&err)]),
    };
    let is_query = match (&request.operation_name, document.operations.iter().count()) {
        (Some(name), _) => document
            .operations
            .iter()
            .any(|(n, op)| n.is_some_and(|n| n.as_str() == name) && op.node.ty == OperationType::Query),
        (None, 1) => document.operations.iter().all(|(_, op)| op.node.ty == OperationType::Query),
        // Several operations and none named: async-graphql refuses it.
        (None, _) => false,
    };
    let cost = limits::operation_cost(&document, request.operation_name.as_deref(), &request.variables);
    request.set_parsed_query(document);
    // An operation over the budget does not start; one that does not start (past the
    // deadline) is not charged.
    let refused = |err: LimitError| Response::from_errors(vec![coded_error(&err.into())]);
    if !is_query {
        if let Err(err) = budget.charge(cost) {
            return refused(err);
        }
        // Mutations run to the end: an ingest or harvest cut short would leave its caller
        // without the report of what changed.
        return schema.execute(request).await;
    }
    // A query the deadline has already passed does not start (a timeout would first poll it,
    // and polling is what starts its searches).
    if Instant::now() >= deadline {
        return refused(LimitError::Deadline(deadline_ms));
    }
    if let Err(err) = budget.charge(cost) {
        return refused(err);
    }
    match tokio::time::timeout_at(deadline, schema.execute(request)).await {
        Ok(response) => response,
        Err(_) => refused(LimitError::Deadline(deadline_ms)),
    }
}

/// Gives every error an `extensions.code`: errors the gateway raised carry theirs (an
/// [`AppError`] as the source); the rest come from async-graphql's parsing, validation and
/// input coercion, which are the caller's to fix.
fn with_error_codes(response: BatchResponse) -> BatchResponse {
    let fix = |mut single: Response| {
        single.errors = single.errors.into_iter().map(code_error).collect();
        single
    };
    match response {
        BatchResponse::Single(single) => BatchResponse::Single(fix(single)),
        BatchResponse::Batch(many) => BatchResponse::Batch(many.into_iter().map(fix).collect()),
    }
}

fn code_error(error: ServerError) -> ServerError {
    let has_code = error.extensions.as_ref().is_some_and(|ext| ext.get("code").is_some());
    if has_code {
        return error;
    }
    let code = error.source::<AppError>().map_or(ErrorCode::BadUserInput, |app_error| app_error.code);
    let mut coded = coded_error(&AppError::new(code, error.message.clone()));
    coded.locations = error.locations;
    coded.path = error.path;
    coded
}
