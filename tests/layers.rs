//! The library's layers, as `src/lib.rs` lists them: a top-level module
//! uses only the modules listed above it, so no two import each other.
//! Read from the sources (comments and test modules aside), so that a new
//! import against the order fails here with the file that makes it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The modules in the order of the layer list in `src/lib.rs`'s docs.
fn layer_order(root: &Path) -> Vec<String> {
    let lib = std::fs::read_to_string(root.join("src/lib.rs")).unwrap();
    let start = lib
        .find("//! The layers, bottom up")
        .expect("lib.rs lists its layers");
    let mut order = Vec::new();
    for line in lib[start..].lines().take_while(|l| l.starts_with("//!")) {
        let Some(item) = line.strip_prefix("//! * ") else {
            continue;
        };
        // The names are the code spans before the item's first ": " (and
        // before a remark in parentheses).
        let names = item.split(": ").next().unwrap();
        let names = names.split(" (").next().unwrap();
        for (i, span) in names.split('`').enumerate() {
            if i % 2 == 1 && span.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
                order.push(span.to_string());
            }
        }
    }
    let mut unique = order.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(
        unique.len(),
        order.len(),
        "a module listed twice: {order:?}"
    );
    order
}

/// Every `.rs` file of a top-level module.
fn files_of(root: &Path, module: &str) -> Vec<PathBuf> {
    let file = root.join("src").join(format!("{module}.rs"));
    if file.exists() {
        return vec![file];
    }
    let mut out = Vec::new();
    let mut dirs = vec![root.join("src").join(module)];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out
}

/// The top-level modules `text` names as `crate::x`, tests and comments aside.
fn uses(text: &str) -> Vec<String> {
    let code = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => text,
    };
    let mut out = Vec::new();
    for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
        let mut rest = line;
        while let Some(i) = rest.find("crate::") {
            rest = &rest[i + "crate::".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            out.push(name);
        }
    }
    out
}

#[test]
fn each_module_uses_only_the_layers_below_it() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let order = layer_order(root);
    assert!(order.len() >= 20, "the layer list: {order:?}");
    let rank: BTreeMap<&str, usize> = order
        .iter()
        .enumerate()
        .map(|(i, m)| (m.as_str(), i))
        .collect();
    // Every module of the crate is in the list.
    for entry in std::fs::read_dir(root.join("src")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        if ["lib", "main", "cli"].contains(&name.as_str()) {
            continue;
        }
        assert!(
            rank.contains_key(name.as_str()),
            "src/lib.rs does not list {name}"
        );
    }
    let mut wrong = Vec::new();
    for (module, &at) in &rank {
        for file in files_of(root, module) {
            if file.file_name().is_some_and(|f| f == "tests.rs") {
                continue;
            }
            let text = std::fs::read_to_string(&file).unwrap();
            for used in uses(&text) {
                match rank.get(used.as_str()) {
                    Some(&below) if below < at => {}
                    Some(_) => wrong.push(format!(
                        "{} uses crate::{used}, listed after {module}",
                        file.display()
                    )),
                    None => {}
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
