//! The service's log: `tracing` events on stderr (journald keeps them under
//! systemd), as text for people or one JSON object per line for
//! collectors, filtered by level per module (`serve --log-level`).
//!
//! What is logged: start-up and shutdown, failures and retries of the
//! background work, and at debug level every request with its id, route,
//! status and time. Personal data (identity numbers and names, which
//! travel in query strings and some paths) is left out unless the operator
//! passes `--log-personal-data`: a logged request names its route's
//! pattern.

use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

/// Which events are logged, per module.
pub type Filter = Targets;

/// Parses `--log-level`: `info`, or `info,creditgate::server=debug`.
pub fn parse_filter(text: &str) -> Result<Filter, String> {
    text.parse::<Targets>().map_err(|e| {
        format!("{e}: expected a level (error, warn, info, debug, trace) or level,module=level,…")
    })
}

/// The log's form.
#[derive(Copy, Clone, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Lines for people: time, level, module, message, fields.
    Text,
    /// One JSON object per line: timestamp, level, target and the fields,
    /// the message among them.
    Json,
}

/// Installs the log of a command other than `serve`: its messages (a
/// saved index that could not be written, say) as plain lines on stderr.
pub fn init_for_command() {
    let _ = tracing_subscriber::registry()
        .with(Targets::new().with_default(tracing::Level::INFO))
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_ansi(false)
                .without_time()
                .with_target(false)
                .with_level(false),
        )
        .try_init();
}

/// Installs the service's log (once; a second call is ignored).
pub fn init(filter: &Filter, format: Format) {
    let registry = tracing_subscriber::registry().with(filter.clone());
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(false);
    let _ = match format {
        Format::Text => registry.with(layer).try_init(),
        Format::Json => registry
            .with(
                layer
                    .json()
                    .flatten_event(true)
                    .with_current_span(false)
                    .with_span_list(false),
            )
            .try_init(),
    };
}
