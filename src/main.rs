//! The `resource-gateway` command line: parses arguments and calls the library.

use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use resource_gateway::app::open_registry;
use resource_gateway::auth::Principal;
use resource_gateway::config::{Config, SettingsArgs};
use resource_gateway::ingest::{IngestOptions, IngestStatus};
use resource_gateway::publishers::prepare_publisher;
use resource_gateway::App;
use std::sync::Arc;

use resource_gateway::lti::broker::tools::ToolInput;
use resource_gateway::lti::keys::ToolKeys;
use resource_gateway::lti::platform::PlatformInput;
use resource_gateway::lti::Lti;
use resource_gateway::outbound::Outbound;
use resource_gateway::registry::{Registry, SqlRegistry};
use resource_gateway::resource::{CatalogFormat, PublisherId};
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(
    name = "resource-gateway",
    version,
    about = "Federated search of learning-resource catalogs, served as GraphQL and LTI deep links"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the gateway (HTTP, GraphQL, LTI)
    Serve {
        #[command(flatten)]
        settings: SettingsArgs,
        /// Log as JSON lines instead of text
        #[arg(long, env = "GATEWAY_LOG_JSON")]
        log_json: bool,
    },
    /// Ingest a catalog file for a publisher (run with the gateway stopped; while it runs,
    /// upload with POST /publishers/{id}/catalog instead)
    Ingest {
        #[command(flatten)]
        settings: SettingsArgs,
        /// Publisher id
        #[arg(long)]
        publisher: String,
        /// common_cartridge, resource_search, lrmi, oai_pmh or sitemap (one HTML page)
        #[arg(long)]
        format: String,
        /// Catalog source to replace or merge into [default: push-<format>]
        #[arg(long)]
        source: Option<String>,
        /// The catalog file (.xml, .imscc, .json, .jsonld)
        file: PathBuf,
    },
    /// Manage publishers
    Publisher {
        #[command(subcommand)]
        command: PublisherCommand,
    },
    /// Manage LMS platform registrations (LTI 1.3)
    Platform {
        #[command(subcommand)]
        command: PlatformCommand,
    },
    /// Manage publishers' LTI tools (the gateway launches them as their platform)
    Tool {
        #[command(subcommand)]
        command: ToolCommand,
    },
    /// Manage the gateway's LTI signing keys
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Print the GraphQL schema (SDL) that schema.graphql must equal
    PrintSchema,
}

#[derive(Subcommand)]
enum PlatformCommand {
    /// Register an LMS (or update the one with the same issuer and client id)
    Add {
        #[command(flatten)]
        settings: SettingsArgs,
        /// The platform's issuer (iss), e.g. https://canvas.instructure.com
        #[arg(long)]
        issuer: String,
        /// The client id the LMS gave the gateway
        #[arg(long = "client-id")]
        client_id: String,
        /// A deployment id (repeat for several)
        #[arg(long = "deployment-id", required = true)]
        deployment_ids: Vec<String>,
        /// The platform's OIDC authorization endpoint
        #[arg(long = "auth-url")]
        auth_url: String,
        /// The platform's public keys (JWKS) URL
        #[arg(long = "jwks-url")]
        jwks_url: String,
        /// The platform's OAuth 2 token endpoint (for grade passback)
        #[arg(long = "token-url")]
        token_url: Option<String>,
        /// A display name
        #[arg(long)]
        name: Option<String>,
    },
    /// Print a single-use LTI Dynamic Registration link to paste into the LMS ("add tool by
    /// URL"); works while the gateway runs
    RegisterLink {
        #[command(flatten)]
        settings: SettingsArgs,
        /// A display name for the LMS [default: its product name and version]
        #[arg(long)]
        name: Option<String>,
        /// Ask the LMS for users' names and email (for publishers' tools allowed to receive them)
        #[arg(long = "personal-data")]
        personal_data: bool,
        /// Hours until the link expires
        #[arg(long, default_value_t = resource_gateway::lti::registration::DEFAULT_LINK_HOURS)]
        hours: i64,
    },
}

#[derive(Subcommand)]
enum ToolCommand {
    /// Register a publisher's LTI tool (or update the one with the same client id)
    Add {
        #[command(flatten)]
        settings: SettingsArgs,
        /// The publisher the tool belongs to
        #[arg(long)]
        publisher: String,
        /// The tool's OIDC login initiation URL
        #[arg(long = "login-url")]
        login_url: String,
        /// The tool's launch (target link) URL
        #[arg(long = "launch-url")]
        launch_url: String,
        /// A redirect URI the tool uses (repeat for several) [default: the launch URL]
        #[arg(long = "redirect-uri")]
        redirect_uris: Vec<String>,
        /// The client id the tool issued to the gateway
        #[arg(long = "client-id")]
        client_id: String,
        /// The deployment id the tool issued to the gateway
        #[arg(long = "deployment-id")]
        deployment_id: String,
        /// The tool's public keys (JWKS) URL
        #[arg(long = "jwks-url")]
        jwks_url: String,
        /// Let name, email and picture reach the tool
        #[arg(long = "share-personal-data")]
        share_personal_data: bool,
        #[arg(long)]
        name: Option<String>,
    },
    /// Start an LTI Dynamic Registration of a publisher's tool: prints the registration token,
    /// the gateway's configuration URL and, with --url, the URL that lets the tool register
    RegisterLink {
        #[command(flatten)]
        settings: SettingsArgs,
        /// The publisher the tool belongs to
        #[arg(long)]
        publisher: String,
        /// The tool's Dynamic Registration (initiation) URL
        #[arg(long)]
        url: Option<String>,
        /// A name for the tool, when it sends none
        #[arg(long)]
        name: Option<String>,
        /// Let name, email and picture reach the tool
        #[arg(long = "share-personal-data")]
        share_personal_data: bool,
        /// Hours until the token expires
        #[arg(long, default_value_t = resource_gateway::lti::registration::DEFAULT_LINK_HOURS)]
        hours: i64,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Make a new signing key current; the previous one stays published for the grace period
    Rotate {
        #[command(flatten)]
        settings: SettingsArgs,
        /// Days the previous key stays in the JWKS
        #[arg(long = "grace-days", default_value_t = resource_gateway::lti::keys::DEFAULT_GRACE_DAYS)]
        grace_days: i64,
    },
}

#[derive(Subcommand)]
enum PublisherCommand {
    /// Register a publisher and print its key (shown once)
    Add {
        #[command(flatten)]
        settings: SettingsArgs,
        /// Display name, e.g. "MathWise Learning"
        name: String,
        /// Slug id [default: derived from the name]
        #[arg(long)]
        id: Option<String>,
        #[arg(long)]
        homepage: Option<String>,
    },
    /// Remove a publisher with its key, sources, tools, history, resources and files (the
    /// gateway must not be serving the data folder; the `removePublisher` mutation does it live)
    Remove {
        #[command(flatten)]
        settings: SettingsArgs,
        /// Publisher id
        id: String,
    },
}

fn init_logging(json: bool) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,tantivy=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    resource_gateway::config::refuse_unknown_environment(&<Cli as clap::CommandFactory>::command())?;
    match cli.command {
        Command::PrintSchema => {
            print!("{}", resource_gateway::graphql::sdl());
            Ok(())
        }
        Command::Serve { settings, log_json } => {
            init_logging(log_json);
            let config = Config::load(&settings)?;
            runtime()?.block_on(serve(config))
        }
        Command::Ingest { settings, publisher, format, source, file } => {
            init_logging(false);
            let config = Config::load(&settings)?;
            runtime()?.block_on(ingest(config, publisher, format, source, file))
        }
        Command::Platform {
            command:
                PlatformCommand::Add { settings, issuer, client_id, deployment_ids, auth_url, jwks_url, token_url, name },
        } => {
            init_logging(false);
            let config = Config::load(&settings)?;
            let input = PlatformInput {
                issuer,
                client_id,
                deployment_ids,
                auth_login_url: auth_url,
                jwks_url,
                token_url,
                name,
            };
            runtime()?.block_on(add_platform(config, input))
        }
        Command::Platform { command: PlatformCommand::RegisterLink { settings, name, personal_data, hours } } => {
            init_logging(false);
            let config = Config::load(&settings)?;
            runtime()?.block_on(platform_register_link(config, name, personal_data, hours))
        }
        Command::Tool {
            command: ToolCommand::RegisterLink { settings, publisher, url, name, share_personal_data, hours },
        } => {
            init_logging(false);
            let config = Config::load(&settings)?;
            runtime()?.block_on(tool_register_link(config, publisher, url, name, share_personal_data, hours))
        }
        Command::Tool {
            command:
                ToolCommand::Add {
                    settings,
                    publisher,
                    login_url,
                    launch_url,
                    redirect_uris,
                    client_id,
                    deployment_id,
                    jwks_url,
                    share_personal_data,
                    name,
                },
        } => {
            init_logging(false);
            let config = Config::load(&settings)?;
            let input = ToolInput {
                name,
                login_url,
                launch_url,
                redirect_uris,
                client_id,
                deployment_id,
                jwks_url,
                share_personal_data,
            };
            runtime()?.block_on(add_tool(config, publisher, input))
        }
        Command::Keys { command: KeysCommand::Rotate { settings, grace_days } } => {
            init_logging(false);
            let config = Config::load(&settings)?;
            runtime()?.block_on(rotate_keys(config, grace_days))
        }
        Command::Publisher { command: PublisherCommand::Add { settings, name, id, homepage } } => {
            init_logging(false);
            let config = Config::load(&settings)?;
            runtime()?.block_on(add_publisher(config, name, id, homepage))
        }
        Command::Publisher { command: PublisherCommand::Remove { settings, id } } => {
            init_logging(false);
            let config = Config::load(&settings)?;
            runtime()?.block_on(remove_publisher(config, id))
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime")
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down");
    };
    resource_gateway::serve(config, listener, shutdown).await?;
    Ok(())
}

/// Opens the data folder the way `serve` does, for one-shot commands.
async fn open(config: Config) -> anyhow::Result<std::sync::Arc<App>> {
    let public_url = config.public_url_for(config.listen);
    Ok(App::open(config, public_url).await?)
}

async fn ingest(
    config: Config,
    publisher: String,
    format: String,
    source: Option<String>,
    file: PathBuf,
) -> anyhow::Result<()> {
    let Some(format) = CatalogFormat::parse(&format) else {
        bail!("unknown format '{format}': use common_cartridge, resource_search, lrmi, oai_pmh or sitemap");
    };
    let publisher = PublisherId::parse(&publisher)?;
    let document = read_with_progress(&file)?;
    let gateway = open(config).await?;
    let spinner =
        indicatif::ProgressBar::new_spinner().with_message(format!("parsing and indexing {}", file.display()));
    spinner.enable_steady_tick(std::time::Duration::from_millis(120));
    let options = IngestOptions { source, mode: None };
    let report = gateway.ingest.ingest(&Principal::Admin, &publisher, format, document, options).await;
    gateway.close().await;
    spinner.finish_and_clear();
    let report = report.map_err(|err| anyhow::anyhow!("{}", err.message))?;
    println!(
        "{}: {} added, {} updated, {} removed, {} rejected (source {})",
        report.status.as_str(),
        report.added,
        report.updated,
        report.removed,
        report.rejected,
        report.source_id
    );
    for diagnostic in &report.diagnostics {
        let item = diagnostic.item.as_deref().map(|i| format!("{i}: ")).unwrap_or_default();
        println!("  {:?} {item}{}", diagnostic.severity, diagnostic.message);
    }
    if report.status == IngestStatus::Failed {
        bail!("the catalog was refused; nothing changed");
    }
    Ok(())
}

async fn remove_publisher(config: Config, id: String) -> anyhow::Result<()> {
    let publisher = PublisherId::parse(&id)?;
    let gateway = open(config).await?;
    let removal = gateway
        .ingest
        .remove_publisher(&Principal::Admin, &publisher)
        .await
        .map_err(|err| anyhow::anyhow!("{}", err.message))?;
    gateway.close().await;
    println!(
        "removed publisher '{}': {} resources, {} catalog sources, {} LTI tools",
        removal.publisher, removal.removed, removal.sources, removal.tools
    );
    Ok(())
}

/// Reads a catalog file with a progress bar (catalogs can be hundreds of megabytes).
fn read_with_progress(path: &std::path::Path) -> anyhow::Result<Vec<u8>> {
    use std::io::Read;
    let file = std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let bar = indicatif::ProgressBar::new(size);
    bar.set_style(
        indicatif::ProgressStyle::with_template("reading {bytes}/{total_bytes} [{bar:30}] {eta}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let mut document = Vec::with_capacity(size as usize);
    bar.wrap_read(file).read_to_end(&mut document).with_context(|| format!("cannot read {}", path.display()))?;
    bar.finish_and_clear();
    Ok(document)
}

async fn add_publisher(
    config: Config,
    name: String,
    id: Option<String>,
    homepage: Option<String>,
) -> anyhow::Result<()> {
    // Only the registry: this works while a gateway serves the same data folder.
    let (publisher, key, hash) = prepare_publisher(&name, id.as_deref(), homepage.as_deref())
        .map_err(|err| anyhow::anyhow!("{}", err.message))?;
    let registry = open_registry(&config).await?;
    registry.insert_publisher(&publisher, Some(&hash)).await?;
    println!("registered publisher '{}' ({})", publisher.id, publisher.name);
    println!("key (shown once, keep it safe): {key}");
    Ok(())
}

/// The LTI service over the registry and keys only: works while a gateway serves the folder.
async fn offline_lti(config: &Config) -> anyhow::Result<(Arc<SqlRegistry>, Lti)> {
    let registry = Arc::new(open_registry(config).await?);
    let keys = ToolKeys::open(registry.clone(), &config.data_dir).await?;
    let outbound = Outbound::new(config.allow_networks.clone())?;
    let lti = Lti::new(registry.clone(), keys, outbound, config.public_url_for(config.listen));
    Ok((registry, lti))
}

/// Rotates the signing keys in the registry (the shared database with `--database-url`):
/// every replica signs with the new key within seconds.
async fn rotate_keys(config: Config, grace_days: i64) -> anyhow::Result<()> {
    let registry = Arc::new(open_registry(&config).await?);
    let keys = ToolKeys::open(registry.clone(), &config.data_dir).await?;
    let kid = keys.rotate(chrono::Duration::days(grace_days)).await?;
    registry.close().await;
    println!("new signing key {kid}; the previous key stays published for {grace_days} days");
    Ok(())
}

async fn add_platform(config: Config, input: PlatformInput) -> anyhow::Result<()> {
    let (_, lti) = offline_lti(&config).await?;
    let platform = lti.register_platform(input).await?;
    println!("registered platform {} (issuer {}, client id {})", platform.id, platform.issuer, platform.client_id);
    println!("In the LMS, register the tool with:");
    println!("  OIDC login initiation URL: {}", lti.login_url());
    println!("  target link URI / redirect URI: {}", lti.launch_url());
    println!("  public keys (JWKS) URL: {}", lti.jwks_url());
    Ok(())
}

async fn add_tool(config: Config, publisher: String, input: ToolInput) -> anyhow::Result<()> {
    let publisher = PublisherId::parse(&publisher)?;
    let (registry, lti) = offline_lti(&config).await?;
    if registry.publisher(&publisher).await?.is_none() {
        bail!("no publisher '{publisher}': add it first with `publisher add`");
    }
    let tool = lti.register_tool(&publisher, input).await?;
    println!("registered tool {} for publisher '{}'", tool.id, tool.publisher);
    println!("In the publisher's tool, register the gateway as a platform with:");
    println!("  issuer: {}", lti.platform_issuer());
    println!("  OIDC authorization URL: {}", lti.platform_auth_url());
    println!("  token URL: {}", lti.platform_token_url());
    println!("  public keys (JWKS) URL: {}", lti.jwks_url());
    Ok(())
}

async fn platform_register_link(
    config: Config,
    name: Option<String>,
    personal_data: bool,
    hours: i64,
) -> anyhow::Result<()> {
    let (_, lti) = offline_lti(&config).await?;
    let link = lti.create_registration_link(name, personal_data, chrono::Duration::hours(hours)).await?;
    println!("{}", link.url);
    eprintln!(
        "Paste this URL into the LMS (Moodle: Manage tools → Tool URL → Add LTI Advantage). It works once, until {}.",
        link.expires_at.to_rfc3339()
    );
    Ok(())
}

async fn tool_register_link(
    config: Config,
    publisher: String,
    url: Option<String>,
    name: Option<String>,
    share_personal_data: bool,
    hours: i64,
) -> anyhow::Result<()> {
    let publisher = PublisherId::parse(&publisher)?;
    let (registry, lti) = offline_lti(&config).await?;
    if registry.publisher(&publisher).await?.is_none() {
        bail!("no publisher '{publisher}': add it first with `publisher add`");
    }
    let link = lti
        .create_tool_registration(&publisher, name, share_personal_data, url.as_deref(), chrono::Duration::hours(hours))
        .await?;
    if let Some(url) = &link.url {
        println!("{url}");
        eprintln!("Open this URL in a browser: the tool registers itself with the gateway.");
    }
    println!("openid_configuration: {}", link.openid_configuration);
    println!("registration_token: {}", link.registration_token);
    eprintln!("The token works once, until {}.", link.expires_at.to_rfc3339());
    Ok(())
}
