//! `creditgate-fuzz TARGET`: reads one input from standard input and feeds
//! it to the target (`creditgate::fuzzing::TARGETS`). Built with AFL++'s
//! instrumentation by `tools/fuzz/run`; a panic aborts, which AFL++ records
//! as a crash.

use std::io::Read;

fn main() {
    let name = std::env::args().nth(1).unwrap_or_default();
    let Some(target) = creditgate::fuzzing::target(&name) else {
        let names: Vec<&str> = creditgate::fuzzing::TARGETS.iter().map(|(n, _)| *n).collect();
        eprintln!("creditgate-fuzz: unknown target {name:?}; the targets are {}", names.join(", "));
        std::process::exit(2);
    };
    let mut input = Vec::new();
    std::io::stdin()
        .read_to_end(&mut input)
        .expect("standard input is readable");
    target(&input);
}
