//! The selection tray, pinned to the bottom of the window: what is ticked across searches and
//! pages, each with a remove button, and the insert and cancel buttons always in reach.
//!
//! Resources ticked on an earlier page ride along in the form: a hidden field each (a hidden,
//! checked radio button when the platform takes one resource, so ticking another one
//! replaces it without script).

use maud::{html, Markup};

use super::i18n::Strings;
use super::icons;
use super::params::field;
use super::view::{PickerPage, TrayItem};

/// The count for the script: the catalog's text for one and for many, the number as `#`.
fn plural_templates(strings: &Strings, id: &str) -> (String, String, String) {
    // 1 and 97 format with the language's "one" and "other" forms; the script puts its number
    // in place of them.
    let zero = strings.count(id, 0);
    let one = strings.count(id, 1).replacen('1', "#", 1);
    let other = strings.count(id, 97).replacen("97", "#", 1);
    (zero, one, other)
}

pub fn tray(page: &PickerPage, strings: &Strings) -> Markup {
    let count = page.selection.len();
    let (zero, one, other) = plural_templates(strings, "selection-count");
    let (insert_zero, insert_one, insert_other) = plural_templates(strings, "insert");
    html! {
        section #tray .tray aria-labelledby="tray-count" {
            details #tray-details .tray-details {
                summary.tray-toggle {
                    (icons::tray())
                    span #tray-count data-zero=(zero) data-one=(one) data-other=(other) {
                        (strings.count("selection-count", count))
                    }
                    span #tray-badge .badge aria-hidden="true" { (count) }
                }
                div.tray-body {
                    h2.visually-hidden { (strings.get("selection")) }
                    @if !page.multiple { p.small { (strings.get("selection-single")) } }
                    p #tray-empty .small hidden[count > 0] { (strings.get("selection-empty")) }
                    ul #tray-list {
                        @for item in &page.selection { (tray_item(item, page.multiple, strings)) }
                    }
                }
            }
            p #tray-message .tray-message role="alert" hidden {}
            div.tray-actions {
                button.secondary type="submit" formaction="/lti/picker/insert" formmethod="post" formnovalidate
                    name="action" value="cancel" { (strings.get("cancel")) }
                button #insert .primary type="submit" formaction="/lti/picker/insert" formmethod="post"
                    name="action" value="insert" data-zero=(insert_zero) data-one=(insert_one) data-other=(insert_other) {
                    (strings.count("insert", count))
                }
            }
            template #tray-item-template {
                (tray_item(&TrayItem { id: String::new(), title: String::new(), on_page: true }, page.multiple, strings))
            }
        }
    }
}

fn tray_item(item: &TrayItem, multiple: bool, strings: &Strings) -> Markup {
    html! {
        li data-id=(item.id) {
            span.tray-title { (item.title) }
            button.link.remove type="submit" name=(field::REMOVE) value=(item.id) {
                (strings.get("remove"))
                span.visually-hidden.tray-remove-title { " " (item.title) }
            }
            @if !item.on_page {
                @if multiple {
                    input type="hidden" name=(field::RESOURCE) value=(item.id);
                } @else {
                    input type="radio" name=(field::RESOURCE) value=(item.id) checked hidden;
                }
            }
        }
    }
}
