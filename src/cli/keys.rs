//! `creditgate keys`: make, list and revoke API keys in a keys file.
//!
//! ```sh
//! creditgate keys create --file keys.json --department 东方航空 --role query --action flight --action rail_premium
//! creditgate keys create --file keys.json --department 南昌中院 --role publish --authority 南昌市中级人民法院
//! creditgate keys create --file keys.json --department 东方航空 --role query --rate 2000 --daily-quota 5000000
//! creditgate keys limit --file keys.json 3f9a0c12b4de --rate 500 --daily-quota 100000
//! creditgate keys list --file keys.json
//! creditgate keys revoke --file keys.json 3f9a0c12b4de
//! ```
//!
//! `create` prints the token once, on standard output; the file keeps only
//! its SHA-256. A running server reloads the file within a second.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use creditgate::access::{KeysFile, NewKey, Role};
use creditgate::catalog::Catalog;
use creditgate::date::epoch_ms;

/// Arguments of `creditgate keys`.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: KeysCommand,
}

#[derive(clap::Subcommand)]
enum KeysCommand {
    /// Make a key and print its token (shown only this once).
    Create(CreateArgs),
    /// List the keys of the file (never their tokens).
    List(FileArg),
    /// Set a key's rate limits (replacing the ones it had; none given:
    /// unlimited).
    Limit(LimitArgs),
    /// Revoke a key by its id (the part after `cgk_`).
    Revoke(RevokeArgs),
}

/// Rate limits as flags.
#[derive(clap::Args)]
struct LimitFlags {
    /// Requests a second, sustained (a token bucket); none: unlimited.
    #[arg(long, value_name = "N")]
    rate: Option<u32>,
    /// Requests admitted at once after a quiet spell (default: the rate).
    #[arg(long, value_name = "N", requires = "rate")]
    burst: Option<u32>,
    /// Requests a day (China Standard Time); none: unlimited.
    #[arg(long, value_name = "N")]
    daily_quota: Option<u64>,
}

impl LimitFlags {
    fn limits(&self) -> creditgate::rate::Limits {
        creditgate::rate::Limits {
            per_second: self.rate,
            burst: self.burst,
            daily: self.daily_quota,
        }
    }
}

#[derive(clap::Args)]
struct LimitArgs {
    #[command(flatten)]
    file: FileArg,
    /// The key's id.
    id: String,
    #[command(flatten)]
    limits: LimitFlags,
}

#[derive(clap::Args)]
struct FileArg {
    /// The keys file (created if missing).
    #[arg(long, value_name = "FILE")]
    file: PathBuf,
}

#[derive(clap::Args)]
struct CreateArgs {
    #[command(flatten)]
    file: FileArg,
    /// The department the key speaks for.
    #[arg(long)]
    department: String,
    /// A role: query, screen, publish, operator or admin (repeatable).
    #[arg(long = "role", value_name = "ROLE", required = true, value_parser = Role::parse)]
    roles: Vec<Role>,
    /// An action a query key may ask about (repeatable; none: all).
    #[arg(long = "action", value_name = "ACTION")]
    actions: Vec<String>,
    /// A deciding department a publish key writes for (repeatable).
    #[arg(long = "authority", value_name = "AUTHORITY")]
    authorities: Vec<String>,
    /// The key sees identity numbers and persons' names unmasked.
    #[arg(long)]
    personal: bool,
    #[command(flatten)]
    limits: LimitFlags,
}

#[derive(clap::Args)]
struct RevokeArgs {
    #[command(flatten)]
    file: FileArg,
    /// The key's id.
    id: String,
}

pub fn run(args: &Args, catalog: &Catalog) -> anyhow::Result<ExitCode> {
    match &args.command {
        KeysCommand::Create(a) => {
            for action in &a.actions {
                if catalog.action_by_code(action).is_none() {
                    eprintln!(
                        "creditgate: unknown action {action:?}; the catalog has: {}",
                        catalog.action_codes().join(", ")
                    );
                    return Ok(ExitCode::from(super::EXIT_INVALID));
                }
            }
            let mut file = KeysFile::load(&a.file.file)?;
            let (key, token) = file
                .create(
                    NewKey {
                        department: a.department.clone(),
                        roles: a.roles.clone(),
                        actions: a.actions.clone(),
                        authorities: a.authorities.clone(),
                        personal: a.personal,
                        limits: a.limits.limits(),
                    },
                    epoch_ms(),
                )
                .context("cannot make the key")?;
            file.save(&a.file.file)?;
            eprintln!(
                "creditgate: key {} for {} ({}) added to {}; its token follows, shown only now",
                key.id,
                key.department,
                key.roles
                    .iter()
                    .map(|r| r.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                a.file.file.display()
            );
            println!("{token}");
        }
        KeysCommand::List(a) => {
            let file = KeysFile::load(&a.file)?;
            for k in &file.keys {
                println!(
                    "{}",
                    serde_json::json!({
                        "id": k.id,
                        "department": k.department,
                        "roles": k.roles,
                        "actions": k.actions,
                        "authorities": k.authorities,
                        "personal": k.personal,
                        "rate_per_second": k.rate_per_second,
                        "burst": k.burst,
                        "daily_quota": k.daily_quota,
                        "created": creditgate::date::Date::cst_timestamp(k.created_ms),
                        "revoked": k.revoked_ms.map(creditgate::date::Date::cst_timestamp),
                    })
                );
            }
        }
        KeysCommand::Limit(a) => {
            let mut file = KeysFile::load(&a.file.file)?;
            match file.set_limits(&a.id, a.limits.limits()) {
                Ok(key) => eprintln!(
                    "creditgate: key {} ({}): {}",
                    key.id,
                    key.department,
                    describe(&key.limits())
                ),
                Err(e) => {
                    eprintln!("creditgate: {e}");
                    return Ok(ExitCode::from(super::EXIT_INVALID));
                }
            }
            file.save(&a.file.file)?;
        }
        KeysCommand::Revoke(a) => {
            let mut file = KeysFile::load(&a.file.file)?;
            match file.revoke(&a.id, epoch_ms()) {
                Ok(key) => eprintln!("creditgate: key {} ({}) revoked", key.id, key.department),
                Err(e) => {
                    eprintln!("creditgate: {e}");
                    return Ok(ExitCode::from(super::EXIT_INVALID));
                }
            }
            file.save(&a.file.file)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Limits in words, for the operator.
fn describe(limits: &creditgate::rate::Limits) -> String {
    let mut parts = Vec::new();
    if let Some(rate) = limits.per_second {
        parts.push(format!(
            "{rate} requests a second, {} at once",
            limits.burst.unwrap_or(rate)
        ));
    }
    if let Some(daily) = limits.daily {
        parts.push(format!("{daily} requests a day"));
    }
    if parts.is_empty() {
        "unlimited".into()
    } else {
        parts.join(", ")
    }
}
