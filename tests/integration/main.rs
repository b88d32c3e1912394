//! Integration tests: the real server on 127.0.0.1 (port 0), driven over HTTP.

mod common;

mod auth_and_limits;
mod bench_smoke;
mod broker;
mod catalogs;
mod cli;
mod cluster;
mod federation;
mod ingest;
mod lms;
mod lti;
mod operations;
mod picker_browser;
mod replicas;
mod search;
mod sitemap;
