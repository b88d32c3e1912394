//! The picker over plain HTTP, as a browser without script uses it: the first screen's
//! starting point, the language, the selection carried across pages, the platform's limits,
//! standards by code, details, insert and cancel, and its assets.

use serde_json::json;

use crate::common::TestServer;
use crate::lms::{form_post, verify_with_gateway_jwks, Lms};
use crate::lti::gateway_with_samples;

const COURSE: &str = "https://purl.imsglobal.org/spec/lti/claim/context";
const PRESENTATION: &str = "https://purl.imsglobal.org/spec/lti/claim/launch_presentation";

async fn get(
    gateway: &TestServer,
    path: &str,
    accept_language: Option<&str>,
) -> (u16, reqwest::header::HeaderMap, String) {
    let mut request = gateway.client.get(gateway.url(path));
    if let Some(language) = accept_language {
        request = request.header("accept-language", language);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.text().await.unwrap())
}

fn attribute_values<'a>(html: &'a str, prefix: &str) -> Vec<&'a str> {
    html.match_indices(prefix)
        .map(|(at, _)| {
            let rest = &html[at + prefix.len()..];
            &rest[..rest.find('"').unwrap_or(0)]
        })
        .collect()
}

#[tokio::test]
async fn test_first_screen_starts_from_the_launch_in_the_teachers_language() {
    let gateway = gateway_with_samples().await;
    let lms = Lms::start().await;
    lms.register(&gateway).await;
    let launch = lms
        .deep_link_with(
            &gateway,
            json!({ "title": "fractions" }),
            json!({ COURSE: { "id": "c1", "title": "Grade 3 Mathematics" }, PRESENTATION: { "locale": "es_MX" } }),
        )
        .await;
    let (status, headers, page) = get(&gateway, &format!("/lti/picker?launch={launch}"), Some("en-US,en;q=0.9")).await;
    assert_eq!(status, 200);
    assert!(page.contains(r#"<html lang="es">"#), "the LMS's locale wins over the browser's");
    assert_eq!(headers["content-language"], "es");
    assert!(headers["content-security-policy"].to_str().unwrap().contains("script-src 'self'"));
    assert!(headers["server-timing"].to_str().unwrap().starts_with("picker;dur="));
    assert_eq!(headers["cache-control"], "no-store");
    assert!(page.contains(r#"name="q" value="fractions""#), "the deep-linking title is the starting query");
    assert!(page.contains("Se partió de «fractions», enviado por su curso."), "the page says what it started from");
    assert!(page.contains(r#"<option value="3" selected>"#), "the course's grade is the starting grade filter");
    assert!(page.contains("Fraction Strips: Comparing Unit Fractions"));
    assert!(page.contains(r#"name="searched" value="1""#), "later requests are the teacher's own");

    // Once the teacher cleared the search, the starting point does not come back.
    let (_, _, cleared) = get(&gateway, &format!("/lti/picker?launch={launch}&searched=1&q="), None).await;
    assert!(!cleared.contains("Se partió"));
    assert!(!cleared.contains(r#"<option value="3" selected>"#));

    // Without a locale from the LMS, the browser's language decides.
    let english = lms.deep_link(&gateway, json!({})).await;
    let (_, _, spanish) =
        get(&gateway, &format!("/lti/picker?launch={english}"), Some("es-ES,es;q=0.9,en;q=0.5")).await;
    assert!(spanish.contains(r#"<html lang="es">"#) && spanish.contains("Buscar recursos educativos"));
    let (_, _, plain) = get(&gateway, &format!("/lti/picker?launch={english}"), Some("fr-FR")).await;
    assert!(plain.contains(r#"<html lang="en">"#) && plain.contains("Find learning resources"), "English otherwise");
    // With nothing to start from, the newest resources fill the first screen, under a menu
    // showing best match: it is sent with the next search, which then ranks by relevance.
    assert!(plain.contains(r#"<option value="relevance" selected>"#));
    let (_, _, searched) =
        get(&gateway, &format!("/lti/picker?launch={english}&searched=1&q=fractions&sort=relevance"), None).await;
    let (_, _, by_date) =
        get(&gateway, &format!("/lti/picker?launch={english}&searched=1&q=fractions&sort=newest"), None).await;
    let first_title = |page: &str| {
        let card = page.split(r#"class="card-title""#).nth(1).unwrap_or_default();
        card.split("</label>").next().unwrap_or_default().to_string()
    };
    assert!(searched.contains(r#"<option value="relevance" selected>"#));
    assert!(first_title(&searched).contains("Fraction"), "ranked by relevance: {}", first_title(&searched));
    assert!(by_date.contains(r#"<option value="newest" selected>"#), "a chosen order is kept");

    // A refusal speaks the browser's language too.
    let (status, _, refused) = get(&gateway, "/lti/picker?launch=nope", Some("es")).await;
    assert_eq!(status, 404);
    assert!(refused.contains("Se rechazó el inicio"));
}

#[tokio::test]
async fn test_selection_travels_across_pages_and_searches_without_script() {
    let gateway = gateway_with_samples().await;
    let lms = Lms::start().await;
    lms.register(&gateway).await;
    let launch = lms.deep_link(&gateway, json!({})).await;
    let base = format!("/lti/picker?launch={launch}&searched=1");
    let (_, _, first_page) = get(&gateway, &base, None).await;
    assert!(first_page.contains(r#"name="page" value="1""#), "more results");
    let on_first = attribute_values(&first_page, r#"type="checkbox" name="resource" value=""#);
    assert_eq!(on_first.len(), 20);
    let chosen = on_first[0].to_string();

    // Ticked on page 1, then "more": page 2 carries it in the tray as a hidden field.
    let encoded: String = url::form_urlencoded::byte_serialize(chosen.as_bytes()).collect();
    let (_, _, second_page) = get(&gateway, &format!("{base}&resource={encoded}&page=1"), None).await;
    assert!(
        second_page.contains(&format!(r#"<input type="hidden" name="resource" value="{chosen}">"#)),
        "{second_page}"
    );
    assert!(second_page.contains("1 selected") && second_page.contains("Insert 1 resource"));
    assert!(second_page.contains("Showing 21–40 of"));
    assert!(!attribute_values(&second_page, r#"type="checkbox" name="resource" value=""#).contains(&chosen.as_str()));

    // Another search keeps it; the tray's remove button drops it.
    let (_, _, searched) = get(&gateway, &format!("{base}&q=photosynthesis&resource={encoded}"), None).await;
    assert!(searched.contains("1 selected"));
    let (_, _, removed) =
        get(&gateway, &format!("{base}&q=photosynthesis&resource={encoded}&remove={encoded}"), None).await;
    assert!(removed.contains("Nothing selected"));

    // Details open in the page, with the way to add the resource.
    let (_, _, details) = get(&gateway, &format!("{base}&preview=mathwise%3AMW-3-001"), None).await;
    assert!(details.contains(r#"<section class="preview" id="preview""#), "{details}");
    assert!(details.contains(r#"name="add" value="mathwise:MW-3-001""#));
    let (_, _, added) = get(&gateway, &format!("{base}&add=mathwise%3AMW-3-001"), None).await;
    assert!(added.contains("1 selected"));
    let (status, headers, fragment) =
        get(&gateway, &format!("/lti/picker/preview?launch={launch}&id=mathwise%3AMW-3-001"), None).await;
    assert_eq!(status, 200);
    assert!(fragment.starts_with("<section") && fragment.contains("Publisher") && fragment.contains("Standards"));
    assert!(headers["server-timing"].to_str().is_ok());

    // Filters drop one at a time, and clear together.
    let (_, _, filtered) =
        get(&gateway, &format!("{base}&kind=LINK&subject=Mathematics&grade_min=3&grade_max=5"), None).await;
    assert!(
        filtered.contains(r#"name="drop" value="kind=LINK""#) && filtered.contains(r#"name="drop" value="grade=""#)
    );
    let (_, _, dropped) = get(&gateway, &format!("{base}&kind=LINK&subject=Mathematics&drop=kind%3DLINK"), None).await;
    assert!(
        !dropped.contains(r#"name="drop" value="kind=LINK""#) && dropped.contains(r#"value="subject=Mathematics""#)
    );

    // Standards are found by code, and filter.
    let (_, _, standards) = get(&gateway, &format!("{base}&standard_q=3.nf"), None).await;
    let codes = attribute_values(&standards, r#"type="checkbox" name="standard" value=""#);
    assert!(!codes.is_empty() && codes.iter().all(|c| c.starts_with("3.NF")), "{codes:?}");
    let (_, _, aligned) = get(&gateway, &format!("{base}&standard={}", codes[0]), None).await;
    let cards = aligned.matches(r#"<li class="card""#).count();
    assert!(cards > 0 && aligned.matches(&format!("<li>{}</li>", codes[0])).count() >= cards.min(3));

    // Insert with nothing ticked: the picker again, saying why.
    let insert = gateway
        .client
        .post(gateway.url("/lti/picker/insert"))
        .form(&[("launch", launch.as_str()), ("q", "fractions"), ("searched", "1"), ("action", "insert")])
        .send()
        .await
        .unwrap();
    assert_eq!(insert.status(), 422);
    let again = insert.text().await.unwrap();
    assert!(again.contains("Choose at least one resource to insert") && again.contains(r#"value="fractions""#));
    // Insert what the tray and the page hold together.
    let insert = gateway
        .client
        .post(gateway.url("/lti/picker/insert"))
        .form(&[
            ("launch", launch.as_str()),
            ("searched", "1"),
            ("resource", "mathwise:MW-8-004"),
            ("resource", "mathwise:MW-3-001"),
            ("resource", "mathwise:MW-8-004"),
            ("action", "insert"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(insert.status(), 200);
    let (_, jwt) = form_post(&insert.text().await.unwrap());
    let claims = verify_with_gateway_jwks(&gateway, &jwt, &lms).await;
    let items = claims["https://purl.imsglobal.org/spec/lti-dl/claim/content_items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "each resource once");
}

#[tokio::test]
async fn test_platform_limits_shape_the_picker() {
    let gateway = gateway_with_samples().await;
    let lms = Lms::start().await;
    lms.register(&gateway).await;
    let single = lms.deep_link(&gateway, json!({ "accept_multiple": false, "accept_types": ["link"] })).await;
    let base = format!("/lti/picker?launch={single}&searched=1");
    let (_, _, page) = get(&gateway, &base, None).await;
    assert!(page.contains(r#"type="radio" name="resource""#) && !page.contains(r#"type="checkbox" name="resource""#));
    assert!(page.contains("Your course accepts one resource"));
    let kinds = page.matches("<span>Web page</span>").count();
    assert_eq!(kinds, page.matches(r#"<li class="card""#).count(), "only what the platform accepts");
    assert!(!page.contains(r#"name="kind""#), "no kind filter when one kind is possible");
    // A choice made on another page rides along as a hidden, checked radio: ticking another replaces it.
    let on_page = attribute_values(&page, r#"type="radio" name="resource" value=""#);
    let (a, b) = (on_page[0].to_string(), on_page[1].to_string());
    let encode = |id: &str| url::form_urlencoded::byte_serialize(id.as_bytes()).collect::<String>();
    let (_, _, next) =
        get(&gateway, &format!("{base}&page=1&resource={}&resource={}", encode(&a), encode(&b)), None).await;
    assert!(
        next.contains(&format!(r#"<input type="radio" name="resource" value="{b}" checked hidden>"#)),
        "the last choice rides"
    );
    assert!(!next.contains(&format!(r#"value="{a}" checked"#)), "one choice at most");

    // Cancel answers the LMS with no items.
    let cancel = gateway
        .client
        .post(gateway.url("/lti/picker/insert"))
        .form(&[("launch", single.as_str()), ("action", "cancel"), ("resource", "mathwise:MW-3-001")])
        .send()
        .await
        .unwrap();
    let (_, jwt) = form_post(&cancel.text().await.unwrap());
    let claims = verify_with_gateway_jwks(&gateway, &jwt, &lms).await;
    assert_eq!(claims["https://purl.imsglobal.org/spec/lti-dl/claim/content_items"], json!([]));
}

#[tokio::test]
async fn test_assets_are_served_by_the_gateway_and_cached_by_name() {
    let gateway = gateway_with_samples().await;
    let lms = Lms::start().await;
    lms.register(&gateway).await;
    let launch = lms.deep_link(&gateway, json!({})).await;
    let (_, _, page) = get(&gateway, &format!("/lti/picker?launch={launch}"), None).await;
    for (prefix, kind) in [(r#"<link rel="stylesheet" href=""#, "text/css"), (r#"<script src=""#, "text/javascript")] {
        let path = attribute_values(&page, prefix)[0].to_string();
        assert!(path.starts_with("/lti/picker/assets/picker-"), "{path}");
        let (status, headers, body) = get(&gateway, &path, None).await;
        assert_eq!(status, 200);
        assert!(headers["content-type"].to_str().unwrap().starts_with(kind));
        assert!(headers["cache-control"].to_str().unwrap().contains("immutable"));
        assert!(body.len() > 1000);
    }
    let (status, _, _) = get(&gateway, "/lti/picker/assets/picker.css", None).await;
    assert_eq!(status, 404);
}
