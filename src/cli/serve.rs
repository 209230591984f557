//! `creditgate serve`: the HTTP service (SPEC §6) over a store or the bundled
//! sample.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use arc_swap::ArcSwap;

use creditgate::access::{Keyring, KeysFile};
use creditgate::audit::AuditLog;
use creditgate::catalog::Catalog;
use creditgate::date::{Date, DayClock};
use creditgate::engine::Engine;
use creditgate::server::maintenance::{Maintenance, Upkeep};
use creditgate::server::{
    self, Limits,
    api::{Api, ApiOptions, Node},
    screen::ScreenLimits,
};
use creditgate::store::Warmed;

/// Arguments of `creditgate serve`.
#[derive(clap::Args)]
pub struct Args {
    /// Read settings from this TOML file: its keys are these flags with
    /// `_` for `-` (`max_connections = 20000`); a flag given here overrides
    /// its key. `creditgate config check FILE` validates one;
    /// docs/creditgate.toml is a commented example.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Store directory (default: the bundled sample, imported on first use).
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// Address to listen on; port 0 picks a free port (the address is printed).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Runtime worker threads (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
    /// Connections served at once.
    #[arg(long, default_value_t = 10_000)]
    max_connections: usize,
    /// Seconds a client has to send a request head (also the keep-alive idle
    /// limit).
    #[arg(long, default_value_t = 30)]
    header_timeout: u64,
    /// Seconds shutdown waits for in-flight requests.
    #[arg(long, default_value_t = 10)]
    shutdown_grace: u64,
    /// Largest screening upload, in MiB.
    #[arg(long, default_value_t = 4096, value_name = "MIB")]
    screen_max_mib: u64,
    /// Screenings at once; more get 503.
    #[arg(long, default_value_t = 4)]
    screen_concurrency: usize,
    /// Seconds a screening's client may send or read nothing before it is
    /// abandoned.
    #[arg(long, default_value_t = 60)]
    screen_stall: u64,
    /// Where screening uploads are spooled (default: the system's temporary
    /// directory).
    #[arg(long, value_name = "DIR")]
    spool_dir: Option<PathBuf>,
    /// Answer as if today were DATE (YYYY-MM-DD), for rehearsals and tests:
    /// the default date of checks, the date of lifecycle steps and of the
    /// expiry sweep.
    #[arg(long, value_name = "DATE")]
    today: Option<Date>,
    /// API keys file (`creditgate keys`): every request then needs a key,
    /// and the server may listen beyond loopback. Reloaded within a second
    /// when it changes. Without it the API is open and listens on loopback
    /// only.
    #[arg(long, value_name = "FILE")]
    keys: Option<PathBuf>,
    /// Keep no audit log (for measuring what it costs; an audited platform
    /// keeps it on).
    #[arg(long)]
    no_audit: bool,
    /// Do not read the entries into the block cache at start: flagged
    /// checks then fill it as they are asked (each first one from disk).
    #[arg(long)]
    no_warm: bool,
    /// Block cache for the store's index and filter partitions and the
    /// blocks of subjects, links and history, in MiB; the entries that
    /// flagged checks read get room of their own beside it (twice their
    /// files, up to 4 GiB). Smaller saves memory at the cost of screening
    /// and lifecycle reads from disk; checks answer from memory either way.
    #[arg(long, value_name = "MIB", default_value_t = (creditgate::store::BLOCK_CACHE_BYTES >> 20) as u64)]
    block_cache_mib: u64,
    /// Days of audit records kept; older ones are deleted, an hour at a time.
    #[arg(long, default_value_t = 365, value_name = "DAYS")]
    audit_retention_days: u32,
    /// Be the primary of a replicated deployment: append every write to the
    /// JetStream stream on these NATS servers (comma-separated URLs of one
    /// cluster) before acknowledging it. The stream is replicated as many
    /// ways as servers are given, at most 3.
    #[arg(
        long,
        value_name = "URL[,URL...]",
        value_delimiter = ',',
        conflicts_with = "follow"
    )]
    nats: Vec<String>,
    /// Be a read replica: apply the primary's stream from these NATS
    /// servers and keep following it; writes are refused.
    #[arg(long, value_name = "URL[,URL...]", value_delimiter = ',')]
    follow: Vec<String>,
    /// The JetStream stream's name.
    #[arg(long, default_value = creditgate::replication::DEFAULT_STREAM)]
    stream: String,
    /// The primary's address, named in a replica's refusal of a write.
    #[arg(long, value_name = "URL", requires = "follow")]
    primary: Option<String>,
    /// Where `POST /v1/snapshot` (role `operator`) writes snapshots of the
    /// store to bootstrap replicas from (on this machine's disk; copy them
    /// from there). Without it the route is refused.
    #[arg(long, value_name = "DIR")]
    snapshot_dir: Option<PathBuf>,
    /// What the log shows: a level (error, warn, info, debug, trace), or
    /// a level then per-module ones (`info,creditgate::server=debug`).
    /// At debug every request is logged with its id, route, status and
    /// time.
    #[arg(long, value_name = "FILTER", default_value = "info", value_parser = crate::cli::logs::parse_filter)]
    log_level: crate::cli::logs::Filter,
    /// The log's form on stderr: text for people, json (one object per
    /// line) for collectors.
    #[arg(long, value_enum, default_value_t = crate::cli::logs::Format::Text)]
    log_format: crate::cli::logs::Format,
    /// Let personal data into the log: the identifiers and names of a
    /// request's query string. Off, a logged request shows its route only.
    #[arg(long)]
    log_personal_data: bool,
    /// Let watches' callbacks reach loopback, private and link-local
    /// addresses (receivers inside the operator's own network; tests).
    /// Off, a callback must resolve to public addresses only.
    #[arg(long)]
    allow_private_webhooks: bool,
    /// Tries per change before a webhook delivery gives up and files the
    /// change as a dead letter.
    #[arg(long, default_value_t = 8, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100))]
    webhook_attempts: u32,
    /// The wait after a webhook's first failed try, in milliseconds; each
    /// further failure doubles it, up to 5 minutes.
    #[arg(long, default_value_t = 1000, value_name = "MS", value_parser = clap::value_parser!(u64).range(1..=300_000))]
    webhook_backoff_ms: u64,
}

/// What `serve` refuses before opening anything: an open API beyond
/// loopback, a keys file that does not load, directories that are not.
pub fn check(args: &Args) -> anyhow::Result<()> {
    exposure(args)?;
    if let Some(path) = &args.keys {
        if !path.is_file() {
            anyhow::bail!(
                "--keys {}: no such file (make one with creditgate keys create --file {} …)",
                path.display(),
                path.display()
            );
        }
        KeysFile::load(path)?;
    }
    for (flag, dir) in [
        ("--data", &args.data),
        ("--spool-dir", &args.spool_dir),
        ("--snapshot-dir", &args.snapshot_dir),
    ] {
        if let Some(dir) = dir
            && dir.exists()
            && !dir.is_dir()
        {
            anyhow::bail!("{flag} {}: not a directory", dir.display());
        }
    }
    Ok(())
}

/// Refuses to serve an open API (no keys file) beyond loopback.
fn exposure(args: &Args) -> anyhow::Result<()> {
    if args.keys.is_none() && !args.listen.ip().is_loopback() {
        anyhow::bail!(
            "without --keys the API is open to anyone who can reach it, so it listens on loopback only; {} is not. Make keys (creditgate keys create --file keys.json …) and pass --keys keys.json",
            args.listen
        );
    }
    Ok(())
}

pub fn run(
    args: &Args,
    catalog: &Catalog,
    catalog_text: &str,
    calendar: creditgate::calendar::WorkCalendar,
) -> anyhow::Result<ExitCode> {
    crate::cli::logs::init(&args.log_level, args.log_format);
    if let Err(e) = exposure(args) {
        tracing::error!("{e}");
        return Ok(ExitCode::from(crate::cli::EXIT_FAILURE));
    }
    let keys = match &args.keys {
        Some(path) => {
            let file = KeysFile::load(path)?;
            if file.keys.iter().all(|k| k.revoked_ms.is_some()) {
                tracing::warn!(
                    "{} has no usable key: every request will be refused (creditgate keys create --file {} …)",
                    path.display(),
                    path.display()
                );
            }
            Some(Arc::new(ArcSwap::from_pointee(Keyring::new(&file))))
        }
        None => None,
    };
    let dir = match &args.data {
        Some(dir) => dir.clone(),
        None => creditgate::sample::store_dir(catalog, catalog_text)
            .context("cannot prepare the bundled sample")?,
    };
    let engine = Engine::open(&dir, catalog.clone())
        .with_context(|| format!("cannot open the store {}", dir.display()))?
        .with_calendar(calendar);
    engine.store().set_block_cache(
        usize::try_from(args.block_cache_mib.saturating_mul(1 << 20)).unwrap_or(usize::MAX),
    );
    let flagged = engine.snapshot().flagged();
    tracing::info!("opened ({})", engine.opened());
    let defaults = ScreenLimits::default();
    let screen_limits = ScreenLimits {
        max_body_bytes: args.screen_max_mib.max(1) << 20,
        max_concurrent: args.screen_concurrency.max(1),
        stall: Duration::from_secs(args.screen_stall.max(1)),
        spool_dir: args.spool_dir.clone().unwrap_or(defaults.spool_dir),
        workers: args.threads.unwrap_or(defaults.workers).max(1),
    };
    let clock = Arc::new(match args.today {
        Some(date) => DayClock::fixed(date),
        None => DayClock::default(),
    });
    let engine = Arc::new(engine);
    if !args.no_warm {
        warm_entries(engine.clone());
    }
    let audit = if args.no_audit {
        None
    } else {
        let audit_dir = dir.join(creditgate::audit::DIR);
        Some(Arc::new(AuditLog::open(&audit_dir).with_context(|| {
            format!("cannot open the audit log in {}", audit_dir.display())
        })?))
    };
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = args.threads {
        runtime.worker_threads(n.max(1));
    }
    let runtime = runtime
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    let node = replication(args, &engine, &runtime)?;
    let control = match creditgate::backup::listen(engine.clone(), runtime.handle()) {
        Ok(path) => Some(path),
        Err(e) => {
            tracing::warn!(
                "no control socket in {} ({e}): `creditgate backup` cannot copy this store while it is served",
                dir.display()
            );
            None
        }
    };
    let maintenance = Maintenance::start(
        engine.clone(),
        clock.clone(),
        Upkeep {
            keys: args.keys.clone().zip(keys.clone()),
            audit: audit.clone(),
            audit_retention_days: args.audit_retention_days,
            writes: !matches!(node, Node::Replica { .. }),
        },
    );
    let watches = Arc::new(
        creditgate::watch::Watches::open(engine.clone()).context("cannot open the watches")?,
    );
    // Watches are delivered by the node that holds them; a replica takes
    // none (creating one is a write).
    let delivery = if matches!(node, Node::Replica { .. }) {
        None
    } else {
        let keys = keys
            .clone()
            .map(|ring| -> creditgate::watch::deliver::KeyCheck {
                Arc::new(move |id: &str| match ring.load().key(id) {
                    Some(k) if k.revoked_ms.is_none() => Ok(!k.sees_personal()),
                    Some(_) => Err(format!("key {id} is revoked")),
                    None => Err(format!("key {id} is no longer in the keys file")),
                })
            });
        let options = creditgate::watch::deliver::DeliveryOptions {
            allow_private: args.allow_private_webhooks,
            attempts: args.webhook_attempts,
            first_backoff: Duration::from_millis(args.webhook_backoff_ms),
            ..Default::default()
        };
        tracing::info!(
            "{} watches ({} with callbacks)",
            watches.len(),
            watches.with_callbacks().len()
        );
        Some(
            creditgate::watch::deliver::Delivery::start(watches.clone(), options, keys)
                .context("cannot start webhook delivery")?,
        )
    };
    let api = Arc::new(Api::with_options(
        engine,
        ApiOptions {
            watches: Some(watches),
            allow_private_webhooks: args.allow_private_webhooks,
            screen_limits,
            clock,
            keys: keys.clone(),
            audit: audit.clone(),
            node,
            snapshot_dir: args.snapshot_dir.clone(),
            log_personal_data: args.log_personal_data,
        },
    ));
    let limits = Limits {
        header_read_timeout: Duration::from_secs(args.header_timeout.max(1)),
        max_connections: args.max_connections.max(1),
        shutdown_grace: Duration::from_secs(args.shutdown_grace),
        ..Limits::default()
    };
    runtime.block_on(async {
        let listener = server::bind(args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        let addr = listener.local_addr().context("no local address")?;
        match &args.keys {
            Some(path) => tracing::info!("API keys from {}", path.display()),
            None => tracing::warn!(
                "no keys file: the API is OPEN to anyone on this machine (loopback only); serve --keys FILE to require keys"
            ),
        }
        tracing::info!(
            "listening on http://{addr} (store {}, {flagged} flagged subjects)",
            dir.display()
        );
        notify_systemd("READY=1");
        server::serve(listener, api.clone(), limits, server::termination()).await;
        notify_systemd("STOPPING=1");
        tracing::info!("shutting down");
        anyhow::Ok(())
    })?;
    drop(runtime);
    drop(delivery);
    if let Some(path) = control {
        let _ = std::fs::remove_file(path);
    }
    maintenance.stop();
    api.engine()
        .store()
        .sync()
        .context("cannot sync the store at shutdown")?;
    drop(api);
    if let Some(audit) = audit
        && let Ok(mut audit) = Arc::try_unwrap(audit)
    {
        audit.close();
    }
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}

/// Tells systemd (a `Type=notify` unit, which sets `NOTIFY_SOCKET`) that
/// the service is ready or stopping; nothing without it.
fn notify_systemd(state: &str) {
    use std::os::linux::net::SocketAddrExt;
    use std::os::unix::net::{SocketAddr, UnixDatagram};
    let Some(target) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    let bytes = target.as_encoded_bytes();
    let addr = match bytes.strip_prefix(b"@") {
        Some(name) => SocketAddr::from_abstract_name(name),
        None => SocketAddr::from_pathname(std::path::Path::new(&target)),
    };
    let sent = addr.and_then(|addr| {
        let socket = UnixDatagram::unbound()?;
        socket.send_to_addr(state.as_bytes(), &addr)
    });
    if let Err(e) = sent {
        tracing::warn!(
            "cannot notify systemd ({state}) on {}: {e}",
            target.to_string_lossy()
        );
    }
}

/// Reads the entries family into the block cache on a thread of its own
/// at idle priority ([`creditgate::store::Store::warm_entries`]), and says
/// on stderr what it did. Checks are served meanwhile.
fn warm_entries(engine: Arc<Engine>) {
    let spawned = std::thread::Builder::new()
        .name("creditgate-warm".into())
        .spawn(move || {
            creditgate::priority::lower_priority();
            let started = std::time::Instant::now();
            // The bundled sample's entries are a few KiB.
            let size = |bytes: u64| match bytes {
                0..0x10_0000 => format!("{} KiB", bytes.div_ceil(1024)),
                _ => format!("{:.0} MiB", bytes as f64 / f64::from(1 << 20)),
            };
            match engine.store().warm_entries() {
                Ok(Warmed::Read(bytes)) => tracing::info!(
                    "block cache warmed with the entries ({} of files) in {:.1} s",
                    size(bytes),
                    started.elapsed().as_secs_f64()
                ),
                Ok(Warmed::TooLarge(bytes)) => tracing::info!(
                    "entries ({} of files) are too large to be held in the block cache; not warmed",
                    size(bytes)
                ),
                Err(e) => tracing::warn!("cannot warm the block cache: {e}"),
            }
        });
    if let Err(e) = spawned {
        tracing::warn!("cannot start the block cache warm-up: {e}");
    }
}

/// Sets up replication as asked: a primary catches up with the stream (a
/// crash may have left it behind the stream) and appends every write to it
/// from now on; a replica starts following it.
fn replication(
    args: &Args,
    engine: &Arc<Engine>,
    runtime: &tokio::runtime::Runtime,
) -> anyhow::Result<Node> {
    use creditgate::replication::{self, follow, log::JetStreamLog};
    let stream = args.stream.clone();
    if !args.nats.is_empty() {
        let js = runtime.block_on(replication::connect(&args.nats))?;
        let replicas = args.nats.len().min(3);
        runtime.block_on(replication::ensure_stream(&js, &stream, replicas))?;
        let (_, last) = runtime.block_on(replication::last_position(&js, &stream))?;
        let held = engine.store().stream_position();
        if last < held {
            anyhow::bail!(
                "stream {stream} ends at position {last} but this store holds position {held}: it is not this store's stream (another cluster, or one emptied); refusing to write"
            );
        }
        if last > held {
            tracing::info!(
                "the stream holds {} batches this store does not (a stop between the stream and the disk): applying them",
                last - held
            );
            runtime.block_on(follow::apply_stream(
                engine.clone(),
                js.clone(),
                stream.clone(),
                Arc::default(),
                Some(last),
            ))?;
        }
        engine.store().replicate_to(Arc::new(JetStreamLog::new(
            js,
            &stream,
            runtime.handle().clone(),
        )))?;
        tracing::info!(
            "primary of stream {stream} ({} ways), at position {last}",
            replicas
        );
        return Ok(Node::Primary { stream });
    }
    if !args.follow.is_empty() {
        let js = runtime.block_on(replication::connect(&args.follow))?;
        let status = Arc::new(follow::FollowStatus::default());
        let (e, s, st) = (engine.clone(), stream.clone(), status.clone());
        runtime.spawn(async move {
            if let Err(err) = follow::apply_stream(e, js, s, st, None).await {
                tracing::warn!("following stopped: {err}");
            }
        });
        tracing::info!(
            "read replica of stream {stream}, from position {}",
            engine.store().stream_position()
        );
        return Ok(Node::Replica {
            stream,
            primary: args.primary.clone(),
            status,
        });
    }
    Ok(Node::Standalone)
}
