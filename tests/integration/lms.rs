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
            .route("/lineitems/7/scores", post(lms_scores))
            .route(
                "/lineitems/7",
                get(|| async { Json(json!({ "id": "internal-lms-url", "scoreMaximum": 10, "label": "Quiz 7" })) }),
            )
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind lms");
        let addr = listener.local_addr().expect("addr");
        *state.token_url.lock().unwrap() = format!("http://{addr}/token");
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
        let now = chrono::Utc::now().timestamp();
        let mut dl = json!({
            "deep_link_return_url": self.return_url(),
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
            "iss": self.issuer(), "aud": CLIENT_ID, "sub": "teacher-7", "iat": now, "exp": now + 300,
            "nonce": auth.nonce(),
            "https://purl.imsglobal.org/spec/lti/claim/deployment_id": DEPLOYMENT_ID,
            "https://purl.imsglobal.org/spec/lti/claim/message_type": "LtiDeepLinkingRequest",
            "https://purl.imsglobal.org/spec/lti/claim/version": "1.3.0",
            "https://purl.imsglobal.org/spec/lti/claim/roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"],
            "https://purl.imsglobal.org/spec/lti/claim/target_link_uri": format!("http://{}/lti/launch", "gateway"),
            "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings": dl,
        })
    }

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
