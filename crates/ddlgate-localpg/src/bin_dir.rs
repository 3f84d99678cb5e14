//! Finding the PostgreSQL server binaries.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::LocalPgError;

/// Environment variable that names the bin directory explicitly.
pub const PG_BIN_ENV: &str = "PG_BIN";

/// Binaries a bin directory must contain to be usable.
pub(crate) const REQUIRED_BINARIES: [&str; 4] = ["initdb", "pg_ctl", "postgres", "psql"];

/// Where Debian and Ubuntu install one directory per major version.
const DEBIAN_ROOT: &str = "/usr/lib/postgresql";

/// Finds the directory holding `initdb`, `pg_ctl`, `postgres` and `psql`.
///
/// In order: the `PG_BIN` environment variable (used as is, and an error if incomplete),
/// `pg_config --bindir`, the highest version under `/usr/lib/postgresql/*/bin`, then the
/// directory of `initdb` on `PATH`.
pub fn find_bin_dir() -> Result<PathBuf, LocalPgError> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    find_bin_dir_in(
        std::env::var_os(PG_BIN_ENV),
        pg_config_bindir(),
        Path::new(DEBIAN_ROOT),
        &path,
    )
}

/// [`find_bin_dir`] with its inputs made explicit.
fn find_bin_dir_in(
    pg_bin: Option<OsString>,
    pg_config: Option<PathBuf>,
    versioned_root: &Path,
    path: &OsString,
) -> Result<PathBuf, LocalPgError> {
    if let Some(dir) = pg_bin.filter(|d| !d.is_empty()) {
        let dir = PathBuf::from(dir);
        check_bin_dir(&dir, "the PG_BIN environment variable")?;
        return Ok(dir);
    }
    let mut searched = vec![format!("{PG_BIN_ENV} (unset)")];
    match pg_config {
        Some(dir) if is_complete(&dir) => return Ok(dir),
        Some(dir) => searched.push(format!(
            "`pg_config --bindir` ({}, incomplete)",
            dir.display()
        )),
        None => searched.push("`pg_config --bindir` (not available)".to_owned()),
    }
    if let Some(dir) = highest_versioned_bin_dir(versioned_root) {
        return Ok(dir);
    }
    searched.push(format!("{}/*/bin", versioned_root.display()));
    if let Some(dir) = std::env::split_paths(path).find(|dir| is_complete(dir)) {
        return Ok(dir);
    }
    searched.push("PATH".to_owned());
    Err(LocalPgError::NoServerBinaries {
        searched: searched.join(", "),
    })
}

/// Checks that `dir` holds every required binary; `origin` names where `dir` came from.
pub(crate) fn check_bin_dir(dir: &Path, origin: &'static str) -> Result<(), LocalPgError> {
    match REQUIRED_BINARIES
        .into_iter()
        .find(|b| !dir.join(b).is_file())
    {
        None => Ok(()),
        Some(binary) => Err(LocalPgError::MissingBinary {
            dir: dir.to_path_buf(),
            binary,
            origin,
        }),
    }
}

fn is_complete(dir: &Path) -> bool {
    REQUIRED_BINARIES.iter().all(|b| dir.join(b).is_file())
}

fn pg_config_bindir() -> Option<PathBuf> {
    let out = Command::new("pg_config").arg("--bindir").output().ok()?;
    if !out.status.success() {
        return None;
    }
    let dir = String::from_utf8(out.stdout).ok()?;
    let dir = dir.trim();
    (!dir.is_empty()).then(|| PathBuf::from(dir))
}

/// The complete `<root>/<version>/bin` with the highest version (`9.6` < `10` < `15`).
fn highest_versioned_bin_dir(root: &Path) -> Option<PathBuf> {
    std::fs::read_dir(root)
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let version = parse_version(entry.file_name().to_str()?)?;
            let bin = entry.path().join("bin");
            is_complete(&bin).then_some((version, bin))
        })
        .max_by(|a, b| a.0.cmp(&b.0))
        .map(|(_, bin)| bin)
}

fn parse_version(name: &str) -> Option<Vec<u32>> {
    name.split('.').map(|part| part.parse().ok()).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests fail loudly by design.
mod tests {
    use super::*;

    fn fake_bin(root: &Path, version: &str, binaries: &[&str]) -> PathBuf {
        let bin = root.join(version).join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        for b in binaries {
            std::fs::write(bin.join(b), "").unwrap();
        }
        bin
    }

    #[test]
    fn picks_the_highest_complete_version() {
        let root = tempfile::tempdir().unwrap();
        fake_bin(root.path(), "9.6", &REQUIRED_BINARIES);
        let v15 = fake_bin(root.path(), "15", &REQUIRED_BINARIES);
        fake_bin(root.path(), "17", &["psql"]); // client-only install
        fake_bin(root.path(), "notaversion", &REQUIRED_BINARIES);
        let empty = OsString::new();
        assert_eq!(
            find_bin_dir_in(None, None, root.path(), &empty).unwrap(),
            v15
        );
    }

    #[test]
    fn pg_bin_wins_and_must_be_complete() {
        let root = tempfile::tempdir().unwrap();
        let v12 = fake_bin(root.path(), "12", &REQUIRED_BINARIES);
        let v13 = fake_bin(root.path(), "13", &REQUIRED_BINARIES);
        let empty = OsString::new();
        let found = find_bin_dir_in(Some(v12.clone().into()), Some(v13), root.path(), &empty);
        assert_eq!(found.unwrap(), v12);

        let partial = fake_bin(root.path(), "14", &["psql"]);
        let err = find_bin_dir_in(Some(partial.into()), None, root.path(), &empty).unwrap_err();
        assert!(
            matches!(
                err,
                LocalPgError::MissingBinary {
                    binary: "initdb",
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("PG_BIN"));
    }

    #[test]
    fn incomplete_pg_config_falls_through() {
        let root = tempfile::tempdir().unwrap();
        let client_only = fake_bin(root.path(), "16", &["psql"]);
        let v15 = fake_bin(root.path(), "15", &REQUIRED_BINARIES);
        let empty = OsString::new();
        let found = find_bin_dir_in(None, Some(client_only), root.path(), &empty);
        assert_eq!(found.unwrap(), v15);
    }

    #[test]
    fn path_is_the_last_resort_and_the_error_says_how_to_fix() {
        let root = tempfile::tempdir().unwrap();
        let on_path = fake_bin(root.path(), "x", &REQUIRED_BINARIES);
        let path = std::env::join_paths([root.path().join("nothing"), on_path.clone()]).unwrap();
        let nowhere = root.path().join("missing");
        assert_eq!(
            find_bin_dir_in(None, None, &nowhere, &path).unwrap(),
            on_path
        );
        let err = find_bin_dir_in(None, None, &nowhere, &OsString::new()).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("apt-get install postgresql") && msg.contains("PG_BIN"),
            "{msg}"
        );
    }
}
