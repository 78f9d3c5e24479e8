//! The database file holds the server's private key, so it is kept from
//! other users: created with mode 0600 before SQLite opens it (SQLite gives
//! its `-wal` and `-shm` files the database's mode), and, as ssh does with
//! a private key, the server refuses to start when the file or its WAL can
//! be read or written by anyone but its owner.

use std::fmt;
use std::fs::OpenOptions;
use std::io::ErrorKind as IoKind;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Permission bits that let someone other than the owner in.
const OTHERS: u32 = 0o077;

/// Why the database cannot be used: what, where, and what to do.
#[derive(Debug)]
pub enum DbFileError {
    /// The file or one of its companions is open to other users.
    Exposed {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The file does not exist and the command does not create one.
    Missing {
        /// The path given.
        path: PathBuf,
    },
    /// The operating system refused.
    Io {
        /// The file.
        path: PathBuf,
        /// What was being done.
        action: &'static str,
        /// The OS reason.
        error: std::io::Error,
    },
}

impl fmt::Display for DbFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DbFileError::Exposed { path, mode } => write!(
                f,
                "{} holds the server's private key but is readable or writable by other \
                 users (mode {mode:04o}); run `chmod 600 {}` and start again",
                path.display(),
                path.display()
            ),
            DbFileError::Missing { path } => write!(
                f,
                "no database at {} (check --db; `add-principal` or `serve` creates a new one)",
                path.display()
            ),
            DbFileError::Io {
                path,
                action,
                error,
            } => write!(f, "cannot {action} {}: {error}", path.display()),
        }
    }
}

impl std::error::Error for DbFileError {}

/// Creates the database file at `path`, empty and with mode 0600, unless it
/// exists. Call before SQLite opens the path, so that neither it nor its WAL
/// is ever created with the process's umask.
pub fn create_private(path: &Path) -> Result<(), DbFileError> {
    let created = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path);
    match created {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == IoKind::AlreadyExists => Ok(()),
        Err(error) => Err(DbFileError::Io {
            path: path.to_owned(),
            action: "create the database",
            error,
        }),
    }
}

/// Fails unless the database at `path` exists: for commands that only make
/// sense on a database that has principals (a mistyped `--db` would
/// otherwise create an empty one).
pub fn require_existing(path: &Path) -> Result<(), DbFileError> {
    match path.try_exists() {
        Ok(true) => Ok(()),
        Ok(false) => Err(DbFileError::Missing {
            path: path.to_owned(),
        }),
        Err(error) => Err(DbFileError::Io {
            path: path.to_owned(),
            action: "look for the database",
            error,
        }),
    }
}

/// Fails when the database at `path`, or its `-wal` or `-shm` file, can be
/// read or written by anyone but its owner.
pub fn check_private(path: &Path) -> Result<(), DbFileError> {
    for suffix in ["", "-wal", "-shm"] {
        let file = PathBuf::from(format!("{}{suffix}", path.display()));
        let mode = match std::fs::metadata(&file) {
            Ok(meta) => meta.permissions().mode() & 0o7777,
            Err(e) if e.kind() == IoKind::NotFound && !suffix.is_empty() => continue,
            Err(error) => {
                return Err(DbFileError::Io {
                    path: file,
                    action: "read the permissions of",
                    error,
                });
            }
        };
        if mode & OTHERS != 0 {
            return Err(DbFileError::Exposed { path: file, mode });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Durability, SqliteStore};

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).expect("stat").permissions().mode() & 0o777
    }

    #[test]
    fn database_and_wal_are_created_owner_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("t.db");
        create_private(&db).expect("create");
        let mut store = SqliteStore::open(&db, Durability::Process).expect("open");
        // A write makes SQLite create the WAL and shared-memory files.
        store.set_meta("probe", b"1").expect("write");
        for suffix in ["", "-wal", "-shm"] {
            let file = PathBuf::from(format!("{}{suffix}", db.display()));
            assert_eq!(mode(&file), 0o600, "{file:?}");
        }
        check_private(&db).expect("private");
        // An existing file is left as it is.
        create_private(&db).expect("again");
        assert_eq!(mode(&db), 0o600);
    }

    #[test]
    fn a_database_others_can_read_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("t.db");
        create_private(&db).expect("create");
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let e = check_private(&db).expect_err("world-readable");
        assert!(matches!(e, DbFileError::Exposed { mode: 0o644, .. }));
        let text = e.to_string();
        assert!(
            text.contains("chmod 600") && text.contains("t.db"),
            "{text}"
        );

        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        let wal = dir.path().join("t.db-wal");
        std::fs::write(&wal, b"").expect("wal");
        std::fs::set_permissions(&wal, std::fs::Permissions::from_mode(0o640)).expect("chmod");
        let e = check_private(&db).expect_err("group-readable WAL");
        assert!(matches!(e, DbFileError::Exposed { ref path, .. } if path == &wal));
    }

    #[test]
    fn a_missing_database_is_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("typo.db");
        let e = require_existing(&db).expect_err("missing");
        assert!(e.to_string().contains("typo.db"), "{e}");
        assert!(!db.exists(), "nothing was created");
    }
}
