//! A simulated LMS (LTI 1.3 platform) for the tests: its own RSA key and JWKS served on
//! 127.0.0.1, login initiation, signed id_tokens, and a return URL that records what the
//! gateway posts back.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::pkcs8::EncodePublicKey;
use rsa::traits::PublicKeyParts;
use rsa::RsaPrivateKey;
use serde_json::{json, Value};

use crate::common::{TestServer, ADMIN_TOKEN};

pub const CLIENT_ID: &str = "gateway-client-1";
pub const DEPLOYMENT_ID: &str = "deployment-1";
/// The registration token the LMS hands the gateway when it opens a registration link.
pub const REGISTRATION_TOKEN: &str = "lms-registration-token-1";

pub fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

pub struct RsaKey {
    pub kid: String,
    pub private: RsaPrivateKey,
}

impl RsaKey {
    pub fn generate(kid: &str) -> Self {
        Self { kid: kid.to_string(), private: RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).expect("rsa key") }
    }

    pub fn jwk(&self) -> Value {
        let public = self.private.to_public_key();
        json!({ "kty": "RSA", "kid": self.kid, "alg": "RS256", "use": "sig",
                "n": b64(&public.n().to_bytes_be()), "e": b64(&public.e().to_bytes_be()) })
    }

    pub fn public_pem(&self) -> String {
        self.private.to_public_key().to_public_key_pem(rsa::pkcs8::LineEnding::LF).expect("pem")
    }

    /// Signs claims given as JSON text, so their bytes (key order included) are exactly these.
    pub fn sign_text(&self, claims: &str) -> String {
        let raw = serde_json::value::RawValue::from_string(claims.to_string()).expect("claims JSON");
        let pem = self.private.to_pkcs1_pem(rsa::pkcs8::LineEnding::LF).expect("pem");
        let key = EncodingKey::from_rsa_pem(pem.as_bytes()).expect("encoding key");
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, &raw, &key).expect("sign")
    }

    pub fn sign(&self, claims: &Value) -> String {
        let pem = self.private.to_pkcs1_pem(rsa::pkcs8::LineEnding::LF).expect("pem");
        let key = EncodingKey::from_rsa_pem(pem.as_bytes()).expect("encoding key");
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &key).expect("sign")
    }
}

/// A registration posted to the simulated LMS: its bearer token and body.
type PostedRegistration = (Option<String>, Value);

#[derive(Clone, Default)]
struct LmsState {
    jwks: Arc<Mutex<Value>>,
    returned: Arc<Mutex<Vec<String>>>,
    /// Where to verify the gateway's client assertions.
    gateway_jwks: Arc<Mutex<Option<String>>>,
    token_url: Arc<Mutex<String>>,
    /// Claims of the gateway's verified client assertions.
    assertions: Arc<Mutex<Vec<Value>>>,
    scores: Arc<Mutex<Vec<Value>>>,
    fail_scores: Arc<std::sync::atomic::AtomicBool>,
    /// Dynamic Registration: the OpenID configuration served, how often it was fetched, the
    /// registrations posted (bearer, body), and how the registration endpoint answers.
    configuration: Arc<Mutex<Value>>,
    configuration_fetches: Arc<std::sync::atomic::AtomicUsize>,
    registrations: Arc<Mutex<Vec<PostedRegistration>>>,
    registration_answer: Arc<Mutex<RegistrationAnswer>>,
    issuer: Arc<Mutex<String>>,
    /// The LMS's signing key, for its authorization endpoint.
    signing: Arc<Mutex<Option<(String, EncodingKey)>>>,
    /// What its storage frame (`post_message_forwarding`) reported doing.
    storage_log: Arc<Mutex<Vec<Value>>>,
    /// Whether a registration frame sent `org.imsglobal.lti.close`.
    closed: Arc<std::sync::atomic::AtomicBool>,
}

/// Moodle's "Add LTI Advantage": the registration link in a frame (with the LMS's two
/// parameters), closed when the frame posts `org.imsglobal.lti.close`.
async fn lms_tool_registration(
    State(s): State<LmsState>,
    axum::extract::Query(params): axum::extract::Query<HashMap<String, String>>,
) -> axum::response::Html<String> {
    let issuer = s.issuer.lock().unwrap().clone();
    let mut link = url::Url::parse(&params["link"]).unwrap();
    link.query_pairs_mut()
        .append_pair("openid_configuration", &format!("{issuer}/mod/lti/openid-configuration.php"))
        .append_pair("registration_token", REGISTRATION_TOKEN);
    axum::response::Html(format!(
        r#"<!doctype html><title>Manage tools</title><iframe id="registration" src="{}"></iframe><script>
window.addEventListener('message', function (e) {{
  if (e.data && e.data.subject === 'org.imsglobal.lti.close') {{
    document.getElementById('registration').remove();
    fetch('/closed', {{ method: 'POST' }});
  }}
}});</script>"#,
        link.as_str().replace('&', "&amp;")
    ))
}

/// The authorization endpoint a browser reaches from the gateway's login: signs a
/// deep-linking request for the nonce and form-posts it with the state to the redirect URI.
async fn lms_auth(
    State(s): State<LmsState>,
    axum::extract::Query(params): axum::extract::Query<HashMap<String, String>>,
) -> axum::response::Html<String> {
    let issuer = s.issuer.lock().unwrap().clone();
    let claims = deep_linking_claims(&issuer, &params["nonce"], json!({}));
    let (kid, key) = s.signing.lock().unwrap().clone().expect("signing key");
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid);
    let id_token = jsonwebtoken::encode(&header, &claims, &key).expect("sign");
    let escape = |v: &str| v.replace('&', "&amp;").replace('"', "&quot;").replace('<', "&lt;");
    axum::response::Html(format!(
        r#"<!doctype html><form id="f" method="post" action="{}"><input type="hidden" name="id_token" value="{}"><input type="hidden" name="state" value="{}"></form><script>document.getElementById('f').submit()</script>"#,
        escape(&params["redirect_uri"]),
        escape(&id_token),
        escape(&params["state"])
    ))
}

/// A course page as Canvas builds it for an LTI launch: the tool in one frame, the platform's
/// storage frame (`post_message_forwarding`) beside it.
async fn lms_course(
    State(s): State<LmsState>,
    axum::extract::Query(params): axum::extract::Query<HashMap<String, String>>,
) -> axum::response::Html<String> {
    let issuer = s.issuer.lock().unwrap().clone();
    let gateway = &params["gateway"];
    let mut login = url::Url::parse(&format!("{gateway}/lti/login")).unwrap();
    login
        .query_pairs_mut()
        .append_pair("iss", &issuer)
        .append_pair("login_hint", "teacher-7")
        .append_pair("target_link_uri", &format!("{gateway}/lti/launch"))
        .append_pair("client_id", CLIENT_ID)
        .append_pair("lti_deployment_id", DEPLOYMENT_ID)
        .append_pair("lti_storage_target", "post_message_forwarding");
    axum::response::Html(format!(
        r#"<!doctype html><title>Course</title><iframe name="post_message_forwarding" src="/storage" style="display:none"></iframe><iframe id="tool" name="tool" style="width:900px;height:600px" src="{}"></iframe>"#,
        login.as_str().replace('&', "&amp;")
    ))
}

/// The platform's storage frame: keeps values per tool origin, answers `lti.put_data` and
/// `lti.get_data` to the frame that asked, and reports each operation to the LMS.
const STORAGE_FRAME: &str = r#"<!doctype html><script>
var stored = {};
window.addEventListener('message', function (event) {
  var data = event.data || {};
  var slot = event.origin + ' ' + data.key;
  var answer = { subject: data.subject + '.response', message_id: data.message_id, key: data.key };
  if (data.subject === 'lti.put_data') { stored[slot] = data.value; answer.value = data.value; }
  else if (data.subject === 'lti.get_data') { answer.value = stored[slot]; }
  else { return; }
  fetch('/storage-log', { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ op: data.subject, origin: event.origin, key: data.key, value: answer.value || null }) });
  event.source.postMessage(answer, event.origin);
});
</script>"#;

/// How the simulated LMS's registration endpoint answers.
#[derive(Clone, Debug)]
pub enum RegistrationAnswer {
    /// The registration echoed with `client_id`, and this deployment id when some.
    Accept { client_id: String, deployment_id: Option<String> },
    /// An error status and body.
    Refuse(u16, String),
}

impl Default for RegistrationAnswer {
    fn default() -> Self {
        RegistrationAnswer::Accept { client_id: CLIENT_ID.into(), deployment_id: Some(DEPLOYMENT_ID.into()) }
    }
}

fn bearer_of(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string)
}

/// The host (and port) of a URL, as Moodle compares a registration's domain with its target.
fn url_domain(raw: &str) -> Option<String> {
    let url = url::Url::parse(raw).ok()?;
    Some(match url.port() {
        Some(port) => format!("{}:{port}", url.host_str()?),
        None => url.host_str()?.to_string(),
    })
}

async fn lms_configuration(State(s): State<LmsState>) -> Json<Value> {
    s.configuration_fetches.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    Json(s.configuration.lock().unwrap().clone())
}

/// The registration endpoint: checks the token and what Moodle checks (required fields,
/// `private_key_jwt`, `id_token`, a domain that matches the target link URI), then answers.
async fn lms_register(
    State(s): State<LmsState>,
    headers: axum::http::HeaderMap,
    body: String,
) -> axum::response::Response {
    use axum::http::StatusCode;
    use axum::response::IntoResponse;
    let bearer = bearer_of(&headers);
    let request: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    s.registrations.lock().unwrap().push((bearer.clone(), request.clone()));
    if bearer.as_deref() != Some(REGISTRATION_TOKEN) {
        return (StatusCode::UNAUTHORIZED, "missing_registration_token").into_response();
    }
    let tool = &request["https://purl.imsglobal.org/spec/lti-tool-configuration"];
    for field in ["initiate_login_uri", "client_name", "jwks_uri"] {
        if !request[field].is_string() {
            return (StatusCode::BAD_REQUEST, format!("missing required attribute {field}")).into_response();
        }
    }
    if request["token_endpoint_auth_method"] != "private_key_jwt" {
        return (StatusCode::BAD_REQUEST, "invalid_token_endpoint_auth_method").into_response();
    }
    if !request["response_types"].as_array().is_some_and(|t| t.contains(&json!("id_token"))) {
        return (StatusCode::BAD_REQUEST, "invalid_response_types").into_response();
    }
    if !request["redirect_uris"].is_array() {
        return (StatusCode::BAD_REQUEST, "invalid_redirect_uris").into_response();
    }
    let domain = tool["domain"].as_str().unwrap_or_default();
    if domain.is_empty() {
        return (StatusCode::BAD_REQUEST, "missing_domain").into_response();
    }
    if url_domain(tool["target_link_uri"].as_str().unwrap_or_default()).as_deref() != Some(domain) {
        return (StatusCode::BAD_REQUEST, "domain_targetlinkuri_mismatch").into_response();
    }
    let answer = s.registration_answer.lock().unwrap().clone();
    match answer {
        RegistrationAnswer::Refuse(status, body) => {
            (StatusCode::from_u16(status).unwrap(), [("content-type", "application/json")], body).into_response()
        }
        RegistrationAnswer::Accept { client_id, deployment_id } => {
            let mut answered = request.clone();
            answered["client_id"] = json!(client_id);
            if let Some(deployment) = deployment_id {
                answered["https://purl.imsglobal.org/spec/lti-tool-configuration"]["deployment_id"] = json!(deployment);
            }
            Json(answered).into_response()
        }
    }
}

const LMS_ACCESS_TOKEN: &str = "lms-access-token-123";

/// The LMS token endpoint: verifies the gateway's JWT assertion with the gateway's JWKS.
async fn lms_token(State(s): State<LmsState>, Form(form): Form<HashMap<String, String>>) -> axum::response::Response {
    use axum::response::IntoResponse;
    let refuse = |why: &str| {
        (axum::http::StatusCode::UNAUTHORIZED, Json(json!({ "error": "invalid_client", "error_description": why })))
            .into_response()
    };
    let Some(jwks_url) = s.gateway_jwks.lock().unwrap().clone() else { return refuse("no gateway") };
    let Some(assertion) = form.get("client_assertion") else { return refuse("no assertion") };
    let jwks: jsonwebtoken::jwk::JwkSet = match reqwest::get(&jwks_url).await {
        Ok(response) => response.json().await.unwrap(),
        Err(_) => return refuse("jwks unreachable"),
    };
    let header = jsonwebtoken::decode_header(assertion).unwrap();
    let Some(jwk) = jwks.find(header.kid.as_deref().unwrap_or_default()) else { return refuse("unknown kid") };
    let mut validation = jsonwebtoken::Validation::new(Algorithm::RS256);
    validation.set_audience(&[s.token_url.lock().unwrap().clone()]);
    validation.set_issuer(&[CLIENT_ID]);
    match jsonwebtoken::decode::<Value>(assertion, &jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap(), &validation) {
        Ok(data) => {
            s.assertions.lock().unwrap().push(data.claims);
            Json(json!({ "access_token": LMS_ACCESS_TOKEN, "token_type": "Bearer", "expires_in": 3600,
                         "scope": form.get("scope").cloned().unwrap_or_default() }))
            .into_response()
        }
        Err(err) => refuse(&format!("{err}")),
    }
}

async fn lms_scores(
    State(s): State<LmsState>,
    headers: axum::http::HeaderMap,
    body: String,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let authorized =
        headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(&format!("Bearer {LMS_ACCESS_TOKEN}"));
    let typed =
        headers.get("content-type").and_then(|v| v.to_str().ok()) == Some("application/vnd.ims.lis.v1.score+json");
    if !authorized || !typed {
        return (axum::http::StatusCode::UNAUTHORIZED, "bad token or content type").into_response();
    }
    if s.fail_scores.load(std::sync::atomic::Ordering::SeqCst) {
        return (
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({ "error": "scoreGiven exceeds the maximum" })),
        )
            .into_response();
    }
    s.scores.lock().unwrap().push(serde_json::from_str(&body).unwrap_or(Value::Null));
    Json(json!({ "resultUrl": "https://lms/results/1" })).into_response()
}

/// The platform side of the tests.
pub struct Lms {
    pub addr: SocketAddr,
    pub key: RsaKey,
    state: LmsState,
}

/// What the gateway's login initiation redirected to.
pub struct AuthRequest {
    pub params: HashMap<String, String>,
}

impl AuthRequest {
    pub fn state(&self) -> &str {
        &self.params["state"]
    }
    pub fn nonce(&self) -> &str {
        &self.params["nonce"]
    }
}

impl Lms {
    pub async fn start() -> Self {
        let key = RsaKey::generate("lms-key-1");
        let state = LmsState::default();
        *state.jwks.lock().unwrap() = json!({ "keys": [key.jwk()] });
        let app = Router::new()
            .route("/jwks", get(|State(s): State<LmsState>| async move { Json(s.jwks.lock().unwrap().clone()) }))
            .route(
                "/return",
                post(|State(s): State<LmsState>, Form(form): Form<HashMap<String, String>>| async move {
                    s.returned.lock().unwrap().push(form.get("JWT").cloned().unwrap_or_default());
                    "received"
                }),
            )
            .route("/token", post(lms_token))
            .route("/mod/lti/openid-configuration.php", get(lms_configuration))
            .route("/auth", get(lms_auth))
            .route("/course", get(lms_course))
            .route("/tool-registration", get(lms_tool_registration))
            .route(
                "/closed",
                post(|State(s): State<LmsState>| async move {
                    s.closed.store(true, std::sync::atomic::Ordering::SeqCst);
                    "closed"
                }),
            )
            .route("/storage", get(|| async { axum::response::Html(STORAGE_FRAME) }))
            .route(
                "/storage-log",
                post(|State(s): State<LmsState>, Json(entry): Json<Value>| async move {
                    s.storage_log.lock().unwrap().push(entry);
                    "logged"
                }),
            )
            .route("/mod/lti/openid-registration.php", post(lms_register))
            .route("/lineitems/7/scores", post(lms_scores))
            .route(
                "/lineitems/7",
                get(|| async { Json(json!({ "id": "internal-lms-url", "scoreMaximum": 10, "label": "Quiz 7" })) }),
            )
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind lms");
        let addr = listener.local_addr().expect("addr");
        *state.token_url.lock().unwrap() = format!("http://{addr}/token");
        *state.configuration.lock().unwrap() = moodle_configuration(&format!("http://{addr}"));
        *state.issuer.lock().unwrap() = format!("http://{addr}");
        let pem = key.private.to_pkcs1_pem(rsa::pkcs8::LineEnding::LF).expect("pem");
        *state.signing.lock().unwrap() =
            Some((key.kid.clone(), EncodingKey::from_rsa_pem(pem.as_bytes()).expect("encoding key")));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, key, state }
    }

    pub fn issuer(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn return_url(&self) -> String {
        format!("http://{}/return?course=42", self.addr)
    }

    /// Lets the LMS verify the gateway's client assertions.
    pub fn trust_gateway(&self, gateway: &TestServer) {
        *self.state.gateway_jwks.lock().unwrap() = Some(gateway.url("/.well-known/jwks.json"));
    }

    pub fn lineitem_url(&self) -> String {
        format!("http://{}/lineitems/7", self.addr)
    }

    pub fn scores(&self) -> Vec<Value> {
        self.state.scores.lock().unwrap().clone()
    }

    pub fn assertions(&self) -> Vec<Value> {
        self.state.assertions.lock().unwrap().clone()
    }

    pub fn fail_scores(&self, fail: bool) {
        self.state.fail_scores.store(fail, std::sync::atomic::Ordering::SeqCst);
    }

    /// The JWTs browsers posted to the return URL.
    pub fn returned(&self) -> Vec<String> {
        self.state.returned.lock().unwrap().clone()
    }

    pub fn publish_keys(&self, keys: &[&RsaKey]) {
        *self.state.jwks.lock().unwrap() = json!({ "keys": keys.iter().map(|k| k.jwk()).collect::<Vec<_>>() });
    }

    /// Where this LMS serves its OpenID configuration (Moodle's path).
    pub fn configuration_url(&self) -> String {
        format!("{}/mod/lti/openid-configuration.php", self.issuer())
    }

    /// Changes the OpenID configuration it serves.
    pub fn edit_configuration(&self, edit: impl FnOnce(&mut Value)) {
        edit(&mut self.state.configuration.lock().unwrap());
    }

    pub fn configuration_fetches(&self) -> usize {
        self.state.configuration_fetches.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// The registrations posted to it: (bearer token, body).
    pub fn registrations(&self) -> Vec<(Option<String>, Value)> {
        self.state.registrations.lock().unwrap().clone()
    }

    pub fn answer_registrations(&self, answer: RegistrationAnswer) {
        *self.state.registration_answer.lock().unwrap() = answer;
    }

    /// Opens a registration link the way Moodle's "Add LTI Advantage" does; answers (status, body).
    pub async fn open_registration_link(&self, gateway: &TestServer, link: &str) -> (u16, String) {
        let mut url = url::Url::parse(link).unwrap();
        url.query_pairs_mut()
            .append_pair("openid_configuration", &self.configuration_url())
            .append_pair("registration_token", REGISTRATION_TOKEN);
        let response = gateway.client.get(url).send().await.unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    /// Registers this LMS with the gateway (admin GraphQL).
    pub async fn register(&self, gateway: &TestServer) {
        let data = gateway
            .graphql_ok(
                "mutation($input: RegisterPlatformInput!) { registerPlatform(input: $input) { id clientId deploymentIds } }",
                json!({ "input": {
                    "issuer": self.issuer(), "clientId": CLIENT_ID, "deploymentIds": [DEPLOYMENT_ID, "deployment-2"],
                    "authLoginUrl": format!("{}/auth", self.issuer()), "jwksUrl": format!("{}/jwks", self.issuer()),
                    "tokenUrl": format!("{}/token", self.issuer()),
                    "name": "Test LMS" } }),
                Some(ADMIN_TOKEN),
            )
            .await;
        assert_eq!(data["registerPlatform"]["clientId"], CLIENT_ID);
    }

    /// Starts a login at the gateway the way a platform does, and answers the auth request.
    pub async fn login(&self, gateway: &TestServer) -> AuthRequest {
        let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let response = client
            .post(gateway.url("/lti/login"))
            .form(&[
                ("iss", self.issuer()),
                ("login_hint", "teacher-7".to_string()),
                ("target_link_uri", gateway.url("/lti/launch")),
                ("lti_message_hint", "dl-hint".to_string()),
                ("client_id", CLIENT_ID.to_string()),
                ("lti_deployment_id", DEPLOYMENT_ID.to_string()),
            ])
            .send()
            .await
            .unwrap();
        assert!(response.status().is_redirection(), "login answered {}", response.status());
        let location = response.headers()["location"].to_str().unwrap().to_string();
        assert!(location.starts_with(&format!("{}/auth?", self.issuer())), "{location}");
        let url = url::Url::parse(&location).unwrap();
        AuthRequest { params: url.query_pairs().into_owned().collect() }
    }

    /// The claims of a valid deep-linking request answering `auth`.
    pub fn deep_linking_claims(&self, auth: &AuthRequest, settings: Value) -> Value {
        deep_linking_claims(&self.issuer(), auth.nonce(), settings)
    }

    /// Starts a login the way Canvas does when it offers its storage frame
    /// (`lti_storage_target`); answers the gateway's page.
    pub async fn login_with_storage(&self, gateway: &TestServer) -> String {
        let response = gateway
            .client
            .post(gateway.url("/lti/login"))
            .form(&[
                ("iss", self.issuer()),
                ("login_hint", "teacher-7".to_string()),
                ("target_link_uri", gateway.url("/lti/launch")),
                ("client_id", CLIENT_ID.to_string()),
                ("lti_storage_target", "post_message_forwarding".to_string()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        response.text().await.unwrap()
    }

    /// Whether a registration frame asked the LMS to close it.
    pub fn closed(&self) -> bool {
        self.state.closed.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// What the storage frame did: (operation, key, value) as it reported them.
    pub fn storage_log(&self) -> Vec<Value> {
        self.state.storage_log.lock().unwrap().clone()
    }
}

/// The claims of a valid deep-linking request from the LMS at `issuer` answering `nonce`.
pub fn deep_linking_claims(issuer: &str, nonce: &str, settings: Value) -> Value {
    let now = chrono::Utc::now().timestamp();
    let mut dl = json!({
        "deep_link_return_url": format!("{issuer}/return?course=42"),
        "accept_types": ["ltiResourceLink", "link", "file", "html", "image"],
        "accept_presentation_document_targets": ["iframe", "window"],
        "accept_multiple": true,
        "accept_lineitem": true,
        "data": "opaque-data-\u{e9}-42",
    });
    if let (Some(target), Some(extra)) = (dl.as_object_mut(), settings.as_object()) {
        for (k, v) in extra {
            target.insert(k.clone(), v.clone());
        }
    }
    json!({
        "iss": issuer, "aud": CLIENT_ID, "sub": "teacher-7", "iat": now, "exp": now + 300,
        "nonce": nonce,
        "https://purl.imsglobal.org/spec/lti/claim/deployment_id": DEPLOYMENT_ID,
        "https://purl.imsglobal.org/spec/lti/claim/message_type": "LtiDeepLinkingRequest",
        "https://purl.imsglobal.org/spec/lti/claim/version": "1.3.0",
        "https://purl.imsglobal.org/spec/lti/claim/roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"],
        "https://purl.imsglobal.org/spec/lti/claim/target_link_uri": format!("http://{}/lti/launch", "gateway"),
        "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings": dl,
    })
}

impl Lms {
    /// Posts an id_token to the gateway's launch endpoint; answers (status, location, body).
    pub async fn post_launch(
        &self,
        gateway: &TestServer,
        id_token: &str,
        state: &str,
    ) -> (u16, Option<String>, String) {
        let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let response = client
            .post(gateway.url("/lti/launch"))
            .form(&[("id_token", id_token), ("state", state)])
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let location = response.headers().get("location").map(|l| l.to_str().unwrap().to_string());
        (status, location, response.text().await.unwrap_or_default())
    }

    /// Runs login and a deep-linking launch; answers the launch id from the picker redirect.
    pub async fn deep_link(&self, gateway: &TestServer, settings: Value) -> String {
        self.deep_link_with(gateway, settings, json!({})).await
    }

    /// A deep-linking launch whose id_token also carries `claims` (context, launch presentation).
    pub async fn deep_link_with(&self, gateway: &TestServer, settings: Value, claims: Value) -> String {
        let auth = self.login(gateway).await;
        let mut all = self.deep_linking_claims(&auth, settings);
        if let (Some(target), Some(extra)) = (all.as_object_mut(), claims.as_object()) {
            for (k, v) in extra {
                target.insert(k.clone(), v.clone());
            }
        }
        let token = self.key.sign(&all);
        let (status, location, body) = self.post_launch(gateway, &token, auth.state()).await;
        assert_eq!(status, 303, "{body}");
        let location = location.expect("redirect to the picker");
        assert!(location.starts_with("/lti/picker?launch="), "{location}");
        let url = url::Url::parse(&format!("http://x{location}")).unwrap();
        url.query_pairs().find(|(k, _)| k == "launch").map(|(_, v)| v.into_owned()).unwrap()
    }
}

/// Verifies a deep-linking response JWT with the gateway's published JWKS; answers its claims.
pub async fn verify_with_gateway_jwks(gateway: &TestServer, jwt: &str, lms: &Lms) -> Value {
    verify_jwt(gateway, jwt, &lms.issuer(), CLIENT_ID).await
}

/// Verifies any JWT the gateway signed, for an audience and issuer; answers its claims.
pub async fn verify_jwt(gateway: &TestServer, jwt: &str, audience: &str, issuer: &str) -> Value {
    let jwks: jsonwebtoken::jwk::JwkSet =
        gateway.client.get(gateway.url("/.well-known/jwks.json")).send().await.unwrap().json().await.unwrap();
    let header = jsonwebtoken::decode_header(jwt).unwrap();
    assert_eq!(header.alg, Algorithm::RS256);
    let jwk = jwks.find(header.kid.as_deref().expect("kid")).expect("kid published in the JWKS");
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
    let mut validation = jsonwebtoken::Validation::new(Algorithm::RS256);
    validation.set_audience(&[audience]);
    validation.set_issuer(&[issuer]);
    validation.set_required_spec_claims(&["exp", "iat", "iss", "aud"]);
    jsonwebtoken::decode::<Value>(jwt, &key, &validation).expect("valid response JWT").claims
}

/// The `JWT` field of the auto-submitting form page, and the form's action.
pub fn form_post(html: &str) -> (String, String) {
    let action = between(html, "action=\"", "\"").expect("form action");
    let jwt = between(html, "name=\"JWT\" value=\"", "\"").expect("JWT field");
    (action.replace("&amp;", "&"), jwt)
}

fn between(text: &str, start: &str, end: &str) -> Option<String> {
    let from = text.find(start)? + start.len();
    let to = text[from..].find(end)? + from;
    Some(text[from..to].to_string())
}

/// An OpenID configuration shaped like Moodle 4.5's `mod/lti/openid-configuration.php`
/// (fields, scopes and messages as that file builds them), for an LMS at `issuer`.
pub fn moodle_configuration(issuer: &str) -> Value {
    json!({
        "issuer": issuer,
        "token_endpoint": format!("{issuer}/token"),
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": ["RS256"],
        "jwks_uri": format!("{issuer}/jwks"),
        "authorization_endpoint": format!("{issuer}/auth"),
        "registration_endpoint": format!("{issuer}/mod/lti/openid-registration.php"),
        "scopes_supported": [
            "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
            "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly",
            "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly",
            "https://purl.imsglobal.org/spec/lti-ags/scope/score",
            "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly",
            "https://purl.imsglobal.org/spec/lti-ts/scope/toolsetting",
            "openid"
        ],
        "response_types_supported": ["id_token"],
        "subject_types_supported": ["public", "pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "claims_supported": ["sub", "iss", "name", "given_name", "family_name", "email"],
        "https://purl.imsglobal.org/spec/lti-platform-configuration": {
            "product_family_code": "moodle",
            "version": "4.5.6 (Build: 20250811)",
            "messages_supported": [
                { "type": "LtiResourceLinkRequest" },
                { "type": "LtiDeepLinkingRequest", "placements": ["ContentArea"] }
            ],
            "variables": ["basic-lti-launch-request", "Context.id", "ResourceLink.id", "User.id"]
        }
    })
}

/// An OpenID configuration shaped like Canvas's (its `doc/api/registration.md` example):
/// product `canvas`, its deep-linking placements, and its own platform-configuration keys.
pub fn canvas_configuration(issuer: &str) -> Value {
    json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/auth"),
        "registration_endpoint": format!("{issuer}/mod/lti/openid-registration.php"),
        "jwks_uri": format!("{issuer}/jwks"),
        "token_endpoint": format!("{issuer}/token"),
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": ["RS256"],
        "scopes_supported": [
            "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
            "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly",
            "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly",
            "https://purl.imsglobal.org/spec/lti-ags/scope/score",
            "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly",
            "https://canvas.instructure.com/lti/public_jwk/scope/update",
            "https://canvas.instructure.com/lti/account_lookup/scope/show"
        ],
        "response_types_supported": ["id_token"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "claims_supported": ["sub", "picture", "email", "name", "given_name", "family_name", "locale"],
        "subject_types_supported": ["public"],
        "authorization_server": "canvas.instructure.com",
        "https://purl.imsglobal.org/spec/lti-platform-configuration": {
            "product_family_code": "canvas",
            "version": "vCloud",
            "messages_supported": [
                { "type": "LtiResourceLinkRequest",
                  "placements": ["account_navigation", "course_navigation", "link_selection", "wiki_page_menu"] },
                { "type": "LtiDeepLinkingRequest",
                  "placements": ["assignment_selection", "collaboration", "conference_selection", "course_assignments_menu",
                                 "editor_button", "homework_submission", "link_selection", "migration_selection",
                                 "module_index_menu_modal", "module_menu_modal", "submission_type_selection"] }
            ],
            "variables": ["ResourceLink.id", "Canvas.environment.test"],
            "https://canvas.instructure.com/lti/account_name": "Test University",
            "https://canvas.instructure.com/lti/account_lti_guid": "pNu5F9EoIATW6XqZ33C5tiqomb7bFJ4IGWFoCFy6:canvas-lms"
        }
    })
}
