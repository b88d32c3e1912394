//! Integration tests: the real server on 127.0.0.1 (port 0), driven over HTTP.

mod common;

mod auth_and_limits;
mod bench_smoke;
mod broker;
mod catalogs;
mod cli;
mod cluster;
mod federation;
mod graphiql_browser;
mod graphql_limits;
mod hardening;
mod ingest;
mod lms;
mod lms_shapes;
mod login_flood;
mod lti;
mod operations;
mod picker;
mod picker_browser;
mod registration;
mod relevance;
mod replicas;
mod routes;
mod search;
mod sitemap;
