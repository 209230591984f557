//! Integration tests: the real `creditgate` binary, the bundled sample, and
//! an independent second implementation of the identifier rules.

mod http;
mod util;

mod ambiguity;
mod cli;
mod console;
mod disclosures;
mod fuzz_corpora;
mod governance;
mod hardening;
mod ids_oracle;
mod import;
mod layers;
mod lifecycle;
mod live_index;
mod named;
mod operations;
mod replication;
mod sample;
mod screen;
mod server;
mod watches;
