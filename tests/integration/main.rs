//! Integration tests: the real server on 127.0.0.1 (port 0), driven over HTTP.

mod common;

mod auth_and_limits;
mod cli;
mod federation;
mod ingest;
mod operations;
mod search;
