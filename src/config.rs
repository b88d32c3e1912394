//! Typed settings: command-line flags, then environment, then an optional TOML file, then
//! defaults. Read and validated once at start; errors name the setting at fault.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ipnet::IpNet;
use serde::Deserialize;

/// Settings as the command line and environment give them (every one optional).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct SettingsArgs {
    /// Address to listen on [default: 127.0.0.1:8080]
    #[arg(long, env = "GATEWAY_LISTEN")]
    pub listen: Option<String>,
    /// Data folder: index, registry, keys [default: ./index]
    #[arg(long = "data-dir", env = "GATEWAY_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Base of every URL the gateway hands out [default: http://<listen address>]
    #[arg(long = "public-url", env = "GATEWAY_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Admin bearer token; generated into <data>/admin-token when unset
    #[arg(long = "admin-token", env = "GATEWAY_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// Loopback/private addresses or CIDR ranges outbound requests may reach (comma-separated)
    #[arg(long = "allow-networks", env = "GATEWAY_ALLOW_NETWORKS")]
    pub allow_networks: Option<String>,
    /// Deadline of live federated queries in milliseconds [default: 800]
    #[arg(long = "live-deadline-ms", env = "GATEWAY_LIVE_DEADLINE_MS")]
    pub live_deadline_ms: Option<u64>,
    /// Milliseconds a live source that missed the deadline is left alone before it is checked
    /// again in the background (doubling per failed check) [default: 10000]
    #[arg(long = "live-retry-ms", env = "GATEWAY_LIVE_RETRY_MS")]
    pub live_retry_ms: Option<u64>,
    /// Milliseconds a GraphQL query may run before it answers UNAVAILABLE and stops
    /// [default: 10000]
    #[arg(long = "query-deadline-ms", env = "GATEWAY_QUERY_DEADLINE_MS")]
    pub query_deadline_ms: Option<u64>,
    /// Milliseconds a harvest lease lasts unless renewed: how long the sources of a replica
    /// that died wait before another takes them over [default: 30000]
    #[arg(long = "harvest-lease-ms", env = "GATEWAY_HARVEST_LEASE_MS")]
    pub harvest_lease_ms: Option<u64>,
    /// Largest GraphQL request body in bytes [default: 16 MiB]
    #[arg(long = "max-graphql-bytes", env = "GATEWAY_MAX_GRAPHQL_BYTES")]
    pub max_graphql_bytes: Option<usize>,
    /// Largest raw catalog upload in bytes [default: 256 MiB]
    #[arg(long = "max-upload-bytes", env = "GATEWAY_MAX_UPLOAD_BYTES")]
    pub max_upload_bytes: Option<usize>,
    /// Load the bundled sample catalogs into an empty data folder [default: true]
    #[arg(long = "load-samples", env = "GATEWAY_LOAD_SAMPLES")]
    pub load_samples: Option<bool>,
    /// Caps on catalog documents (titles, descriptions, lists, URLs, custom parameters, XML)
    #[command(flatten)]
    pub catalog: CatalogLimitArgs,
    /// Politeness of sitemap harvests
    #[command(flatten)]
    pub sitemap: SitemapArgs,
    /// PostgreSQL for every store, shared by replicas (postgres://user[:password]@host:port/db)
    /// [default: SQLite in the data folder]
    #[arg(long = "database-url", env = "GATEWAY_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Encrypts the signing keys and secrets stored in the database (at least 32 characters,
    /// the same on every replica); required with --database-url
    #[arg(long = "secret-key", env = "GATEWAY_SECRET_KEY", hide_env_values = true)]
    pub secret_key: Option<String>,
    /// Optional TOML file with the same settings (snake_case keys)
    #[arg(long, env = "GATEWAY_CONFIG")]
    pub config: Option<PathBuf>,
}

/// Caps on what one catalog document may make the gateway keep (see `catalog::Limits`).
#[derive(Debug, Clone, Default, clap::Args, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogLimitArgs {
    /// Characters of a title; longer ones are truncated [default: 1000]
    #[arg(long = "max-title-chars", env = "GATEWAY_MAX_TITLE_CHARS")]
    pub max_title_chars: Option<usize>,
    /// Characters of a description or licence statement; longer ones are truncated [default: 20000]
    #[arg(long = "max-description-chars", env = "GATEWAY_MAX_DESCRIPTION_CHARS")]
    pub max_description_chars: Option<usize>,
    /// Values of one list (keywords, subjects, types, standards); the rest are dropped [default: 200]
    #[arg(long = "max-keywords", env = "GATEWAY_MAX_KEYWORDS")]
    pub max_keywords: Option<usize>,
    /// Characters of one keyword, subject or type; longer ones are dropped [default: 200]
    #[arg(long = "max-keyword-chars", env = "GATEWAY_MAX_KEYWORD_CHARS")]
    pub max_keyword_chars: Option<usize>,
    /// Bytes of a URL or identifier; an item with a longer one is rejected [default: 4096]
    #[arg(long = "max-url-bytes", env = "GATEWAY_MAX_URL_BYTES")]
    pub max_url_bytes: Option<usize>,
    /// Custom parameters of one LTI link; an item with more is rejected [default: 100]
    #[arg(long = "max-custom-params", env = "GATEWAY_MAX_CUSTOM_PARAMS")]
    pub max_custom_params: Option<usize>,
    /// Characters of one custom parameter (name and value) [default: 4096]
    #[arg(long = "max-custom-param-chars", env = "GATEWAY_MAX_CUSTOM_PARAM_CHARS")]
    pub max_custom_param_chars: Option<usize>,
    /// Attributes on one XML element; a document with more is refused [default: 256]
    #[arg(long = "max-xml-attributes", env = "GATEWAY_MAX_XML_ATTRIBUTES")]
    pub max_xml_attributes: Option<usize>,
}

/// How politely a sitemap source's pages are fetched.
#[derive(Debug, Clone, Default, clap::Args, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SitemapArgs {
    /// Least milliseconds between two page requests to one site [default: 1000]
    #[arg(long = "sitemap-delay-ms", env = "GATEWAY_SITEMAP_DELAY_MS")]
    pub sitemap_delay_ms: Option<u64>,
    /// Milliseconds one page may take to answer [default: 30000]
    #[arg(long = "sitemap-page-timeout-ms", env = "GATEWAY_SITEMAP_PAGE_TIMEOUT_MS")]
    pub sitemap_page_timeout_ms: Option<u64>,
    /// Pages one harvest run fetches at most; the rest follow in the next runs [default: 10000]
    #[arg(long = "sitemap-max-pages", env = "GATEWAY_SITEMAP_MAX_PAGES")]
    pub sitemap_max_pages: Option<usize>,
}

/// Sitemap harvest politeness, validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SitemapSettings {
    /// Least time between two page requests of one run. The wait also grows with the site's
    /// answer time (twice the last page's), so a slow site is asked less often.
    pub delay: Duration,
    /// Whole-request timeout of one page.
    pub page_timeout: Duration,
    /// Page requests one run makes at most.
    pub max_pages_per_run: usize,
}

impl Default for SitemapSettings {
    fn default() -> Self {
        Self { delay: Duration::from_millis(1000), page_timeout: Duration::from_secs(30), max_pages_per_run: 10_000 }
    }
}

/// The TOML file's shape: the same settings, snake_case, unknown keys refused.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    listen: Option<String>,
    data_dir: Option<PathBuf>,
    public_url: Option<String>,
    admin_token: Option<String>,
    allow_networks: Option<Vec<String>>,
    live_deadline_ms: Option<u64>,
    live_retry_ms: Option<u64>,
    query_deadline_ms: Option<u64>,
    harvest_lease_ms: Option<u64>,
    max_graphql_bytes: Option<usize>,
    max_upload_bytes: Option<usize>,
    load_samples: Option<bool>,
    #[serde(default)]
    catalog: CatalogLimitArgs,
    #[serde(default)]
    sitemap: SitemapArgs,
    database_url: Option<String>,
    secret_key: Option<String>,
}

/// Why the settings could not be used; names the setting.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    ReadFile { path: PathBuf, source: std::io::Error },
    #[error("config file {path}: {message}")]
    ParseFile { path: PathBuf, message: String },
    #[error("{setting}: {message}")]
    Invalid { setting: &'static str, message: String },
    #[error("unknown setting {0} in the environment (a misspelt name would silently fall back to a default); see --help for the settings")]
    UnknownVariable(String),
}

/// Validated settings.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// Without trailing slash. `None` means "http:// + the bound address", known after binding.
    pub public_url: Option<String>,
    pub admin_token: Option<String>,
    pub allow_networks: Vec<IpNet>,
    pub live_deadline: Duration,
    /// First wait before a live source that missed the deadline is checked again.
    pub live_retry_after: Duration,
    /// How long the queries of one GraphQL request may run (mutations run to the end).
    pub query_deadline: Duration,
    /// How long a harvest lease lasts unless renewed.
    pub harvest_lease: Duration,
    pub max_graphql_bytes: usize,
    pub max_upload_bytes: usize,
    pub load_samples: bool,
    /// Caps on catalog documents.
    pub catalog_limits: crate::catalog::Limits,
    pub sitemap: SitemapSettings,
    /// PostgreSQL URL; `None` is the data folder's SQLite.
    pub database_url: Option<String>,
    /// Seals the secrets the registry stores.
    pub secret_key: Option<String>,
}

impl Config {
    /// Defaults everywhere, data in `data_dir`: what tests start from.
    pub fn with_data_dir(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: data_dir.into(),
            public_url: None,
            admin_token: None,
            allow_networks: Vec::new(),
            live_deadline: Duration::from_millis(800),
            live_retry_after: Duration::from_secs(10),
            query_deadline: Duration::from_secs(10),
            harvest_lease: Duration::from_secs(30),
            max_graphql_bytes: 16 * 1024 * 1024,
            max_upload_bytes: 256 * 1024 * 1024,
            load_samples: true,
            catalog_limits: crate::catalog::Limits::default(),
            sitemap: SitemapSettings::default(),
            database_url: None,
            secret_key: None,
        }
    }

    /// Merges flags/environment over the optional file over defaults, and validates.
    pub fn load(args: &SettingsArgs) -> Result<Self, ConfigError> {
        let file = match &args.config {
            Some(path) => read_file(path)?,
            None => FileSettings::default(),
        };
        let mut config =
            Self::with_data_dir(args.data_dir.clone().or(file.data_dir).unwrap_or_else(|| PathBuf::from("./index")));
        if let Some(listen) = args.listen.clone().or(file.listen) {
            config.listen = listen.parse().map_err(|err| ConfigError::Invalid {
                setting: "GATEWAY_LISTEN",
                message: format!("'{listen}' is not an address like 127.0.0.1:8080 ({err})"),
            })?;
        }
        if let Some(public_url) = args.public_url.clone().or(file.public_url) {
            config.public_url = Some(validate_public_url(&public_url)?);
        }
        config.admin_token = args.admin_token.clone().or(file.admin_token).filter(|t| !t.is_empty());
        if let Some(token) = &config.admin_token {
            if token.len() < 16 {
                return Err(ConfigError::Invalid {
                    setting: "GATEWAY_ADMIN_TOKEN",
                    message: "must be at least 16 characters".to_string(),
                });
            }
        }
        let networks: Vec<String> = match (&args.allow_networks, file.allow_networks) {
            (Some(list), _) => list.split(',').map(str::to_string).collect(),
            (None, Some(list)) => list,
            (None, None) => Vec::new(),
        };
        config.allow_networks = parse_networks(&networks)?;
        if let Some(ms) = args.live_deadline_ms.or(file.live_deadline_ms) {
            config.live_deadline = milliseconds(ms, 60_000, "GATEWAY_LIVE_DEADLINE_MS")?;
        }
        if let Some(ms) = args.live_retry_ms.or(file.live_retry_ms) {
            config.live_retry_after = milliseconds(ms, 3_600_000, "GATEWAY_LIVE_RETRY_MS")?;
        }
        if let Some(ms) = args.query_deadline_ms.or(file.query_deadline_ms) {
            config.query_deadline = milliseconds(ms, 600_000, "GATEWAY_QUERY_DEADLINE_MS")?;
        }
        if let Some(ms) = args.harvest_lease_ms.or(file.harvest_lease_ms) {
            config.harvest_lease = milliseconds(ms, 3_600_000, "GATEWAY_HARVEST_LEASE_MS")?;
        }
        if let Some(bytes) = args.max_graphql_bytes.or(file.max_graphql_bytes) {
            config.max_graphql_bytes = positive(bytes, "GATEWAY_MAX_GRAPHQL_BYTES")?;
        }
        if let Some(bytes) = args.max_upload_bytes.or(file.max_upload_bytes) {
            config.max_upload_bytes = positive(bytes, "GATEWAY_MAX_UPLOAD_BYTES")?;
        }
        if let Some(load) = args.load_samples.or(file.load_samples) {
            config.load_samples = load;
        }
        config.catalog_limits = catalog_limits(&args.catalog, &file.catalog)?;
        config.sitemap = sitemap_settings(&args.sitemap, &file.sitemap)?;
        config.database_url = args.database_url.clone().or(file.database_url).filter(|url| !url.is_empty());
        if let Some(url) = &config.database_url {
            if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
                return Err(ConfigError::Invalid {
                    setting: "GATEWAY_DATABASE_URL",
                    message: "must be a PostgreSQL URL like postgres://user:password@host:5432/gateway".to_string(),
                });
            }
        }
        config.secret_key = args.secret_key.clone().or(file.secret_key).filter(|key| !key.is_empty());
        if let Some(key) = &config.secret_key {
            if key.chars().count() < crate::registry::sealing::MIN_SECRET_KEY_CHARS {
                return Err(ConfigError::Invalid {
                    setting: "GATEWAY_SECRET_KEY",
                    message: format!("must be at least {} characters", crate::registry::sealing::MIN_SECRET_KEY_CHARS),
                });
            }
        }
        if config.database_url.is_some() && config.secret_key.is_none() {
            return Err(ConfigError::Invalid {
                setting: "GATEWAY_SECRET_KEY",
                message: "is required with GATEWAY_DATABASE_URL: it encrypts the signing keys and secrets in the database (the same on every replica)".to_string(),
            });
        }
        Ok(config)
    }

    /// The public base URL, defaulting to `http://` + the address actually bound.
    pub fn public_url_for(&self, bound: SocketAddr) -> String {
        self.public_url.clone().unwrap_or_else(|| format!("http://{bound}"))
    }
}

/// Refuses `GATEWAY_*` environment variables that name no setting of `command` (or of its
/// subcommands): a typo must not silently leave a default in force.
pub fn refuse_unknown_environment(command: &clap::Command) -> Result<(), ConfigError> {
    fn collect(command: &clap::Command, known: &mut Vec<String>) {
        for arg in command.get_arguments() {
            if let Some(env) = arg.get_env() {
                known.push(env.to_string_lossy().into_owned());
            }
        }
        for sub in command.get_subcommands() {
            collect(sub, known);
        }
    }
    let mut known = Vec::new();
    collect(command, &mut known);
    let mut unknown: Vec<String> = std::env::vars_os()
        .filter_map(|(name, _)| name.into_string().ok())
        .filter(|name| name.starts_with("GATEWAY_") && !known.contains(name))
        .collect();
    unknown.sort();
    match unknown.is_empty() {
        true => Ok(()),
        false => Err(ConfigError::UnknownVariable(unknown.join(", "))),
    }
}

fn read_file(path: &Path) -> Result<FileSettings, ConfigError> {
    let text =
        std::fs::read_to_string(path).map_err(|source| ConfigError::ReadFile { path: path.to_path_buf(), source })?;
    toml::from_str(&text).map_err(|err| ConfigError::ParseFile { path: path.to_path_buf(), message: err.to_string() })
}

fn validate_public_url(raw: &str) -> Result<String, ConfigError> {
    let parsed = url::Url::parse(raw).map_err(|err| ConfigError::Invalid {
        setting: "GATEWAY_PUBLIC_URL",
        message: format!("'{raw}' is not a URL ({err})"),
    })?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(ConfigError::Invalid {
            setting: "GATEWAY_PUBLIC_URL",
            message: "must be http or https".to_string(),
        });
    }
    Ok(raw.trim_end_matches('/').to_string())
}

fn parse_networks(entries: &[String]) -> Result<Vec<IpNet>, ConfigError> {
    let mut networks = Vec::new();
    for entry in entries.iter().map(|e| e.trim()).filter(|e| !e.is_empty()) {
        let network =
            entry.parse::<IpNet>().or_else(|_| entry.parse::<std::net::IpAddr>().map(IpNet::from)).map_err(|_| {
                ConfigError::Invalid {
                    setting: "GATEWAY_ALLOW_NETWORKS",
                    message: format!("'{entry}' is not an address or CIDR range"),
                }
            })?;
        networks.push(network);
    }
    Ok(networks)
}

/// The catalog caps: flags and environment over the file's `[catalog]` table over defaults.
fn catalog_limits(args: &CatalogLimitArgs, file: &CatalogLimitArgs) -> Result<crate::catalog::Limits, ConfigError> {
    let mut limits = crate::catalog::Limits::default();
    let settings: [(Option<usize>, Option<usize>, &mut usize, &'static str); 8] = [
        (args.max_title_chars, file.max_title_chars, &mut limits.max_title_chars, "GATEWAY_MAX_TITLE_CHARS"),
        (
            args.max_description_chars,
            file.max_description_chars,
            &mut limits.max_description_chars,
            "GATEWAY_MAX_DESCRIPTION_CHARS",
        ),
        (args.max_keywords, file.max_keywords, &mut limits.max_keywords, "GATEWAY_MAX_KEYWORDS"),
        (args.max_keyword_chars, file.max_keyword_chars, &mut limits.max_keyword_chars, "GATEWAY_MAX_KEYWORD_CHARS"),
        (args.max_url_bytes, file.max_url_bytes, &mut limits.max_url_bytes, "GATEWAY_MAX_URL_BYTES"),
        (args.max_custom_params, file.max_custom_params, &mut limits.max_custom_params, "GATEWAY_MAX_CUSTOM_PARAMS"),
        (
            args.max_custom_param_chars,
            file.max_custom_param_chars,
            &mut limits.max_custom_param_chars,
            "GATEWAY_MAX_CUSTOM_PARAM_CHARS",
        ),
        (
            args.max_xml_attributes,
            file.max_xml_attributes,
            &mut limits.max_xml_attributes,
            "GATEWAY_MAX_XML_ATTRIBUTES",
        ),
    ];
    for (flag, from_file, slot, setting) in settings {
        if let Some(value) = flag.or(from_file) {
            *slot = positive(value, setting)?;
        }
    }
    Ok(limits)
}

/// The sitemap politeness: flags and environment over the file's `[sitemap]` table.
fn sitemap_settings(args: &SitemapArgs, file: &SitemapArgs) -> Result<SitemapSettings, ConfigError> {
    let mut settings = SitemapSettings::default();
    if let Some(ms) = args.sitemap_delay_ms.or(file.sitemap_delay_ms) {
        settings.delay = milliseconds(ms, 600_000, "GATEWAY_SITEMAP_DELAY_MS")?;
    }
    if let Some(ms) = args.sitemap_page_timeout_ms.or(file.sitemap_page_timeout_ms) {
        settings.page_timeout = milliseconds(ms, 600_000, "GATEWAY_SITEMAP_PAGE_TIMEOUT_MS")?;
    }
    if let Some(pages) = args.sitemap_max_pages.or(file.sitemap_max_pages) {
        settings.max_pages_per_run = positive(pages, "GATEWAY_SITEMAP_MAX_PAGES")?;
    }
    Ok(settings)
}

/// A duration setting in milliseconds, from 1 to `max`.
fn milliseconds(ms: u64, max: u64, setting: &'static str) -> Result<Duration, ConfigError> {
    if ms == 0 || ms > max {
        return Err(ConfigError::Invalid { setting, message: format!("must be between 1 and {max} (milliseconds)") });
    }
    Ok(Duration::from_millis(ms))
}

fn positive(value: usize, setting: &'static str) -> Result<usize, ConfigError> {
    if value == 0 {
        return Err(ConfigError::Invalid { setting, message: "must be greater than 0".to_string() });
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_flags_win_over_file_and_defaults_apply() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gateway.toml");
        std::fs::write(
            &path,
            "listen = \"127.0.0.1:9000\"\nlive_deadline_ms = 500\nlive_retry_ms = 2500\nallow_networks = [\"127.0.0.1/32\"]\n",
        )
        .unwrap();
        let args = SettingsArgs { listen: Some("127.0.0.1:9100".into()), config: Some(path), ..Default::default() };
        let config = Config::load(&args).unwrap();
        assert_eq!(config.listen.port(), 9100);
        assert_eq!(config.live_deadline, Duration::from_millis(500));
        assert_eq!(config.live_retry_after, Duration::from_millis(2500));
        assert_eq!(config.allow_networks.len(), 1);
        assert_eq!(config.data_dir, PathBuf::from("./index"));
        assert_eq!(config.max_graphql_bytes, 16 * 1024 * 1024);
    }

    #[test]
    fn test_errors_name_the_setting() {
        let args = SettingsArgs { allow_networks: Some("127.0.0.1/32, nonsense".into()), ..Default::default() };
        let err = Config::load(&args).unwrap_err().to_string();
        assert!(err.contains("GATEWAY_ALLOW_NETWORKS") && err.contains("nonsense"), "{err}");
        let args = SettingsArgs { public_url: Some("ftp://x".into()), ..Default::default() };
        assert!(Config::load(&args).unwrap_err().to_string().contains("GATEWAY_PUBLIC_URL"));
        let args = SettingsArgs { live_retry_ms: Some(0), ..Default::default() };
        assert!(Config::load(&args).unwrap_err().to_string().contains("GATEWAY_LIVE_RETRY_MS"));
    }

    #[test]
    fn test_catalog_limits_and_sitemap_settings() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gateway.toml");
        std::fs::write(
            &path,
            "[catalog]\nmax_title_chars = 300\nmax_keywords = 50\n[sitemap]\nsitemap_delay_ms = 250\n",
        )
        .unwrap();
        let args = SettingsArgs {
            config: Some(path),
            catalog: CatalogLimitArgs { max_keywords: Some(20), ..Default::default() },
            ..Default::default()
        };
        let config = Config::load(&args).unwrap();
        assert_eq!(config.catalog_limits.max_title_chars, 300);
        assert_eq!(config.catalog_limits.max_keywords, 20, "the flag wins");
        assert_eq!(config.catalog_limits.max_url_bytes, crate::catalog::Limits::default().max_url_bytes);
        assert_eq!(config.sitemap.delay, Duration::from_millis(250));
        let zero = SettingsArgs {
            catalog: CatalogLimitArgs { max_xml_attributes: Some(0), ..Default::default() },
            ..Default::default()
        };
        assert!(Config::load(&zero).unwrap_err().to_string().contains("GATEWAY_MAX_XML_ATTRIBUTES"));
    }

    #[test]
    fn test_a_database_url_needs_a_long_enough_secret_key() {
        let url = Some("postgres://gw:pw@127.0.0.1:5432/gateway".to_string());
        let args = SettingsArgs { database_url: url.clone(), ..Default::default() };
        let err = Config::load(&args).unwrap_err().to_string();
        assert!(err.contains("GATEWAY_SECRET_KEY") && err.contains("required"), "{err}");
        let args = SettingsArgs { database_url: url.clone(), secret_key: Some("short".into()), ..Default::default() };
        assert!(Config::load(&args).unwrap_err().to_string().contains("at least 32"));
        let args = SettingsArgs { database_url: Some("mysql://x/y".into()), ..Default::default() };
        assert!(Config::load(&args).unwrap_err().to_string().contains("GATEWAY_DATABASE_URL"));
        let key = "k".repeat(32);
        let args = SettingsArgs { database_url: url.clone(), secret_key: Some(key.clone()), ..Default::default() };
        let config = Config::load(&args).unwrap();
        assert_eq!((config.database_url, config.secret_key), (url, Some(key)));
    }

    #[test]
    fn test_unknown_environment_variables_are_named() {
        #[derive(clap::Parser)]
        struct Probe {
            #[command(flatten)]
            settings: SettingsArgs,
        }
        let command = <Probe as clap::CommandFactory>::command();
        // The test process's own environment has no GATEWAY_* typo, so this name is the only one.
        std::env::set_var("GATEWAY_LISTN_PROBE", "127.0.0.1:1");
        let err = refuse_unknown_environment(&command).unwrap_err().to_string();
        std::env::remove_var("GATEWAY_LISTN_PROBE");
        assert!(err.contains("GATEWAY_LISTN_PROBE"), "{err}");
        assert!(!err.contains("GATEWAY_LISTEN,"), "known settings are not named: {err}");
    }

    #[test]
    fn test_unknown_file_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gateway.toml");
        std::fs::write(&path, "listn = \"127.0.0.1:9000\"\n").unwrap();
        let args = SettingsArgs { config: Some(path), ..Default::default() };
        assert!(Config::load(&args).unwrap_err().to_string().contains("listn"));
    }
}
