//! The picker page: one form around the search box, the filter panel, the results and the
//! tray, so that every button (search, a filter, more results, details, remove, insert)
//! carries the whole state and the page works the same with or without script.

use maud::{html, Markup, DOCTYPE};

use super::assets::{SCRIPT, STYLESHEET};
use super::filters;
use super::i18n::Strings;
use super::icons;
use super::params::field;
use super::results;
use super::tray;
use super::view::PickerPage;

pub fn picker_page(page: &PickerPage, strings: &Strings) -> Markup {
    let title = strings.get("page-title");
    html! {
        (DOCTYPE)
        html lang=(strings.lang()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="no-referrer";
                title { (title) }
                link rel="stylesheet" href=(STYLESHEET.url());
                script src=(SCRIPT.url()) defer {}
            }
            body {
                a.skip href="#results" { (strings.get("skip-to-results")) }
                form #picker method="get" action="/lti/picker" data-multiple=(page.multiple.to_string())
                    data-updating=(strings.get("updating")) data-choose-first=(strings.get("choose-first")) {
                    input type="hidden" name=(field::LAUNCH) value=(page.params.launch);
                    input type="hidden" name=(field::SUBMITTED) value="1";
                    header.top {
                        div.heading {
                            h1 { (strings.get("heading")) }
                            @if let Some(course) = &page.course { p.course { (course) } }
                        }
                        div.searchbar role="search" {
                            label.visually-hidden for="q" { (strings.get("search-label")) }
                            span.search-icon { (icons::search()) }
                            input #q type="search" name=(field::QUERY) value=(page.params.query)
                                placeholder=(strings.get("search-placeholder")) autocomplete="off" enterkeyhint="search";
                            button #search-button .primary type="submit" { (strings.get("search-button")) }
                        }
                    }
                    div.layout {
                        (filters::panel(page, strings))
                        main #results .results tabindex="-1" aria-labelledby="result-count" {
                            (results::region(page, strings))
                        }
                    }
                    (tray::tray(page, strings))
                }
                dialog #preview-dialog .preview-dialog aria-labelledby="preview-title" {}
                div #announcer .visually-hidden role="status" aria-live="polite" aria-atomic="true" {}
            }
        }
    }
}
