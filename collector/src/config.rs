//! Command-line options, environment variables and the optional TOML
//! config file, resolved into one [`Config`].
//!
//! Precedence: command-line flag > environment variable > config file >
//! built-in default.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::builder::BoolishValueParser;
use clap::{Parser, ValueEnum};
use serde::Deserialize;

use crate::limit::Rate;
use crate::retention::{Retention, DEFAULT_RETENTION_DAYS, MAX_RETENTION_DAYS};
use crate::validate::is_site_id;

pub const DEFAULT_BIND: &str = "127.0.0.1:8080";
pub const DEFAULT_PORT: u16 = 8080;
pub const DEFAULT_DB: &str = "attune-collector.sqlite";
pub const DEFAULT_CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; \
base-uri 'none'; frame-ancestors 'none'; require-trusted-types-for 'script'; \
trusted-types 'none'";
/// Default sustained batches per second per site id.
pub const DEFAULT_RATE_PER_SITE: f64 = 1000.0;
/// Default sustained batches per second per device (client IP address).
pub const DEFAULT_RATE_PER_DEVICE: f64 = 20.0;
/// Default seconds between two runs of the retention job.
pub const DEFAULT_RETENTION_INTERVAL_SECS: u64 = 3600;

/// How log lines are written to stderr.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// Command-line interface. Every option can also come from an environment
/// variable or the `--config` file.
#[derive(Debug, Default, Parser)]
#[command(
    name = "attune-collector",
    version,
    about = "Reference ingestion server for the Attune SDK (POST /v1/batch → SQLite)."
)]
pub struct Cli {
    /// TOML file with any of the options below (keys: bind, port, db,
    /// static-dir, csp, site-ids, allowed-origins, test-api, rate-per-site,
    /// burst-per-site, rate-per-device, burst-per-device,
    /// trust-forwarded-for, log-format, site-config, default-retention-days,
    /// retention-interval).
    #[arg(long, env = "ATTUNE_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Address to listen on, `IP:PORT` or just `IP` [default: 127.0.0.1:8080].
    #[arg(long, env = "ATTUNE_BIND", value_name = "ADDR")]
    pub bind: Option<String>,

    /// Port to listen on, overriding the port of --bind (0 = pick a free port).
    #[arg(long, env = "ATTUNE_PORT")]
    pub port: Option<u16>,

    /// SQLite database file (`:memory:` for a throw-away database)
    /// [default: attune-collector.sqlite].
    #[arg(long, env = "ATTUNE_DB", value_name = "PATH")]
    pub db: Option<PathBuf>,

    /// Directory of static files to serve at `/`.
    #[arg(long, env = "ATTUNE_STATIC_DIR", value_name = "DIR")]
    pub static_dir: Option<PathBuf>,

    /// Content-Security-Policy sent with every static file
    /// [default: a strict policy, see docs/collector.md].
    #[arg(long, env = "ATTUNE_CSP", value_name = "POLICY")]
    pub csp: Option<String>,

    /// Allowed site id (repeat, or comma-separate). None: any valid siteId.
    #[arg(long = "site-id", env = "ATTUNE_SITE_IDS", value_name = "ID", value_delimiter = ',')]
    pub site_ids: Vec<String>,

    /// Origin allowed to call /v1/batch cross-origin, e.g.
    /// `https://shop.example` (repeat, or comma-separate).
    #[arg(long = "allowed-origin", env = "ATTUNE_ALLOWED_ORIGINS", value_name = "ORIGIN", value_delimiter = ',')]
    pub allowed_origins: Vec<String>,

    /// Enable the /__test/* endpoints (for end-to-end tests only).
    #[arg(
        long,
        env = "ATTUNE_TEST_API",
        value_name = "BOOL",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true",
        value_parser = BoolishValueParser::new()
    )]
    pub test_api: Option<bool>,

    /// Batches per second each site id may send (0 = no limit) [default: 1000].
    #[arg(long, env = "ATTUNE_RATE_PER_SITE", value_name = "BATCHES_PER_S")]
    pub rate_per_site: Option<f64>,

    /// Batches a site id may send at once above its rate [default: 2 × rate].
    #[arg(long, env = "ATTUNE_BURST_PER_SITE", value_name = "BATCHES")]
    pub burst_per_site: Option<u32>,

    /// Batches per second each device (client IP) may send (0 = no limit) [default: 20].
    #[arg(long, env = "ATTUNE_RATE_PER_DEVICE", value_name = "BATCHES_PER_S")]
    pub rate_per_device: Option<f64>,

    /// Batches a device may send at once above its rate [default: 2 × rate].
    #[arg(long, env = "ATTUNE_BURST_PER_DEVICE", value_name = "BATCHES")]
    pub burst_per_device: Option<u32>,

    /// Take the device's IP from the last X-Forwarded-For entry (only behind
    /// a reverse proxy that sets it).
    #[arg(
        long,
        env = "ATTUNE_TRUST_FORWARDED_FOR",
        value_name = "BOOL",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true",
        value_parser = BoolishValueParser::new()
    )]
    pub trust_forwarded_for: Option<bool>,

    /// Log line format on stderr [default: text].
    #[arg(long, env = "ATTUNE_LOG_FORMAT", value_name = "FORMAT")]
    pub log_format: Option<LogFormat>,

    /// The site's SDK config (JSON, the file the SDK is given); each
    /// `collect.<purpose>.retentionDays` sets how long that purpose's events are kept.
    #[arg(long, env = "ATTUNE_SITE_CONFIG", value_name = "FILE")]
    pub site_config: Option<PathBuf>,

    /// Days to keep events of purposes the site config does not declare
    /// (all purposes without --site-config) [default: 30].
    #[arg(long, env = "ATTUNE_DEFAULT_RETENTION_DAYS", value_name = "DAYS")]
    pub default_retention_days: Option<u32>,

    /// Seconds between runs of the retention job (it also runs at start-up;
    /// 0 = only then) [default: 3600].
    #[arg(long, env = "ATTUNE_RETENTION_INTERVAL", value_name = "SECS")]
    pub retention_interval: Option<u64>,
}

/// The config file: the same options as the command line.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FileConfig {
    pub bind: Option<String>,
    pub port: Option<u16>,
    pub db: Option<PathBuf>,
    pub static_dir: Option<PathBuf>,
    pub csp: Option<String>,
    #[serde(default)]
    pub site_ids: Vec<String>,
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    pub test_api: Option<bool>,
    pub rate_per_site: Option<f64>,
    pub burst_per_site: Option<u32>,
    pub rate_per_device: Option<f64>,
    pub burst_per_device: Option<u32>,
    pub trust_forwarded_for: Option<bool>,
    pub log_format: Option<LogFormat>,
    pub site_config: Option<PathBuf>,
    pub default_retention_days: Option<u32>,
    pub retention_interval: Option<u64>,
}

/// Fully resolved settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub bind: SocketAddr,
    pub db: PathBuf,
    pub static_dir: Option<PathBuf>,
    pub csp: String,
    /// Empty: any syntactically valid siteId is accepted.
    pub site_ids: Vec<String>,
    /// Normalised `scheme://host[:port]`, lowercase.
    pub allowed_origins: Vec<String>,
    pub test_api: bool,
    /// `None`: no per-site limit.
    pub rate_per_site: Option<Rate>,
    /// `None`: no per-device limit.
    pub rate_per_device: Option<Rate>,
    /// Take the device address from `X-Forwarded-For` instead of the socket.
    pub trust_forwarded_for: bool,
    pub log_format: LogFormat,
    /// The site config the retention periods were read from, if any.
    pub site_config: Option<PathBuf>,
    /// How long events are kept, per purpose.
    pub retention: Retention,
    /// Time between runs of the retention job; `None`: only at start-up.
    pub retention_interval: Option<Duration>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            bind: DEFAULT_BIND.parse().expect("default bind address parses"),
            db: PathBuf::from(DEFAULT_DB),
            static_dir: None,
            csp: DEFAULT_CSP.to_owned(),
            site_ids: Vec::new(),
            allowed_origins: Vec::new(),
            test_api: false,
            rate_per_site: Some(default_rate(DEFAULT_RATE_PER_SITE)),
            rate_per_device: Some(default_rate(DEFAULT_RATE_PER_DEVICE)),
            trust_forwarded_for: false,
            log_format: LogFormat::Text,
            site_config: None,
            retention: Retention::default(),
            retention_interval: Some(Duration::from_secs(DEFAULT_RETENTION_INTERVAL_SECS)),
        }
    }
}

fn default_rate(per_second: f64) -> Rate {
    Rate { per_second, burst: default_burst(per_second) }
}

/// Twice the rate, at least 1.
fn default_burst(per_second: f64) -> u32 {
    (per_second * 2.0).ceil().clamp(1.0, f64::from(u32::MAX)) as u32
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("invalid config file {path}: {source}")]
    Parse { path: PathBuf, source: Box<toml::de::Error> },
    #[error("invalid bind address {0:?}: expected IP:PORT or IP, e.g. 127.0.0.1:8080")]
    Bind(String),
    #[error("invalid site id {0:?}: expected 1-64 characters from [A-Za-z0-9_-]")]
    SiteId(String),
    #[error("invalid allowed origin {0:?}: expected scheme://host[:port], e.g. https://shop.example")]
    Origin(String),
    #[error("invalid CSP {0:?}: not a valid header value")]
    Csp(String),
    #[error("invalid {option} {value}: expected a finite number of batches per second ≥ 0 (0 = no limit)")]
    Rate { option: &'static str, value: f64 },
    #[error("invalid {option} 0: expected at least 1 batch")]
    Burst { option: &'static str },
    #[error("cannot read site config {path}: {source}")]
    SiteConfigRead { path: PathBuf, source: std::io::Error },
    #[error("invalid site config {path}: {source}")]
    SiteConfig { path: PathBuf, source: attune_core::ConfigError },
    #[error("invalid default-retention-days {0}: expected 1-{MAX_RETENTION_DAYS} days")]
    RetentionDays(u32),
}

impl Config {
    /// Parses the process's arguments and environment, reads the config
    /// file if one is named, and resolves everything.
    pub fn load() -> Result<Self, ConfigError> {
        Self::from_cli(Cli::parse())
    }

    /// Resolves already-parsed command-line/environment options, reading
    /// the config file they name, if any.
    pub fn from_cli(cli: Cli) -> Result<Self, ConfigError> {
        let file = match &cli.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        Self::resolve(cli, file)
    }

    /// Merges command line/environment over the file over the defaults.
    pub fn resolve(cli: Cli, file: FileConfig) -> Result<Self, ConfigError> {
        let bind_text = cli.bind.or(file.bind);
        let mut bind = match &bind_text {
            Some(text) => parse_bind(text)?,
            None => Config::default().bind,
        };
        if let Some(port) = cli.port.or(file.port) {
            bind.set_port(port);
        }

        let site_ids = clean_list(if cli.site_ids.is_empty() { file.site_ids } else { cli.site_ids });
        if let Some(bad) = site_ids.iter().find(|s| !is_site_id(s)) {
            return Err(ConfigError::SiteId(bad.clone()));
        }

        let allowed_origins =
            clean_list(if cli.allowed_origins.is_empty() { file.allowed_origins } else { cli.allowed_origins })
                .into_iter()
                .map(|o| normalize_origin(&o).ok_or(ConfigError::Origin(o)))
                .collect::<Result<Vec<_>, _>>()?;

        let csp = cli.csp.or(file.csp).unwrap_or_else(|| DEFAULT_CSP.to_owned());
        if axum::http::HeaderValue::from_str(&csp).is_err() {
            return Err(ConfigError::Csp(csp));
        }

        let default_days = cli.default_retention_days.or(file.default_retention_days).unwrap_or(DEFAULT_RETENTION_DAYS);
        if !(1..=MAX_RETENTION_DAYS).contains(&default_days) {
            return Err(ConfigError::RetentionDays(default_days));
        }
        let site_config = cli.site_config.or(file.site_config);
        let retention = match &site_config {
            Some(path) => read_site_config(path, default_days)?,
            None => Retention::new(default_days),
        };
        let retention_interval = match cli.retention_interval.or(file.retention_interval) {
            Some(0) => None,
            Some(secs) => Some(Duration::from_secs(secs)),
            None => Some(Duration::from_secs(DEFAULT_RETENTION_INTERVAL_SECS)),
        };

        Ok(Config {
            bind,
            db: cli.db.or(file.db).unwrap_or_else(|| DEFAULT_DB.into()),
            static_dir: cli.static_dir.or(file.static_dir),
            csp,
            site_ids,
            allowed_origins,
            test_api: cli.test_api.or(file.test_api).unwrap_or(false),
            rate_per_site: resolve_rate(
                ("rate-per-site", cli.rate_per_site.or(file.rate_per_site), DEFAULT_RATE_PER_SITE),
                ("burst-per-site", cli.burst_per_site.or(file.burst_per_site)),
            )?,
            rate_per_device: resolve_rate(
                ("rate-per-device", cli.rate_per_device.or(file.rate_per_device), DEFAULT_RATE_PER_DEVICE),
                ("burst-per-device", cli.burst_per_device.or(file.burst_per_device)),
            )?,
            trust_forwarded_for: cli.trust_forwarded_for.or(file.trust_forwarded_for).unwrap_or(false),
            log_format: cli.log_format.or(file.log_format).unwrap_or_default(),
            site_config,
            retention,
            retention_interval,
        })
    }
}

/// A rate option and its burst option: `None` when the rate is 0.
fn resolve_rate(
    (rate_option, rate, default): (&'static str, Option<f64>, f64),
    (burst_option, burst): (&'static str, Option<u32>),
) -> Result<Option<Rate>, ConfigError> {
    let per_second = rate.unwrap_or(default);
    if !per_second.is_finite() || per_second < 0.0 {
        return Err(ConfigError::Rate { option: rate_option, value: per_second });
    }
    if burst == Some(0) {
        return Err(ConfigError::Burst { option: burst_option });
    }
    Ok((per_second > 0.0).then(|| Rate { per_second, burst: burst.unwrap_or_else(|| default_burst(per_second)) }))
}

fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
    toml::from_str(&text).map_err(|source| ConfigError::Parse { path: path.to_owned(), source: Box::new(source) })
}

/// Reads the retention periods from the site's SDK config, validated exactly
/// as the SDK validates it.
fn read_site_config(path: &Path, default_days: u32) -> Result<Retention, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|source| ConfigError::SiteConfigRead { path: path.to_owned(), source })?;
    Retention::from_site_config(&text, default_days)
        .map_err(|source| ConfigError::SiteConfig { path: path.to_owned(), source })
}

/// `IP:PORT`, `[IPv6]:PORT`, or a bare IP (port 8080).
fn parse_bind(text: &str) -> Result<SocketAddr, ConfigError> {
    let text = text.trim();
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(addr);
    }
    let bare = text.trim_start_matches('[').trim_end_matches(']');
    bare.parse::<IpAddr>().map(|ip| SocketAddr::new(ip, DEFAULT_PORT)).map_err(|_| ConfigError::Bind(text.to_owned()))
}

/// Trims entries and drops empty ones (e.g. from a trailing comma).
fn clean_list(items: Vec<String>) -> Vec<String> {
    items.into_iter().map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect()
}

/// Lowercases an origin and strips a trailing `/`; `None` unless it is
/// `http(s)://host[:port]` with no path, query or credentials.
pub fn normalize_origin(origin: &str) -> Option<String> {
    let origin = origin.trim().trim_end_matches('/').to_ascii_lowercase();
    let (scheme, authority) = origin.split_once("://")?;
    let ok_scheme = scheme == "http" || scheme == "https";
    let ok_authority =
        !authority.is_empty() && !authority.contains(['/', '?', '#', '@']) && !authority.contains(char::is_whitespace);
    (ok_scheme && ok_authority).then_some(origin)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cli(args: &[&str]) -> Cli {
        let mut argv = vec!["attune-collector"];
        argv.extend_from_slice(args);
        Cli::try_parse_from(argv).unwrap()
    }

    #[test]
    fn defaults_are_loopback_8080() {
        let cfg = Config::resolve(Cli::default(), FileConfig::default()).unwrap();
        assert_eq!(cfg, Config::default());
        assert_eq!(cfg.bind.to_string(), "127.0.0.1:8080");
        assert!(!cfg.test_api);
    }

    #[test]
    fn port_overrides_the_port_of_bind() {
        let cfg = Config::resolve(cli(&["--bind", "127.0.0.2:9000", "--port", "0"]), FileConfig::default()).unwrap();
        assert_eq!(cfg.bind.to_string(), "127.0.0.2:0");
        let cfg = Config::resolve(cli(&["--bind", "::1"]), FileConfig::default()).unwrap();
        assert_eq!(cfg.bind.to_string(), "[::1]:8080");
        assert!(Config::resolve(cli(&["--bind", "localhost:80"]), FileConfig::default()).is_err());
    }

    #[test]
    fn lists_split_on_commas_and_flags_beat_the_file() {
        let file: FileConfig =
            toml::from_str("site-ids = [\"from-file\"]\nport = 9999\ntest-api = true\ndb = \"file.sqlite\"").unwrap();
        let cfg = Config::resolve(cli(&["--site-id", "a,b,", "--site-id", "c", "--test-api=false"]), file).unwrap();
        assert_eq!(cfg.site_ids, ["a", "b", "c"]);
        assert_eq!(cfg.bind.port(), 9999);
        assert!(!cfg.test_api);
        assert_eq!(cfg.db, PathBuf::from("file.sqlite"));
        assert!(cli(&["--test-api"]).test_api.unwrap());
    }

    #[test]
    fn bad_values_are_refused_at_startup() {
        let resolve = |args: &[&str]| Config::resolve(cli(args), FileConfig::default());
        assert!(matches!(resolve(&["--site-id", "bad site"]), Err(ConfigError::SiteId(_))));
        assert!(matches!(resolve(&["--allowed-origin", "https://x.example/path"]), Err(ConfigError::Origin(_))));
        assert!(matches!(resolve(&["--csp", "a\nb"]), Err(ConfigError::Csp(_))));
        assert!(toml::from_str::<FileConfig>("bogus = 1").is_err());
    }

    #[test]
    fn rate_limits_default_on_and_can_be_tuned_or_disabled() {
        let cfg = Config::resolve(Cli::default(), FileConfig::default()).unwrap();
        assert_eq!(cfg.rate_per_site, Some(Rate { per_second: 1000.0, burst: 2000 }));
        assert_eq!(cfg.rate_per_device, Some(Rate { per_second: 20.0, burst: 40 }));
        assert!(!cfg.trust_forwarded_for);

        let file: FileConfig = toml::from_str(
            "rate-per-site = 0.5\nburst-per-device = 3\ntrust-forwarded-for = true\nlog-format = \"json\"",
        )
        .unwrap();
        let cfg = Config::resolve(cli(&["--rate-per-device", "0"]), file).unwrap();
        assert_eq!(cfg.rate_per_site, Some(Rate { per_second: 0.5, burst: 1 }));
        assert_eq!(cfg.rate_per_device, None, "0 disables the limit");
        assert!(cfg.trust_forwarded_for);
        assert_eq!(cfg.log_format, LogFormat::Json);

        let cfg =
            Config::resolve(cli(&["--rate-per-device", "5", "--burst-per-device", "7", "--log-format", "text"]), {
                toml::from_str("log-format = \"json\"").unwrap()
            })
            .unwrap();
        assert_eq!(cfg.rate_per_device, Some(Rate { per_second: 5.0, burst: 7 }));
        assert_eq!(cfg.log_format, LogFormat::Text, "the flag beats the file");

        let resolve = |args: &[&str]| Config::resolve(cli(args), FileConfig::default());
        let err = resolve(&["--rate-per-site=-1"]).unwrap_err();
        assert!(err.to_string().starts_with("invalid rate-per-site -1"), "{err}");
        assert!(matches!(resolve(&["--rate-per-site", "NaN"]), Err(ConfigError::Rate { .. })));
        assert!(matches!(resolve(&["--burst-per-device", "0"]), Err(ConfigError::Burst { .. })));
        assert!(Cli::try_parse_from(["attune-collector", "--log-format", "xml"]).is_err());
    }

    #[test]
    fn retention_comes_from_the_site_config_and_the_defaults() {
        let cfg = Config::resolve(Cli::default(), FileConfig::default()).unwrap();
        assert_eq!(cfg.retention, Retention::new(30));
        assert_eq!(cfg.retention_interval, Some(Duration::from_secs(3600)));

        let dir = std::env::temp_dir().join(format!("attune-collector-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let site = dir.join("attune-config.json");
        std::fs::write(&site, r#"{"collect": {"analytics": {"retentionDays": 10, "events": {"page_view": {}}}}}"#)
            .unwrap();
        let file: FileConfig =
            toml::from_str(&format!("site-config = {:?}\nretention-interval = 60", site.display().to_string()))
                .unwrap();
        let cfg = Config::resolve(cli(&["--default-retention-days", "7", "--retention-interval", "0"]), file).unwrap();
        assert_eq!((cfg.retention.days("analytics"), cfg.retention.days("marketing")), (10, 7));
        assert_eq!(cfg.retention_interval, None, "0: only at start-up; the flag beats the file");
        assert_eq!(cfg.site_config.as_deref(), Some(site.as_path()));

        std::fs::write(&site, r#"{"collect": {"analytics": {"retentionDays": 0, "events": {}}}}"#).unwrap();
        let err = Config::resolve(cli(&["--site-config", site.to_str().unwrap()]), FileConfig::default()).unwrap_err();
        assert!(matches!(err, ConfigError::SiteConfig { .. }), "{err}");
        assert!(err.to_string().contains("collect.analytics.retentionDays"), "{err}");
        let missing = dir.join("missing.json");
        let err =
            Config::resolve(cli(&["--site-config", missing.to_str().unwrap()]), FileConfig::default()).unwrap_err();
        assert!(matches!(err, ConfigError::SiteConfigRead { .. }), "{err}");
        assert!(matches!(
            Config::resolve(cli(&["--default-retention-days", "0"]), FileConfig::default()),
            Err(ConfigError::RetentionDays(0))
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn origins_are_normalised() {
        assert_eq!(normalize_origin(" HTTPS://Shop.Example:8443/ ").as_deref(), Some("https://shop.example:8443"));
        assert_eq!(normalize_origin("shop.example"), None);
        assert_eq!(normalize_origin("ftp://shop.example"), None);
    }
}
