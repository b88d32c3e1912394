//! LTI Dynamic Registration both ways over real HTTP on 127.0.0.1: a simulated LMS (its OpenID
//! configuration and registration endpoint shaped like Moodle's and Canvas's) registers the
//! gateway and then launches with what it registered; every refusal leaves nothing stored; a
//! simulated publisher tool registers itself with the gateway and then receives a brokered
//! launch under the client id the gateway issued.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::broker::{authorize_as, decode, field, query, student_launch};
use crate::common::{TestServer, ADMIN_TOKEN};
use crate::lms::{
    canvas_configuration, verify_with_gateway_jwks, Lms, RegistrationAnswer, RsaKey, CLIENT_ID, DEPLOYMENT_ID,
    REGISTRATION_TOKEN,
};
use crate::lti::gateway_with_samples;

const CREATE_LINK: &str = "mutation($name: String, $personal: Boolean = false) {
    createPlatformRegistration(name: $name, requestPersonalData: $personal) { url expiresAt } }";
const TOOL_CONFIGURATION: &str = "https://purl.imsglobal.org/spec/lti-tool-configuration";
const SCORE: &str = "https://purl.imsglobal.org/spec/lti-ags/scope/score";
const LINEITEM_READ: &str = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly";

async fn create_link(gateway: &TestServer, name: Option<&str>, personal: bool) -> String {
    let data = gateway.graphql_ok(CREATE_LINK, json!({ "name": name, "personal": personal }), Some(ADMIN_TOKEN)).await;
    let expires =
        chrono::DateTime::parse_from_rfc3339(data["createPlatformRegistration"]["expiresAt"].as_str().unwrap())
            .unwrap();
    let hours = (expires.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_minutes() as f64 / 60.0;
    assert!((23.9..=24.0).contains(&hours), "a link expires after 24 hours by default: {hours}");
    data["createPlatformRegistration"]["url"].as_str().unwrap().to_string()
}

async fn platforms(gateway: &TestServer) -> Vec<Value> {
    let data = gateway
        .graphql_ok(
            "{ platforms { id issuer clientId deploymentIds name authLoginUrl jwksUrl tokenUrl } }",
            json!({}),
            Some(ADMIN_TOKEN),
        )
        .await;
    data["platforms"].as_array().unwrap().clone()
}

#[tokio::test]
async fn test_an_lms_registers_the_gateway_then_deep_links_with_what_it_registered() {
    let gateway = gateway_with_samples().await;
    let lms = Lms::start().await;
    let link = create_link(&gateway, Some("District Moodle"), false).await;
    assert!(link.starts_with(&gateway.url("/lti/register/")), "{link}");

    let (status, page) = lms.open_registration_link(&gateway, &link).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("org.imsglobal.lti.close"), "the page closes the LMS's registration window");
    assert!(page.contains(CLIENT_ID) && page.contains(DEPLOYMENT_ID), "{page}");
    assert!(page.contains("moodle 4.5.6") && page.contains("Manage tools"), "names the LMS and what to do next");

    // What the gateway asked the LMS for.
    let registrations = lms.registrations();
    assert_eq!(registrations.len(), 1);
    let (bearer, request) = &registrations[0];
    assert_eq!(bearer.as_deref(), Some(REGISTRATION_TOKEN), "the registration token as bearer");
    assert_eq!(request["application_type"], "web");
    assert_eq!(request["response_types"], json!(["id_token"]));
    assert_eq!(request["grant_types"], json!(["implicit", "client_credentials"]));
    assert_eq!(request["initiate_login_uri"], gateway.url("/lti/login"));
    assert_eq!(request["redirect_uris"], json!([gateway.url("/lti/launch")]));
    assert_eq!(request["jwks_uri"], gateway.url("/.well-known/jwks.json"));
    assert_eq!(request["token_endpoint_auth_method"], "private_key_jwt");
    assert_eq!(request["client_name"], "District Moodle");
    assert_eq!(request["scope"], format!("{SCORE} {LINEITEM_READ}"), "the AGS scopes the gateway relays");
    let tool = &request[TOOL_CONFIGURATION];
    assert_eq!(tool["domain"], gateway.addr.to_string());
    assert_eq!(tool["target_link_uri"], gateway.url("/lti/launch"));
    assert_eq!(tool["claims"], json!(["iss", "sub"]), "no personal data unless asked for");
    let messages = tool["messages"].as_array().unwrap();
    assert_eq!(messages[0]["type"], "LtiDeepLinkingRequest");
    assert_eq!(messages[0]["target_link_uri"], gateway.url("/lti/launch"));
    assert_eq!(messages[0]["placements"], json!(["ContentArea"]), "Moodle's placement");
    assert_eq!(messages[1]["type"], "LtiResourceLinkRequest");
    assert!(tool.get("https://canvas.instructure.com/lti/privacy_level").is_none(), "Canvas's keys go to Canvas only");
    let icon = gateway.client.get(request["logo_uri"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(icon.headers()["content-type"], "image/svg+xml");

    // The LMS shows in `platforms` like one added by hand, with what it answered.
    let listed = platforms(&gateway).await;
    assert_eq!(listed.len(), 1);
    let platform = &listed[0];
    assert_eq!(platform["issuer"], lms.issuer());
    assert_eq!(platform["clientId"], CLIENT_ID);
    assert_eq!(platform["deploymentIds"], json!([DEPLOYMENT_ID]));
    assert_eq!(platform["authLoginUrl"], format!("{}/auth", lms.issuer()));
    assert_eq!(platform["jwksUrl"], format!("{}/jwks", lms.issuer()));
    assert_eq!(platform["tokenUrl"], format!("{}/token", lms.issuer()));
    assert_eq!(platform["name"], "District Moodle");

    // A deep-linking launch with what was registered (Moodle accepts only ltiResourceLink).
    let launch = lms.deep_link(&gateway, json!({ "accept_types": ["ltiResourceLink"] })).await;
    let answer = gateway
        .graphql_ok(
            "mutation($l: ID!) { deepLinkingResponse(launch: $l, resourceIds: [\"openreaders:OR-A-001\"]) { jwt contentItems } }",
            json!({ "l": launch }),
            None,
        )
        .await;
    let claims = verify_with_gateway_jwks(&gateway, answer["deepLinkingResponse"]["jwt"].as_str().unwrap(), &lms).await;
    assert_eq!(claims["iss"], CLIENT_ID);
    assert_eq!(claims["https://purl.imsglobal.org/spec/lti/claim/deployment_id"], DEPLOYMENT_ID);
    assert_eq!(answer["deepLinkingResponse"]["contentItems"][0]["type"], "ltiResourceLink");

    // The same LMS registering again (Moodle's update keeps the client id) updates its entry.
    lms.answer_registrations(RegistrationAnswer::Accept {
        client_id: CLIENT_ID.into(),
        deployment_id: Some("deployment-7".into()),
    });
    let again = create_link(&gateway, None, false).await;
    let (status, page) = lms.open_registration_link(&gateway, &again).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("updated"), "{page}");
    let listed = platforms(&gateway).await;
    assert_eq!(listed.len(), 1, "one entry per issuer and client id");
    assert_eq!(listed[0]["id"], platform["id"]);
    assert_eq!(listed[0]["deploymentIds"], json!([DEPLOYMENT_ID, "deployment-7"]));
    assert_eq!(listed[0]["name"], "District Moodle", "an unnamed link keeps the name");

    // A used link is refused before anything is fetched.
    let fetches = lms.configuration_fetches();
    let (status, page) = lms.open_registration_link(&gateway, &link).await;
    assert_eq!(status, 404);
    assert!(page.contains("already used"), "{page}");
    assert_eq!(lms.configuration_fetches(), fetches);
    assert_eq!(lms.registrations().len(), 2);
}

/// Moves every registration link's expiry into the past, straight in the registry.
async fn expire_links(gateway: &TestServer) {
    sqlx::any::install_default_drivers();
    let url = format!("sqlite://{}", gateway.data_dir.join("registry.sqlite3").display());
    let pool = sqlx::AnyPool::connect(&url).await.unwrap();
    let past = (chrono::Utc::now() - chrono::Duration::minutes(1)).to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    sqlx::query("UPDATE lti_registrations SET expires_at = $1").bind(past).execute(&pool).await.unwrap();
    pool.close().await;
}

#[tokio::test]
async fn test_every_registration_refusal_names_the_problem_and_stores_nothing() {
    let gateway = gateway_with_samples().await;
    let lms = Lms::start().await;
    let issuer = lms.issuer();

    // Only the admin makes links.
    let anonymous = gateway.graphql(CREATE_LINK, json!({}), None).await;
    assert_eq!(anonymous["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    let key = gateway.register_publisher("somepub", "Some Publisher").await;
    let publisher = gateway.graphql(CREATE_LINK, json!({}), Some(&key)).await;
    assert_eq!(publisher["errors"][0]["extensions"]["code"], "FORBIDDEN");

    // An unknown link: refused before anything is fetched.
    let (status, page) = lms.open_registration_link(&gateway, &gateway.url("/lti/register/made-up-link")).await;
    assert_eq!(status, 404);
    assert!(page.contains("unknown"), "{page}");
    assert_eq!(lms.configuration_fetches(), 0);

    let link = create_link(&gateway, None, false).await;
    // Opened without the LMS's parameters.
    let bare = gateway.client.get(&link).send().await.unwrap();
    assert_eq!(bare.status(), 400);
    assert!(bare.text().await.unwrap().contains("openid_configuration"));

    // Each problem answers a page naming it; the link stays usable for the next try.
    type Edit = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Edit, u16, &str)> = vec![
        (
            "issuer mismatch",
            Box::new(|c: &mut Value| c["issuer"] = json!("https://another-lms.example.edu")),
            400,
            "issuer",
        ),
        (
            "plain http to a host not allowed",
            Box::new(|c: &mut Value| c["registration_endpoint"] = json!("http://lms.example.edu/register")),
            400,
            "registration_endpoint must be https",
        ),
        (
            "keys on a private address",
            Box::new(|c: &mut Value| c["jwks_uri"] = json!("https://10.1.2.3/jwks")),
            400,
            "jwks_uri",
        ),
        (
            "no private_key_jwt",
            Box::new(|c: &mut Value| c["token_endpoint_auth_methods_supported"] = json!(["client_secret_basic"])),
            400,
            "private_key_jwt",
        ),
        (
            "no deep linking",
            Box::new(|c: &mut Value| {
                c["https://purl.imsglobal.org/spec/lti-platform-configuration"]["messages_supported"] =
                    json!([{ "type": "LtiResourceLinkRequest" }])
            }),
            400,
            "LtiDeepLinkingRequest",
        ),
        (
            "not an LTI platform",
            Box::new(|c: &mut Value| {
                c.as_object_mut().unwrap().remove("https://purl.imsglobal.org/spec/lti-platform-configuration");
            }),
            400,
            "not an LTI platform",
        ),
        (
            "incomplete configuration",
            Box::new(|c: &mut Value| {
                c.as_object_mut().unwrap().remove("registration_endpoint");
            }),
            400,
            "registration_endpoint",
        ),
    ];
    let original = crate::lms::moodle_configuration(&issuer);
    for (name, edit, expected_status, reason) in cases {
        lms.edit_configuration(|c| {
            *c = original.clone();
            edit(c);
        });
        let (status, page) = lms.open_registration_link(&gateway, &link).await;
        assert_eq!(status, expected_status, "{name}: {page}");
        assert!(page.contains(reason), "{name}: the page names '{reason}': {page}");
        assert!(page.contains("Nothing was stored"), "{name}");
    }
    assert!(lms.registrations().is_empty(), "none of those reached the registration endpoint");
    lms.edit_configuration(|c| *c = original.clone());

    // An LMS error comes back in the LMS's words.
    lms.answer_registrations(RegistrationAnswer::Refuse(
        400,
        json!({ "error": "invalid_client_metadata", "error_description": "this site accepts no new tools" })
            .to_string(),
    ));
    let (status, page) = lms.open_registration_link(&gateway, &link).await;
    assert_eq!(status, 503, "{page}");
    assert!(page.contains("this site accepts no new tools"), "{page}");
    // An LMS that cannot be reached.
    let mut unreachable = url::Url::parse(&link).unwrap();
    unreachable
        .query_pairs_mut()
        .append_pair("openid_configuration", "http://127.0.0.1:9/mod/lti/openid-configuration.php")
        .append_pair("registration_token", REGISTRATION_TOKEN);
    let response = gateway.client.get(unreachable).send().await.unwrap();
    assert_eq!(response.status(), 503);
    assert!(response.text().await.unwrap().contains("cannot reach the LMS"));
    // A configuration URL on plain http to a host that is not allowed is not even fetched.
    let mut refused = url::Url::parse(&link).unwrap();
    refused
        .query_pairs_mut()
        .append_pair("openid_configuration", "http://10.1.2.3/mod/lti/openid-configuration.php")
        .append_pair("registration_token", REGISTRATION_TOKEN);
    let response = gateway.client.get(refused).send().await.unwrap();
    assert_eq!(response.status(), 400);
    assert!(response.text().await.unwrap().contains("must be https"));
    assert!(platforms(&gateway).await.is_empty(), "nothing was stored by any refusal");

    // Once the LMS is fixed, the same link works: failures gave it back.
    lms.answer_registrations(RegistrationAnswer::default());
    let (status, page) = lms.open_registration_link(&gateway, &link).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(platforms(&gateway).await.len(), 1);

    // An expired link is refused before anything is fetched.
    let expiring = create_link(&gateway, None, false).await;
    expire_links(&gateway).await;
    let fetches = lms.configuration_fetches();
    let (status, page) = lms.open_registration_link(&gateway, &expiring).await;
    assert_eq!(status, 404);
    assert!(page.contains("expired"), "{page}");
    assert_eq!(lms.configuration_fetches(), fetches);
}

#[tokio::test]
async fn test_canvas_registration_asks_for_canvas_placements_and_learns_deployments() {
    let gateway = gateway_with_samples().await;
    let lms = Lms::start().await;
    let issuer = lms.issuer();
    lms.edit_configuration(|c| *c = canvas_configuration(&issuer));
    // Canvas creates deployments when the key is installed: its answer names none.
    lms.answer_registrations(RegistrationAnswer::Accept { client_id: CLIENT_ID.into(), deployment_id: None });
    let link = create_link(&gateway, Some("Canvas"), true).await;
    let (status, page) = lms.open_registration_link(&gateway, &link).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("first launch") && page.contains("developer key"), "{page}");

    let (_, request) = &lms.registrations()[0];
    let tool = &request[TOOL_CONFIGURATION];
    assert_eq!(
        tool["messages"][0]["placements"],
        json!(["link_selection", "assignment_selection", "editor_button", "module_index_menu_modal"]),
        "the deep-linking placements Canvas offers that suit the gateway"
    );
    assert!(
        tool["messages"][0]["icon_uri"].as_str().unwrap().ends_with("/lti/icon.svg"),
        "editor_button needs an icon"
    );
    assert_eq!(tool["https://canvas.instructure.com/lti/privacy_level"], "public", "personal data was asked for");
    assert!(tool["claims"].as_array().unwrap().contains(&json!("email")));
    let listed = platforms(&gateway).await;
    assert_eq!(listed[0]["deploymentIds"], json!([]));

    // A launch from a deployment the admin created in Canvas is accepted and recorded.
    let auth = lms.login(&gateway).await;
    let mut claims = lms.deep_linking_claims(&auth, json!({}));
    claims["https://purl.imsglobal.org/spec/lti/claim/deployment_id"] = json!("12:8865aa05b4b79b64a91a86042e43af5e");
    let (status, _, body) = lms.post_launch(&gateway, &lms.key.sign(&claims), auth.state()).await;
    assert_eq!(status, 303, "{body}");
    assert_eq!(platforms(&gateway).await[0]["deploymentIds"], json!(["12:8865aa05b4b79b64a91a86042e43af5e"]));
}

/// A publisher's LTI tool that registers itself by LTI Dynamic Registration: its initiation URL
/// fetches the platform configuration, checks the issuer, posts its registration and keeps the
/// client id it was given.
struct SelfRegisteringTool {
    addr: SocketAddr,
    registered: Arc<Mutex<Option<Value>>>,
}

#[derive(Clone)]
struct ToolState {
    base: String,
    jwks: Value,
    registered: Arc<Mutex<Option<Value>>>,
}

async fn tool_registration_page(
    State(state): State<ToolState>,
    Query(params): Query<HashMap<String, String>>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let (Some(configuration_url), Some(token)) = (params.get("openid_configuration"), params.get("registration_token"))
    else {
        return (axum::http::StatusCode::BAD_REQUEST, "no openid_configuration").into_response();
    };
    let client = reqwest::Client::new();
    let configuration: Value = client.get(configuration_url).send().await.unwrap().json().await.unwrap();
    let issuer = configuration["issuer"].as_str().unwrap();
    assert!(configuration_url.starts_with(issuer), "the configuration URL starts with the issuer");
    let registration = json!({
        "application_type": "web", "response_types": ["id_token"], "grant_types": ["implicit", "client_credentials"],
        "initiate_login_uri": format!("{}/login", state.base), "redirect_uris": [format!("{}/launch", state.base)],
        "client_name": "Quiz engine", "jwks_uri": format!("{}/jwks", state.base),
        "token_endpoint_auth_method": "private_key_jwt",
        "scope": format!("{SCORE} https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"),
        TOOL_CONFIGURATION: {
            "domain": state.base.trim_start_matches("http://"), "target_link_uri": format!("{}/launch", state.base),
            "claims": ["iss", "sub", "name"],
            "messages": [{ "type": "LtiResourceLinkRequest" }, { "type": "LtiDeepLinkingRequest" }],
        },
    });
    let endpoint = configuration["registration_endpoint"].as_str().unwrap();
    let answer = client.post(endpoint).bearer_auth(token).json(&registration).send().await.unwrap();
    let status = answer.status();
    let body: Value = answer.json().await.unwrap();
    if !status.is_success() {
        return (axum::http::StatusCode::BAD_GATEWAY, Json(body)).into_response();
    }
    *state.registered.lock().unwrap() = Some(body);
    axum::response::Html(
        "<p>Registered.</p><script>(window.opener || window.parent).postMessage({subject:'org.imsglobal.lti.close'}, '*')</script>",
    )
    .into_response()
}

impl SelfRegisteringTool {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let key = RsaKey::generate("self-registering-tool-key");
        let registered = Arc::new(Mutex::new(None));
        let state = ToolState {
            base: format!("http://{addr}"),
            jwks: json!({ "keys": [key.jwk()] }),
            registered: registered.clone(),
        };
        let app = Router::new()
            .route("/register", get(tool_registration_page))
            .route("/jwks", get(|State(s): State<ToolState>| async move { Json(s.jwks.clone()) }))
            .with_state(state);
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, registered }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    fn registration(&self) -> Option<Value> {
        self.registered.lock().unwrap().clone()
    }
}

const START_TOOL_REGISTRATION: &str = "mutation($input: CreateToolRegistrationInput!) {
    createToolRegistration(input: $input) { url openidConfiguration registrationToken expiresAt } }";

#[tokio::test]
async fn test_a_publisher_tool_registers_itself_then_receives_a_brokered_launch() {
    let gateway = gateway_with_samples().await;
    let lms = Lms::start().await;
    lms.register(&gateway).await;
    lms.trust_gateway(&gateway);
    let tool = SelfRegisteringTool::start().await;
    let key = gateway.register_publisher("quizzes", "Quizzes").await;
    let catalog = json!({ "resources": [{
        "id": "Q-7", "name": "Quiz 7: Fractions", "learningResourceType": ["Assessment/Item"], "publisher": "quizzes",
        "ltiLink": { "title": "Quiz 7", "secure_launch_url": tool.url("/launch/quiz-7"),
                     "custom": { "properties": [{ "name": "quiz", "value": "7" }] },
                     "extensions": { "platform": "canvas.instructure.com", "properties": [{ "name": "outcome", "value": "10" }] },
                     "vendor": { "code": "quizzes", "name": "Quizzes" } } }] });
    assert_eq!(gateway.ingest(&key, "RESOURCE_SEARCH", &catalog.to_string(), json!({})).await["added"], 1);

    // Who may start a registration.
    let input = json!({ "input": { "registrationUrl": tool.url("/register") } });
    let anonymous = gateway.graphql(START_TOOL_REGISTRATION, input.clone(), None).await;
    assert_eq!(anonymous["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    let other_key = gateway.register_publisher("other", "Other").await;
    let foreign = gateway
        .graphql(START_TOOL_REGISTRATION, json!({ "input": { "publisher": "quizzes" } }), Some(&other_key))
        .await;
    assert_eq!(foreign["errors"][0]["extensions"]["code"], "FORBIDDEN");

    // The publisher starts it; opening the URL lets the tool register itself.
    let started =
        gateway.graphql_ok(START_TOOL_REGISTRATION, input, Some(&key)).await["createToolRegistration"].clone();
    assert_eq!(started["openidConfiguration"], gateway.url("/lti/platform/openid-configuration"));
    let url = started["url"].as_str().unwrap();
    assert!(url.starts_with(&tool.url("/register?openid_configuration=")), "{url}");
    let configuration: Value = gateway
        .client
        .get(started["openidConfiguration"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(configuration["issuer"], gateway.url(""));
    assert_eq!(configuration["authorization_endpoint"], gateway.url("/lti/platform/auth"));
    assert_eq!(configuration["token_endpoint"], gateway.url("/lti/platform/token"));
    assert_eq!(configuration["jwks_uri"], gateway.url("/.well-known/jwks.json"));
    assert_eq!(configuration["registration_endpoint"], gateway.url("/lti/platform/register"));
    assert_eq!(
        configuration["https://purl.imsglobal.org/spec/lti-platform-configuration"]["messages_supported"],
        json!([{ "type": "LtiResourceLinkRequest" }])
    );
    let opened = gateway.client.get(url).send().await.unwrap();
    assert_eq!(opened.status(), 200);
    assert!(opened.text().await.unwrap().contains("org.imsglobal.lti.close"));
    let registration = tool.registration().expect("the tool registered");
    let client_id = registration["client_id"].as_str().unwrap().to_string();
    assert!(client_id.starts_with("rg-") && client_id.len() > 20, "the gateway issued the client id: {client_id}");
    assert_eq!(registration[TOOL_CONFIGURATION]["deployment_id"], "1");
    assert_eq!(registration["scope"], SCORE, "only the scopes the gateway relays");
    assert_eq!(registration[TOOL_CONFIGURATION]["claims"], json!(["iss", "sub"]), "no personal data unless shared");
    assert_eq!(
        registration[TOOL_CONFIGURATION]["messages"],
        json!([{ "type": "LtiResourceLinkRequest", "target_link_uri": tool.url("/launch") }]),
        "the messages the gateway will send"
    );
    let tools = gateway
        .graphql_ok(
            "{ publisher(id: \"quizzes\") { tools { clientId loginUrl launchUrl jwksUrl deploymentId } } }",
            json!({}),
            Some(&key),
        )
        .await;
    let listed = &tools["publisher"]["tools"][0];
    assert_eq!(listed["clientId"], client_id.as_str());
    assert_eq!(listed["loginUrl"], tool.url("/login"));
    assert_eq!(listed["launchUrl"], tool.url("/launch"));

    // The token worked once.
    let replay = gateway
        .client
        .post(gateway.url("/lti/platform/register"))
        .bearer_auth(started["registrationToken"].as_str().unwrap())
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), 401);
    assert_eq!(replay.json::<Value>().await.unwrap()["error"], "invalid_token");

    // No other publisher can claim the client id the gateway issued.
    let claim = gateway
        .graphql(
            "mutation($input: RegisterPublisherToolInput!) { registerPublisherTool(input: $input) { id } }",
            json!({ "input": { "loginUrl": "https://other.example.com/login", "launchUrl": "https://other.example.com/launch",
                               "clientId": client_id, "deploymentId": "1", "jwksUrl": "https://other.example.com/jwks" } }),
            Some(&other_key),
        )
        .await;
    assert_eq!(claim["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{claim}");
    assert!(claim["errors"][0]["message"].as_str().unwrap().contains("another publisher"));

    // A brokered launch reaches the tool under the issued client id.
    let launch = lms.deep_link(&gateway, json!({})).await;
    let item = gateway
        .graphql_ok(
            "mutation($l: ID!) { deepLinkingResponse(launch: $l, resourceIds: [\"quizzes:Q-7\"]) { contentItems } }",
            json!({ "l": launch }),
            None,
        )
        .await["deepLinkingResponse"]["contentItems"][0]
        .clone();
    let (status, location, body) = student_launch(&gateway, &lms, &item, &[SCORE]).await;
    assert_eq!(status, 303, "{body}");
    let login = query(&location.unwrap());
    assert_eq!(login["client_id"], client_id.as_str());
    assert_eq!(login["lti_deployment_id"], "1");
    let (status, html) = authorize_as(&gateway, &client_id, &login, &tool.url("/launch")).await;
    assert_eq!(status, 200, "{html}");
    let id_token = field(&html, "id_token").unwrap();
    let claims = crate::lms::verify_jwt(&gateway, &id_token, &client_id, &gateway.url("")).await;
    assert_eq!(claims["https://purl.imsglobal.org/spec/lti/claim/deployment_id"], "1");
    assert_eq!(claims["https://purl.imsglobal.org/spec/lti/claim/target_link_uri"], tool.url("/launch/quiz-7"));
    assert!(decode(&id_token).get("name").is_none());
}

#[tokio::test]
async fn test_tool_registration_refusals() {
    let gateway = gateway_with_samples().await;
    let key = gateway.register_publisher("quizzes", "Quizzes").await;
    let start = |token: &str| {
        let token = token.to_string();
        let gateway = &gateway;
        async move {
            gateway.graphql_ok(START_TOOL_REGISTRATION, json!({ "input": {} }), Some(&token)).await
                ["createToolRegistration"]["registrationToken"]
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    let token = start(&key).await;
    let post = |bearer: Option<String>, body: Value| {
        let gateway = &gateway;
        async move {
            let mut request = gateway.client.post(gateway.url("/lti/platform/register")).json(&body);
            if let Some(bearer) = bearer {
                request = request.bearer_auth(bearer);
            }
            let response = request.send().await.unwrap();
            (response.status().as_u16(), response.json::<Value>().await.unwrap())
        }
    };
    let valid = json!({
        "application_type": "web", "response_types": ["id_token"], "grant_types": ["implicit", "client_credentials"],
        "initiate_login_uri": "http://127.0.0.1:9/login", "redirect_uris": ["http://127.0.0.1:9/launch"],
        "jwks_uri": "http://127.0.0.1:9/jwks", "token_endpoint_auth_method": "private_key_jwt",
        TOOL_CONFIGURATION: { "domain": "127.0.0.1:9", "target_link_uri": "http://127.0.0.1:9/launch" },
    });
    let (status, body) = post(None, valid.clone()).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_token")));
    let (status, body) = post(Some("made-up".into()), valid.clone()).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_token")));

    let mut edits: Vec<(&str, Value, &str)> = Vec::new();
    let mut secret_auth = valid.clone();
    secret_auth["token_endpoint_auth_method"] = json!("client_secret_basic");
    edits.push(("client secrets", secret_auth, "private_key_jwt"));
    let mut no_redirects = valid.clone();
    no_redirects["redirect_uris"] = json!([]);
    edits.push(("no redirect URIs", no_redirects, "invalid_redirect_uri"));
    let mut private_redirect = valid.clone();
    private_redirect["redirect_uris"] = json!(["https://10.0.0.5/launch"]);
    edits.push(("a redirect URI on a private address", private_redirect, "invalid_redirect_uri"));
    let mut other_domain = valid.clone();
    other_domain[TOOL_CONFIGURATION]["target_link_uri"] = json!("http://127.0.0.1:10/launch");
    edits.push(("a launch URL off its domain", other_domain, "domain"));
    let mut no_launch = valid.clone();
    no_launch[TOOL_CONFIGURATION] = json!({});
    edits.push(("no target link URI", no_launch, "target_link_uri"));
    let mut plain_http = valid.clone();
    plain_http["jwks_uri"] = json!("http://tool.example.com/jwks");
    edits.push(("plain http elsewhere", plain_http, "must be https"));
    for (name, body, reason) in edits {
        let (status, answer) = post(Some(token.clone()), body).await;
        assert_eq!(status, 400, "{name}: {answer}");
        assert!(answer.to_string().contains(reason), "{name}: names '{reason}': {answer}");
    }
    // None of those used the token up.
    let (status, answer) = post(Some(token.clone()), valid.clone()).await;
    assert_eq!(status, 200, "{answer}");
    let (status, _) = post(Some(token), valid).await;
    assert_eq!(status, 401);
    // A tool registration token is no LMS registration link, and the other way round.
    let admin_link = create_link(&gateway, None, false).await;
    let link_secret = admin_link.rsplit('/').next().unwrap().to_string();
    let (status, _) = post(Some(link_secret), json!({})).await;
    assert_eq!(status, 401);
    let tool_token = start(&key).await;
    let lms = Lms::start().await;
    let (status, _) = lms.open_registration_link(&gateway, &gateway.url(&format!("/lti/register/{tool_token}"))).await;
    assert_eq!(status, 404);
    assert_eq!(lms.configuration_fetches(), 0);
}
