//! Which OS user the PostgreSQL programs run as.
//!
//! PostgreSQL refuses to run as root. When we are root, every program runs as the `postgres` OS
//! user (through `CommandExt::uid`/`gid`, which also clears supplementary groups), and the files
//! it needs are chowned to it. Otherwise everything runs as the current user.

use std::os::unix::fs::MetadataExt as _;
use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::Command;

use nix::unistd::{Gid, Uid, User};

use crate::LocalPgError;

/// The OS user PostgreSQL runs as when we are root.
const POSTGRES_OS_USER: &str = "postgres";

/// The OS identity for PostgreSQL programs.
#[derive(Debug, Clone)]
pub(crate) struct RunAs {
    /// `Some` when we must switch user (we are root); `None` to run as ourselves.
    switch_to: Option<(Uid, Gid)>,
}

impl RunAs {
    pub(crate) fn detect() -> Result<Self, LocalPgError> {
        if !nix::unistd::geteuid().is_root() {
            return Ok(Self { switch_to: None });
        }
        let user = User::from_name(POSTGRES_OS_USER)
            .map_err(|source| LocalPgError::OsUserLookup {
                user: POSTGRES_OS_USER,
                source,
            })?
            .ok_or(LocalPgError::NoPostgresOsUser {
                user: POSTGRES_OS_USER,
            })?;
        Ok(Self {
            switch_to: Some((user.uid, user.gid)),
        })
    }

    /// A command for `program` that runs as this user, in `home`, with a clean libpq environment.
    ///
    /// `PG*` variables from our environment (`PGHOST`, `PGDATA`, `PGPASSWORD`, …) are removed so
    /// they cannot redirect the tools, `HOME` points at `home` so no one else's `.pgpass` or
    /// `.psqlrc` is read, and messages are in the C locale so that they can be matched.
    pub(crate) fn command(&self, program: &Path, home: &Path) -> Command {
        let mut cmd = Command::new(program);
        if let Some((uid, gid)) = self.switch_to {
            cmd.uid(uid.as_raw()).gid(gid.as_raw());
        }
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("PG") {
                cmd.env_remove(key);
            }
        }
        cmd.env("HOME", home)
            .env("LC_ALL", "C")
            .env("LANG", "C")
            .current_dir(home);
        cmd
    }

    /// Checks that this user can enter every ancestor of `dir` (the directory itself is ours to
    /// chown). Only the primary group counts: switching users drops supplementary groups.
    pub(crate) fn check_can_reach(&self, dir: &Path) -> Result<(), LocalPgError> {
        let Some((uid, gid)) = self.switch_to else {
            return Ok(());
        };
        for ancestor in dir.ancestors().skip(1) {
            let meta = std::fs::metadata(ancestor).map_err(|source| LocalPgError::Io {
                action: "inspect",
                path: ancestor.to_path_buf(),
                source,
            })?;
            let mode = meta.mode();
            let can_enter = if meta.uid() == uid.as_raw() {
                mode & 0o100 != 0
            } else if meta.gid() == gid.as_raw() {
                mode & 0o010 != 0
            } else {
                mode & 0o001 != 0
            };
            if !can_enter {
                return Err(LocalPgError::TempDirNotReachable {
                    blocking: ancestor.to_path_buf(),
                });
            }
        }
        Ok(())
    }

    /// Gives `path` to this user (a no-op when not switching users).
    pub(crate) fn chown(&self, path: &Path) -> Result<(), LocalPgError> {
        let Some((uid, gid)) = self.switch_to else {
            return Ok(());
        };
        std::os::unix::fs::chown(path, Some(uid.as_raw()), Some(gid.as_raw())).map_err(|source| {
            LocalPgError::Io {
                action: "change the owner of",
                path: path.to_path_buf(),
                source,
            }
        })
    }
}
