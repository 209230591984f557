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
    match cli::run() {
        Ok(code) => code,
        Err(err) => {
            eprintln!("creditgate: {err:#}");
            ExitCode::from(cli::EXIT_FAILURE)
        }
    }
}
