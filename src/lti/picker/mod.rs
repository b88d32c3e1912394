//! The teacher's picker, server-rendered and usable without script; a small script served by
//! the gateway enhances it (results update in place, details in a dialog, the tray follows
//! ticks). Modules:
//!
//! - [`params`]: what a request asks (search, filters, page, ticked resources, buttons);
//! - [`start`]: the first screen's starting query and grade from the launch;
//! - [`compose`]: one page from a launch and its parameters, through a [`source::PickerSource`]
//!   ([`catalog::PickerCatalog`] over the search service in the gateway);
//! - [`view`]: what a page shows, in domain terms;
//! - [`page`], [`filters`], [`results`], [`preview`], [`tray`], [`icons`]: the HTML;
//! - [`i18n`], [`labels`]: the strings, one Fluent catalog per language in `locales/`;
//! - [`assets`]: the stylesheet and script; [`forms`]: the form-post and refusal pages.

pub mod assets;
pub mod catalog;
pub mod compose;
pub mod filters;
pub mod forms;
pub mod i18n;
pub mod icons;
pub mod labels;
pub mod page;
pub mod params;
pub mod preview;
pub mod results;
pub mod source;
pub mod start;
pub mod tray;
pub mod view;

pub use forms::{auto_post_page, error_page, form_post_page, registration_error_page, shell};
pub use i18n::Strings;
pub use page::picker_page;
pub use params::PickerParams;
pub use source::PickerSource;
