//! Online backups: a consistent copy of a store taken while it serves.
//!
//! A backup is the snapshot replicas are bootstrapped from
//! ([`crate::engine::write_snapshot`]: a RocksDB checkpoint taken under
//! the writer lock, so it holds every change before one sequence and none
//! after, plus the saved indexes) with the audit log's segments as they
//! stand. Restoring is opening the copy: `creditgate serve --data COPY`.
//!
//! RocksDB lets one process open a store, so `creditgate backup` cannot
//! open a served store itself. The server listens on a Unix socket in its
//! store directory ([`CONTROL_SOCKET`], mode 0600: whoever may read the
//! store may back it up) and writes the copy on request into
//! `backups/` inside the store directory, which the service may write
//! even when systemd confines it to its state directory; the command then
//! moves it where it was asked (a rename on the same file system, a copy
//! otherwise). A store no server holds is copied directly.
//!
//! The protocol is one JSON line each way: `{"op":"backup"}` is answered
//! with `{"path":…,"stream_position":…,"next_change_seq":…}` or
//! `{"error":…}`.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::engine::Engine;
use crate::store::{Checkpointed, Store, StoreError};

/// The control socket's name in the store directory.
pub const CONTROL_SOCKET: &str = "control.sock";

/// Where the server writes the backups it is asked for, in the store
/// directory.
pub const STAGING_DIR: &str = "backups";

/// Largest request line read from the socket.
const MAX_REQUEST: u64 = 4096;

/// Why a backup failed.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The store or a file could not be copied.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The server answered the request with an error, or not at all.
    #[error("the server serving the store refused the backup: {0}")]
    Refused(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BackupError + '_ {
    move |source| {
        BackupError::Store(StoreError::Io {
            path: path.display().to_string(),
            source,
        })
    }
}

/// Writes a backup of `store` to `out` (a new directory): the snapshot,
/// and the store's audit segments as they stand, the current hour's up to
/// its last flush.
pub fn write(store: &Store, out: &Path) -> Result<Checkpointed, StoreError> {
    let at = crate::engine::write_snapshot(store, out)?;
    let audit = store.path().join(crate::audit::DIR);
    if audit.is_dir() {
        crate::engine::copy_dir(&audit, &out.join(crate::audit::DIR))?;
    }
    Ok(at)
}

/// A backup written by a server into its staging directory.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Staged {
    /// Where the server wrote it.
    pub path: PathBuf,
    /// The replicated log's position it holds.
    pub stream_position: u64,
    /// The next change sequence: its change feed ends just before.
    pub next_change_seq: u64,
}

/// Serves backup requests on `<store>/control.sock` until the runtime
/// stops. A socket left by a killed server is replaced (the RocksDB lock
/// this process holds says no other server uses the directory).
pub fn listen(engine: Arc<Engine>, runtime: &tokio::runtime::Handle) -> std::io::Result<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let dir = engine.store().path().to_path_buf();
    let path = dir.join(CONTROL_SOCKET);
    match std::fs::remove_file(&path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    // Backups a killed command left half-moved.
    let _ = std::fs::remove_dir_all(dir.join(STAGING_DIR));
    let listener = {
        let _guard = runtime.enter();
        tokio::net::UnixListener::bind(&path)?
    };
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    runtime.spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            };
            let engine = engine.clone();
            tokio::spawn(async move {
                if let Err(e) = answer(stream, engine).await {
                    tracing::warn!("control socket: {e}");
                }
            });
        }
    });
    Ok(path)
}

async fn answer(stream: tokio::net::UnixStream, engine: Arc<Engine>) -> std::io::Result<()> {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
    let (read, mut write) = stream.into_split();
    let mut line = String::new();
    tokio::io::BufReader::new(read.take(MAX_REQUEST))
        .read_line(&mut line)
        .await?;
    let reply = match serde_json::from_str::<serde_json::Value>(&line) {
        Ok(v) if v["op"] == "backup" => {
            tracing::info!("backup asked on the control socket");
            let done = tokio::task::spawn_blocking(move || stage(&engine)).await;
            match done {
                Ok(Ok(staged)) => {
                    tracing::info!(
                        next_change_seq = staged.next_change_seq,
                        "backup written to {}",
                        staged.path.display()
                    );
                    serde_json::to_value(&staged).unwrap_or_default()
                }
                Ok(Err(e)) => {
                    tracing::error!("backup failed: {e}");
                    serde_json::json!({ "error": e.to_string() })
                }
                Err(e) => serde_json::json!({ "error": format!("the backup stopped: {e}") }),
            }
        }
        _ => serde_json::json!({ "error": "expected {\"op\":\"backup\"}" }),
    };
    write.write_all(format!("{reply}\n").as_bytes()).await?;
    write.shutdown().await
}

/// Writes a backup into the store's staging directory.
fn stage(engine: &Engine) -> Result<Staged, BackupError> {
    let dir = engine.store().path();
    let path = dir
        .join(STAGING_DIR)
        .join(format!("backup-{}", crate::date::epoch_ms()));
    let at = write(engine.store(), &path)?;
    Ok(Staged {
        path,
        stream_position: at.stream_position,
        next_change_seq: at.next_change_seq,
    })
}

/// Asks the server holding `store_dir` for a backup, if one listens on its
/// control socket (`None`: none does).
pub fn ask_server(store_dir: &Path) -> Result<Option<Staged>, BackupError> {
    let path = store_dir.join(CONTROL_SOCKET);
    let mut stream = match std::os::unix::net::UnixStream::connect(&path) {
        Ok(s) => s,
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
            ) =>
        {
            return Ok(None);
        }
        Err(e) => return Err(io(&path)(e)),
    };
    stream
        .write_all(b"{\"op\":\"backup\"}\n")
        .map_err(io(&path))?;
    let mut line = String::new();
    BufReader::new(stream)
        .read_line(&mut line)
        .map_err(io(&path))?;
    let value: serde_json::Value = serde_json::from_str(&line)
        .map_err(|e| BackupError::Refused(format!("unreadable answer {line:?}: {e}")))?;
    if let Some(error) = value["error"].as_str() {
        return Err(BackupError::Refused(error.to_string()));
    }
    serde_json::from_value(value)
        .map(Some)
        .map_err(|e| BackupError::Refused(format!("unreadable answer {line:?}: {e}")))
}

/// Moves a staged backup to `out`: a rename on the same file system, a
/// copy (then the staged one removed) across file systems.
pub fn move_staged(staged: &Path, out: &Path) -> Result<(), BackupError> {
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(io(parent))?;
    }
    match std::fs::rename(staged, out) {
        Ok(()) => return Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::CrossesDevices => {}
        Err(e) => return Err(io(out)(e)),
    }
    crate::engine::copy_dir(staged, out)?;
    std::fs::remove_dir_all(staged).map_err(io(staged))
}
