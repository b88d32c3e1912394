//! LTI 1.3: deep-linking content items (and, as it grows, login, launch and keys).

pub mod content_item;
