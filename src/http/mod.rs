//! The axum router: GraphQL, catalog uploads, packed content, health and metrics.
//! Handlers translate HTTP to gateway calls and back; they decide nothing themselves.

mod graphiql;
mod linger;
mod lti;

pub use linger::LingeringListener;

use std::sync::Arc;

use async_graphql::BatchRequest;
use axum::body::{Body, Bytes};
use axum::extract::{MatchedPath, Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::app::App;
use crate::auth::Principal;
use crate::error::{AppError, ErrorCode};
use crate::graphql::documents::ParsedDocuments;
use crate::graphql::GatewaySchema;
use crate::ingest::{IngestOptions, IngestStatus};
use crate::resource::IngestMode;
use crate::resource::{CatalogFormat, PublisherId};

/// At most this many operations in one batched GraphQL request.
const MAX_BATCH: usize = 10;

/// The largest GraphQL body an anonymous caller may send. Searches and deep-linking answers
/// are a few kilobytes; only keys and the admin send catalogs through GraphQL, so only they get
/// `max_graphql_bytes`.
pub const ANONYMOUS_GRAPHQL_BYTES: usize = 64 * 1024;

#[derive(Clone)]
pub struct AppState {
    pub app: Arc<App>,
    pub schema: GatewaySchema,
    /// Query texts already parsed and checked (see [`ParsedDocuments`]).
    pub documents: ParsedDocuments,
}

pub fn router(state: AppState) -> Router {
    // Publishers' pages are served from the gateway's origin: sandbox them so their scripts
    // cannot act as the gateway, and never let a browser guess another content type.
    let content = ServiceBuilder::new()
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("sandbox allow-scripts allow-popups allow-forms"),
        ))
        .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .service(ServeDir::new(state.app.content_dir()));
    Router::new()
        .route("/graphql", get(graphiql::page).post(graphql))
        .route("/graphql/assets/{name}", get(graphiql::asset))
        .route("/publishers/{id}/catalog", post(upload_catalog))
        .nest_service("/content", content)
        .route("/lti/login", get(lti::login_get).post(lti::login_post))
        .route("/lti/launch", post(lti::launch))
        .route("/lti/launch/bound", post(lti::launch_bound))
        .route("/lti/picker", get(lti::picker))
        .route("/lti/picker/insert", post(lti::insert))
        .route("/lti/picker/preview", get(lti::picker_preview))
        .route("/lti/picker/assets/{name}", get(lti::picker_asset))
        .route("/.well-known/jwks.json", get(lti::jwks))
        .route("/.well-known/openid-configuration", get(lti::platform_configuration))
        .route("/lti/register/{link}", get(lti::register_with_platform))
        .route("/lti/icon.svg", get(lti::icon))
        .route("/lti/platform/openid-configuration", get(lti::platform_configuration))
        .route("/lti/platform/register", post(lti::register_tool))
        .route("/lti/platform/auth", get(lti::platform_auth_get).post(lti::platform_auth_post))
        .route("/lti/platform/token", post(lti::platform_token))
        .route("/lti/platform/ags/{grant}/lineitem", get(lti::ags_lineitem))
        .route("/lti/platform/ags/{grant}/lineitem/scores", post(lti::ags_scores))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .layer(middleware::from_fn(limit_headers))
        .layer(middleware::from_fn_with_state(state.clone(), count_requests))
        .layer(CatchPanicLayer::new())
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// The most header bytes (names and values) one request may carry; more answers `431`. Beyond
/// about 400 KiB the HTTP layer itself answers `431` before the request reaches the router.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;

async fn limit_headers(request: Request, next: Next) -> Response {
    let size: usize = request.headers().iter().map(|(name, value)| name.as_str().len() + value.len() + 4).sum();
    if size > MAX_HEADER_BYTES {
        let message = format!("request headers are larger than {MAX_HEADER_BYTES} bytes");
        return AppError::new(ErrorCode::HeadersTooLarge, message).into_response();
    }
    next.run(request).await
}

async fn count_requests(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_string());
    let response = next.run(request).await;
    let route = route.unwrap_or_else(|| "other".to_string());
    let status = format!("{}xx", response.status().as_u16() / 100);
    state.app.metrics.http_requests.with_label_values(&[&route, &status]).inc();
    response
}

pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then_some(token)
}

/// Reads a body of at most `limit` bytes. Callers authenticate first and choose the limit by
/// who is asking, so an anonymous caller cannot make the gateway buffer a publisher-sized body.
async fn read_body(body: Body, limit: usize) -> Result<Bytes, AppError> {
    axum::body::to_bytes(body, limit).await.map_err(|err| {
        let too_large =
            std::error::Error::source(&err).is_some_and(|source| source.is::<http_body_util::LengthLimitError>());
        if too_large {
            AppError::new(
                ErrorCode::PayloadTooLarge,
                format!("request body is larger than this endpoint accepts from this caller ({limit} bytes)"),
            )
        } else {
            AppError::bad_input(format!("cannot read request body: {err}"))
        }
    })
}

/// One GraphQL error response with a code, in the shape clients expect.
fn graphql_error(err: AppError) -> Response {
    let body = serde_json::json!({
        "errors": [{ "message": err.message, "extensions": { "code": err.code.as_str() } }]
    });
    (err.code.http_status(), Json(body)).into_response()
}

async fn graphql(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let principal = match state.app.publishers.authenticate(bearer(&headers)).await {
        Ok(principal) => principal,
        Err(err) => return graphql_error(err),
    };
    let max = state.app.config.max_graphql_bytes;
    let limit = if principal == Principal::Anonymous { max.min(ANONYMOUS_GRAPHQL_BYTES) } else { max };
    let body = match read_body(body, limit).await {
        Ok(body) => body,
        Err(err) => return graphql_error(err),
    };
    let batch: BatchRequest = match serde_json::from_slice(&body) {
        Ok(batch) => batch,
        Err(err) => return graphql_error(AppError::bad_input(format!("request is not GraphQL over JSON: {err}"))),
    };
    if let BatchRequest::Batch(requests) = &batch {
        if requests.len() > MAX_BATCH {
            return graphql_error(AppError::new(
                ErrorCode::QueryTooComplex,
                format!("at most {MAX_BATCH} operations per batch"),
            ));
        }
    }
    let allowed = state.app.config.query_deadline;
    let deadline = tokio::time::Instant::now() + allowed;
    let response =
        crate::graphql::execute(&state.schema, &state.documents, batch, principal, deadline, allowed.as_millis()).await;
    Json(response).into_response()
}

#[derive(Deserialize)]
struct UploadParams {
    format: Option<String>,
    source: Option<String>,
    mode: Option<String>,
}

async fn upload_catalog(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(params): Query<UploadParams>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, AppError> {
    let principal = state.app.publishers.authenticate(bearer(&headers)).await?;
    if principal == Principal::Anonymous {
        return Err(AppError::unauthenticated("uploading a catalog needs a publisher key or the admin token"));
    }
    let body = read_body(body, state.app.config.max_upload_bytes).await.map_err(|err| {
        if err.code != ErrorCode::PayloadTooLarge {
            return err;
        }
        AppError::new(
            err.code,
            format!(
                "{}: send the catalog in several documents (mode=merge), register it as a URL to harvest, or ask \
                 the gateway's administrator to raise GATEWAY_MAX_UPLOAD_BYTES",
                err.message
            ),
        )
    })?;
    let publisher = PublisherId::parse(&id).map_err(|err| AppError::bad_input(err.to_string()))?;
    let format = params
        .format
        .as_deref()
        .ok_or_else(|| AppError::bad_input("add ?format=common_cartridge|resource_search|lrmi|oai_pmh|sitemap"))?;
    let format = CatalogFormat::parse(format).ok_or_else(|| {
        AppError::bad_input(format!(
            "unknown format '{format}': use common_cartridge, resource_search, lrmi, oai_pmh or sitemap"
        ))
    })?;
    let mode = match params.mode.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None => None,
        Some("replace") => Some(IngestMode::Replace),
        Some("merge") => Some(IngestMode::Merge),
        Some(other) => return Err(AppError::bad_input(format!("unknown mode '{other}': use replace or merge"))),
    };
    let options = IngestOptions { source: params.source, mode };
    let report = state.app.ingest.ingest(&principal, &publisher, format, body.to_vec(), options).await?;
    let status = match report.status {
        IngestStatus::Failed => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::OK,
    };
    let body = serde_json::json!({
        "outcome": report.status.as_str(),
        "status": report.status.as_str(),
        "sourceId": report.source_id,
        "added": report.added,
        "updated": report.updated,
        "removed": report.removed,
        "rejected": report.rejected,
        "diagnostics": report.diagnostics,
    });
    Ok((status, Json(body)).into_response())
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(state): State<AppState>) -> Response {
    match state.app.ready().await {
        Ok(()) => (StatusCode::OK, "ready\n").into_response(),
        Err(err) => (StatusCode::SERVICE_UNAVAILABLE, format!("not ready: {}\n", err.message)).into_response(),
    }
}

async fn metrics(State(state): State<AppState>) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], state.app.metrics.render()).into_response()
}
