//! LTI endpoints: login initiation, launch, the picker, the insert form post and the JWKS.
//! Refusals answer a 4xx page naming the reason, never a picker.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Json;
use chrono::Duration;

use super::AppState;
use crate::error::{AppError, ErrorCode};
use crate::lti::broker::ags::Relayed;
use crate::lti::broker::launch::{AuthOutcome, AuthRequest};
use crate::lti::keys::DEFAULT_GRACE_DAYS;
use crate::lti::login::LoginRequest;
use crate::lti::picker::{self, PickerFacetValue, PickerResult, PickerView};
use crate::lti::service::LinkTarget;
use crate::lti::{claims, LtiError};
use crate::resource::{grade_label, ResourceKind};
use crate::search::{Dimension, Filter, SearchRequest};

/// Results per picker page.
const PICKER_PAGE_SIZE: usize = 20;

fn refusal(err: &AppError) -> Response {
    let status = match err.code {
        ErrorCode::NotFound => StatusCode::NOT_FOUND,
        ErrorCode::Unauthenticated => StatusCode::UNAUTHORIZED,
        ErrorCode::Forbidden => StatusCode::FORBIDDEN,
        ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        ErrorCode::Unavailable => StatusCode::BAD_GATEWAY,
        _ => StatusCode::BAD_REQUEST,
    };
    (status, Html(picker::error_page("The launch was refused", &err.message).into_string())).into_response()
}

fn lti_error(err: LtiError) -> AppError {
    AppError::from(err)
}

/// Parses `a=1&b=2&b=3` keeping repeated keys.
fn pairs(raw: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(raw).into_owned().collect()
}

fn first(pairs: &[(String, String)], key: &str) -> Option<String> {
    pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
}

fn all(pairs: &[(String, String)], key: &str) -> Vec<String> {
    pairs.iter().filter(|(k, _)| k == key).map(|(_, v)| v.clone()).collect()
}

fn login_request(pairs: &[(String, String)]) -> LoginRequest {
    LoginRequest {
        iss: first(pairs, "iss"),
        login_hint: first(pairs, "login_hint"),
        target_link_uri: first(pairs, "target_link_uri"),
        lti_message_hint: first(pairs, "lti_message_hint"),
        lti_deployment_id: first(pairs, "lti_deployment_id"),
        client_id: first(pairs, "client_id"),
    }
}

async fn login(state: &AppState, request: LoginRequest) -> Response {
    match state.app.lti.lti().initiate_login(request).await {
        Ok(url) => Redirect::to(&url).into_response(),
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
pub async fn launch(State(state): State<AppState>, body: Bytes) -> Response {
    let pairs = pairs(&body);
    let (Some(id_token), Some(login_state)) = (first(&pairs, "id_token"), first(&pairs, "state")) else {
        let err = AppError::bad_input("the launch needs id_token and state form fields");
        return refusal(&err);
    };
    let lti = state.app.lti.lti();
    let validated = match lti.validate_launch(&id_token, &login_state).await {
        Ok(validated) => validated,
        Err(err) => return refusal(&lti_error(err)),
    };
    if validated.message_type == claims::DEEP_LINKING_REQUEST {
        return match lti.begin_deep_linking(&validated).await {
            Ok(launch_id) => {
                let target = format!("/lti/picker?launch={}", urlencode(&launch_id));
                (StatusCode::SEE_OTHER, [(header::LOCATION, target)]).into_response()
            }
            Err(err) => refusal(&lti_error(err)),
        };
    }
    match state.app.lti.link_target(&validated).await {
        Ok(LinkTarget::Redirect(url)) => (StatusCode::SEE_OTHER, [(header::LOCATION, url)]).into_response(),
        Ok(LinkTarget::Tool(record)) => match state.app.lti.brokered_launch_url(&validated, &record).await {
            Ok(url) => (StatusCode::SEE_OTHER, [(header::LOCATION, url)]).into_response(),
            Err(err) => refusal(&err),
        },
        Err(err) => refusal(&err),
    }
}

fn urlencode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// The teacher's picker: `GET /lti/picker?launch=…&q=…&publisher=…&subject=…&kind=…&grade=…&page=…`.
pub async fn picker(State(state): State<AppState>, RawQuery(query): RawQuery) -> Response {
    let pairs = pairs(query.unwrap_or_default().as_bytes());
    let Some(launch_id) = first(&pairs, "launch") else {
        return refusal(&AppError::bad_input("the picker needs a launch"));
    };
    let context = match state.app.lti.lti().launch_context(&launch_id).await {
        Ok(context) => context,
        Err(err) => return refusal(&lti_error(err)),
    };
    let query_text = first(&pairs, "q").unwrap_or_default();
    let page: usize = first(&pairs, "page").and_then(|p| p.parse().ok()).unwrap_or(0).min(500);
    let allowed_kinds = context.settings.returnable_kinds();
    let chosen_kinds: Vec<ResourceKind> = all(&pairs, "kind")
        .iter()
        .filter_map(|k| ResourceKind::from_str_opt(k))
        .filter(|k| allowed_kinds.contains(k))
        .collect();
    let grades: Vec<i8> = all(&pairs, "grade").iter().filter_map(|g| g.parse().ok()).collect();
    let filter = Filter {
        publishers: all(&pairs, "publisher"),
        subjects: all(&pairs, "subject"),
        kinds: if chosen_kinds.is_empty() { allowed_kinds.clone() } else { chosen_kinds.clone() },
        grade_min: grades.iter().min().copied(),
        grade_max: grades.iter().max().copied(),
        ..Filter::default()
    };
    let request = SearchRequest {
        text: Some(query_text.clone()).filter(|q| !q.trim().is_empty()),
        filter,
        offset: page * PICKER_PAGE_SIZE,
        limit: PICKER_PAGE_SIZE,
        // The facets the picker shows.
        facets: vec![Dimension::Publisher, Dimension::Subject, Dimension::GradeLevel, Dimension::Kind],
        with_highlights: false,
        ..SearchRequest::default()
    };
    let results = match state.app.search.search(request).await {
        Ok(results) => results,
        Err(err) => return refusal(&err),
    };
    let publishers = state.app.publishers.list().await.unwrap_or_default();
    let publisher_name = |id: &str| publishers.iter().find(|p| p.id.as_str() == id).map(|p| p.name.clone());
    let selected = |param: &str, value: &str| pairs.iter().any(|(k, v)| k == param && v == value);
    let facet = |dimension: Dimension, param: &str, label: &dyn Fn(&str) -> String| -> Vec<PickerFacetValue> {
        results
            .facets
            .get(&dimension)
            .map(|values| {
                values
                    .iter()
                    .take(12)
                    .map(|(value, count)| PickerFacetValue {
                        value: value.clone(),
                        label: label(value),
                        count: *count,
                        selected: selected(param, value),
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut grade_values =
        facet(Dimension::GradeLevel, "grade", &|v| v.parse().map(grade_label).unwrap_or(v.to_string()));
    grade_values.sort_by_key(|v| v.value.parse::<i32>().unwrap_or(i32::MAX));
    let kind_values: Vec<PickerFacetValue> = facet(Dimension::Kind, "kind", &|v| kind_label(v).to_string())
        .into_iter()
        .filter(|v| ResourceKind::from_str_opt(&v.value).is_some_and(|k| allowed_kinds.contains(&k)))
        .collect();
    let view = PickerView {
        launch_id: launch_id.clone(),
        heading: context.settings.title.clone(),
        query: query_text.clone(),
        total: results.total,
        results: results
            .hits
            .iter()
            .map(|hit| {
                let resource = &hit.record.resource;
                PickerResult {
                    id: hit.record.id().to_string(),
                    title: resource.title.clone(),
                    description: resource.description.as_ref().map(|d| truncate(d, 240)),
                    publisher: publisher_name(hit.record.publisher.as_str())
                        .unwrap_or_else(|| hit.record.publisher.to_string()),
                    kind: kind_label(resource.kind.as_str()).to_string(),
                    grades: resource.grades.map(|g| {
                        if g.min == g.max {
                            grade_label(g.min)
                        } else {
                            format!("{} to {}", grade_label(g.min), grade_label(g.max))
                        }
                    }),
                    thumbnail_url: resource.thumbnail_url.clone(),
                    // Only web links are offered as previews (never `javascript:` or `data:`).
                    url: if resource.url.starts_with("https://") || resource.url.starts_with("http://") {
                        resource.url.clone()
                    } else {
                        "#".to_string()
                    },
                }
            })
            .collect(),
        facets: vec![
            (
                "publisher".into(),
                "Publisher".into(),
                facet(Dimension::Publisher, "publisher", &|v| publisher_name(v).unwrap_or(v.to_string())),
            ),
            ("subject".into(), "Subject".into(), facet(Dimension::Subject, "subject", &|v| v.to_string())),
            ("grade".into(), "Grade".into(), grade_values),
            ("kind".into(), "Kind".into(), kind_values),
        ],
        multiple: context.settings.accept_multiple(),
        next_page: ((page + 1) * PICKER_PAGE_SIZE < results.total).then(|| {
            let mut next: Vec<(String, String)> = pairs.iter().filter(|(k, _)| k != "page").cloned().collect();
            next.push(("page".into(), (page + 1).to_string()));
            let encoded: String = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(next).finish();
            format!("/lti/picker?{encoded}")
        }),
        notice: None,
    };
    html_no_store(picker::picker_page(&view).into_string())
}

/// Pages that carry launch ids or tokens: never cached, never sent on as a referrer.
fn html_no_store(body: String) -> Response {
    ([(header::CACHE_CONTROL, "no-store"), (header::REFERRER_POLICY, "no-referrer")], Html(body)).into_response()
}

fn kind_label(kind: &str) -> &'static str {
    match kind {
        "LTI_RESOURCE_LINK" => "Interactive tool",
        "LINK" => "Web page",
        "FILE" => "File",
        "HTML" => "Page",
        "IMAGE" => "Image",
        _ => "Other",
    }
}

fn truncate(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max_chars).collect();
    out.push('…');
    out
}

/// The picker's insert (or cancel): answers the page that posts the signed JWT to the LMS.
pub async fn insert(State(state): State<AppState>, body: Bytes) -> Response {
    let pairs = pairs(&body);
    let Some(launch_id) = first(&pairs, "launch") else {
        return refusal(&AppError::bad_input("the insert needs a launch"));
    };
    let cancel = first(&pairs, "action").as_deref() == Some("cancel");
    let resources = if cancel { Vec::new() } else { all(&pairs, "resource") };
    match state.app.lti.deep_linking_response(&launch_id, &resources, None).await {
        Ok(signed) => html_no_store(picker::auto_post_page(&signed.return_url, &signed.jwt).into_string()),
        Err(err) => refusal(&err),
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
            let status = if err.error == "invalid_client" { StatusCode::UNAUTHORIZED } else { StatusCode::BAD_REQUEST };
            (status, [(header::CACHE_CONTROL, "no-store")], Json(err)).into_response()
        }
    }
}

fn ags_error(err: LtiError) -> Response {
    let (status, code) = match &err {
        LtiError::InvalidToken(_) => (StatusCode::UNAUTHORIZED, "invalid_token"),
        LtiError::Forbidden(_) => (StatusCode::FORBIDDEN, "insufficient_scope"),
        LtiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
        LtiError::Upstream(_) | LtiError::Jwks(_) => (StatusCode::BAD_GATEWAY, "lms_unavailable"),
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
