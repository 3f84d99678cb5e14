//! `ddlgate lint --database-url`: the catalog facts the gateway reads before it decides
//! (columns and their types, indexes, validated NOT NULL checks, row and size estimates, the
//! role's `lock_timeout`), read once for every relation the files touch, so that lint and
//! gateway decide alike, small tables included.

use std::collections::BTreeSet;

use anyhow::Context;
use ddlgate_ddl::lint::{self, LintOptions};
use ddlgate_ddl::QualifiedName;
use tokio_postgres::SimpleQueryMessage;

/// Adds to `opts.facts` what the database at `url` says of the relations `files` touch.
pub fn read(url: &str, files: &[(&str, &str)], opts: &mut LintOptions) -> anyhow::Result<()> {
    let names = touched(files, opts);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting a runtime")?;
    let row = runtime.block_on(async {
        let client = ddlgate_proxy::jobs::connect_url(url)
            .await
            .map_err(|e| anyhow::anyhow!("--database-url: {e}"))?;
        let query = ddlgate_proxy::exec::catalog::facts_query(&names, &[], &[]);
        let messages = client
            .simple_query(&query)
            .await
            .context("--database-url: reading the catalog")?;
        anyhow::Ok(messages.into_iter().find_map(|m| {
            match m {
                SimpleQueryMessage::Row(r) => Some(
                    (0..r.len())
                        .map(|i| r.get(i).map(str::to_owned))
                        .collect::<Vec<_>>(),
                ),
                _ => None,
            }
        }))
    })?;
    if let Some(row) = row {
        ddlgate_proxy::exec::catalog::read_row(&row, &mut opts.facts, &names);
    }
    Ok(())
}

/// The relations the files' statements lock or create, as written.
fn touched(files: &[(&str, &str)], opts: &LintOptions) -> Vec<QualifiedName> {
    let first = lint::lint(files, opts);
    let names: BTreeSet<QualifiedName> = first
        .files
        .iter()
        .flat_map(|f| f.decisions.iter().flat_map(|d| d.locks.keys().cloned()))
        .collect();
    names.into_iter().collect()
}
