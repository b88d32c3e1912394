//! The small pages around the picker: the auto-submitting form that carries a signed response
//! or token on (to the LMS, or to a publisher's tool), and the page that explains a refusal.

use maud::{html, Markup, PreEscaped, DOCTYPE};

use super::i18n::Strings;

const STYLE: &str = r#"
:root { font-family: system-ui, sans-serif; color: #1b1b1b; }
body { margin: 0; padding: 1rem; max-width: 40rem; overflow-wrap: anywhere; }
h1 { font-size: 1.3rem; margin: 0 0 .75rem; }
button { font-size: 1rem; padding: .5rem 1rem; cursor: pointer; }
button:focus-visible { outline: 3px solid #1a5fb4; outline-offset: 2px; }
"#;

fn page(lang: &str, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(lang) {
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

/// Posts the signed response to the LMS: submits itself, with a button for browsers without
/// script.
pub fn auto_post_page(strings: &Strings, return_url: &str, jwt: &str) -> Markup {
    form_post(strings.lang(), &strings.get("returning"), &strings.get("continue"), return_url, &[("JWT", jwt)])
}

/// An auto-submitting form post (OIDC `form_post`, deep-linking returns), with a button for
/// browsers without script.
pub fn form_post_page(message: &str, action: &str, fields: &[(&str, &str)]) -> Markup {
    form_post("en", message, "Continue", action, fields)
}

fn form_post(lang: &str, message: &str, button: &str, action: &str, fields: &[(&str, &str)]) -> Markup {
    let body = html! {
        main {
            form #post method="post" action=(action) {
                @for (name, value) in fields {
                    input type="hidden" name=(name) value=(value);
                }
                p { (message) }
                noscript { button type="submit" { (button) } }
            }
            script { (PreEscaped("document.getElementById('post').submit();")) }
        }
    };
    page(lang, message, body)
}

/// Explains why a launch or request was refused.
pub fn error_page(strings: &Strings, reason: &str) -> Markup {
    let title = strings.get("error-title");
    page(
        strings.lang(),
        &title,
        html! {
            main {
                h1 { (title) }
                p { (reason) }
                p { (strings.get("error-advice")) }
            }
        },
    )
}

/// The shell of the other LTI pages (registration, storage confirmation): title, viewport, style.
pub fn shell(title: &str, body: Markup) -> Markup {
    page("en", title, body)
}

/// Explains why an LMS's Dynamic Registration did not complete (nothing was stored).
pub fn registration_error_page(reason: &str) -> Markup {
    shell(
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
