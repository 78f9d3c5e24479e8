//! Schema migrations: SQL files in the crate's `migrations/` directory,
//! applied in order and recorded in `schema_migrations`.
//!
//! Several server processes may start at once against one database: the
//! migration runs in one transaction under a transaction-scoped advisory
//! lock, so exactly one of them applies each step and the others find it
//! done. A database migrated by a newer build (a version this build does not
//! know) is refused rather than misread.

use crate::conn::{Conn, get};
use tidings::{Error, ErrorKind, Result};

/// One versioned step of the schema.
#[derive(Clone, Copy, Debug)]
pub struct Migration {
    /// Its version: 1, 2, 3… in order, never reused.
    pub version: i64,
    /// Its file name in `migrations/`.
    pub file: &'static str,
    /// The SQL it runs.
    pub sql: &'static str,
}

/// Every migration, in order. A new one is a new file and a new line here.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        file: "0001_schema.sql",
        sql: include_str!("../migrations/0001_schema.sql"),
    },
    Migration {
        version: 2,
        file: "0002_notifications.sql",
        sql: include_str!("../migrations/0002_notifications.sql"),
    },
    Migration {
        version: 3,
        file: "0003_policy_notice.sql",
        sql: include_str!("../migrations/0003_policy_notice.sql"),
    },
    Migration {
        version: 4,
        file: "0004_item_patches.sql",
        sql: include_str!("../migrations/0004_item_patches.sql"),
    },
    Migration {
        version: 5,
        file: "0005_device_trigger_columns.sql",
        sql: include_str!("../migrations/0005_device_trigger_columns.sql"),
    },
    Migration {
        version: 6,
        file: "0006_grants_by_collection.sql",
        sql: include_str!("../migrations/0006_grants_by_collection.sql"),
    },
    Migration {
        version: 7,
        file: "0007_uploads.sql",
        sql: include_str!("../migrations/0007_uploads.sql"),
    },
    Migration {
        version: 8,
        file: "0008_upload_touched.sql",
        sql: include_str!("../migrations/0008_upload_touched.sql"),
    },
    Migration {
        version: 9,
        file: "0009_operations_once.sql",
        sql: include_str!("../migrations/0009_operations_once.sql"),
    },
    Migration {
        version: 10,
        file: "0010_items_by_id.sql",
        sql: include_str!("../migrations/0010_items_by_id.sql"),
    },
    Migration {
        version: 11,
        file: "0011_message_copies.sql",
        sql: include_str!("../migrations/0011_message_copies.sql"),
    },
    Migration {
        version: 12,
        file: "0012_message_parts.sql",
        sql: include_str!("../migrations/0012_message_parts.sql"),
    },
];

/// The advisory lock key that serializes migrations ("tidings" in ASCII).
const LOCK_KEY: i64 = 0x0074_6964_696e_6773;

/// Brings the schema up to the newest version this build knows; returns it.
pub(crate) fn migrate(conn: &mut Conn) -> Result<i64> {
    conn.atomic(|conn| {
        conn.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK_KEY])?;
        conn.batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                 version BIGINT PRIMARY KEY,
                 file TEXT NOT NULL,
                 applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
             )",
        )?;
        let row = conn.query_opt(
            "SELECT coalesce(max(version), 0) FROM schema_migrations",
            &[],
        )?;
        let current = row.map_or(Ok(0), |row| get::<i64>(&row, 0))?;
        let newest = MIGRATIONS.last().map_or(0, |m| m.version);
        if current > newest {
            return Err(Error::new(
                ErrorKind::Storage,
                "database migrated by a newer server version",
            ));
        }
        for migration in MIGRATIONS.iter().filter(|m| m.version > current) {
            conn.batch_execute(migration.sql)?;
            conn.execute(
                "INSERT INTO schema_migrations (version, file) VALUES ($1, $2)",
                &[&migration.version, &migration.file],
            )?;
        }
        Ok(newest)
    })
}
