//! LTI 1.3 deep linking with a simulated LMS: the full flow and every refusal.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

use crate::common::{TestServer, ADMIN_TOKEN};
use crate::lms::{b64, form_post, verify_with_gateway_jwks, Lms, RsaKey, CLIENT_ID, DEPLOYMENT_ID};

pub async fn gateway_with_samples() -> TestServer {
    TestServer::start_with(|config| config.allow_networks = vec!["127.0.0.1/32".parse().unwrap()]).await
}

const DL_RESPONSE: &str = "mutation($launch: ID!, $ids: [ID!]!, $message: String) {
    deepLinkingResponse(launch: $launch, resourceIds: $ids, message: $message) { jwt returnUrl contentItems } }";

#[tokio::test]
async fn test_full_deep_linking_flow_through_the_picker() {
    let gateway = gateway_with_samples().await;
    let lms = Lms::start().await;
    lms.register(&gateway).await;
    let auth = lms.login(&gateway).await;
    // Every parameter LTI 1.3 asks of the authentication request.
    for (name, expected) in [
        ("scope", "openid"),
        ("response_type", "id_token"),
        ("response_mode", "form_post"),
        ("prompt", "none"),
        ("client_id", CLIENT_ID),
        ("login_hint", "teacher-7"),
        ("lti_message_hint", "dl-hint"),
    ] {
        assert_eq!(auth.params.get(name).map(String::as_str), Some(expected), "{name}");
    }
    assert_eq!(auth.params["redirect_uri"], gateway.url("/lti/launch"));
    assert!(auth.state().len() >= 32 && auth.nonce().len() >= 32);

    // `data` in an order no serializer would choose: it must come back byte for byte.
    let raw_data = r#"{"z":1,"a":"é","nested":[true,null]}"#;
    let claims = lms.deep_linking_claims(&auth, json!({ "data": "__DATA__" }));
    let token = lms.key.sign_text(&claims.to_string().replace(r#""__DATA__""#, raw_data));
    let (status, location, _) = lms.post_launch(&gateway, &token, auth.state()).await;
    assert_eq!(status, 303);
    let location = location.unwrap();
    let picker = gateway.client.get(gateway.url(&format!("{location}&q=fractions"))).send().await.unwrap();
    assert_eq!(picker.status(), 200);
    let page = picker.text().await.unwrap();
    assert!(page.contains("Fraction Strips: Comparing Unit Fractions"), "the picker searches every publisher");
    assert!(page.contains("type=\"checkbox\" name=\"resource\""), "multiple choice when accept_multiple");
    let launch_id =
        url::Url::parse(&format!("http://x{location}")).unwrap().query_pairs().next().unwrap().1.into_owned();

    let insert = gateway
        .client
        .post(gateway.url("/lti/picker/insert"))
        .form(&[
            ("launch", launch_id.as_str()),
            ("resource", "mathwise:MW-8-004"),
            ("resource", "openreaders:OR-A-001"),
            ("action", "insert"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(insert.status(), 200);
    let html = insert.text().await.unwrap();
    assert!(
        html.contains("submit()") && html.contains("<noscript>"),
        "auto-submits, with a button for no-script browsers"
    );
    let (action, jwt) = form_post(&html);
    assert_eq!(action, lms.return_url(), "posted to the request's deep_link_return_url, query string kept");

    let response = verify_with_gateway_jwks(&gateway, &jwt, &lms).await;
    assert_eq!(response["iss"], CLIENT_ID);
    assert_eq!(response["aud"], lms.issuer());
    assert!(response["nonce"].as_str().unwrap().len() >= 16);
    assert!(response["exp"].as_i64().unwrap() > response["iat"].as_i64().unwrap());
    assert_eq!(response["https://purl.imsglobal.org/spec/lti/claim/deployment_id"], DEPLOYMENT_ID);
    assert_eq!(response["https://purl.imsglobal.org/spec/lti/claim/message_type"], "LtiDeepLinkingResponse");
    assert_eq!(response["https://purl.imsglobal.org/spec/lti/claim/version"], "1.3.0");
    assert_eq!(
        response["https://purl.imsglobal.org/spec/lti-dl/claim/data"],
        json!({ "z": 1, "a": "é", "nested": [true, null] })
    );
    let payload = String::from_utf8(
        base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, jwt.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap();
    assert!(
        payload.contains(r#""https://purl.imsglobal.org/spec/lti-dl/claim/data":{"z":1,"a":"é","nested":[true,null]}"#),
        "data echoed byte for byte: {payload}"
    );
    let items = response["https://purl.imsglobal.org/spec/lti-dl/claim/content_items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["type"], "ltiResourceLink");
    assert_eq!(items[0]["url"], gateway.url("/lti/launch"));
    assert_eq!(items[0]["custom"]["gateway_resource_id"], "mathwise:MW-8-004");
    assert_eq!(items[0]["lineItem"]["scoreMaximum"], 10.0);
    assert!(items[0]["title"].is_string());
    assert_eq!(items[1]["type"], "link");
    assert!(items[1]["url"].as_str().unwrap().starts_with("https://openreaders.example.org/"));

    // The launch id was consumed.
    let again = gateway
        .client
        .post(gateway.url("/lti/picker/insert"))
        .form(&[("launch", launch_id.as_str()), ("resource", "mathwise:MW-8-004")])
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 404);
}

#[tokio::test]
async fn test_graphql_deep_linking_response_rules() {
    let gateway = gateway_with_samples().await;
    let lms = Lms::start().await;
    lms.register(&gateway).await;

    // accept_multiple false: two resources refused, without consuming the launch.
    let single =
        lms.deep_link(&gateway, json!({ "accept_multiple": false, "accept_types": ["ltiResourceLink"] })).await;
    let two = gateway
        .graphql(DL_RESPONSE, json!({ "launch": single, "ids": ["mathwise:MW-3-001", "mathwise:MW-3-003"] }), None)
        .await;
    assert_eq!(two["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    assert!(two["errors"][0]["message"].as_str().unwrap().contains("accept_multiple"));
    // A web link goes through the gateway as an ltiResourceLink when only that is accepted.
    let one = gateway
        .graphql_ok(
            DL_RESPONSE,
            json!({ "launch": single, "ids": ["openreaders:OR-A-001"], "message": "Added 1 reading" }),
            None,
        )
        .await;
    let item = &one["deepLinkingResponse"]["contentItems"][0];
    assert_eq!(item["type"], "ltiResourceLink");
    assert_eq!(item["custom"]["gateway_resource_id"], "openreaders:OR-A-001");
    let claims = verify_with_gateway_jwks(&gateway, one["deepLinkingResponse"]["jwt"].as_str().unwrap(), &lms).await;
    assert_eq!(claims["https://purl.imsglobal.org/spec/lti-dl/claim/msg"], "Added 1 reading");
    assert_eq!(claims["https://purl.imsglobal.org/spec/lti-dl/claim/data"], "opaque-data-é-42");
    assert_eq!(one["deepLinkingResponse"]["returnUrl"], lms.return_url());
    let reused = gateway.graphql(DL_RESPONSE, json!({ "launch": single, "ids": [] }), None).await;
    assert_eq!(reused["errors"][0]["extensions"]["code"], "NOT_FOUND");
    let made_up = gateway.graphql(DL_RESPONSE, json!({ "launch": "made-up-launch", "ids": [] }), None).await;
    assert_eq!(made_up["errors"][0]["extensions"]["code"], "NOT_FOUND");

    // A type the platform does not accept: an LTI tool has no fallback.
    let links_only = lms.deep_link(&gateway, json!({ "accept_types": ["link"], "accept_lineitem": false })).await;
    let refused =
        gateway.graphql(DL_RESPONSE, json!({ "launch": links_only, "ids": ["mathwise:MW-8-004"] }), None).await;
    assert_eq!(refused["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    assert!(refused["errors"][0]["message"].as_str().unwrap().contains("does not accept"));
    // Cancel: no items, and the launch is consumed.
    let cancel = gateway.graphql_ok(DL_RESPONSE, json!({ "launch": links_only, "ids": [] }), None).await;
    assert_eq!(cancel["deepLinkingResponse"]["contentItems"], json!([]));
    let claims = verify_with_gateway_jwks(&gateway, cancel["deepLinkingResponse"]["jwt"].as_str().unwrap(), &lms).await;
    assert_eq!(claims["https://purl.imsglobal.org/spec/lti-dl/claim/content_items"], json!([]));

    // Line items are left out when the platform ignores them.
    let no_lineitems = lms.deep_link(&gateway, json!({ "accept_lineitem": false })).await;
    let gradable =
        gateway.graphql_ok(DL_RESPONSE, json!({ "launch": no_lineitems, "ids": ["mathwise:MW-8-004"] }), None).await;
    assert!(gradable["deepLinkingResponse"]["contentItems"][0].get("lineItem").is_none());
    // contentItems answers the same shape as the signed response.
    let plugin =
        gateway.graphql_ok(r#"{ contentItems(resourceIds: ["openreaders:OR-A-001"]) }"#, json!({}), None).await;
    let signed = lms.deep_link(&gateway, json!({})).await;
    let signed =
        gateway.graphql_ok(DL_RESPONSE, json!({ "launch": signed, "ids": ["openreaders:OR-A-001"] }), None).await;
    assert_eq!(plugin["contentItems"][0], signed["deepLinkingResponse"]["contentItems"][0]);
}

/// Posts a token built by `make` for a fresh login; answers the launch status and body.
async fn launch_with(
    gateway: &TestServer,
    lms: &Lms,
    make: impl FnOnce(&Lms, Value) -> String,
    edit: impl FnOnce(&mut Value),
) -> (u16, String) {
    let auth = lms.login(gateway).await;
    let mut claims = lms.deep_linking_claims(&auth, json!({}));
    edit(&mut claims);
    let token = make(lms, claims);
    let (status, _, body) = lms.post_launch(gateway, &token, auth.state()).await;
    (status, body)
}

fn signed(lms: &Lms, claims: Value) -> String {
    lms.key.sign(&claims)
}

#[tokio::test]
async fn test_every_refusal_answers_a_page_naming_the_reason() {
    let gateway = gateway_with_samples().await;
    let lms = Lms::start().await;
    lms.register(&gateway).await;
    let set = |claim: &'static str, value: Value| move |claims: &mut Value| claims[claim] = value;

    let cases: Vec<(&str, u16, String, &str)> = vec![(
        "foreign key",
        {
            let foreign = RsaKey::generate("lms-key-1");
            launch_with(&gateway, &lms, move |_, c| foreign.sign(&c), |_| {}).await.0
        },
        String::new(),
        "",
    )];
    assert_eq!(cases[0].1, 401, "a token signed with another key under the same kid");

    let checks: Vec<(&str, (u16, String), &str)> = vec![
        ("wrong aud", launch_with(&gateway, &lms, signed, set("aud", json!("someone-else"))).await, "aud"),
        (
            "expired",
            launch_with(&gateway, &lms, signed, |c| {
                c["exp"] = json!(chrono::Utc::now().timestamp() - 3600);
                c["iat"] = json!(chrono::Utc::now().timestamp() - 4000);
            })
            .await,
            "expired",
        ),
        (
            "missing nonce",
            launch_with(&gateway, &lms, signed, |c| {
                c.as_object_mut().unwrap().remove("nonce");
            })
            .await,
            "nonce",
        ),
        (
            "unknown deployment",
            launch_with(
                &gateway,
                &lms,
                signed,
                set("https://purl.imsglobal.org/spec/lti/claim/deployment_id", json!("nope")),
            )
            .await,
            "deployment",
        ),
        (
            "version",
            launch_with(&gateway, &lms, signed, set("https://purl.imsglobal.org/spec/lti/claim/version", json!("1.1")))
                .await,
            "version",
        ),
        (
            "message type",
            launch_with(
                &gateway,
                &lms,
                signed,
                set("https://purl.imsglobal.org/spec/lti/claim/message_type", json!("LtiSubmissionReviewRequest")),
            )
            .await,
            "message_type",
        ),
        (
            "alg none",
            launch_with(
                &gateway,
                &lms,
                |lms, c| {
                    let header = json!({ "alg": "none", "typ": "JWT", "kid": lms.key.kid });
                    format!("{}.{}.", b64(header.to_string().as_bytes()), b64(c.to_string().as_bytes()))
                },
                |_| {},
            )
            .await,
            "RS256",
        ),
        (
            "HS256 with the public key",
            launch_with(
                &gateway,
                &lms,
                |lms, c| {
                    let mut header = Header::new(Algorithm::HS256);
                    header.kid = Some(lms.key.kid.clone());
                    jsonwebtoken::encode(&header, &c, &EncodingKey::from_secret(lms.key.public_pem().as_bytes()))
                        .unwrap()
                },
                |_| {},
            )
            .await,
            "RS256",
        ),
        (
            "wrong issuer",
            launch_with(&gateway, &lms, signed, set("iss", json!("https://evil.example.com"))).await,
            "iss",
        ),
    ];
    for (name, (status, body), reason) in checks {
        assert_eq!(status, 401, "{name}: {body}");
        assert!(body.contains(reason), "{name}: the page names the reason '{reason}': {body}");
        assert!(!body.contains("name=\"resource\""), "{name}: never a picker");
    }

    // Replays: the same state twice, and an old token under a new state.
    let auth = lms.login(&gateway).await;
    let token = lms.key.sign(&lms.deep_linking_claims(&auth, json!({})));
    assert_eq!(lms.post_launch(&gateway, &token, auth.state()).await.0, 303);
    let (status, _, body) = lms.post_launch(&gateway, &token, auth.state()).await;
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("state"));
    let fresh = lms.login(&gateway).await;
    let (status, _, body) = lms.post_launch(&gateway, &token, fresh.state()).await;
    assert_eq!(status, 401);
    assert!(body.contains("nonce"), "{body}");
    // A state the gateway never issued.
    let (status, _, body) = lms.post_launch(&gateway, &token, "forged-state").await;
    assert_eq!(status, 401);
    assert!(body.contains("state"));

    // Login initiation for an unknown issuer or a foreign target.
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let unknown = client
        .get(gateway.url("/lti/login"))
        .query(&[
            ("iss", "https://unknown.example.com"),
            ("login_hint", "x"),
            ("target_link_uri", &gateway.url("/lti/launch")),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 401);
    let foreign_target = client
        .get(gateway.url("/lti/login"))
        .query(&[("iss", lms.issuer().as_str()), ("login_hint", "x"), ("target_link_uri", "https://evil.example.com/")])
        .send()
        .await
        .unwrap();
    assert_eq!(foreign_target.status(), 400);
}

#[tokio::test]
async fn test_key_rotation_at_the_platform_is_picked_up() {
    let gateway = gateway_with_samples().await;
    let lms = Lms::start().await;
    lms.register(&gateway).await;
    lms.deep_link(&gateway, json!({})).await;
    // The LMS rotates: the gateway's cached JWKS lacks the new kid and is refetched once.
    let rotated = RsaKey::generate("lms-key-2");
    lms.publish_keys(&[&lms.key, &rotated]);
    let auth = lms.login(&gateway).await;
    let token = rotated.sign(&lms.deep_linking_claims(&auth, json!({})));
    let (status, _, body) = lms.post_launch(&gateway, &token, auth.state()).await;
    assert_eq!(status, 303, "{body}");
}

#[tokio::test]
async fn test_launching_an_inserted_link() {
    let gateway = gateway_with_samples().await;
    let lms = Lms::start().await;
    lms.register(&gateway).await;
    let launch = |resource: &'static str| launch_as(&gateway, &lms, resource, true);
    let anonymous = launch_as(&gateway, &lms, "openreaders:OR-A-001", false).await;
    assert_eq!(anonymous.0, 401, "a resource link launch without sub: {}", anonymous.2);
    let (status, location, _) = launch("openreaders:OR-A-001").await;
    assert_eq!(status, 303);
    assert!(location.unwrap().starts_with("https://openreaders.example.org/"));
    let (status, _, body) = launch("mathwise:MW-8-004").await;
    assert_eq!(status, 404, "a publisher without a registered tool: {body}");
    assert!(body.contains("has not registered an LTI tool"));
    let (status, _, _) = launch("mathwise:gone").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn test_platform_registration_rules() {
    let gateway = gateway_with_samples().await;
    let register = "mutation($input: RegisterPlatformInput!) { registerPlatform(input: $input) { id deploymentIds } }";
    let input = |auth: &str| {
        json!({ "input": { "issuer": "https://lms.example.edu", "clientId": "abc", "deploymentIds": ["d1"],
        "authLoginUrl": auth, "jwksUrl": "https://lms.example.edu/jwks" } })
    };
    let anonymous = gateway.graphql(register, input("https://lms.example.edu/auth"), None).await;
    assert_eq!(anonymous["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    let plain_http = gateway.graphql(register, input("http://lms.example.edu/auth"), Some(ADMIN_TOKEN)).await;
    assert_eq!(plain_http["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    let first = gateway.graphql_ok(register, input("https://lms.example.edu/auth"), Some(ADMIN_TOKEN)).await;
    let mut update = input("https://lms.example.edu/auth2");
    update["input"]["deploymentIds"] = json!(["d1", "d2"]);
    let second = gateway.graphql_ok(register, update, Some(ADMIN_TOKEN)).await;
    assert_eq!(first["registerPlatform"]["id"], second["registerPlatform"]["id"], "same issuer and client id updates");
    assert_eq!(second["registerPlatform"]["deploymentIds"], json!(["d1", "d2"]));
    let mut other_client = input("https://lms.example.edu/auth");
    other_client["input"]["clientId"] = json!("xyz");
    gateway.graphql_ok(register, other_client, Some(ADMIN_TOKEN)).await;
    let listed = gateway.graphql_ok("{ platforms { issuer clientId } }", json!({}), Some(ADMIN_TOKEN)).await;
    assert_eq!(listed["platforms"].as_array().unwrap().len(), 2, "one issuer, two client ids");

    let jwks: Value =
        gateway.client.get(gateway.url("/.well-known/jwks.json")).send().await.unwrap().json().await.unwrap();
    let key = &jwks["keys"][0];
    assert_eq!(
        (key["kty"].as_str(), key["alg"].as_str(), key["use"].as_str()),
        (Some("RSA"), Some("RS256"), Some("sig"))
    );
    assert!(key["kid"].is_string() && key.get("d").is_none(), "public parts only");
}

/// An `LtiResourceLinkRequest` for an inserted link, with or without a `sub`.
async fn launch_as(gateway: &TestServer, lms: &Lms, resource: &str, with_sub: bool) -> (u16, Option<String>, String) {
    let auth = lms.login(gateway).await;
    let mut claims = lms.deep_linking_claims(&auth, json!({}));
    let object = claims.as_object_mut().unwrap();
    object.remove("https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings");
    if !with_sub {
        object.remove("sub");
    }
    object.insert("https://purl.imsglobal.org/spec/lti/claim/message_type".into(), json!("LtiResourceLinkRequest"));
    object.insert("https://purl.imsglobal.org/spec/lti/claim/resource_link".into(), json!({ "id": "link-1" }));
    object
        .insert("https://purl.imsglobal.org/spec/lti/claim/custom".into(), json!({ "gateway_resource_id": resource }));
    lms.post_launch(gateway, &lms.key.sign(&claims), auth.state()).await
}

/// A `data-` attribute of the gateway's storage pages, unescaped.
fn data_attribute(html: &str, name: &str) -> String {
    let marker = format!("{name}=\"");
    let from = html.find(&marker).unwrap_or_else(|| panic!("{name} in {html}")) + marker.len();
    let to = html[from..].find('"').unwrap() + from;
    html[from..to].replace("&quot;", "\"").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
}

#[tokio::test]
async fn test_a_login_bound_to_platform_storage_launches_only_with_its_proof() {
    let gateway = gateway_with_samples().await;
    let lms = Lms::start().await;
    lms.register(&gateway).await;

    // The platform offers its storage frame: the answer is a page that stores the login's proof
    // there (addressed to the platform's origin only), then goes on to the authorization endpoint.
    let page = lms.login_with_storage(&gateway).await;
    assert!(page.contains("lti.put_data"), "{page}");
    assert_eq!(data_attribute(&page, "data-frame"), "post_message_forwarding");
    assert_eq!(data_attribute(&page, "data-origin"), lms.issuer());
    let proof = data_attribute(&page, "data-value");
    assert_eq!(data_attribute(&page, "data-key"), format!("lti_state_{proof}"));
    let next = url::Url::parse(&data_attribute(&page, "data-next")).unwrap();
    assert!(next.as_str().starts_with(&format!("{}/auth?", lms.issuer())));
    let auth = crate::lms::AuthRequest { params: next.query_pairs().into_owned().collect() };
    assert!(!auth.state().contains(&proof), "the proof is not readable from the state");
    // Without storage, the same login starts again as a plain redirect.
    let restart = data_attribute(&page, "data-restart");
    assert!(!restart.contains("lti_storage_target"), "{restart}");
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let plain = client.get(&restart).send().await.unwrap();
    assert!(plain.status().is_redirection(), "{}", plain.status());

    // The id_token comes back: the first answer reads the proof back from the platform's storage.
    let token = lms.key.sign(&lms.deep_linking_claims(&auth, json!({})));
    let (status, location, body) = lms.post_launch(&gateway, &token, auth.state()).await;
    assert_eq!((status, location), (200, None), "no picker before the browser proved the login: {body}");
    assert!(body.contains("lti.get_data") && !body.contains("name=\"resource\""), "{body}");
    assert_eq!(data_attribute(&body, "data-key"), format!("lti_state_{proof}"));
    let confirm = data_attribute(&body, "data-confirm");
    assert_eq!(confirm, gateway.url("/lti/launch/bound"));

    let confirm_with = |proof: Option<&str>, origin: Option<&str>| {
        let mut request =
            gateway.client.post(&confirm).json(&json!({ "id_token": token, "state": auth.state(), "proof": proof }));
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        async move {
            let response = request.send().await.unwrap();
            (response.status().as_u16(), response.json::<Value>().await.unwrap())
        }
    };
    // Another browser (its platform storage lacks the proof) cannot complete it.
    let (status, answer) = confirm_with(Some("a-guess"), None).await;
    assert_eq!(status, 401, "{answer}");
    assert!(answer["error"].as_str().unwrap().contains("not started in this browser"), "{answer}");
    assert_eq!(confirm_with(None, None).await.0, 401);
    // Only the gateway's own page may confirm: no form posts, no other origins.
    let form = gateway
        .client
        .post(&confirm)
        .form(&[("id_token", token.as_str()), ("state", auth.state()), ("proof", proof.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 415);
    assert_eq!(confirm_with(Some(&proof), Some("https://evil.example.com")).await.0, 403);
    // The browser that started the login completes it, once.
    let (status, answer) = confirm_with(Some(&proof), Some(&gateway.url(""))).await;
    assert_eq!(status, 200, "{answer}");
    assert!(answer["location"].as_str().unwrap().starts_with("/lti/picker?launch="), "{answer}");
    let (status, answer) = confirm_with(Some(&proof), None).await;
    assert_eq!(status, 401, "replayed: {answer}");
    assert!(answer["error"].as_str().unwrap().contains("state"));
}
