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
    /// Optional TOML file with the same settings (snake_case keys)
    #[arg(long, env = "GATEWAY_CONFIG")]
    pub config: Option<PathBuf>,
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
    harvest_lease_ms: Option<u64>,
    max_graphql_bytes: Option<usize>,
    max_upload_bytes: Option<usize>,
    load_samples: Option<bool>,
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
    /// How long a harvest lease lasts unless renewed.
    pub harvest_lease: Duration,
    pub max_graphql_bytes: usize,
    pub max_upload_bytes: usize,
    pub load_samples: bool,
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
            harvest_lease: Duration::from_secs(30),
            max_graphql_bytes: 16 * 1024 * 1024,
            max_upload_bytes: 256 * 1024 * 1024,
            load_samples: true,
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
        Ok(config)
    }

    /// The public base URL, defaulting to `http://` + the address actually bound.
    pub fn public_url_for(&self, bound: SocketAddr) -> String {
        self.public_url.clone().unwrap_or_else(|| format!("http://{bound}"))
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
    fn test_unknown_file_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gateway.toml");
        std::fs::write(&path, "listn = \"127.0.0.1:9000\"\n").unwrap();
        let args = SettingsArgs { config: Some(path), ..Default::default() };
        assert!(Config::load(&args).unwrap_err().to_string().contains("listn"));
    }
}
