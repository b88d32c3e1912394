//! Prometheus metrics, served at `/metrics` in the text format.

use prometheus::{Encoder, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts, Registry, TextEncoder};

/// The gateway's metrics, registered once.
pub struct Metrics {
    registry: Registry,
    pub http_requests: IntCounterVec,
    pub search_seconds: Histogram,
    /// Searches the index started (counted when one starts, so also those whose caller has
    /// gone away meanwhile).
    pub searches: IntCounter,
    pub ingests: IntCounterVec,
    pub indexed_resources: IntGauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        let http_requests = IntCounterVec::new(
            Opts::new("gateway_http_requests_total", "HTTP requests by route and status class"),
            &["route", "status"],
        )
        .expect("static metric definition");
        let search_seconds = Histogram::with_opts(
            HistogramOpts::new("gateway_search_seconds", "Time spent in the index per search")
                .buckets(vec![0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0]),
        )
        .expect("static metric definition");
        let searches =
            IntCounter::new("gateway_searches_total", "Searches the index started").expect("static metric definition");
        let ingests = IntCounterVec::new(Opts::new("gateway_ingests_total", "Catalog ingests by outcome"), &["status"])
            .expect("static metric definition");
        let indexed_resources = IntGauge::new("gateway_indexed_resources", "Resources currently searchable")
            .expect("static metric definition");
        for collector in [
            Box::new(http_requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(search_seconds.clone()),
            Box::new(searches.clone()),
            Box::new(ingests.clone()),
            Box::new(indexed_resources.clone()),
        ] {
            registry.register(collector).expect("metric names are unique");
        }
        Self { registry, http_requests, search_seconds, searches, ingests, indexed_resources }
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut buffer = Vec::new();
        if TextEncoder::new().encode(&self.registry.gather(), &mut buffer).is_err() {
            return String::new();
        }
        String::from_utf8(buffer).unwrap_or_default()
    }
}
