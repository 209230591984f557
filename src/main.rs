//! The `creditgate` binary: parses the command line and runs one subcommand.
//! All work lives in the library; see `src/cli/` for each subcommand.

use std::process::ExitCode;

mod cli;

fn main() -> ExitCode {
    match cli::run() {
        Ok(code) => code,
        Err(err) => {
            eprintln!("creditgate: {err:#}");
            ExitCode::from(cli::EXIT_FAILURE)
        }
    }
}
