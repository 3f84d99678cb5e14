//! The `ddlgate` schema, created and migrated by the gateway itself through the control role.
//! Each migration runs once, in order, in one transaction, under an advisory lock so that two
//! gateway instances starting together do not race.

use tokio_postgres::Client;

use super::JobError;

/// Advisory-lock namespace of everything ddlgate locks (`'ddlg'` as an int4).
pub const LOCK_NAMESPACE: i32 = 0x6464_6c67;

/// Schema migrations, oldest first. Never edit one that has shipped; append.
const MIGRATIONS: &[&str] = &[
    // 1: jobs.
    "CREATE TABLE ddlgate.jobs (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        job_key integer NOT NULL,
        state text NOT NULL CHECK (state IN ('awaiting-commit', 'running', 'queued', 'completed', 'failed', 'dropped', 'abandoned')),
        statement text NOT NULL,
        summary text NOT NULL,
        steps jsonb NOT NULL,
        next_step integer NOT NULL DEFAULT 0,
        rows_done bigint NOT NULL DEFAULT 0,
        client_xid bigint,
        username text NOT NULL,
        owner text,
        error text,
        outcomes jsonb NOT NULL DEFAULT '[]',
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        finished_at timestamptz
    );
    CREATE INDEX jobs_active ON ddlgate.jobs (state) WHERE state IN ('awaiting-commit', 'running', 'queued')",
    // 2: approval requests ([[policy.scope]] require-approval).
    "CREATE TABLE ddlgate.approvals (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        state text NOT NULL CHECK (state IN ('pending', 'approved', 'rejected', 'used')),
        database text NOT NULL,
        requester text NOT NULL,
        fingerprint text NOT NULL,
        statement text NOT NULL,
        scope text NOT NULL,
        policy_version text NOT NULL,
        approvers text[] NOT NULL,
        min_approvals integer NOT NULL,
        ttl_secs bigint NOT NULL,
        approved_by text[] NOT NULL DEFAULT '{}',
        decided_by text,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        used_at timestamptz
    );
    CREATE INDEX approvals_open ON ddlgate.approvals (database, requester, fingerprint) WHERE state IN ('pending', 'approved')",
    // 3: break-glass windows.
    "CREATE TABLE ddlgate.breakglass (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        database text NOT NULL,
        role text NOT NULL,
        reason text NOT NULL,
        opened_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        closed_at timestamptz
    )",
];

/// Creates or upgrades the schema.
pub async fn migrate(client: &Client) -> Result<(), JobError> {
    client
        .batch_execute(&format!(
            "SELECT pg_advisory_lock({LOCK_NAMESPACE}, 0);
             CREATE SCHEMA IF NOT EXISTS ddlgate;
             CREATE TABLE IF NOT EXISTS ddlgate.schema_version (version integer NOT NULL);"
        ))
        .await?;
    let result = apply(client).await;
    client
        .batch_execute(&format!("SELECT pg_advisory_unlock({LOCK_NAMESPACE}, 0)"))
        .await?;
    result
}

async fn apply(client: &Client) -> Result<(), JobError> {
    let current: i32 = client
        .query_one(
            "SELECT coalesce(max(version), 0) FROM ddlgate.schema_version",
            &[],
        )
        .await?
        .get(0);
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let version = i as i32 + 1;
        client
            .batch_execute(&format!(
                "BEGIN; {sql}; DELETE FROM ddlgate.schema_version; INSERT INTO ddlgate.schema_version VALUES ({version}); COMMIT"
            ))
            .await?;
        tracing::info!(version, "ddlgate schema migrated");
    }
    Ok(())
}
