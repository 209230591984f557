//! The `creditgate` binary: parses the command line and runs one subcommand.
//! All work lives in the library; see `src/cli/` for each subcommand.

use std::process::ExitCode;

mod cli;

/// mimalloc instead of glibc malloc: import parsers allocate on one thread
/// and free on another, which contends on glibc's arena locks (10% of an
/// import's time in futexes before the switch), and the server allocates
/// per request.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    limit_malloc_arenas();
    match cli::run() {
        Ok(code) => code,
        Err(err) => {
            eprintln!("creditgate: {err:#}");
            ExitCode::from(cli::EXIT_FAILURE)
        }
    }
}

/// RocksDB's C++ allocates through glibc malloc (our Rust code through
/// mimalloc). glibc gives each thread that allocates its own arena, up to
/// eight per core, and the block cache's churn (blocks read, evicted,
/// read again by other threads) left freed memory in all of them: at 10^8
/// subjects a server screening names and ids grew by about 0.5–0.9 GB per
/// 300,000-row file, without end. Two arenas keep it flat (measured in
/// BENCHMARKS.md); RocksDB's allocations are large and few enough that the
/// contention does not show. Called before any thread starts.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; no thread exists yet.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}
