//! The session settings a plan changes (`lock_timeout`, `statement_timeout`), saved first
//! and put back after every statement.

use ddlgate_ddl::quote_literal;

use super::conn::PlanConn;
use crate::ProxyError;

/// Session settings a plan changes and restores.
pub(super) struct SavedSettings {
    pub(super) lock_timeout: String,
    pub(super) statement_timeout: String,
}

/// Reads the settings a plan changes, to put them back afterwards.
pub(super) async fn save_settings(conn: &mut impl PlanConn) -> Result<SavedSettings, ProxyError> {
    let r = conn
        .query("SELECT current_setting('lock_timeout'), current_setting('statement_timeout')")
        .await?;
    let row = r.rows.first().cloned().unwrap_or_default();
    let get = |i: usize| {
        row.get(i)
            .cloned()
            .flatten()
            .unwrap_or_else(|| "0".to_owned())
    };
    Ok(SavedSettings {
        lock_timeout: get(0),
        statement_timeout: get(1),
    })
}

/// Sets both timeouts for the session.
pub(super) async fn set_timeouts(
    conn: &mut impl PlanConn,
    lock_timeout: &str,
    statement_timeout: &str,
) -> Result<(), ProxyError> {
    let sql = format!(
        "SELECT set_config('lock_timeout', {}, false), set_config('statement_timeout', {}, false)",
        quote_literal(lock_timeout),
        quote_literal(statement_timeout)
    );
    conn.query(&sql).await?;
    Ok(())
}
