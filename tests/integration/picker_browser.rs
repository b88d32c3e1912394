//! The picker in a real browser: headless Chromium (Debian's `chromium` and `chromium-driver`,
//! installed by `.ci/run`) driven by keyboard only, in English and Spanish, at 800 × 600 (an
//! LMS's "select content" window) and 360 × 640 (a phone). Each state is checked with axe-core
//! (`tests/browser/`, installed from npm by `.ci/run`; serious or critical violations fail) and
//! saved as a screenshot under `target/picker-screenshots/` for a reviewer. Without script the
//! same flow works by plain form submissions.
//!
//! Chromium resolves no host but 127.0.0.1 (`--host-resolver-rules`), so publishers' pictures
//! on the internet fail at once, as a broken thumbnail would, and must show the placeholder;
//! a local picture server answers one picture and refuses another.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use axum::extract::Path;
use axum::response::IntoResponse;
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

use crate::common::TestServer;
use crate::lms::{verify_with_gateway_jwks, Lms};
use crate::lti::gateway_with_samples;

pub(crate) struct ChromeDriver {
    child: Child,
    pub(crate) port: u16,
}

impl ChromeDriver {
    pub(crate) fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let binary = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".to_string());
        let child = Command::new(&binary)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|err| {
                panic!("cannot start {binary} ({err}): install chromium and chromium-driver (see .ci/run)")
            });
        Self { child, port }
    }

    async fn browser(&self, profile: &std::path::Path, script: bool) -> Client {
        let chromium = std::env::var("CHROMIUM_BIN").unwrap_or_else(|_| "/usr/bin/chromium".to_string());
        let mut args = vec![
            "--headless=new".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--hide-scrollbars".into(),
            "--force-device-scale-factor=1".into(),
            "--lang=en-US".into(),
            // Only the test's own servers: any other host fails at once, offline.
            "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1".into(),
            format!("--user-data-dir={}", profile.display()),
        ];
        if !script {
            args.push("--blink-settings=scriptEnabled=false".into());
        }
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("goog:chromeOptions".into(), json!({ "binary": chromium, "args": args }));
        let started = Instant::now();
        loop {
            match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                .capabilities(capabilities.clone())
                .connect(&format!("http://127.0.0.1:{}", self.port))
                .await
            {
                Ok(client) => return client,
                Err(err) if started.elapsed() > Duration::from_secs(20) => panic!("chromedriver answers: {err}"),
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A publisher's pictures on 127.0.0.1: `ok-*.svg` answers a picture, anything else 404.
async fn picture_server() -> String {
    async fn picture(Path(name): Path<String>) -> axum::response::Response {
        if !name.starts_with("ok-") {
            return (axum::http::StatusCode::NOT_FOUND, "no such picture").into_response();
        }
        let hue = name.len() * 47 % 360;
        let svg = format!(
            r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 160 120"><rect width="160" height="120" fill="hsl({hue} 70% 88%)"/><circle cx="58" cy="62" r="30" fill="hsl({hue} 60% 45%)"/><rect x="92" y="34" width="44" height="56" rx="6" fill="hsl({hue} 55% 30%)"/></svg>"##
        );
        ([(axum::http::header::CONTENT_TYPE, "image/svg+xml")], svg).into_response()
    }
    let app = axum::Router::new().route("/pictures/{name}", axum::routing::get(picture));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.ok() });
    format!("http://{address}")
}

/// A publisher whose resources carry pictures (one of them broken), standards and
/// accessibility properties, in English and Spanish.
async fn add_picture_publisher(gateway: &TestServer, pictures: &str) {
    let key = gateway.register_publisher("brightpages", "Bright Pages").await;
    let resource = |id: &str, name: &str, description: &str, language: &str, code: &str, picture: Option<&str>| {
        let mut item = json!({
            "@context": "https://schema.org/", "@type": "LearningResource",
            "@id": format!("https://brightpages.example.org/r/{id}"), "name": name, "description": description,
            "url": format!("https://brightpages.example.org/r/{id}"), "inLanguage": language,
            "educationalLevel": "Grade 3", "learningResourceType": "activity",
            "license": "https://creativecommons.org/licenses/by/4.0/", "isAccessibleForFree": true,
            "educationalAlignment": [{ "@type": "AlignmentObject", "alignmentType": "teaches",
                "educationalFramework": "Common Core State Standards", "targetName": code,
                "targetDescription": "Understand a fraction as a number on the number line." }],
            "accessibilityFeature": ["alternativeText", "largePrint", "readingOrder"],
            "accessibilityHazard": ["noFlashingHazard", "noSoundHazard"],
            "accessMode": ["textual", "visual"],
            "accessibilitySummary": "Every picture card has a text description.",
        });
        if let Some(picture) = picture {
            item["thumbnailUrl"] = json!(format!("{pictures}/pictures/{picture}"));
        }
        item
    };
    let catalog = json!([
        resource(
            "fraction-pizza",
            "Fraction Pizza Party",
            "Share pizzas fairly and name the fractions: halves, thirds and fourths with picture cards.",
            "en",
            "3.NF.A.1",
            Some("ok-pizza.svg")
        ),
        resource(
            "number-line",
            "Number Line Fractions Relay",
            "A relay race along a floor number line: pupils place unit fractions and explain their reasoning.",
            "en",
            "3.NF.A.2",
            Some("missing-number-line.png")
        ),
        resource(
            "fracciones",
            "Fracciones con bloques",
            "Los alumnos comparan fracciones con bloques de colores y las ordenan en la recta numérica.",
            "es",
            "3.NF.A.3",
            Some("ok-bloques.svg")
        ),
        resource(
            "memory",
            "Equivalent Fractions Memory Game",
            "Pairs of cards show the same fraction as a picture, a number and a point on a line.",
            "en",
            "3.NF.A.3",
            None
        ),
    ]);
    let report = gateway.ingest(&key, "LRMI", &catalog.to_string(), json!({})).await;
    assert_eq!(report["added"], 4, "{report:#}");
}

/// One browser session in one language at one size, saving screenshots as it goes.
struct Session<'a> {
    browser: &'a Client,
    shots: PathBuf,
    prefix: String,
    axe_source: &'a str,
    script: bool,
    num_shots: usize,
    /// With script off axe-core cannot run in the page (it needs timers): each state's URL is
    /// opened in this scripted browser (the same server markup) and checked there.
    axe_browser: Option<&'a Client>,
}

impl Session<'_> {
    async fn js(&self, script: &str) -> Value {
        self.browser.execute(script, vec![]).await.unwrap_or_else(|err| panic!("{script}: {err}"))
    }

    async fn wait_for(&self, condition: &str, what: &str) {
        let started = Instant::now();
        loop {
            if self.js(&format!("return !!({condition});")).await == json!(true) {
                return;
            }
            if started.elapsed() > Duration::from_secs(15) {
                let path = self.shots.join(format!("{}-timeout.png", self.prefix));
                if let Ok(png) = self.browser.screenshot().await {
                    let _ = std::fs::write(&path, png);
                }
                panic!("{}: timed out waiting for {what} (screenshot: {})", self.prefix, path.display());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until the script has swapped in the answer to the latest change.
    async fn settled(&self) {
        if self.script {
            tokio::time::sleep(Duration::from_millis(700)).await;
            self.wait_for("!document.querySelector('[aria-busy=true]')", "the results to update").await;
        } else {
            self.wait_for("document.readyState === 'complete'", "the page to load").await;
        }
    }

    async fn key(&self, keys: &str) {
        let active = self.browser.active_element().await.expect("something has focus");
        active.send_keys(keys).await.expect("keys are typed");
    }

    /// Presses Tab until the focused element matches `selector` (reached by keyboard alone),
    /// and checks that the focus is visible.
    async fn tab_to(&self, selector: &str) {
        for _ in 0..120 {
            let matched = self
                .js(&format!("return !!document.activeElement && document.activeElement.matches({selector:?});"))
                .await;
            if matched == json!(true) {
                let outline = self
                    .js("const s = getComputedStyle(document.activeElement); return [s.outlineStyle, parseFloat(s.outlineWidth)];")
                    .await;
                assert!(
                    outline[0] != "none" && outline[1].as_f64().unwrap_or(0.0) >= 2.0,
                    "{}: focus on {selector} is not visible: {outline}",
                    self.prefix
                );
                self.focus_not_obscured(selector).await;
                return;
            }
            self.key(&Key::Tab.to_string()).await;
        }
        panic!("{}: Tab never reaches {selector}", self.prefix);
    }

    async fn shot(&mut self, state: &str) {
        self.num_shots += 1;
        let path = self.shots.join(format!("{}-{:02}-{state}.png", self.prefix, self.num_shots));
        std::fs::write(&path, self.browser.screenshot().await.unwrap()).unwrap();
    }

    /// Runs axe-core on the current state; serious and critical violations fail the test.
    async fn axe(&self, state: &str) {
        let browser = match self.axe_browser {
            Some(scripted) => {
                let url = self.browser.current_url().await.expect("a page is open");
                scripted.goto(url.as_str()).await.expect("the same state opens");
                scripted
            }
            None => self.browser,
        };
        if browser.execute("return typeof window.axe === 'undefined';", vec![]).await.unwrap() == json!(true) {
            browser.execute(self.axe_source, vec![]).await.expect("axe-core loads");
        }
        let violations = browser
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] } })
                   .then(r => done(r.violations.map(v => ({ id: v.id, impact: v.impact, help: v.help,
                       nodes: v.nodes.slice(0, 3).map(n => n.target.join(' ') + ': ' + n.failureSummary) }))))
                   .catch(e => done([{ id: 'axe-error', impact: 'critical', help: String(e), nodes: [] }]));",
                vec![],
            )
            .await
            .expect("axe runs");
        let all = violations.as_array().cloned().unwrap_or_default();
        let blocking: Vec<&Value> =
            all.iter().filter(|v| matches!(v["impact"].as_str(), Some("serious") | Some("critical"))).collect();
        for minor in all.iter().filter(|v| !blocking.contains(v)) {
            eprintln!("{} {state}: axe {} ({}): {}", self.prefix, minor["id"], minor["impact"], minor["help"]);
        }
        assert!(
            blocking.is_empty(),
            "{} {state}: axe finds serious or critical violations: {blocking:#?}",
            self.prefix
        );
    }

    async fn text(&self, selector: &str) -> String {
        self.js(&format!("const e = document.querySelector({selector:?}); return e ? e.textContent.trim() : '';"))
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    async fn count(&self, selector: &str) -> usize {
        self.js(&format!("return document.querySelectorAll({selector:?}).length;")).await.as_u64().unwrap_or(0) as usize
    }

    /// The focused control is scrolled into view clear of what is pinned over the page: the
    /// tray at the bottom, or the dialog's own buttons inside the details dialog.
    async fn focus_not_obscured(&self, selector: &str) {
        let place = self
            .js("const el = document.activeElement; const r = el.getBoundingClientRect();
                 const dialog = el.closest('dialog');
                 let limit = innerHeight;
                 if (dialog) {
                   const bar = dialog.querySelector('.preview-actions');
                   if (bar && !bar.contains(el)) limit = bar.getBoundingClientRect().top;
                 } else if (!el.closest('#tray') && document.getElementById('tray')) {
                   limit = document.getElementById('tray').getBoundingClientRect().top;
                 }
                 return [r.top, r.bottom, limit];")
            .await;
        let (top, bottom, limit) = (place[0].as_f64().unwrap(), place[1].as_f64().unwrap(), place[2].as_f64().unwrap());
        assert!(
            top >= -1.0 && bottom <= limit + 1.0,
            "{}: focus on {selector} is hidden: it spans {top}-{bottom}px, the pinned bar starts at {limit}px",
            self.prefix
        );
    }

    /// The tray's toggle and buttons are side by side or wrapped, never over one another, and
    /// all inside the window.
    async fn tray_in_reach(&self, state: &str) {
        let boxes = self
            .js("return ['#tray-details > summary', '#tray .tray-actions button.secondary', '#insert'].map(s => {
                   const r = document.querySelector(s).getBoundingClientRect();
                   return [r.left, r.top, r.right, r.bottom, innerWidth];
                 });")
            .await;
        let boxes: Vec<Vec<f64>> = boxes
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b.as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect())
            .collect();
        for (i, a) in boxes.iter().enumerate() {
            assert!(
                a[0] >= 0.0 && a[2] <= a[4] + 0.5,
                "{} {state}: a tray control leaves the window: {boxes:?}",
                self.prefix
            );
            for b in &boxes[i + 1..] {
                let apart = a[2] <= b[0] + 0.5 || b[2] <= a[0] + 0.5 || a[3] <= b[1] + 0.5 || b[3] <= a[1] + 0.5;
                assert!(apart, "{} {state}: tray controls overlap: {boxes:?}", self.prefix);
            }
        }
    }

    /// The first result card is on the first screen, above the tray.
    async fn results_on_first_screen(&self) {
        let geometry = self
            .js("const card = document.querySelector('#result-list > li'); const tray = document.getElementById('tray');
                 return card ? [card.getBoundingClientRect().top, tray.getBoundingClientRect().top, innerWidth, innerHeight] : null;")
            .await;
        let top = geometry[0].as_f64().expect("a result card");
        let tray_top = geometry[1].as_f64().unwrap();
        assert!(top + 40.0 < tray_top, "{}: the first result starts at {top}px, the tray at {tray_top}px", self.prefix);
    }
}

struct Words {
    lang: &'static str,
    one_selected: &'static str,
    two_selected: &'static str,
    three_selected: &'static str,
    started: &'static str,
}

const ENGLISH: Words = Words {
    lang: "en",
    one_selected: "1 selected",
    two_selected: "2 selected",
    three_selected: "3 selected",
    started: "Started from your course",
};
const SPANISH: Words = Words {
    lang: "es",
    one_selected: "1 seleccionado",
    two_selected: "2 seleccionados",
    three_selected: "3 seleccionados",
    started: "Se partió de su curso",
};

/// The whole flow by keyboard, with script: first screen, search, tick, filters, standards by
/// code, details, more results, the tray, insert. Answers the ids inserted.
async fn keyboard_flow(session: &mut Session<'_>, url: &str, words: &Words, narrow: bool) -> Vec<String> {
    let browser = session.browser;
    browser.goto(url).await.unwrap();
    session.settled().await;
    assert_eq!(session.js("return document.documentElement.lang;").await, words.lang);

    // First screen: the course's grade as a filter, results at once, the tray in reach.
    assert!(
        session.text(".started").await.starts_with(words.started),
        "{}: {}",
        session.prefix,
        session.text(".started").await
    );
    assert_eq!(session.js("return document.getElementById('f-grade_min').value;").await, "3");
    session.results_on_first_screen().await;
    // Every picture that failed (publishers' hosts do not resolve here; one answers 404)
    // shows its placeholder; the one that loads is shown.
    const ON_SCREEN: &str =
        "[...document.querySelectorAll('img.thumb-img')].filter(i => i.getBoundingClientRect().top < innerHeight)";
    session.wait_for(&format!("{ON_SCREEN}.every(i => i.complete)"), "pictures to settle").await;
    let pictures = session
        .js(&format!("return {ON_SCREEN}.map(i => [i.src.split('/').pop(), i.naturalWidth > 0,
                getComputedStyle(i).display, getComputedStyle(i.closest('.thumb').querySelector('.thumb-placeholder svg')).display,
                i.closest('.thumb').getBoundingClientRect().width]);"))
        .await;
    let pictures = pictures.as_array().unwrap().clone();
    for picture in &pictures {
        let loaded = picture[1].as_bool().unwrap();
        assert_eq!(
            picture[2] == "none",
            !loaded,
            "{}: a failed picture is hidden, a loaded one shown: {picture}",
            session.prefix
        );
        assert_ne!(picture[3], "none", "{}: the placeholder is there under every picture: {picture}", session.prefix);
        assert!(picture[4].as_f64().unwrap() >= 48.0, "{}: {picture}", session.prefix);
    }
    session.axe("first screen").await;
    session.shot("first-screen").await;

    // Search by keyboard: the skip link first, then the search box.
    session.tab_to("a.skip").await;
    session.tab_to("#q").await;
    session.key(&format!("{}a{}", Key::Control, Key::Null)).await;
    session.key("fractions").await;
    session.key(&Key::Enter.to_string()).await;
    session.settled().await;
    session.wait_for("location.search.includes('q=fractions')", "the search to apply").await;
    session.wait_for("document.querySelector('#result-list li')", "results").await;
    let titles = session.js("return [...document.querySelectorAll('.card-title')].map(t => t.textContent);").await;
    assert!(titles.to_string().contains("Fraction"), "{}: {titles}", session.prefix);
    // The publisher's picture that answers 404 shows the placeholder once it is tried.
    const MISSING: &str =
        "[...document.querySelectorAll('img.thumb-img')].find(i => i.src.endsWith('missing-number-line.png'))";
    session.js(&format!("{MISSING}.scrollIntoView({{block: 'center'}}); return true;")).await;
    session
        .wait_for(
            &format!("{MISSING}.closest('.thumb').classList.contains('thumb-failed')"),
            "the 404 picture to be marked failed",
        )
        .await;
    session
        .wait_for(&format!("getComputedStyle({MISSING}).display === 'none'"), "the failed picture to be hidden")
        .await;
    let loaded = session
        .js("const i = [...document.querySelectorAll('img.thumb-img')].find(i => i.src.endsWith('ok-pizza.svg')); i.scrollIntoView({block: 'center'}); return true;")
        .await;
    assert_eq!(loaded, json!(true));
    session.wait_for("[...document.querySelectorAll('img.thumb-img')].some(i => i.src.endsWith('ok-pizza.svg') && i.complete && i.naturalWidth > 0 && !i.closest('.thumb').classList.contains('thumb-failed'))", "the picture that loads").await;
    session.js("window.scrollTo(0, 0); return true;").await;
    session.axe("search results").await;
    session.shot("search-results").await;

    // Tick the first result with the space bar: the tray follows.
    session.tab_to("#result-list input[name=resource]").await;
    let first_id = session.js("return document.activeElement.value;").await.as_str().unwrap().to_string();
    session.key(" ").await;
    session
        .wait_for(
            &format!("document.getElementById('tray-count').textContent.trim() === {:?}", words.one_selected),
            "one in the tray",
        )
        .await;

    // Filters: on a phone they open as a panel over the results.
    if narrow {
        session.tab_to("#filters > summary").await;
        session.key(&Key::Enter.to_string()).await;
        session.wait_for("document.getElementById('filters').open", "the filter panel").await;
        session.results_on_first_screen().await;
    }
    // The grade range: "to" one grade up with the arrow key.
    session.tab_to("#f-grade_max").await;
    session.key(&Key::Down.to_string()).await;
    session.settled().await;
    // A standard found by its code.
    session.tab_to("#f-standard-q").await;
    session.key("3.nf.a.3").await;
    session.settled().await;
    session
        .wait_for(
            "[...document.querySelectorAll('#filters-body input[name=standard]')].length >= 1",
            "standards matching 3.NF.A.3",
        )
        .await;
    let codes = session
        .js("return [...document.querySelectorAll('#filters-body input[name=standard]')].map(i => i.value);")
        .await;
    assert!(
        codes.as_array().unwrap().iter().all(|c| c.as_str().unwrap().contains("3.NF.A.3")),
        "{}: {codes}",
        session.prefix
    );
    session.axe("filters").await;
    session.shot("filters").await;
    session.tab_to("#filters-body input[name=standard]").await;
    session.key(" ").await;
    session.settled().await;
    session.wait_for("location.search.includes('standard=3.NF.A.3')", "the standard filter").await;
    let filtered = session.count("#result-list > li").await;
    assert!(filtered >= 2, "{}: resources aligned to 3.NF.A.3 ({filtered})", session.prefix);
    if narrow {
        session.key(&Key::Escape.to_string()).await;
        session.wait_for("!document.getElementById('filters').open", "the panel to close").await;
    }
    session.shot("standard-filter").await;

    // Details in a dialog; add the resource from there.
    // The details of a result not ticked yet.
    session.tab_to("#result-list button.details").await;
    while session.js("return document.activeElement.value;").await == json!(first_id) {
        session.key(&Key::Tab.to_string()).await;
        session.tab_to("#result-list button.details").await;
    }
    let previewed = session.js("return document.activeElement.value;").await.as_str().unwrap().to_string();
    session.key(&Key::Enter.to_string()).await;
    session.wait_for("document.getElementById('preview-dialog').open", "the details dialog").await;
    session
        .wait_for("document.activeElement && document.activeElement.id === 'preview-title'", "focus in the dialog")
        .await;
    assert!(
        session.count("#preview-dialog .facts dt").await >= 5,
        "{}: publisher, kind, grades, licence...",
        session.prefix
    );
    session
        .wait_for(
            "[...document.querySelectorAll('#preview-dialog img.thumb-img')].every(i => i.complete)",
            "the big picture",
        )
        .await;
    session.axe("details").await;
    session.shot("details").await;
    session.tab_to("#preview-dialog [data-action=toggle-selection]").await;
    session.key(&Key::Enter.to_string()).await;
    session
        .wait_for(
            &format!("document.getElementById('tray-count').textContent.trim() === {:?}", words.two_selected),
            "the tray after details",
        )
        .await;
    // Tab goes round the dialog's controls and never out of it (in an LMS's frame it would
    // leave for the LMS's page).
    for _ in 0..12 {
        session.key(&Key::Tab.to_string()).await;
        assert_eq!(
            session.js("return document.getElementById('preview-dialog').contains(document.activeElement);").await,
            json!(true),
            "{}: Tab left the details dialog",
            session.prefix
        );
    }
    session.key(&Key::Escape.to_string()).await;
    session.wait_for("!document.getElementById('preview-dialog').open", "the dialog to close").await;
    assert_eq!(
        session.js("return document.activeElement.value;").await,
        json!(previewed),
        "focus returns to the details button"
    );

    // Everything again, then more results: what is ticked stays ticked.
    session.tab_to("#q").await;
    session.key(&format!("{}a{}", Key::Control, Key::Null)).await;
    session.key(&Key::Backspace.to_string()).await;
    session.key(&Key::Enter.to_string()).await;
    session.settled().await;
    if session.count(".chips button[name=clear]").await > 0 {
        session.tab_to(".chips button[name=clear]").await;
    } else {
        session.tab_to("#filters-body button[name=clear]").await;
    }
    session.key(&Key::Enter.to_string()).await;
    session.settled().await;
    session.wait_for("document.querySelector('button[data-paging=more]')", "a button for more results").await;
    let before = session.count("#result-list > li").await;
    session.tab_to("button[data-paging=more]").await;
    session.key(&Key::Enter.to_string()).await;
    session
        .wait_for(&format!("document.querySelectorAll('#result-list > li').length > {before}"), "more results")
        .await;
    session
        .wait_for(
            "document.activeElement && document.activeElement.name === 'resource'",
            "focus on the first new result",
        )
        .await;
    let third_id = session.js("return document.activeElement.value;").await.as_str().unwrap().to_string();
    session.key(" ").await;
    session
        .wait_for(
            &format!("document.getElementById('tray-count').textContent.trim() === {:?}", words.three_selected),
            "the tray after more",
        )
        .await;
    session.shot("more-results").await;
    session.tray_in_reach("three ticked").await;

    // The tray: open it, remove one, insert the rest.
    session.tab_to("#tray-details > summary").await;
    session.key(&Key::Enter.to_string()).await;
    session.wait_for("document.getElementById('tray-details').open", "the tray to open").await;
    session.axe("tray").await;
    session.shot("tray").await;
    session.tab_to("#tray-list button.remove").await;
    let removed = session.js("return document.activeElement.value;").await.as_str().unwrap().to_string();
    session.key(&Key::Enter.to_string()).await;
    session
        .wait_for(
            &format!("![...document.querySelectorAll('#tray-list li')].some(l => l.dataset.id === {removed:?})"),
            "the removal",
        )
        .await;
    let kept: Vec<String> = session
        .js("return [...document.querySelectorAll('#tray-list li')].map(l => l.dataset.id);")
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert!(kept.contains(&third_id) || removed == third_id, "{}: {kept:?}", session.prefix);
    session.tab_to("#insert").await;
    session.key(&Key::Enter.to_string()).await;
    kept
}

/// The same picker without script: searches, ticks on two pages and inserts by plain form
/// submissions, the tray carrying the first page's choice.
async fn no_script_flow(session: &mut Session<'_>, url: &str) -> Vec<String> {
    let browser = session.browser;
    browser.goto(url).await.unwrap();
    session.settled().await;
    assert_eq!(session.count("html.js").await, 0, "no script ran");
    session.results_on_first_screen().await;
    session.axe("first screen without script").await;
    session.shot("no-script-first-screen").await;
    session.tab_to("#q").await;
    session.key(&format!("{}a{}", Key::Control, Key::Null)).await;
    session.key(&Key::Backspace.to_string()).await;
    session.key(&Key::Enter.to_string()).await;
    session.settled().await;
    session.tab_to("#result-list input[name=resource]").await;
    let first = session.js("return document.activeElement.value;").await.as_str().unwrap().to_string();
    session.key(" ").await;
    session.tab_to("button[data-paging=more]").await;
    session.key(&Key::Enter.to_string()).await;
    session.settled().await;
    session.wait_for("location.search.includes('page=1')", "the second page").await;
    assert_eq!(session.count("#tray-list li").await, 1, "the first page's tick is in the tray");
    session.tab_to("#result-list input[name=resource]").await;
    let second = session.js("return document.activeElement.value;").await.as_str().unwrap().to_string();
    session.key(" ").await;
    session.tab_to("#result-list button.details").await;
    session.key(&Key::Enter.to_string()).await;
    // Without script the details are a new page: the old one stays `complete` until it goes.
    session
        .wait_for(
            "document.querySelectorAll('#results-region section.preview').length === 1",
            "details open in the page",
        )
        .await;
    session.settled().await;
    session.axe("details without script").await;
    session.shot("no-script-details").await;
    session.tab_to("#insert").await;
    session.key(&Key::Enter.to_string()).await;
    // The signed response goes on with a button, since the page cannot submit itself.
    session.settled().await;
    session.wait_for("document.querySelector('form#post button')", "the continue button").await;
    session.tab_to("form#post button").await;
    session.key(&Key::Enter.to_string()).await;
    vec![first, second]
}

/// What identifies a content item: the gateway's resource id for LTI tools, the URL for links.
async fn item_keys(gateway: &TestServer, lms: &Lms, already: usize) -> Vec<String> {
    let started = Instant::now();
    while lms.returned().len() <= already && started.elapsed() < Duration::from_secs(15) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let returned = lms.returned();
    assert_eq!(returned.len(), already + 1, "the browser posted the response to the LMS");
    let claims = verify_with_gateway_jwks(gateway, &returned[already], lms).await;
    let items = claims["https://purl.imsglobal.org/spec/lti-dl/claim/content_items"].as_array().unwrap().clone();
    let mut keys: Vec<String> = items
        .iter()
        .map(|item| item["custom"]["gateway_resource_id"].as_str().or(item["url"].as_str()).unwrap().to_string())
        .collect();
    keys.sort();
    keys
}

/// The keys the items of these resources must have.
async fn expected_keys(gateway: &TestServer, ids: &[String]) -> Vec<String> {
    let mut keys = Vec::new();
    for id in ids {
        let found =
            gateway.graphql_ok("query($id: ID!) { resource(id: $id) { url kind } }", json!({ "id": id }), None).await;
        let resource = &found["resource"];
        keys.push(if resource["kind"] == "LTI_RESOURCE_LINK" {
            id.clone()
        } else {
            resource["url"].as_str().unwrap().to_string()
        });
    }
    keys.sort();
    keys
}

/// Sizes the window so that the page itself gets `width` × `height`.
async fn viewport(browser: &Client, width: u32, height: u32) {
    browser.set_window_size(width, height).await.unwrap();
    browser.goto("about:blank").await.unwrap();
    let inner = browser.execute("return [innerWidth, innerHeight];", vec![]).await.unwrap();
    let (inner_w, inner_h) = (inner[0].as_u64().unwrap_or(0) as u32, inner[1].as_u64().unwrap_or(0) as u32);
    if (inner_w, inner_h) != (width, height) && inner_w > 0 && inner_h > 0 {
        browser
            .set_window_size(width + width.saturating_sub(inner_w), height + height.saturating_sub(inner_h))
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn test_teacher_picks_by_keyboard_in_two_languages_and_two_sizes() {
    let gateway = gateway_with_samples().await;
    let pictures = picture_server().await;
    add_picture_publisher(&gateway, &pictures).await;
    let lms = Lms::start().await;
    lms.register(&gateway).await;
    let axe_path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/browser/node_modules/axe-core/axe.min.js");
    let axe_source = std::fs::read_to_string(&axe_path).unwrap_or_else(|err| {
        panic!("{}: {err}; run `npm ci --prefix tests/browser` (see .ci/run)", axe_path.display())
    });
    let shots = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/picker-screenshots");
    std::fs::create_dir_all(&shots).unwrap();

    let driver = ChromeDriver::start();
    let runs: [(&Words, Option<&str>, u32, u32); 4] = [
        (&ENGLISH, Some("en-US"), 800, 600),
        (&SPANISH, Some("es_MX"), 360, 640),
        (&SPANISH, Some("es"), 800, 600),
        (&ENGLISH, None, 360, 640),
    ];
    let mut posted = 0;
    for (words, locale, width, height) in runs {
        let profile = tempfile::tempdir().unwrap();
        let browser = driver.browser(profile.path(), true).await;
        viewport(&browser, width, height).await;
        let mut claims = json!({
            "https://purl.imsglobal.org/spec/lti/claim/context": { "id": "course-3", "label": "MATH3", "title": "Grade 3 Mathematics" },
        });
        if let Some(locale) = locale {
            claims["https://purl.imsglobal.org/spec/lti/claim/launch_presentation"] =
                json!({ "locale": locale, "document_target": "iframe" });
        }
        let launch = lms.deep_link_with(&gateway, json!({}), claims).await;
        let mut session = Session {
            browser: &browser,
            shots: shots.clone(),
            prefix: format!("{}-{width}x{height}", words.lang),
            axe_source: &axe_source,
            script: true,
            num_shots: 0,
            axe_browser: None,
        };
        let chosen =
            keyboard_flow(&mut session, &gateway.url(&format!("/lti/picker?launch={launch}")), words, width < 600)
                .await;
        let inserted = item_keys(&gateway, &lms, posted).await;
        posted += 1;
        assert_eq!(
            inserted,
            expected_keys(&gateway, &chosen).await,
            "{}: the LMS gets exactly what the tray held",
            session.prefix
        );
        let _ = browser.close().await;
    }

    // In the frame Moodle's "Select content" modal gives the picker on a phone (Moodle 4.5 at
    // 360 × 640: 310 × 233), with the longest strings (Spanish) and three resources ticked.
    let profile = tempfile::tempdir().unwrap();
    let browser = driver.browser(profile.path(), true).await;
    viewport(&browser, 360, 640).await;
    let claims = json!({
        "https://purl.imsglobal.org/spec/lti/claim/launch_presentation": { "locale": "es", "document_target": "iframe" },
    });
    let launch = lms.deep_link_with(&gateway, json!({}), claims).await;
    let found = gateway.graphql_ok("{ search(first: 3) { edges { node { id } } } }", json!({}), None).await;
    let ticked: String = found["search"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| format!("&resource={}", url_encoded(edge["node"]["id"].as_str().unwrap())))
        .collect();
    let picker = gateway.url(&format!("/lti/picker?launch={launch}&searched=1{ticked}"));
    // A page of the same local origin hosts the frame (Chrome keeps pages outside the local
    // network from framing it).
    browser.goto(&gateway.url("/readyz")).await.unwrap();
    browser
        .execute(
            "document.body.textContent = ''; const frame = document.createElement('iframe');
             frame.width = 310; frame.height = 233; frame.style.border = '0'; frame.src = arguments[0];
             document.body.style.margin = '0'; document.body.appendChild(frame);",
            vec![json!(picker)],
        )
        .await
        .unwrap();
    let session = Session {
        browser: &browser,
        shots: shots.clone(),
        prefix: "es-lms-frame-310x233".to_string(),
        axe_source: &axe_source,
        script: true,
        num_shots: 0,
        axe_browser: None,
    };
    let mut entered = false;
    for _ in 0..100 {
        if browser.enter_frame(Some(0)).await.is_ok()
            && session.js("return !!document.getElementById('tray');").await == json!(true)
        {
            entered = true;
            break;
        }
        let _ = browser.enter_parent_frame().await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if !entered {
        std::fs::write(shots.join("es-lms-frame-timeout.png"), browser.screenshot().await.unwrap()).unwrap();
        let html = browser.source().await.unwrap_or_default();
        panic!("the picker loads in the LMS's frame: {html}");
    }
    session
        .wait_for(
            &format!("document.getElementById('tray-count').textContent.trim() === {:?}", SPANISH.three_selected),
            "three in the tray",
        )
        .await;
    std::fs::write(shots.join("es-lms-frame-310x233.png"), browser.screenshot().await.unwrap()).unwrap();
    session.tray_in_reach("in the LMS's frame on a phone").await;
    session.results_on_first_screen().await;
    browser.enter_parent_frame().await.unwrap();
    let _ = browser.close().await;

    // Without script, at the LMS window's size.
    let profile = tempfile::tempdir().unwrap();
    let browser = driver.browser(profile.path(), false).await;
    viewport(&browser, 800, 600).await;
    let axe_profile = tempfile::tempdir().unwrap();
    let axe_browser = driver.browser(axe_profile.path(), true).await;
    viewport(&axe_browser, 800, 600).await;
    let launch = lms.deep_link(&gateway, json!({})).await;
    let mut session = Session {
        browser: &browser,
        shots: shots.clone(),
        prefix: "en-800x600".to_string(),
        axe_source: &axe_source,
        script: false,
        num_shots: 10,
        axe_browser: Some(&axe_browser),
    };
    let chosen = no_script_flow(&mut session, &gateway.url(&format!("/lti/picker?launch={launch}"))).await;
    let inserted = item_keys(&gateway, &lms, posted).await;
    assert_eq!(
        inserted,
        expected_keys(&gateway, &chosen).await,
        "without script the tray carried the first page's choice"
    );
    let _ = browser.close().await;
    let _ = axe_browser.close().await;
    eprintln!("picker screenshots in {}", shots.display());
}

// Browser helpers and the LTI binding / registration tests (issue 12).

pub(crate) async fn headless_chromium(driver: &ChromeDriver, profile: &std::path::Path, extra: &[&str]) -> Client {
    let chromium = std::env::var("CHROMIUM_BIN").unwrap_or_else(|_| "/usr/bin/chromium".to_string());
    let mut args: Vec<String> = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--window-size=1024,768",
        "--disable-component-update",
        "--disable-sync",
    ]
    .iter()
    .chain(extra)
    .map(|arg| arg.to_string())
    .collect();
    args.push(format!("--user-data-dir={}", profile.display()));
    let mut capabilities = serde_json::Map::new();
    capabilities.insert("goog:chromeOptions".into(), json!({ "binary": chromium, "args": args }));
    let started = Instant::now();
    loop {
        match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities.clone())
            .connect(&format!("http://127.0.0.1:{}", driver.port))
            .await
        {
            Ok(connected) => return connected,
            Err(err) if started.elapsed() > Duration::from_secs(20) => panic!("chromedriver answers: {err}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

/// Headless Chromium driven over WebDriver, with its own profile (kept while the client lives).
pub struct Browser {
    pub client: fantoccini::Client,
    _driver: ChromeDriver,
    _profile: tempfile::TempDir,
}

impl Browser {
    pub async fn start() -> Self {
        let driver = ChromeDriver::start();
        let profile = tempfile::tempdir().unwrap();
        let client = headless_chromium(&driver, profile.path(), &[]).await;
        Self { client, _driver: driver, _profile: profile }
    }
}

async fn eventually(mut done: impl FnMut() -> bool) -> bool {
    let started = Instant::now();
    while !done() {
        if started.elapsed() > Duration::from_secs(20) {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    true
}

/// A Canvas-style launch in a real browser: the LMS's course page frames the gateway beside its
/// storage frame (`lti_storage_target=post_message_forwarding`); the gateway's login stores its
/// proof there, the launch reads it back in the same browser, and the teacher reaches the
/// picker without a cookie.
#[tokio::test]
async fn test_a_launch_is_bound_to_the_browser_through_the_platforms_storage_frame() {
    let gateway = gateway_with_samples().await;
    let lms = Lms::start().await;
    lms.register(&gateway).await;
    let started = Browser::start().await;
    let browser = started.client.clone();

    let course = format!("{}/course?gateway={}", lms.issuer(), url_encoded(&gateway.url("")));
    browser.goto(&course).await.unwrap();
    let stored_and_read = eventually(|| {
        lms.storage_log().iter().any(|entry| entry["op"] == "lti.get_data" && entry["value"].is_string())
    })
    .await;
    let log = lms.storage_log();
    assert!(stored_and_read, "the gateway stored and read back its proof: {log:?}");
    assert_eq!(log[0]["op"], "lti.put_data");
    assert_eq!(log[0]["origin"], gateway.url(""), "kept under the gateway's origin");
    assert_eq!(log[1]["key"], log[0]["key"], "read back under the key it was stored with");

    // The tool frame ends on the picker.
    let frame = browser.find(Locator::Css("iframe#tool")).await.unwrap();
    frame.enter_frame().await.unwrap();
    let search = browser.wait().at_most(Duration::from_secs(20)).for_element(Locator::Css("input#q")).await;
    let url = browser.execute("return location.href;", vec![]).await.unwrap();
    let _ = browser.close().await;
    assert!(search.is_ok(), "the picker opened in the tool frame (at {url})");
    assert!(url.as_str().unwrap().starts_with(&gateway.url("/lti/picker?launch=")), "{url}");
}

/// An LMS admin's registration in a real browser: the LMS frames the gateway's registration
/// link; the gateway registers and its page tells the LMS to close the frame.
#[tokio::test]
async fn test_the_registration_page_closes_the_lms_frame() {
    let gateway = gateway_with_samples().await;
    let lms = Lms::start().await;
    let link = gateway
        .graphql_ok("mutation { createPlatformRegistration { url } }", json!({}), Some(crate::common::ADMIN_TOKEN))
        .await["createPlatformRegistration"]["url"]
        .as_str()
        .unwrap()
        .to_string();
    let started = Browser::start().await;
    let browser = started.client.clone();
    browser.goto(&format!("{}/tool-registration?link={}", lms.issuer(), url_encoded(&link))).await.unwrap();
    let closed = eventually(|| lms.closed()).await;
    let _ = browser.close().await;
    assert!(closed, "the LMS received org.imsglobal.lti.close from the registration frame");
    assert_eq!(lms.registrations().len(), 1);
}

fn url_encoded(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}
