//! The programs a benchmark run starts: the server, the empty-handler
//! baseline, the generator and the load tool, found beside this binary
//! (`tools/dev bench` builds them all into one directory).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// Where the programs are.
pub struct Tools {
    pub creditgate: PathBuf,
    pub gen_: PathBuf,
    pub screen_rows: PathBuf,
    pub load: PathBuf,
}

impl Tools {
    /// The programs beside `this` binary, or an error naming the missing
    /// ones and how to build them.
    pub fn beside(this: &Path) -> anyhow::Result<Tools> {
        let dir = this.parent().context("the binary has no directory")?;
        let tools = Tools {
            creditgate: dir.join("creditgate"),
            gen_: dir.join("creditgate-gen"),
            screen_rows: dir.join("creditgate-screen-rows"),
            load: dir.join("creditgate-load"),
        };
        let missing: Vec<String> = [
            &tools.creditgate,
            &tools.gen_,
            &tools.screen_rows,
            &tools.load,
        ]
        .iter()
        .filter(|p| !p.is_file())
        .map(|p| p.display().to_string())
        .collect();
        if !missing.is_empty() {
            bail!(
                "missing {}: run the benchmarks through `tools/dev bench`, which builds them",
                missing.join(", ")
            );
        }
        Ok(tools)
    }
}

/// Runs `program` with `args` to completion; its stdout, or an error with
/// its stderr.
pub fn output(program: &Path, args: &[&str]) -> anyhow::Result<String> {
    Ok(outputs(program, args)?.0)
}

/// Runs `program` with `args` to completion; its stdout and its stderr, or
/// an error with its stderr.
pub fn outputs(program: &Path, args: &[&str]) -> anyhow::Result<(String, String)> {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run {}", program.display()))?;
    if !out.status.success() {
        bail!(
            "{} {} failed ({}): {}",
            program.display(),
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok((
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

/// The last line of `text` that parses as a JSON object.
pub fn last_json(text: &str) -> anyhow::Result<serde_json::Value> {
    text.lines()
        .rev()
        .find_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .with_context(|| format!("no JSON in the output: {}", text.trim()))
}

/// A free port on loopback (bound and released; the window for another
/// program to take it is short).
pub fn free_port() -> anyhow::Result<u16> {
    let listener =
        std::net::TcpListener::bind("127.0.0.1:0").context("cannot bind a loopback port")?;
    Ok(listener.local_addr()?.port())
}

/// A started program whose stderr goes to a log file; stopped with
/// SIGTERM (then killed, if it does not stop) when dropped.
pub struct Running {
    child: Child,
    log: PathBuf,
    /// What it is, for messages.
    what: String,
}

impl Running {
    /// Starts `program` with `args`, its stderr into `log`.
    pub fn start(what: &str, program: &Path, args: &[&str], log: &Path) -> anyhow::Result<Running> {
        let file = std::fs::File::create(log)
            .with_context(|| format!("cannot create {}", log.display()))?;
        let child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .with_context(|| format!("cannot start {}", program.display()))?;
        Ok(Running {
            child,
            log: log.to_path_buf(),
            what: what.to_string(),
        })
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits until its log holds `text`; an error if it exits first or
    /// `limit` passes.
    pub fn wait_for(&mut self, text: &str, limit: Duration) -> anyhow::Result<()> {
        let started = Instant::now();
        loop {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            if log.contains(text) {
                return Ok(());
            }
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "{} exited ({status}) before saying \"{text}\": {}",
                    self.what,
                    tail(&log)
                );
            }
            if started.elapsed() > limit {
                bail!(
                    "{} did not say \"{text}\" within {limit:?}: {}",
                    self.what,
                    tail(&log)
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until `port` on loopback accepts connections.
    pub fn wait_listening(&mut self, port: u16, limit: Duration) -> anyhow::Result<()> {
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = self.child.try_wait()? {
                bail!("{} exited ({status}) before listening", self.what);
            }
            if started.elapsed() > limit {
                bail!("{} did not listen on {port} within {limit:?}", self.what);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }

    /// Resident memory now, in bytes.
    pub fn rss_bytes(&self) -> Option<u64> {
        proc_kib(&format!("/proc/{}/status", self.pid()), "VmRSS:").map(|kib| kib * 1024)
    }

    /// Stops it: SIGTERM, then SIGKILL after 60 s.
    pub fn stop(mut self) -> anyhow::Result<()> {
        self.terminate()
    }

    fn terminate(&mut self) -> anyhow::Result<()> {
        if self.child.try_wait()?.is_some() {
            return Ok(());
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status();
        let started = Instant::now();
        while self.child.try_wait()?.is_none() {
            if started.elapsed() > Duration::from_secs(60) {
                let _ = self.child.kill();
                let _ = self.child.wait();
                bail!("{} did not stop within 60 s of SIGTERM: killed", self.what);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.terminate();
    }
}

/// The figure of the `field` line of a /proc file that counts in kB
/// (`/proc/meminfo`'s `MemTotal:`, a process's `VmRSS:`).
pub fn proc_kib(path: &str, field: &str) -> Option<u64> {
    std::fs::read_to_string(path)
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix(field))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// The last lines of a log, for an error message.
fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(5)..].join(" | ")
}

/// Bytes the files under `dir` hold.
pub fn dir_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_bytes(&e.path()),
            Ok(_) => e.metadata().map_or(0, |m| m.len()),
            Err(_) => 0,
        })
        .sum()
}
