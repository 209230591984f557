//! `creditgate catalog`: check the measures catalog and show it.

use std::process::ExitCode;

use creditgate::catalog::{Catalog, Effect};

/// Arguments of `creditgate catalog`.
#[derive(clap::Args)]
pub struct Args {
    /// Print the catalog as JSON instead of a summary.
    #[arg(long)]
    json: bool,
}

/// Prints each category with its measures. Reaching this point means the
/// catalog loaded and passed every check.
pub fn run(args: &Args, catalog: &Catalog) -> anyhow::Result<ExitCode> {
    if args.json {
        println!("{}", serde_json::to_string_pretty(&catalog.describe())?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "catalog OK: {} actions, {} categories, {} measures",
        catalog.actions().len(),
        catalog.categories().len(),
        catalog.measures().len()
    );
    for c in catalog.categories() {
        let roles: Vec<_> = c.extends_to.iter().map(|r| r.as_str()).collect();
        println!(
            "\n{} {} ({} list; extends to: {})",
            c.code,
            c.name,
            c.list.as_str(),
            if roles.is_empty() {
                "-".to_string()
            } else {
                roles.join(", ")
            }
        );
        for m in &c.measures {
            let m = catalog.measure(*m);
            let actions: Vec<_> = m
                .actions
                .iter()
                .map(|a| catalog.action(*a).code.as_str())
                .collect();
            println!(
                "  {:<30} {:<11} {} [{}]  {}",
                m.code,
                if m.mandatory {
                    "mandatory"
                } else {
                    "recommended"
                },
                if m.effect == Effect::Restricts {
                    "restricts"
                } else {
                    "grants"
                },
                actions.join(", "),
                m.name
            );
        }
    }
    if !catalog.windows().is_empty() {
        println!("\npublication windows of disclosed penalties (双公示), from the decision:");
        for w in catalog.windows() {
            println!(
                "  {:<8} {}  {}{}",
                w.severity.as_str(),
                if w.published {
                    format!("{:>2} to {:>2} months", w.min_months, w.max_months)
                } else {
                    "not published     ".to_string()
                },
                w.source,
                if w.verified { "" } else { " (unverified)" }
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
