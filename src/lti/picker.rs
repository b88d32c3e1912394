//! Server-rendered pages of the LTI flow: the teacher's picker, the auto-submitting form that
//! carries the signed response back to the LMS, and the pages that explain a refusal.
//! Plain HTML forms: usable by keyboard, with a screen reader and on a small screen.

use maud::{html, Markup, PreEscaped, DOCTYPE};

/// One result line of the picker.
#[derive(Debug, Clone)]
pub struct PickerResult {
    pub id: String,
    pub title: String,
    pub description: Option<String>,
    pub publisher: String,
    pub kind: String,
    pub grades: Option<String>,
    pub thumbnail_url: Option<String>,
    pub url: String,
}

/// A facet value the teacher can tick.
#[derive(Debug, Clone)]
pub struct PickerFacetValue {
    pub value: String,
    pub label: String,
    pub count: u64,
    pub selected: bool,
}

/// Everything the picker page shows.
#[derive(Debug, Clone, Default)]
pub struct PickerView {
    pub launch_id: String,
    pub heading: Option<String>,
    pub query: String,
    pub total: usize,
    pub results: Vec<PickerResult>,
    /// (query parameter, legend, values)
    pub facets: Vec<(String, String, Vec<PickerFacetValue>)>,
    pub multiple: bool,
    /// Link to the next page of results, when there is one.
    pub next_page: Option<String>,
    pub notice: Option<String>,
}

const STYLE: &str = r#"
:root { font-family: system-ui, sans-serif; color: #1b1b1b; scroll-padding-bottom: 5rem; }
body { margin: 0; padding: 1rem; max-width: 70rem; }
h1 { font-size: 1.3rem; margin: 0 0 .75rem; }
.searchbar { display: flex; gap: .5rem; margin-bottom: 1rem; }
.searchbar input[type=search] { flex: 1 1 auto; min-width: 0; font-size: 1rem; padding: .5rem; }
button { font-size: 1rem; padding: .5rem 1rem; cursor: pointer; }
button:focus, input:focus, a:focus { outline: 3px solid #1a5fb4; outline-offset: 2px; }
.layout { display: flex; gap: 1.5rem; flex-wrap: wrap; }
.facets { flex: 0 1 14rem; }
.facets fieldset { border: 1px solid #ccc; margin: 0 0 .75rem; padding: .5rem; }
.facets label { display: block; font-size: .9rem; }
.results { flex: 1 1 30rem; }
.results ol { list-style: none; padding: 0; margin: 0; }
.results li { display: flex; gap: .75rem; border-bottom: 1px solid #ddd; padding: .75rem 0; }
.results li img { width: 72px; height: 54px; object-fit: cover; }
.meta { color: #555; font-size: .85rem; }
.actions { position: sticky; bottom: 0; background: #fff; padding: .75rem 0; display: flex; gap: .75rem; }
.notice { background: #fff4ce; padding: .5rem; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
"#;

/// The shell of every LTI page (title, viewport, the shared style).
pub(crate) fn page(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                style { (PreEscaped(STYLE)) }
            }
            body { (body) }
        }
    }
}

/// The picker: search box, facet filters, results to tick, insert and cancel.
///
/// The search box and the filters belong to one GET form (`form="search"`), the results to the
/// POST form of the insert, so the two can sit side by side.
pub fn picker_page(view: &PickerView) -> Markup {
    let heading = view.heading.clone().unwrap_or_else(|| "Add learning resources".to_string());
    let input_type = if view.multiple { "checkbox" } else { "radio" };
    let body = html! {
        main {
            h1 { (heading) }
            @if let Some(notice) = &view.notice { p.notice role="status" { (notice) } }
            form #search method="get" action="/lti/picker" role="search" {
                input type="hidden" name="launch" value=(view.launch_id);
            }
            div.searchbar {
                label for="q" class="visually-hidden" { "Search all publishers" }
                input #q form="search" type="search" name="q" value=(view.query)
                    placeholder="Search all publishers" autofocus;
                button form="search" type="submit" { "Search" }
            }
            div.layout {
                aside.facets aria-label="Filters" {
                    @for (param, legend, values) in &view.facets {
                        @if !values.is_empty() {
                            fieldset {
                                legend { (legend) }
                                @for value in values {
                                    label {
                                        input form="search" type="checkbox" name=(param) value=(value.value)
                                            checked[value.selected] onchange="this.form.submit()";
                                        " " (value.label) " (" (value.count) ")"
                                    }
                                }
                            }
                        }
                    }
                    noscript { button form="search" type="submit" { "Apply filters" } }
                }
                section.results aria-live="polite" {
                    p { (view.total) " resources" }
                    form method="post" action="/lti/picker/insert" {
                        input type="hidden" name="launch" value=(view.launch_id);
                        ol {
                            @for result in &view.results {
                                li {
                                    input type=(input_type) name="resource" value=(result.id)
                                        id=(format!("r-{}", result.id)) aria-describedby=(format!("d-{}", result.id));
                                    @if let Some(thumbnail) = &result.thumbnail_url {
                                        img src=(thumbnail) alt="" loading="lazy";
                                    }
                                    div {
                                        label for=(format!("r-{}", result.id)) { strong { (result.title) } }
                                        div.meta id=(format!("d-{}", result.id)) {
                                            (result.publisher) " · " (result.kind)
                                            @if let Some(grades) = &result.grades { " · " (grades) }
                                            " · " a href=(result.url) target="_blank" rel="noopener" { "preview" }
                                        }
                                        @if let Some(description) = &result.description { p.meta { (description) } }
                                    }
                                }
                            }
                        }
                        @if let Some(next) = &view.next_page { p { a href=(next) { "More results" } } }
                        div.actions {
                            button type="submit" name="action" value="insert" { "Insert selected" }
                            button type="submit" name="action" value="cancel" formnovalidate { "Cancel" }
                        }
                    }
                }
            }
        }
    };
    page(&heading, body)
}

/// Posts the signed response to the LMS: submits itself, with a button for browsers without
/// script.
pub fn auto_post_page(return_url: &str, jwt: &str) -> Markup {
    form_post_page("Returning to your course…", return_url, &[("JWT", jwt)])
}

/// An auto-submitting form post (OIDC `form_post`, deep-linking returns), with a button for
/// browsers without script.
pub fn form_post_page(message: &str, action: &str, fields: &[(&str, &str)]) -> Markup {
    let body = html! {
        main {
            form #post method="post" action=(action) {
                @for (name, value) in fields {
                    input type="hidden" name=(name) value=(value);
                }
                p { (message) }
                noscript { button type="submit" { "Continue" } }
            }
            script { (PreEscaped("document.getElementById('post').submit();")) }
        }
    };
    page(message, body)
}

/// Explains why a launch or request was refused.
pub fn error_page(title: &str, reason: &str) -> Markup {
    page(
        title,
        html! {
            main {
                h1 { (title) }
                p { (reason) }
                p { "Close this window and start again from your course. If it happens again, give your district admin the message above." }
            }
        },
    )
}

/// Explains why an LMS's Dynamic Registration did not complete (nothing was stored).
pub fn registration_error_page(reason: &str) -> Markup {
    page(
        "The registration did not complete",
        html! {
            main {
                h1 { "The registration did not complete" }
                p { (reason) }
                p { "Nothing was stored. Close this window; once the problem is fixed, register again with the same link (or a new one if it was used or expired)." }
            }
        },
    )
}
