//! LTI endpoints: login initiation, launch, the picker, the insert form post and the JWKS.
//! Refusals answer a 4xx page naming the reason, never a picker.

use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Json;
use chrono::Duration;
use serde::Deserialize;
use serde_json::json;

use super::AppState;
use crate::error::{AppError, ErrorCode};
use crate::lti::broker::ags::Relayed;
use crate::lti::broker::launch::{AuthOutcome, AuthRequest};
use crate::lti::keys::DEFAULT_GRACE_DAYS;
use crate::lti::login::{LoginAnswer, LoginRequest};
use crate::lti::picker::compose::compose;
use crate::lti::picker::view::Preview;
use crate::lti::picker::{self, PickerParams, Strings};
use crate::lti::service::LinkTarget;
use crate::lti::{claims, registration, storage, LtiError};

/// The status of a refused LTI request: the error table's (`UNAVAILABLE` is 503 here as
/// everywhere).
fn refusal_status(err: &AppError) -> StatusCode {
    err.code.http_status()
}

fn refusal(err: &AppError) -> Response {
    refusal_in(&Strings::english(), err)
}

/// A refused request: a page naming the reason, in the teacher's language where known.
fn refusal_in(strings: &Strings, err: &AppError) -> Response {
    // The administrator finds in the log why a teacher or student saw this page.
    tracing::info!(code = ?err.code, reason = %err.message, "LTI request refused");
    (refusal_status(err), Html(picker::error_page(strings, &err.message).into_string())).into_response()
}

fn lti_error<E: crate::error::HasErrorCode + std::fmt::Display>(err: E) -> AppError {
    AppError::from_coded(err)
}

/// Parses `a=1&b=2&b=3` keeping repeated keys.
fn pairs(raw: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(raw).into_owned().collect()
}

fn first(pairs: &[(String, String)], key: &str) -> Option<String> {
    pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
}

fn login_request(pairs: &[(String, String)]) -> LoginRequest {
    LoginRequest {
        iss: first(pairs, "iss"),
        login_hint: first(pairs, "login_hint"),
        target_link_uri: first(pairs, "target_link_uri"),
        lti_message_hint: first(pairs, "lti_message_hint"),
        lti_deployment_id: first(pairs, "lti_deployment_id"),
        client_id: first(pairs, "client_id"),
        lti_storage_target: first(pairs, "lti_storage_target"),
    }
}

async fn login(state: &AppState, request: LoginRequest) -> Response {
    match state.app.lti.lti().initiate_login(request).await {
        Ok(LoginAnswer::Redirect(url)) => Redirect::to(&url).into_response(),
        Ok(LoginAnswer::StoreThenRedirect(login)) => html_no_store(storage::login_page(&login).into_string()),
        Err(err) => refusal(&lti_error(err)),
    }
}

pub async fn login_get(State(state): State<AppState>, RawQuery(query): RawQuery) -> Response {
    let pairs = pairs(query.unwrap_or_default().as_bytes());
    login(&state, login_request(&pairs)).await
}

pub async fn login_post(State(state): State<AppState>, body: Bytes) -> Response {
    let pairs = pairs(&body);
    login(&state, login_request(&pairs)).await
}

/// The redirect URI: validates the id_token, then opens the picker or follows an inserted link.
/// A login that kept its proof in the platform's storage is first answered with the page that
/// reads it back in this browser and confirms at [`launch_bound`].
pub async fn launch(State(state): State<AppState>, body: Bytes) -> Response {
    let pairs = pairs(&body);
    let (Some(id_token), Some(login_state)) = (first(&pairs, "id_token"), first(&pairs, "state")) else {
        let err = AppError::bad_input("the launch needs id_token and state form fields");
        return refusal(&err);
    };
    let lti = state.app.lti.lti();
    match lti.login_state(&login_state) {
        Err(err) => return refusal(&lti_error(err)),
        Ok(login) => {
            if let Some(storage) = &login.storage {
                let confirm = format!("{}/lti/launch/bound", state.app.public_url.as_str());
                let page = storage::launch_page(storage, &id_token, &login_state, &confirm);
                return html_no_store(page.into_string());
            }
        }
    }
    match launch_location(&state, &id_token, &login_state, None).await {
        Ok(location) => (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response(),
        Err(err) => refusal(&err),
    }
}

/// Where a valid launch leads: the picker, a web resource, or a publisher's tool.
async fn launch_location(
    state: &AppState,
    id_token: &str,
    login_state: &str,
    proof: Option<&str>,
) -> Result<String, AppError> {
    let lti = state.app.lti.lti();
    let validated = lti.validate_launch(id_token, login_state, proof).await.map_err(lti_error)?;
    if validated.message_type == claims::DEEP_LINKING_REQUEST {
        let launch_id = lti.begin_deep_linking(&validated).await.map_err(lti_error)?;
        return Ok(format!("/lti/picker?launch={}", urlencode(&launch_id)));
    }
    match state.app.lti.link_target(&validated).await? {
        LinkTarget::Redirect(url) => Ok(url),
        LinkTarget::Tool(record) => state.app.lti.brokered_launch_url(&validated, &record).await,
    }
}

/// What the launch page sends once it has read the login's proof from the platform's storage.
#[derive(Deserialize)]
pub struct BoundLaunch {
    id_token: String,
    state: String,
    proof: Option<String>,
}

/// `POST /lti/launch/bound` (JSON, from the gateway's own launch page): the launch of a login
/// whose proof the browser read back from the platform's storage. Answers `{"location"}` or
/// `{"error"}`. Only JSON from the gateway's own origin is taken, so no other site can post it.
pub async fn launch_bound(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let refuse = |status: StatusCode, message: String| (status, Json(json!({ "error": message }))).into_response();
    let json_body = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().to_ascii_lowercase().starts_with("application/json"));
    if !json_body {
        return refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "a launch is confirmed with JSON from the launch page".into(),
        );
    }
    let public_origin = url::Url::parse(state.app.public_url.as_str()).map(|u| u.origin().ascii_serialization());
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    if let (Some(origin), Ok(public_origin)) = (origin, public_origin) {
        if origin != public_origin {
            return refuse(StatusCode::FORBIDDEN, format!("a launch cannot be confirmed from {origin}"));
        }
    }
    let launch: BoundLaunch = match serde_json::from_slice(&body) {
        Ok(launch) => launch,
        Err(err) => return refuse(StatusCode::BAD_REQUEST, format!("not a launch confirmation: {err}")),
    };
    match launch_location(&state, &launch.id_token, &launch.state, Some(launch.proof.as_deref().unwrap_or(""))).await {
        Ok(location) => ([(header::CACHE_CONTROL, "no-store")], Json(json!({ "location": location }))).into_response(),
        Err(err) => refuse(refusal_status(&err), err.message),
    }
}

fn urlencode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// The picker's answers carry a launch id: never cached, never sent on as a referrer, and
/// only the gateway's own stylesheet and script run in them.
const PICKER_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src https: http: data:; \
     connect-src 'self'; form-action 'self'; base-uri 'none'";

fn accept_language(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok())
}

/// A refusal in the language the browser asks for.
fn refusal_for(headers: &HeaderMap, err: &AppError) -> Response {
    refusal_in(&Strings::negotiate(None, accept_language(headers)), err)
}

/// The picker's HTML with the time the server spent on it (`Server-Timing`, read by the
/// benchmark harness and visible in a browser's developer tools).
fn picker_html(strings: &Strings, status: StatusCode, body: String, started: Instant) -> Response {
    picker_html_timed(strings, status, body, started, None)
}

/// `composed`: when the page's searches and look-ups ended (the rest is rendering).
fn picker_html_timed(
    strings: &Strings,
    status: StatusCode,
    body: String,
    started: Instant,
    composed: Option<Instant>,
) -> Response {
    let mut timing = format!("picker;dur={:.2}", started.elapsed().as_secs_f64() * 1000.0);
    if let Some(composed) = composed {
        let search = composed.duration_since(started).as_secs_f64() * 1000.0;
        timing.push_str(&format!(
            ", search;dur={search:.2}, render;dur={:.2}",
            composed.elapsed().as_secs_f64() * 1000.0
        ));
    }
    (
        status,
        [
            (header::CACHE_CONTROL, "no-store".to_string()),
            (header::REFERRER_POLICY, "no-referrer".to_string()),
            (header::CONTENT_SECURITY_POLICY, PICKER_CSP.to_string()),
            (header::CONTENT_LANGUAGE, strings.lang().to_string()),
            (header::HeaderName::from_static("server-timing"), timing),
        ],
        Html(body),
    )
        .into_response()
}

/// The teacher's picker: `GET /lti/picker?launch=…` with the form's fields (see
/// [`PickerParams`]).
pub async fn picker(State(state): State<AppState>, headers: HeaderMap, RawQuery(query): RawQuery) -> Response {
    let started = Instant::now();
    let pairs = pairs(query.unwrap_or_default().as_bytes());
    render_picker(&state, &headers, &pairs, None, started).await
}

async fn render_picker(
    state: &AppState,
    headers: &HeaderMap,
    pairs: &[(String, String)],
    notice: Option<&'static str>,
    started: Instant,
) -> Response {
    let Some(launch_id) = first(pairs, "launch") else {
        return refusal_for(headers, &AppError::bad_input("the picker needs a launch"));
    };
    let context = match state.app.lti.lti().launch_context(&launch_id).await {
        Ok(context) => context,
        Err(err) => return refusal_for(headers, &lti_error(err)),
    };
    let strings = Strings::negotiate(context.launch.locale.as_deref(), accept_language(headers));
    let params = PickerParams::parse(pairs, context.settings.accept_multiple());
    match compose(state.app.lti.picker(), &context, params, &strings).await {
        Ok(mut page) => {
            let composed = Instant::now();
            page.notice = notice;
            let status = if notice.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
            picker_html_timed(
                &strings,
                status,
                picker::picker_page(&page, &strings).into_string(),
                started,
                Some(composed),
            )
        }
        Err(err) => refusal_in(&strings, &err),
    }
}

/// A resource's details for the picker's dialog: `GET /lti/picker/preview?launch=…&id=…`
/// answers the HTML fragment.
pub async fn picker_preview(State(state): State<AppState>, headers: HeaderMap, RawQuery(query): RawQuery) -> Response {
    let started = Instant::now();
    let pairs = pairs(query.unwrap_or_default().as_bytes());
    let (Some(launch_id), Some(id)) = (first(&pairs, "launch"), first(&pairs, "id")) else {
        return refusal_for(&headers, &AppError::bad_input("details need a launch and an id"));
    };
    let context = match state.app.lti.lti().launch_context(&launch_id).await {
        Ok(context) => context,
        Err(err) => return refusal_for(&headers, &lti_error(err)),
    };
    let strings = Strings::negotiate(context.launch.locale.as_deref(), accept_language(&headers));
    let records = match state.app.search.resources(std::slice::from_ref(&id)).await {
        Ok(records) => records,
        Err(err) => return refusal_in(&strings, &err),
    };
    let markup = match records.first() {
        Some(record) => {
            let publisher = state
                .app
                .publishers
                .get(&record.publisher)
                .await
                .ok()
                .flatten()
                .map(|p| p.name)
                .unwrap_or_else(|| record.publisher.to_string());
            picker::preview::panel(&Preview::from_record(record, publisher, false), &strings, true)
        }
        None => picker::preview::not_found(&strings),
    };
    picker_html(&strings, StatusCode::OK, markup.into_string(), started)
}

/// The picker's stylesheet and script (`GET /lti/picker/assets/{name}`), cached for a year:
/// their names change with their content.
pub async fn picker_asset(Path(name): Path<String>) -> Response {
    match picker::assets::find(&name) {
        Some(asset) => (
            [
                (header::CONTENT_TYPE, asset.content_type),
                (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            asset.body,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "no such picker asset").into_response(),
    }
}

/// Pages that carry launch ids or tokens: never cached, never sent on as a referrer.
fn html_no_store(body: String) -> Response {
    ([(header::CACHE_CONTROL, "no-store"), (header::REFERRER_POLICY, "no-referrer")], Html(body)).into_response()
}

/// The picker's insert (or cancel): answers the page that posts the signed JWT to the LMS.
/// The whole picker form comes along; insert with nothing ticked shows the picker again.
pub async fn insert(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let started = Instant::now();
    let pairs = pairs(&body);
    let Some(launch_id) = first(&pairs, "launch") else {
        return refusal_for(&headers, &AppError::bad_input("the insert needs a launch"));
    };
    let context = match state.app.lti.lti().launch_context(&launch_id).await {
        Ok(context) => context,
        Err(err) => return refusal_for(&headers, &lti_error(err)),
    };
    let strings = Strings::negotiate(context.launch.locale.as_deref(), accept_language(&headers));
    let cancel = first(&pairs, "action").as_deref() == Some("cancel");
    let resources = if cancel { Vec::new() } else { PickerParams::parse(&pairs, true).selected };
    if !cancel && resources.is_empty() {
        return render_picker(&state, &headers, &pairs, Some("choose-first"), started).await;
    }
    match state.app.lti.deep_linking_response(&launch_id, &resources, None).await {
        Ok(signed) => html_no_store(picker::auto_post_page(&strings, &signed.return_url, &signed.jwt).into_string()),
        Err(err) => refusal_in(&strings, &err),
    }
}

/// The gateway's public keys, current and recently retired.
pub async fn jwks(State(state): State<AppState>) -> Response {
    let keys = state.app.lti.lti().keys().jwks(Duration::days(DEFAULT_GRACE_DAYS)).await;
    ([(header::CACHE_CONTROL, "public, max-age=300")], Json(keys)).into_response()
}

fn auth_request(pairs: &[(String, String)]) -> AuthRequest {
    AuthRequest {
        scope: first(pairs, "scope"),
        response_type: first(pairs, "response_type"),
        response_mode: first(pairs, "response_mode"),
        client_id: first(pairs, "client_id"),
        redirect_uri: first(pairs, "redirect_uri"),
        login_hint: first(pairs, "login_hint"),
        lti_message_hint: first(pairs, "lti_message_hint"),
        state: first(pairs, "state"),
        nonce: first(pairs, "nonce"),
    }
}

async fn platform_auth(state: &AppState, request: AuthRequest) -> Response {
    match state.app.lti.lti().authorize_tool(request).await {
        Ok(AuthOutcome::IdToken { redirect_uri, id_token, state }) => {
            let mut fields = vec![("id_token", id_token.as_str())];
            if let Some(state) = &state {
                fields.push(("state", state.as_str()));
            }
            html_no_store(picker::form_post_page("Opening the publisher's tool…", &redirect_uri, &fields).into_string())
        }
        Ok(AuthOutcome::Error { redirect_uri, error, description, state }) => {
            let mut fields = vec![("error", error), ("error_description", description.as_str())];
            if let Some(state) = &state {
                fields.push(("state", state.as_str()));
            }
            html_no_store(picker::form_post_page("Returning to the tool…", &redirect_uri, &fields).into_string())
        }
        Err(err) => refusal(&lti_error(err)),
    }
}

/// The OIDC authorization endpoint toward publishers' tools (GET or POST).
pub async fn platform_auth_get(State(state): State<AppState>, RawQuery(query): RawQuery) -> Response {
    platform_auth(&state, auth_request(&pairs(query.unwrap_or_default().as_bytes()))).await
}

pub async fn platform_auth_post(State(state): State<AppState>, body: Bytes) -> Response {
    platform_auth(&state, auth_request(&pairs(&body))).await
}

/// The token endpoint toward publishers' tools (client credentials, JWT assertion).
pub async fn platform_token(State(state): State<AppState>, body: Bytes) -> Response {
    let pairs = pairs(&body);
    let answer = state
        .app
        .lti
        .lti()
        .issue_tool_token(
            first(&pairs, "grant_type").as_deref(),
            first(&pairs, "client_assertion_type").as_deref(),
            first(&pairs, "client_assertion").as_deref(),
            first(&pairs, "scope").as_deref(),
        )
        .await;
    match answer {
        Ok(token) => ([(header::CACHE_CONTROL, "no-store")], Json(token)).into_response(),
        Err(err) => {
            let status = match err.error {
                "invalid_client" => StatusCode::UNAUTHORIZED,
                "server_error" => StatusCode::INTERNAL_SERVER_ERROR,
                _ => StatusCode::BAD_REQUEST,
            };
            (status, [(header::CACHE_CONTROL, "no-store")], Json(err)).into_response()
        }
    }
}

fn ags_error(err: LtiError) -> Response {
    let (status, code) = match &err {
        LtiError::InvalidToken(_) => (StatusCode::UNAUTHORIZED, "invalid_token"),
        LtiError::Forbidden(_) => (StatusCode::FORBIDDEN, "insufficient_scope"),
        LtiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
        LtiError::Upstream(_) | LtiError::Jwks(_) => (ErrorCode::Unavailable.http_status(), "lms_unavailable"),
        LtiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "invalid_request"),
        _ => (StatusCode::INTERNAL_SERVER_ERROR, "server_error"),
    };
    (status, Json(serde_json::json!({ "error": code, "error_description": err.to_string() }))).into_response()
}

fn relayed(answer: Relayed) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::BAD_GATEWAY);
    let content_type = answer.content_type.unwrap_or_else(|| "application/json".to_string());
    (status, [(header::CONTENT_TYPE, content_type)], answer.body).into_response()
}

/// `POST /lti/platform/ags/{grant}/lineitem/scores`: a tool's score, relayed to the LMS.
pub async fn ags_scores(
    State(state): State<AppState>,
    Path(grant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let lti = state.app.lti.lti();
    let caller = match lti.tool_caller(super::bearer(&headers)).await {
        Ok(caller) => caller,
        Err(err) => return ags_error(err),
    };
    match lti.relay_score(&caller, &grant, &body).await {
        Ok(answer) => relayed(answer),
        Err(err) => ags_error(err),
    }
}

/// `GET /lti/platform/ags/{grant}/lineitem`: the line item, read from the LMS.
pub async fn ags_lineitem(State(state): State<AppState>, Path(grant): Path<String>, headers: HeaderMap) -> Response {
    let lti = state.app.lti.lti();
    let caller = match lti.tool_caller(super::bearer(&headers)).await {
        Ok(caller) => caller,
        Err(err) => return ags_error(err),
    };
    match lti.relay_lineitem(&caller, &grant).await {
        Ok(answer) => relayed(answer),
        Err(err) => ags_error(err),
    }
}

/// `GET /lti/register/{link}?openid_configuration=…&registration_token=…`: an LMS opened a
/// registration link (LTI Dynamic Registration). Answers the page that closes the LMS's
/// registration window, or one that names the problem.
pub async fn register_with_platform(
    State(state): State<AppState>,
    Path(link): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let pairs = pairs(query.unwrap_or_default().as_bytes());
    let configuration = first(&pairs, "openid_configuration");
    let token = first(&pairs, "registration_token");
    let lti = state.app.lti.lti();
    match lti.register_with_platform(&link, configuration.as_deref(), token.as_deref()).await {
        Ok(done) => html_no_store(registration::done_page(&done).into_string()),
        Err(err) => {
            let err = lti_error(err);
            // An LMS that refuses or cannot be reached is UNAVAILABLE: 503, as everywhere.
            let status = refusal_status(&err);
            let page = picker::registration_error_page(&err.message).into_string();
            (status, [(header::CACHE_CONTROL, "no-store")], Html(page)).into_response()
        }
    }
}

/// The gateway's OpenID configuration as the platform of publishers' tools.
pub async fn platform_configuration(State(state): State<AppState>) -> Response {
    ([(header::CACHE_CONTROL, "public, max-age=300")], Json(state.app.lti.lti().platform_configuration()))
        .into_response()
}

/// `POST /lti/platform/register`: a publisher's tool registers itself with its registration
/// token as bearer (LTI Dynamic Registration).
pub async fn register_tool(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    match state.app.lti.lti().register_tool_dynamically(super::bearer(&headers), &body).await {
        Ok(registration) => ([(header::CACHE_CONTROL, "no-store")], Json(registration)).into_response(),
        Err(err) => {
            let status = StatusCode::from_u16(err.status).unwrap_or(StatusCode::BAD_REQUEST);
            (status, [(header::CACHE_CONTROL, "no-store")], Json(err.body())).into_response()
        }
    }
}

/// The gateway's icon, for LMS tool lists and editor buttons.
pub async fn icon() -> Response {
    const ICON: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64" role="img" aria-label="Resource Gateway"><rect width="64" height="64" rx="12" fill="#1a5fb4"/><circle cx="28" cy="28" r="13" fill="none" stroke="#fff" stroke-width="6"/><path d="M38 38l14 14" stroke="#fff" stroke-width="7" stroke-linecap="round"/></svg>"##;
    ([(header::CONTENT_TYPE, "image/svg+xml"), (header::CACHE_CONTROL, "public, max-age=86400")], ICON).into_response()
}
