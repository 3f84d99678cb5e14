//! `ddlgate lint` and `ddlgate plan`: file reading and printing around the pure functions of
//! `ddlgate_ddl::lint`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use ddlgate_config::Config;
use ddlgate_ddl::lint::{self, LintOptions};
use ddlgate_ddl::Facts;

use crate::cli::LintArgs;

/// Collects `*.sql` files under `path` (or `path` itself), sorted for stable output.
fn sql_files(path: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    if path.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .with_context(|| format!("reading {}", path.display()))?
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<_, _>>()?;
        entries.sort();
        for entry in entries {
            if entry.is_dir() || entry.extension().is_some_and(|e| e == "sql") {
                sql_files(&entry, out)?;
            }
        }
    } else {
        out.push(path.to_path_buf());
    }
    Ok(())
}

/// The files to lint, as `(name, contents)`: each path's `*.sql` files not excluded (an error
/// when a path has none), or standard input for `-`.
fn read_files(paths: &[PathBuf], exclude: &[String]) -> anyhow::Result<Vec<(String, String)>> {
    let excluded = exclusions(exclude)?;
    let mut files = Vec::new();
    for p in paths {
        if p.as_os_str() == "-" {
            files.push(p.clone());
            continue;
        }
        let mut found = Vec::new();
        sql_files(p, &mut found)?;
        found.retain(|f| !excluded.is_match(f));
        if found.is_empty() {
            anyhow::bail!("{}: no .sql file there (after --exclude)", p.display());
        }
        files.append(&mut found);
    }
    files
        .iter()
        .map(|f| {
            if f.as_os_str() == "-" {
                let mut text = String::new();
                std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
                    .context("reading standard input")?;
                return Ok(("<stdin>".to_owned(), text));
            }
            Ok((
                f.display().to_string(),
                std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?,
            ))
        })
        .collect()
}

/// `--exclude` globs, compiled.
fn exclusions(globs: &[String]) -> anyhow::Result<globset::GlobSet> {
    let mut set = globset::GlobSetBuilder::new();
    for g in globs {
        set.add(globset::Glob::new(g).with_context(|| format!("--exclude {g:?}"))?);
    }
    set.build().context("--exclude")
}

/// Runs the linter and prints its report: under the default policy, or under the gateway
/// configuration's (`--config`), decided by the gateway's own functions.
pub fn lint(args: LintArgs) -> anyhow::Result<ExitCode> {
    let LintArgs {
        paths,
        exclude,
        pg_version,
        assume_in_transaction,
        sent_as,
        tool,
        schema,
        database_url,
        docs_url,
        format,
        policy,
    } = args;
    let mut opts = LintOptions::new(pg_version, assume_in_transaction);
    opts.sending = lint::Sending { tool, sent_as };
    let config = policy
        .config
        .as_deref()
        .map(|c| Config::load(c).with_context(|| format!("{}", c.display())))
        .transpose()?;
    let contents = read_files(&paths, &exclude)?;
    let borrowed: Vec<(&str, &str)> = contents
        .iter()
        .map(|(p, c)| (p.as_str(), c.as_str()))
        .collect();
    for f in &schema {
        opts.schema_sql
            .push(std::fs::read_to_string(f).with_context(|| format!("--schema {}", f.display()))?);
    }
    if let Some(url) = database_url.as_deref() {
        crate::lint_catalog::read(url, &borrowed, &mut opts)?;
    }
    let report = match &config {
        Some(config) => crate::lint_policy::lint(config, &policy, &borrowed, opts),
        None => lint::lint(&borrowed, &opts),
    };
    let mut report = report;
    report.docs_url = docs_url;
    print!("{}", lint::render(&report, format));
    Ok(ExitCode::from(
        u8::try_from(report.exit_code()).unwrap_or(1),
    ))
}

/// Prints the decision and plan for one SQL text.
pub fn plan(
    sql: Option<String>,
    file: Option<PathBuf>,
    pg_version: u32,
) -> anyhow::Result<ExitCode> {
    let sql = match (sql, file) {
        (Some(s), _) => s,
        (None, Some(f)) => {
            std::fs::read_to_string(&f).with_context(|| format!("reading {}", f.display()))?
        }
        (None, None) => anyhow::bail!("give SQL text or --file"),
    };
    // As the gateway decides a text sent as one Query (split when it runs a plan).
    let decisions = ddlgate_ddl::as_sent::analyze_query(
        &sql,
        &Facts::for_major(pg_version),
        &Default::default(),
    );
    print!("{}", lint::render_plan(&sql, &decisions));
    Ok(ExitCode::SUCCESS)
}

/// `ddlgate explain RULE`: the rule's page, as the docs hold it; `--list`: the catalogue.
pub fn explain(rule: Option<&str>, list: bool) -> anyhow::Result<ExitCode> {
    if list {
        for r in ddlgate_ddl::RULES {
            println!(
                "{:<42} {:<8} {:?}: {}",
                r.id.as_str(),
                r.severity.as_str(),
                r.category,
                r.summary
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    let id = rule.unwrap_or_default();
    let Some(rule) = ddlgate_ddl::RuleId::from_id(id) else {
        anyhow::bail!("no rule `{id}` (`ddlgate explain --list` shows them all)");
    };
    let def = rule.def();
    println!(
        "{} — {} ({:?}, {} by default){}\n",
        rule.as_str(),
        def.summary,
        def.category,
        def.severity.as_str(),
        if def.aliases.is_empty() {
            String::new()
        } else {
            format!("; squawk: {}", def.aliases.join(", "))
        }
    );
    print!("{}", rule.docs_page());
    Ok(ExitCode::SUCCESS)
}
