//! A resource's details without leaving the picker: picture, description, publisher, grades,
//! licence, standards, language, kind, accessibility, and the resource itself in a new tab for
//! web resources. Shown in a dialog by the script, or at the top of the results without it.

use maud::{html, Markup};

use super::i18n::Strings;
use super::icons;
use super::labels;
use super::params::field;
use super::results::thumbnail;
use super::view::Preview;
use crate::resource::Accessibility;

/// `in_dialog`: the script's dialog (buttons act in place) rather than the page (buttons submit).
pub fn panel(preview: &Preview, strings: &Strings, in_dialog: bool) -> Markup {
    html! {
        section.preview #preview data-id=(preview.id) aria-labelledby="preview-title" {
            div.preview-head {
                h2 #preview-title tabindex="-1" { (preview.title) }
                @if in_dialog {
                    button.icon-button type="button" data-action="close-preview" aria-label=(strings.get("preview-close")) {
                        (icons::close())
                    }
                } @else {
                    button.icon-button type="submit" aria-label=(strings.get("preview-close")) { (icons::close()) }
                }
            }
            div.preview-main {
                (thumbnail(preview.kind, preview.thumbnail_url.as_deref(), "thumb thumb-large"))
                div.preview-facts {
                    dl.facts {
                        dt { (strings.get("preview-publisher")) } dd { (preview.publisher) }
                        dt { (strings.get("preview-kind")) } dd { (labels::kind(strings, preview.kind)) }
                        @if let Some(grades) = preview.grades {
                            dt { (strings.get("preview-grades")) } dd { (labels::grades(strings, grades)) }
                        }
                        dt { (strings.get("preview-license")) }
                        dd {
                            @match &preview.license {
                                Some(license) if license.starts_with("https://") || license.starts_with("http://") => {
                                    a href=(license) target="_blank" rel="noopener noreferrer" {
                                        (labels::license_short(license).unwrap_or_else(|| strings.get("license-terms")))
                                    }
                                }
                                Some(license) => { (labels::license(license)) }
                                None => { (strings.get("preview-license-none")) }
                            }
                            @if preview.free == Some(true) { " · " (strings.get("preview-free")) }
                        }
                        @if !preview.languages.is_empty() {
                            dt { (strings.get("preview-languages")) }
                            dd { (preview.languages.iter().map(|l| labels::language(strings, l)).collect::<Vec<_>>().join(", ")) }
                        }
                        @if !preview.subjects.is_empty() {
                            dt { (strings.get("preview-subjects")) } dd { (preview.subjects.join(", ")) }
                        }
                        @if let Some(updated) = preview.updated_at {
                            dt { (strings.get("preview-updated")) }
                            dd { time datetime=(updated.format("%Y-%m-%d").to_string()) { (updated.format("%Y-%m-%d").to_string()) } }
                        }
                    }
                }
            }
            @if let Some(description) = &preview.description {
                h3 { (strings.get("preview-description")) }
                p.preview-description { (description) }
            }
            @if !preview.standards.is_empty() {
                h3 { (strings.get("preview-standards")) }
                ul.standards-list {
                    @for alignment in &preview.standards {
                        li {
                            @if let Some(code) = &alignment.code { strong.code { (code) } " " }
                            @if let Some(description) = &alignment.description { span { (description) } }
                            @if let Some(framework) = &alignment.framework { span.small { " · " (framework) } }
                        }
                    }
                }
            }
            h3 { (strings.get("preview-accessibility")) }
            (accessibility(&preview.accessibility, strings))
            div.preview-actions {
                @if let Some(url) = &preview.open_url {
                    a.button.secondary href=(url) target="_blank" rel="noopener noreferrer" {
                        (strings.get("preview-open")) " " (icons::external())
                        span.visually-hidden { " (" (strings.get("preview-open-hint")) ")" }
                    }
                } @else {
                    p.small { (strings.get("preview-tool-note")) }
                }
                @if in_dialog {
                    button.primary type="button" data-action="toggle-selection"
                        data-add=(strings.get("preview-add")) data-remove=(strings.get("preview-remove")) {
                        (strings.get(if preview.selected { "preview-remove" } else { "preview-add" }))
                    }
                } @else if preview.selected {
                    button.secondary type="submit" name=(field::REMOVE) value=(preview.id) { (strings.get("preview-remove")) }
                } @else {
                    button.primary type="submit" name=(field::ADD) value=(preview.id) { (strings.get("preview-add")) }
                }
            }
        }
    }
}

fn accessibility(properties: &Accessibility, strings: &Strings) -> Markup {
    if properties.is_empty() {
        return html! { p.small { (strings.get("preview-a11y-none")) } };
    }
    let rows = [
        ("a11y-features", &properties.features),
        ("a11y-hazards", &properties.hazards),
        ("a11y-modes", &properties.access_modes),
        ("a11y-controls", &properties.controls),
        ("a11y-apis", &properties.apis),
    ];
    html! {
        dl.facts {
            @for (label, values) in rows {
                @if !values.is_empty() {
                    dt { (strings.get(label)) }
                    dd { (values.iter().map(|v| labels::accessibility_term(strings, v)).collect::<Vec<_>>().join(", ")) }
                }
            }
            @if let Some(summary) = &properties.summary {
                dt { (strings.get("a11y-summary")) } dd { (summary) }
            }
        }
    }
}

/// What the dialog shows for an id that no longer resolves.
pub fn not_found(strings: &Strings) -> Markup {
    html! {
        section.preview #preview aria-labelledby="preview-title" {
            div.preview-head {
                h2 #preview-title tabindex="-1" { (strings.get("preview-not-found")) }
                button.icon-button type="button" data-action="close-preview" aria-label=(strings.get("preview-close")) {
                    (icons::close())
                }
            }
        }
    }
}
