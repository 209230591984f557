//! The configuration file of `creditgate serve --config FILE`, and
//! `creditgate config check FILE`.
//!
//! A flat TOML file whose keys are the flags of `serve` (and the global
//! `catalog` and `calendar`), with `_` for `-`: `max_connections = 20000`
//! is `--max-connections 20000`. The keys are read off the command-line
//! definition itself, so every serve flag is a key, a flag added later is
//! one too, and a value is checked by the same parser as on the command
//! line. A flag given on the command line overrides its key.
//!
//! The file becomes command-line arguments inserted after `serve` for the
//! keys the command line does not give; clap then parses one command line
//! as always. A key no flag has, a section, or a value of the wrong kind is
//! refused with the file and line.

use std::collections::HashSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Arg, ArgAction, Command, CommandFactory, Parser};

/// Arguments of `creditgate config`.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: ConfigCommand,
}

#[derive(clap::Subcommand)]
enum ConfigCommand {
    /// Validate a `serve --config` file without starting anything: its
    /// keys and values, the flags they combine into, and the files they
    /// name (catalog, calendar, keys). Prints the settings it holds.
    Check {
        /// The configuration file.
        file: PathBuf,
    },
}

/// One key of a configuration file.
#[derive(Debug, Clone)]
pub struct Setting {
    /// The key as written (`max_connections`).
    pub key: String,
    /// Its line in the file, from 1.
    pub line: usize,
    /// The value as the command line would carry it (`None`: a switch
    /// turned on).
    pub value: Option<String>,
}

/// A configuration file read and checked key by key.
#[derive(Debug)]
pub struct ConfigFile {
    /// Its keys, in file order.
    pub settings: Vec<Setting>,
}

/// Keys that name no serve setting although they are flags.
const NOT_KEYS: [&str; 3] = ["config", "help", "version"];

/// Global flags that are keys too: they shape what `serve` serves.
const GLOBAL_KEYS: [&str; 2] = ["catalog", "calendar"];

impl Setting {
    /// The flag's long name (`max-connections`).
    pub fn flag(&self) -> String {
        self.key.replace('_', "-")
    }
}

impl ConfigFile {
    /// Reads and checks `path`: TOML syntax, every key a serve flag, every
    /// value accepted by that flag's parser.
    pub fn load(path: &Path) -> anyhow::Result<ConfigFile> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            anyhow::anyhow!("cannot read the configuration {}: {e}", path.display())
        })?;
        ConfigFile::parse(&text, path)
    }

    /// Checks `text`, read from `path` (named in errors).
    pub fn parse(text: &str, path: &Path) -> anyhow::Result<ConfigFile> {
        let at = |offset: usize| 1 + text[..offset.min(text.len())].matches('\n').count();
        let fail = |line: usize, what: String| anyhow::anyhow!("{}:{line}: {what}", path.display());
        let table = toml::de::DeTable::parse(text).map_err(|e| {
            let line = e.span().map_or(1, |s| at(s.start));
            fail(line, format!("not valid TOML: {}", e.message()))
        })?;
        let cli = crate::cli::Cli::command();
        let serve = cli
            .find_subcommand("serve")
            .expect("the command line has serve");
        let known = known_flags(&cli, serve);
        let mut settings = Vec::new();
        for (key, value) in table.get_ref() {
            let line = at(key.span().start);
            // `max-connections` is refused: keys are spelt one way.
            let flag = key.get_ref().replace('_', "-");
            let arg = (!key.get_ref().contains('-'))
                .then(|| known.iter().find(|a| a.get_long() == Some(flag.as_str())))
                .flatten();
            let Some(arg) = arg else {
                let hint = if key.get_ref().contains('-') {
                    format!(
                        " (keys use `_` where flags use `-`: `{}`)",
                        key.get_ref().replace('-', "_")
                    )
                } else {
                    String::new()
                };
                return Err(fail(
                    line,
                    format!(
                        "unknown key `{}`{hint}; the keys are the flags of `creditgate serve`: {}",
                        key.get_ref(),
                        known
                            .iter()
                            .filter_map(|a| a.get_long())
                            .map(|l| l.replace('-', "_"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            };
            let value = command_line_value(value.get_ref(), &text[value.span()], arg)
                .map_err(|why| fail(line, format!("`{}`: {why}", key.get_ref())))?;
            if let Some(v) = &value {
                check_value(arg, v)
                    .map_err(|why| fail(line, format!("`{}`: {why}", key.get_ref())))?;
            }
            settings.push(Setting {
                key: key.get_ref().to_string(),
                line,
                value,
            });
        }
        settings.sort_by_key(|s| s.line);
        Ok(ConfigFile { settings })
    }

    /// The settings as command-line arguments, leaving out those whose
    /// flag is in `given`.
    pub fn arguments(&self, given: &HashSet<String>) -> Vec<OsString> {
        self.settings
            .iter()
            .filter(|s| !given.contains(&s.flag()))
            .map(|s| match &s.value {
                Some(v) => OsString::from(format!("--{}={v}", s.flag())),
                None => OsString::from(format!("--{}", s.flag())),
            })
            .collect()
    }
}

/// The flags a configuration key may name: serve's and the global ones
/// that shape serving.
fn known_flags<'a>(cli: &'a Command, serve: &'a Command) -> Vec<&'a Arg> {
    serve
        .get_arguments()
        .filter(|a| a.get_long().is_some_and(|l| !NOT_KEYS.contains(&l)))
        .chain(
            cli.get_arguments()
                .filter(|a| a.get_long().is_some_and(|l| GLOBAL_KEYS.contains(&l))),
        )
        .collect()
}

/// A TOML value as the command-line text of `arg` (`None` for a switch
/// that is on), or why it cannot be one.
fn command_line_value(
    value: &toml::de::DeValue<'_>,
    raw: &str,
    arg: &Arg,
) -> Result<Option<String>, String> {
    use toml::de::DeValue;
    let switch = matches!(arg.get_action(), ArgAction::SetTrue);
    let list = matches!(arg.get_action(), ArgAction::Append);
    match value {
        DeValue::Boolean(true) if switch => Ok(None),
        DeValue::Boolean(false) if switch => {
            Err("a switch is on when its key is `true`; leave the key out to keep it off".into())
        }
        _ if switch => Err(format!("expected true (a switch), found {raw}")),
        DeValue::Boolean(_) => Err(format!("expected a value, found {raw}")),
        DeValue::String(s) => Ok(Some(s.to_string())),
        // TOML's `10_000` is clap's `10000`.
        DeValue::Integer(_) | DeValue::Float(_) => Ok(Some(raw.trim().replace('_', ""))),
        DeValue::Array(items) if list => {
            let mut out = Vec::new();
            for item in items.iter() {
                match item.get_ref() {
                    DeValue::String(s) if !s.contains(',') => out.push(s.to_string()),
                    _ => return Err("expected a list of strings without commas".into()),
                }
            }
            if out.is_empty() {
                return Err("an empty list: leave the key out instead".into());
            }
            Ok(Some(out.join(",")))
        }
        DeValue::Array(_) => Err("expected one value, found a list".into()),
        DeValue::Table(_) => Err("sections are not keys: the file is flat".into()),
        DeValue::Datetime(_) => Ok(Some(raw.trim().to_string())),
    }
}

/// Runs the flag's own parser on `value`: a command line of that flag
/// alone, where only the value's errors count (one flag alone may miss
/// another it requires; `config check` tries them together).
fn check_value(arg: &Arg, value: &str) -> Result<(), String> {
    use clap::error::ErrorKind;
    let flag = format!("--{}={value}", arg.get_long().unwrap_or_default());
    match crate::cli::Cli::try_parse_from(["creditgate", "serve", flag.as_str()]) {
        Err(e)
            if matches!(
                e.kind(),
                ErrorKind::InvalidValue
                    | ErrorKind::ValueValidation
                    | ErrorKind::InvalidUtf8
                    | ErrorKind::WrongNumberOfValues
                    | ErrorKind::TooManyValues
                    | ErrorKind::NoEquals
            ) =>
        {
            Err(clap_message(&e))
        }
        _ => Ok(()),
    }
}

/// The first line of a clap error, without its `error: `.
fn clap_message(e: &clap::Error) -> String {
    let text = e.to_string();
    let first = text.lines().next().unwrap_or_default();
    first.trim_start_matches("error: ").to_string()
}

/// Where `serve` is in `argv`, if it is the subcommand run.
fn serve_position(argv: &[OsString]) -> Option<usize> {
    let mut i = 1;
    while i < argv.len() {
        let token = argv[i].to_string_lossy();
        if token == "serve" {
            return Some(i);
        }
        if GLOBAL_KEYS.iter().any(|g| token == format!("--{g}")) {
            i += 1;
        } else if !token.starts_with('-') {
            return None;
        }
        i += 1;
    }
    None
}

/// The `--config` file named among serve's arguments.
fn config_path(args: &[OsString]) -> Option<PathBuf> {
    let mut it = args.iter();
    while let Some(token) = it.next() {
        let text = token.to_string_lossy();
        if text == "--config" {
            return it.next().map(PathBuf::from);
        }
        if let Some(path) = text.strip_prefix("--config=") {
            return Some(PathBuf::from(path));
        }
        if text == "--" {
            break;
        }
    }
    None
}

/// The long flags given in `argv` (`--listen X` and `--listen=X` both
/// give `listen`).
fn given_flags(argv: &[OsString]) -> HashSet<String> {
    argv.iter()
        .filter_map(|t| t.to_str()?.strip_prefix("--"))
        .map(|t| t.split('=').next().unwrap_or(t).to_string())
        .collect()
}

/// `argv` with a `serve --config FILE`'s settings inserted after `serve`,
/// for the flags the command line does not give; `argv` itself otherwise.
pub fn expand(argv: Vec<OsString>) -> anyhow::Result<Vec<OsString>> {
    let Some(at) = serve_position(&argv) else {
        return Ok(argv);
    };
    let Some(path) = config_path(&argv[at + 1..]) else {
        return Ok(argv);
    };
    let file = ConfigFile::load(&path)?;
    let inserted = file.arguments(&given_flags(&argv));
    let mut out = argv[..=at].to_vec();
    out.extend(inserted);
    out.extend_from_slice(&argv[at + 1..]);
    Ok(out)
}

/// Runs `creditgate config`.
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let ConfigCommand::Check { file } = &args.command;
    let config = match ConfigFile::load(file) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("creditgate: {e:#}");
            return Ok(ExitCode::from(crate::cli::EXIT_INVALID));
        }
    };
    let mut argv = vec![OsString::from("creditgate"), OsString::from("serve")];
    argv.extend(config.arguments(&HashSet::new()));
    let problem = match crate::cli::Cli::try_parse_from(&argv) {
        Err(e) => Some(format!(
            "{}: the keys do not combine: {}",
            file.display(),
            clap_message(&e)
        )),
        Ok(cli) => crate::cli::check_serve(&cli)
            .err()
            .map(|e| format!("{}: {e:#}", file.display())),
    };
    if let Some(problem) = problem {
        eprintln!("creditgate: {problem}");
        return Ok(ExitCode::from(crate::cli::EXIT_INVALID));
    }
    println!(
        "{}: valid, {} settings",
        file.display(),
        config.settings.len()
    );
    for s in &config.settings {
        match &s.value {
            Some(v) => println!("  {} = {v}  (line {}, --{})", s.key, s.line, s.flag()),
            None => println!("  {} = true  (line {}, --{})", s.key, s.line, s.flag()),
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> anyhow::Result<ConfigFile> {
        ConfigFile::parse(text, Path::new("creditgate.toml"))
    }

    #[test]
    fn keys_become_flags() {
        let file = parse(
            "# a comment\nlisten = \"127.0.0.1:9000\"\nmax_connections = 20_000\nno_audit = true\nnats = [\"nats://a:4222\", \"nats://b:4222\"]\ncatalog = \"data/catalog.toml\"\n",
        )
        .unwrap();
        let args: Vec<String> = file
            .arguments(&HashSet::new())
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect();
        assert_eq!(
            args,
            [
                "--listen=127.0.0.1:9000",
                "--max-connections=20000",
                "--no-audit",
                "--nats=nats://a:4222,nats://b:4222",
                "--catalog=data/catalog.toml"
            ]
        );
        assert_eq!(file.settings[1].line, 3);
    }

    #[test]
    fn unknown_keys_are_refused_with_their_line() {
        let e = parse("listen = \"127.0.0.1:9000\"\n\nlisten_port = 9000\n").unwrap_err();
        let text = e.to_string();
        assert!(
            text.starts_with("creditgate.toml:3: unknown key `listen_port`"),
            "{text}"
        );
        assert!(text.contains("max_connections"), "{text}");
        let e = parse("max-connections = 5\n").unwrap_err().to_string();
        assert!(e.contains("`max_connections`"), "{e}");
        let e = parse("config = \"other.toml\"\n").unwrap_err().to_string();
        assert!(e.contains("unknown key `config`"), "{e}");
    }

    #[test]
    fn values_are_checked_by_the_flags_parser() {
        let e = parse("threads = 2\nlisten = \"localhost\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("creditgate.toml:2: `listen`: invalid value"),
            "{e}"
        );
        let e = parse("threads = \"many\"\n").unwrap_err().to_string();
        assert!(e.starts_with("creditgate.toml:1: `threads`"), "{e}");
        let e = parse("no_audit = \"yes\"\n").unwrap_err().to_string();
        assert!(e.contains("expected true"), "{e}");
        let e = parse("no_warm = false\n").unwrap_err().to_string();
        assert!(e.contains("leave the key out"), "{e}");
        let e = parse("[serve]\nlisten = \"127.0.0.1:1\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("creditgate.toml:1: `serve`") || e.contains("unknown key `serve`"),
            "{e}"
        );
        let e = parse("listen = \n").unwrap_err().to_string();
        assert!(e.starts_with("creditgate.toml:1: not valid TOML"), "{e}");
        let e = parse("today = \"2026-13-01\"\n").unwrap_err().to_string();
        assert!(e.starts_with("creditgate.toml:1: `today`"), "{e}");
    }

    #[test]
    fn the_command_line_overrides_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "listen = \"127.0.0.1:9000\"\nthreads = 3\n").unwrap();
        let argv: Vec<OsString> = [
            "creditgate",
            "--catalog",
            "cat.toml",
            "serve",
            "--config",
            path.to_str().unwrap(),
            "--listen=127.0.0.1:7000",
        ]
        .iter()
        .map(OsString::from)
        .collect();
        let out: Vec<String> = expand(argv)
            .unwrap()
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect();
        assert_eq!(
            out,
            [
                "creditgate",
                "--catalog",
                "cat.toml",
                "serve",
                "--threads=3",
                "--config",
                path.to_str().unwrap(),
                "--listen=127.0.0.1:7000"
            ]
        );
    }
}
