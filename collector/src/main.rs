use std::io::IsTerminal;
use std::process::ExitCode;

use attune_collector::config::LogFormat;
use attune_collector::{run, shutdown_signal, Config};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    let result = match Config::load() {
        Ok(config) => {
            init_logs(config.log_format);
            run(config, shutdown_signal()).await
        }
        Err(e) => Err(e.into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("attune-collector: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Logs go to stderr; stdout carries only the "listening on" line.
fn init_logs(format: LogFormat) {
    let logs = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => logs.with_ansi(std::io::stderr().is_terminal()).init(),
        LogFormat::Json => logs.json().flatten_event(true).with_current_span(false).init(),
    }
}
