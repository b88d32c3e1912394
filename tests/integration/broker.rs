//! Brokered launches: a simulated LMS and a simulated publisher tool, each with its own keys
//! and JWKS on 127.0.0.1, drive a whole lesson; then every refusal.

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::common::{TestServer, ADMIN_TOKEN};
use crate::lms::{Lms, RsaKey};
use crate::lti::gateway_with_samples;

pub const SCORE: &str = "https://purl.imsglobal.org/spec/lti-ags/scope/score";
pub const LINEITEM_READ: &str = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly";
const LINEITEM: &str = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem";

/// A publisher's LTI tool: its key, its JWKS, its URLs.
pub struct Tool {
    pub addr: SocketAddr,
    pub key: RsaKey,
    pub client_id: String,
}

impl Tool {
    pub async fn start(client_id: &str) -> Self {
        let key = RsaKey::generate(&format!("{client_id}-key"));
        let jwks = json!({ "keys": [key.jwk()] });
        let app = Router::new().route("/jwks", get(move || async move { Json(jwks.clone()) }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, key, client_id: client_id.to_string() }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Registers the tool for `publisher` with `token` (publisher key or admin).
    pub async fn register(&self, gateway: &TestServer, token: &str, publisher: Option<&str>, share: bool) -> Value {
        let data = gateway
            .graphql_ok(
                "mutation($input: RegisterPublisherToolInput!) { registerPublisherTool(input: $input) {
                    id publisher clientId redirectUris platformIssuer platformAuthUrl platformTokenUrl platformJwksUrl } }",
                json!({ "input": { "publisher": publisher, "name": "Quiz engine", "loginUrl": self.url("/login"),
                    "launchUrl": self.url("/launch"), "clientId": self.client_id, "deploymentId": "dep-1",
                    "jwksUrl": self.url("/jwks"), "sharePersonalData": share } }),
                Some(token),
            )
            .await;
        data["registerPublisherTool"].clone()
    }

    /// The tool's authorization request to the gateway; answers (status, body).
    pub async fn authorize(
        &self,
        gateway: &TestServer,
        login: &HashMap<String, String>,
        redirect_uri: &str,
    ) -> (u16, String) {
        authorize_as(gateway, &self.client_id, login, redirect_uri).await
    }

    pub fn assertion(&self, gateway: &TestServer, jti: &str, exp_offset: i64) -> String {
        let now = chrono::Utc::now().timestamp();
        self.key.sign(&json!({ "iss": self.client_id, "sub": self.client_id, "aud": gateway.url("/lti/platform/token"),
                                "iat": now, "exp": now + exp_offset, "jti": jti }))
    }

    pub async fn token(&self, gateway: &TestServer, assertion: &str, scope: &str) -> (u16, Value) {
        let response = gateway
            .client
            .post(gateway.url("/lti/platform/token"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
                ("client_assertion", assertion),
                ("scope", scope),
            ])
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }
}

/// A tool's authorization request to the gateway as client `client_id`; answers (status, body).
pub async fn authorize_as(
    gateway: &TestServer,
    client_id: &str,
    login: &HashMap<String, String>,
    redirect_uri: &str,
) -> (u16, String) {
    let response = gateway
        .client
        .get(gateway.url("/lti/platform/auth"))
        .query(&[
            ("scope", "openid"),
            ("response_type", "id_token"),
            ("response_mode", "form_post"),
            ("prompt", "none"),
            ("client_id", client_id),
            ("redirect_uri", redirect_uri),
            ("login_hint", login["login_hint"].as_str()),
            ("lti_message_hint", login["lti_message_hint"].as_str()),
            ("state", "tool-state-1"),
            ("nonce", "tool-nonce-1"),
        ])
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

pub fn field(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let from = html.find(&marker)? + marker.len();
    let to = html[from..].find('"')? + from;
    Some(html[from..to].replace("&amp;", "&"))
}

pub fn decode(jwt: &str) -> Value {
    use base64::Engine;
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// A publisher with one gradable LTI resource served by `tool`.
pub async fn quiz_publisher(gateway: &TestServer, id: &str, tool: &Tool) -> String {
    let key = gateway.register_publisher(id, &format!("{id} publisher")).await;
    let catalog = json!({ "resources": [{
        "id": "Q-7", "name": "Quiz 7: Fractions", "learningResourceType": ["Assessment/Item"], "publisher": id,
        "ltiLink": { "title": "Quiz 7", "secure_launch_url": tool.url("/launch/quiz-7"),
                     "custom": { "properties": [{ "name": "quiz", "value": "7" }, { "name": "context_id", "value": "$Context.id" },
                                               { "name": "uid", "value": "$User.id" }] },
                     "extensions": { "platform": "canvas.instructure.com", "properties": [{ "name": "outcome", "value": "10" }] },
                     "vendor": { "code": id, "name": id } } }] });
    let report = gateway.ingest(&key, "RESOURCE_SEARCH", &catalog.to_string(), json!({})).await;
    assert_eq!(report["added"], 1, "{report}");
    key
}

/// A student's LMS launch of an inserted link; answers (status, location, body).
pub async fn student_launch(
    gateway: &TestServer,
    lms: &Lms,
    item: &Value,
    ags_scopes: &[&str],
) -> (u16, Option<String>, String) {
    student_launch_with_lineitem(gateway, lms, item, ags_scopes, &lms.lineitem_url()).await
}

/// [`student_launch`] with the line item URL the LMS's AGS claim names.
async fn student_launch_with_lineitem(
    gateway: &TestServer,
    lms: &Lms,
    item: &Value,
    ags_scopes: &[&str],
    lineitem: &str,
) -> (u16, Option<String>, String) {
    let auth = lms.login(gateway).await;
    let now = chrono::Utc::now().timestamp();
    let mut custom = item["custom"].clone();
    // The LMS substitutes its variables.
    custom["context_id"] = json!("course-1");
    custom["uid"] = json!("student-42");
    custom["district_param"] = json!("set on the gateway's registration");
    let claims = json!({
        "iss": lms.issuer(), "aud": crate::lms::CLIENT_ID, "sub": "student-42", "iat": now, "exp": now + 300, "nonce": auth.nonce(),
        "name": "Ada Student", "email": "ada@school.example.edu",
        "https://purl.imsglobal.org/spec/lti/claim/deployment_id": crate::lms::DEPLOYMENT_ID,
        "https://purl.imsglobal.org/spec/lti/claim/message_type": "LtiResourceLinkRequest",
        "https://purl.imsglobal.org/spec/lti/claim/version": "1.3.0",
        "https://purl.imsglobal.org/spec/lti/claim/roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"],
        "https://purl.imsglobal.org/spec/lti/claim/resource_link": { "id": "rl-1", "title": "Quiz 7" },
        "https://purl.imsglobal.org/spec/lti/claim/context": { "id": "course-1", "title": "Grade 3 Math" },
        "https://purl.imsglobal.org/spec/lti/claim/target_link_uri": gateway.url("/lti/launch"),
        "https://purl.imsglobal.org/spec/lti/claim/custom": custom,
        "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint": { "scope": ags_scopes, "lineitem": lineitem },
    });
    lms.post_launch(gateway, &lms.key.sign(&claims), auth.state()).await
}

/// The content item a teacher's deep linking inserts for the quiz of [`quiz_publisher`].
pub async fn inserted_quiz(gateway: &TestServer, lms: &Lms) -> Value {
    let launch = lms.deep_link(gateway, json!({})).await;
    let response = gateway
        .graphql_ok(
            "mutation($l: ID!) { deepLinkingResponse(launch: $l, resourceIds: [\"quizzes:Q-7\"]) { contentItems } }",
            json!({ "l": launch }),
            None,
        )
        .await;
    response["deepLinkingResponse"]["contentItems"][0].clone()
}

/// A tool posting `score` to a line item the gateway relays, as an AGS score.
pub async fn post_score(gateway: &TestServer, lineitem: &str, token: &str, score: &Value) -> reqwest::Response {
    gateway
        .client
        .post(format!("{lineitem}/scores"))
        .bearer_auth(token)
        .header("content-type", "application/vnd.ims.lis.v1.score+json")
        .body(score.to_string())
        .send()
        .await
        .unwrap()
}

pub fn query(location: &str) -> HashMap<String, String> {
    url::Url::parse(location).unwrap().query_pairs().into_owned().collect()
}

async fn setup() -> (TestServer, Lms, Tool, Value) {
    let gateway = gateway_with_samples().await;
    let lms = Lms::start().await;
    lms.register(&gateway).await;
    lms.trust_gateway(&gateway);
    let tool = Tool::start("gw-at-quizzes").await;
    let key = quiz_publisher(&gateway, "quizzes", &tool).await;
    let registered = tool.register(&gateway, &key, None, false).await;
    assert_eq!(registered["publisher"], "quizzes");
    assert_eq!(registered["redirectUris"], json!([tool.url("/launch")]), "redirect URIs default to the launch URL");
    assert_eq!(registered["platformIssuer"], gateway.url(""));
    assert_eq!(registered["platformAuthUrl"], gateway.url("/lti/platform/auth"));
    assert_eq!(registered["platformTokenUrl"], gateway.url("/lti/platform/token"));
    assert_eq!(registered["platformJwksUrl"], gateway.url("/.well-known/jwks.json"));
    let item = inserted_quiz(&gateway, &lms).await;
    assert_eq!(item["lineItem"]["scoreMaximum"], 10.0);
    (gateway, lms, tool, item)
}

#[tokio::test]
async fn test_a_whole_lesson_with_grade_passback() {
    let (gateway, lms, tool, item) = setup().await;

    // The student launches the inserted link: the gateway validates it and starts the
    // third-party login toward the publisher's tool.
    let (status, location, body) = student_launch(&gateway, &lms, &item, &[LINEITEM, SCORE, LINEITEM_READ]).await;
    assert_eq!(status, 303, "{body}");
    let location = location.unwrap();
    assert!(location.starts_with(&tool.url("/login?")), "{location}");
    let login = query(&location);
    assert_eq!(login["iss"], gateway.url(""));
    assert_eq!(login["target_link_uri"], tool.url("/launch/quiz-7"));
    assert_eq!(login["client_id"], tool.client_id);
    assert_eq!(login["lti_deployment_id"], "dep-1");

    // The tool's authorization request answers a form post of a signed id_token.
    let (status, html) = tool.authorize(&gateway, &login, &tool.url("/launch")).await;
    assert_eq!(status, 200, "{html}");
    assert_eq!(form_post_action(&html), tool.url("/launch"));
    assert_eq!(field(&html, "state").as_deref(), Some("tool-state-1"));
    let id_token = field(&html, "id_token").expect("id_token");
    let claims = crate::lms::verify_jwt(&gateway, &id_token, &tool.client_id, &gateway.url("")).await;
    assert_eq!(claims["nonce"], "tool-nonce-1");
    assert_eq!(claims["https://purl.imsglobal.org/spec/lti/claim/message_type"], "LtiResourceLinkRequest");
    assert_eq!(claims["https://purl.imsglobal.org/spec/lti/claim/deployment_id"], "dep-1");
    assert_eq!(claims["https://purl.imsglobal.org/spec/lti/claim/target_link_uri"], tool.url("/launch/quiz-7"));
    let sub = claims["sub"].as_str().unwrap().to_string();
    assert!(sub != "student-42" && sub.starts_with("rg-"), "a pseudonym, never the LMS's id: {sub}");
    assert!(claims.get("name").is_none() && claims.get("email").is_none(), "no personal data by default");
    let custom = &claims["https://purl.imsglobal.org/spec/lti/claim/custom"];
    assert_eq!(custom["quiz"], "7");
    assert_eq!(custom["context_id"], "course-1", "the LMS's substitutions pass");
    assert!(custom.get("gateway_resource_id").is_none());
    assert!(custom.get("uid").is_none(), "the LMS user id never passes through a custom parameter unless shared");
    assert!(custom.get("district_param").is_none(), "only the resource's own parameters pass");
    assert_eq!(claims["https://purl.imsglobal.org/spec/lti/claim/resource_link"]["id"], "rl-1");
    assert_eq!(claims["https://purl.imsglobal.org/spec/lti/claim/context"]["id"], "course-1");
    let ags = &claims["https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"];
    let lineitem = ags["lineitem"].as_str().unwrap().to_string();
    assert!(lineitem.starts_with(&gateway.url("/lti/platform/ags/")), "{lineitem}");
    assert_eq!(
        ags["scope"],
        json!([SCORE, LINEITEM_READ]),
        "at most the scopes the LMS granted, and only relayable ones"
    );

    // The same student, again: the same pseudonym.
    let (_, again, _) = student_launch(&gateway, &lms, &item, &[LINEITEM, SCORE, LINEITEM_READ]).await;
    let (_, html) = tool.authorize(&gateway, &query(&again.unwrap()), &tool.url("/launch")).await;
    assert_eq!(decode(&field(&html, "id_token").unwrap())["sub"], sub.as_str());

    // The tool gets a token with its signed assertion and posts a score.
    let (status, token) =
        tool.token(&gateway, &tool.assertion(&gateway, "jti-1", 300), &format!("{SCORE} {LINEITEM_READ}")).await;
    assert_eq!(status, 200, "{token}");
    assert!(token["expires_in"].as_i64().unwrap() <= 3600);
    let access = token["access_token"].as_str().unwrap().to_string();
    let score = json!({ "userId": sub, "scoreGiven": 8, "scoreMaximum": 10, "activityProgress": "Completed",
                        "gradingProgress": "FullyGraded", "timestamp": "2026-11-27T10:00:00Z", "comment": "Well done" });
    let posted = post_score(&gateway, &lineitem, &access, &score).await;
    assert_eq!(posted.status(), 200, "{}", posted.text().await.unwrap());
    let received = lms.scores();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0]["userId"], "student-42", "the LMS user's own id");
    for key in ["scoreGiven", "scoreMaximum", "activityProgress", "gradingProgress", "timestamp", "comment"] {
        assert_eq!(received[0][key], score[key], "{key} reaches the LMS unchanged");
    }
    let assertion = &lms.assertions()[0];
    assert_eq!(assertion["aud"], format!("{}/token", lms.issuer()), "the gateway's own assertion at the LMS");

    // Errors from the LMS come back with their status.
    lms.fail_scores(true);
    let refused = post_score(&gateway, &lineitem, &access, &score).await;
    assert_eq!(refused.status(), 422);
    assert!(refused.text().await.unwrap().contains("exceeds"));
    lms.fail_scores(false);

    // The line item reads through the gateway, under the gateway's URL.
    let read = gateway.client.get(&lineitem).bearer_auth(&access).send().await.unwrap();
    assert_eq!(read.status(), 200);
    let body: Value = read.json().await.unwrap();
    assert_eq!(body["id"], lineitem.as_str());
    assert_eq!(body["label"], "Quiz 7");
}

pub fn form_post_action(html: &str) -> String {
    let from = html.find("action=\"").unwrap() + 8;
    let to = html[from..].find('"').unwrap() + from;
    html[from..to].replace("&amp;", "&")
}

#[tokio::test]
async fn test_personal_data_passes_only_when_shared() {
    let (gateway, lms, tool, item) = setup().await;
    tool.register(&gateway, ADMIN_TOKEN, Some("quizzes"), true).await;
    let (_, location, _) = student_launch(&gateway, &lms, &item, &[SCORE]).await;
    let (_, html) = tool.authorize(&gateway, &query(&location.unwrap()), &tool.url("/launch")).await;
    let claims = decode(&field(&html, "id_token").unwrap());
    assert_eq!(claims["name"], "Ada Student");
    assert_eq!(claims["email"], "ada@school.example.edu");
    assert_eq!(claims["https://purl.imsglobal.org/spec/lti/claim/custom"]["uid"], "student-42");
}

#[tokio::test]
async fn test_broker_refusals() {
    let (gateway, lms, tool, item) = setup().await;
    let other = Tool::start("gw-at-other").await;
    let other_key = gateway.register_publisher("other", "Other").await;
    other.register(&gateway, &other_key, None, false).await;
    // A publisher key cannot register a tool for someone else.
    let foreign = gateway
        .graphql(
            "mutation($input: RegisterPublisherToolInput!) { registerPublisherTool(input: $input) { id } }",
            json!({ "input": { "publisher": "quizzes", "loginUrl": other.url("/login"), "launchUrl": other.url("/launch"),
                               "clientId": "sneaky", "deploymentId": "d", "jwksUrl": other.url("/jwks") } }),
            Some(&other_key),
        )
        .await;
    assert_eq!(foreign["errors"][0]["extensions"]["code"], "FORBIDDEN");

    let (_, location, _) = student_launch(&gateway, &lms, &item, &[SCORE]).await;
    let login = query(&location.unwrap());
    // A wrong redirect URI: a local error page, never a redirect.
    let (status, html) = tool.authorize(&gateway, &login, &tool.url("/evil")).await;
    assert_eq!(status, 400);
    assert!(html.contains("redirect_uri") && !html.contains("id_token"), "{html}");
    // Another publisher's tool asking for this launch gets an error, not an id_token.
    let (status, html) = other.authorize(&gateway, &login, &other.url("/launch")).await;
    assert_eq!(status, 200);
    assert_eq!(field(&html, "error").as_deref(), Some("access_denied"), "{html}");
    assert!(field(&html, "id_token").is_none());
    // The rightful tool still can (the refusals did not use the launch up); then not twice.
    let (_, html) = tool.authorize(&gateway, &login, &tool.url("/launch")).await;
    let claims = decode(&field(&html, "id_token").expect("id_token"));
    let (_, html) = tool.authorize(&gateway, &login, &tool.url("/launch")).await;
    assert_eq!(field(&html, "error").as_deref(), Some("login_required"));

    // Assertions: expired, replayed, a foreign key, a scope never offered.
    let (status, body) = tool.token(&gateway, &tool.assertion(&gateway, "old", -600), SCORE).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")), "{body}");
    let assertion = tool.assertion(&gateway, "once", 300);
    assert_eq!(tool.token(&gateway, &assertion, SCORE).await.0, 200);
    let (status, body) = tool.token(&gateway, &assertion, SCORE).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "replayed: {body}");
    let impostor = Tool { addr: tool.addr, key: RsaKey::generate(&tool.key.kid), client_id: tool.client_id.clone() };
    let (status, _) = tool.token(&gateway, &impostor.assertion(&gateway, "x", 300), SCORE).await;
    assert_eq!(status, 401, "signed with a key that is not the tool's");
    let (status, body) = tool
        .token(
            &gateway,
            &tool.assertion(&gateway, "nrps", 300),
            "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly",
        )
        .await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_scope")));

    // A scope the LMS did not grant for this line item (only score was).
    let lineitem =
        claims["https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"]["lineitem"].as_str().unwrap().to_string();
    let (_, token) =
        tool.token(&gateway, &tool.assertion(&gateway, "read", 300), &format!("{SCORE} {LINEITEM_READ}")).await;
    let access = token["access_token"].as_str().unwrap().to_string();
    let read = gateway.client.get(&lineitem).bearer_auth(&access).send().await.unwrap();
    assert_eq!(read.status(), 403);
    // A token without the score scope cannot post scores.
    let (_, read_only) = tool.token(&gateway, &tool.assertion(&gateway, "ro", 300), LINEITEM_READ).await;
    let score = json!({ "userId": claims["sub"], "scoreGiven": 1, "scoreMaximum": 10, "activityProgress": "Completed",
                        "gradingProgress": "FullyGraded", "timestamp": "2026-11-27T10:00:00Z" });
    let posted = gateway
        .client
        .post(format!("{lineitem}/scores"))
        .bearer_auth(read_only["access_token"].as_str().unwrap())
        .body(score.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 403);
    // Another tool's token never reaches this tool's line item.
    let (_, other_token) = other.token(&gateway, &other.assertion(&gateway, "o", 300), SCORE).await;
    let posted = gateway
        .client
        .post(format!("{lineitem}/scores"))
        .bearer_auth(other_token["access_token"].as_str().unwrap())
        .body(score.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 404);
    // Scores only for the launched user.
    let mut someone_else = score.clone();
    someone_else["userId"] = json!("rg-someone-else");
    let posted = gateway
        .client
        .post(format!("{lineitem}/scores"))
        .bearer_auth(&access)
        .body(someone_else.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 403);
    let unauthenticated =
        gateway.client.post(format!("{lineitem}/scores")).body(score.to_string()).send().await.unwrap();
    assert_eq!(unauthenticated.status(), 401);
    assert!(lms.scores().is_empty(), "nothing refused reached the LMS");

    // A publisher without a tool for the resource: a page saying so.
    let (status, _, body) =
        student_launch(&gateway, &lms, &json!({ "custom": { "gateway_resource_id": "mathwise:MW-8-004" } }), &[SCORE])
            .await;
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("has not registered an LTI tool"));
}

#[tokio::test]
async fn test_a_removed_tool_is_launched_no_more_and_its_tokens_end() {
    let (gateway, lms, tool, item) = setup().await;
    let tools =
        gateway.graphql_ok(r#"{ publisher(id: "quizzes") { tools { id } } }"#, json!({}), Some(ADMIN_TOKEN)).await;
    let tool_id = tools["publisher"]["tools"][0]["id"].as_str().unwrap().to_string();
    let (_, token) = tool.token(&gateway, &tool.assertion(&gateway, "before", 300), SCORE).await;
    let access = token["access_token"].as_str().expect("a token before the removal").to_string();
    let unknown_grant = gateway.url("/lti/platform/ags/none/lineitem");
    let before = gateway.client.get(&unknown_grant).bearer_auth(&access).send().await.unwrap();
    assert_eq!(before.status(), 404, "the token is good; the grant is unknown");
    const REMOVE: &str = "mutation($id: ID!) { removePublisherTool(id: $id) { id publisher clientId } }";

    // Another publisher cannot remove it, nor learn that it exists.
    let other_key = gateway.register_publisher("other", "Other").await;
    let foreign = gateway.graphql(REMOVE, json!({ "id": tool_id }), Some(&other_key)).await;
    assert_eq!(foreign["errors"][0]["extensions"]["code"], "NOT_FOUND", "{foreign:#}");
    let anonymous = gateway.graphql(REMOVE, json!({ "id": tool_id }), None).await;
    assert_eq!(anonymous["errors"][0]["extensions"]["code"], "UNAUTHENTICATED", "{anonymous:#}");

    let removed = gateway.graphql_ok(REMOVE, json!({ "id": tool_id }), Some(ADMIN_TOKEN)).await;
    assert_eq!(removed["removePublisherTool"]["id"], tool_id.as_str());
    assert_eq!(removed["removePublisherTool"]["publisher"], "quizzes");
    let tools =
        gateway.graphql_ok(r#"{ publisher(id: "quizzes") { tools { id } } }"#, json!({}), Some(ADMIN_TOKEN)).await;
    assert_eq!(tools["publisher"]["tools"], json!([]));
    let again = gateway.graphql(REMOVE, json!({ "id": tool_id }), Some(ADMIN_TOKEN)).await;
    assert_eq!(again["errors"][0]["extensions"]["code"], "NOT_FOUND", "{again:#}");

    // Its access token no longer reaches the grade service; a new launch finds no tool.
    let lineitems = gateway.client.get(&unknown_grant).bearer_auth(&access).send().await.unwrap();
    assert_eq!(lineitems.status(), 401, "the removed tool's token is gone");
    let (status, _, body) = student_launch(&gateway, &lms, &item, &[SCORE]).await;
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("has not registered an LTI tool"), "{body}");
}

#[tokio::test]
async fn test_a_line_item_off_the_platforms_hosts_gives_the_tool_no_grade_service() {
    let (gateway, lms, tool, item) = setup().await;
    let elsewhere = lms.lineitem_url().replace("127.0.0.1", "127.0.0.2");
    for lineitem in ["https://grades.elsewhere.example/lineitems/7", elsewhere.as_str()] {
        let (status, location, body) =
            student_launch_with_lineitem(&gateway, &lms, &item, &[SCORE, LINEITEM_READ], lineitem).await;
        assert_eq!(status, 303, "the launch itself goes on: {body}");
        let login = query(&location.unwrap());
        let (status, html) = tool.authorize(&gateway, &login, &tool.url("/launch")).await;
        assert_eq!(status, 200, "{html}");
        let claims = decode(&field(&html, "id_token").expect("id_token"));
        assert!(
            claims.get("https://purl.imsglobal.org/spec/lti-ags/claim/endpoint").is_none(),
            "{lineitem}: no AGS claim toward a host the LMS does not own: {claims:#}"
        );
    }
    // The LMS's own line item still gets one.
    let (_, location, _) = student_launch(&gateway, &lms, &item, &[SCORE]).await;
    let (_, html) = tool.authorize(&gateway, &query(&location.unwrap()), &tool.url("/launch")).await;
    let claims = decode(&field(&html, "id_token").unwrap());
    assert!(claims["https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"]["lineitem"].is_string());
}
