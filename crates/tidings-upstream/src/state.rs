//! What the mirror remembers about the upstream, in the store's own
//! database so that it commits in the same transaction as the change it
//! describes: per folder its collection, UIDVALIDITY and HIGHESTMODSEQ; per
//! message its UID, item id and flags. A crash between fetching and
//! committing re-does the work from the old state; it never stores a message
//! twice or forgets one.

use rusqlite::{Connection, OptionalExtension, params};
use tidings::{Error, ErrorKind, Result};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS upstream_imap_folders (
    collection INTEGER PRIMARY KEY,
    principal INTEGER NOT NULL,
    name TEXT NOT NULL,
    uidvalidity INTEGER NOT NULL,
    highestmodseq INTEGER NOT NULL,
    UNIQUE (principal, name)
);
CREATE TABLE IF NOT EXISTS upstream_imap_messages (
    collection INTEGER NOT NULL,
    uid INTEGER NOT NULL,
    item INTEGER NOT NULL,
    flags INTEGER NOT NULL,
    PRIMARY KEY (collection, uid)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS upstream_imap_by_item ON upstream_imap_messages (item);
";

fn db(e: rusqlite::Error) -> Error {
    tracing::error!(error = %e, "upstream state database error");
    Error::new(ErrorKind::Storage, "database error")
}

fn to_sql(v: u64) -> i64 {
    i64::from_ne_bytes(v.to_ne_bytes())
}

fn from_sql(v: i64) -> u64 {
    u64::from_ne_bytes(v.to_ne_bytes())
}

/// Creates the mirror's tables if they are missing.
pub fn migrate(conn: &Connection) -> Result<()> {
    conn.execute_batch(SCHEMA).map_err(db)
}

/// A mirrored folder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Folder {
    /// Its collection in the store.
    pub collection: u64,
    /// The upstream's name for it (as LIST returns it).
    pub name: String,
    /// UIDVALIDITY at the last sync (0: never synced).
    pub uidvalidity: u32,
    /// HIGHESTMODSEQ at the last completed sync (0: never synced).
    pub highestmodseq: u64,
}

/// Every mirrored folder of `principal`.
pub fn folders(conn: &Connection, principal: u64) -> Result<Vec<Folder>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT collection, name, uidvalidity, highestmodseq FROM upstream_imap_folders
             WHERE principal = ?1 ORDER BY collection",
        )
        .map_err(db)?;
    let rows = stmt
        .query_map([to_sql(principal)], |row| {
            Ok(Folder {
                collection: from_sql(row.get(0)?),
                name: row.get(1)?,
                uidvalidity: row.get(2)?,
                highestmodseq: from_sql(row.get(3)?),
            })
        })
        .map_err(db)?;
    rows.collect::<rusqlite::Result<_>>().map_err(db)
}

/// The folder mirrored into `collection`.
pub fn folder(conn: &Connection, collection: u64) -> Result<Option<Folder>> {
    conn.prepare_cached(
        "SELECT collection, name, uidvalidity, highestmodseq FROM upstream_imap_folders
         WHERE collection = ?1",
    )
    .and_then(|mut s| {
        s.query_row([to_sql(collection)], |row| {
            Ok(Folder {
                collection: from_sql(row.get(0)?),
                name: row.get(1)?,
                uidvalidity: row.get(2)?,
                highestmodseq: from_sql(row.get(3)?),
            })
        })
        .optional()
    })
    .map_err(db)
}

/// Records a new folder (not synced yet).
pub fn add_folder(
    conn: &Connection,
    principal: u64,
    collection: u64,
    name: &str,
    uidvalidity: u32,
) -> Result<()> {
    conn.execute(
        "INSERT INTO upstream_imap_folders (collection, principal, name, uidvalidity, highestmodseq)
         VALUES (?1, ?2, ?3, ?4, 0)",
        params![to_sql(collection), to_sql(principal), name, uidvalidity],
    )
    .map(drop)
    .map_err(db)
}

/// Renames a folder.
pub fn rename_folder(conn: &Connection, collection: u64, name: &str) -> Result<()> {
    conn.execute(
        "UPDATE upstream_imap_folders SET name = ?2 WHERE collection = ?1",
        params![to_sql(collection), name],
    )
    .map(drop)
    .map_err(db)
}

/// Forgets a folder and its messages.
pub fn remove_folder(conn: &Connection, collection: u64) -> Result<()> {
    forget_messages(conn, collection)?;
    conn.execute(
        "DELETE FROM upstream_imap_folders WHERE collection = ?1",
        [to_sql(collection)],
    )
    .map(drop)
    .map_err(db)
}

/// Saves where a folder's sync stands.
pub fn save_sync_state(
    conn: &Connection,
    collection: u64,
    uidvalidity: u32,
    highestmodseq: u64,
) -> Result<()> {
    conn.execute(
        "UPDATE upstream_imap_folders SET uidvalidity = ?2, highestmodseq = ?3 WHERE collection = ?1",
        params![to_sql(collection), uidvalidity, to_sql(highestmodseq)],
    )
    .map(drop)
    .map_err(db)
}

/// A mirrored message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Message {
    /// Its UID in the folder.
    pub uid: u32,
    /// Its item id in the store.
    pub item: u64,
    /// Its MailFlag bits as last mirrored.
    pub flags: u32,
}

/// Every mirrored message of `collection`, by UID.
pub fn messages(conn: &Connection, collection: u64) -> Result<Vec<Message>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT uid, item, flags FROM upstream_imap_messages WHERE collection = ?1 ORDER BY uid",
        )
        .map_err(db)?;
    let rows = stmt
        .query_map([to_sql(collection)], |row| {
            Ok(Message {
                uid: row.get(0)?,
                item: from_sql(row.get(1)?),
                flags: row.get(2)?,
            })
        })
        .map_err(db)?;
    rows.collect::<rusqlite::Result<_>>().map_err(db)
}

/// The message of `item` in `collection`.
pub fn message_by_item(conn: &Connection, collection: u64, item: u64) -> Result<Option<Message>> {
    conn.prepare_cached(
        "SELECT uid, item, flags FROM upstream_imap_messages WHERE collection = ?1 AND item = ?2",
    )
    .and_then(|mut s| {
        s.query_row(params![to_sql(collection), to_sql(item)], |row| {
            Ok(Message {
                uid: row.get(0)?,
                item: from_sql(row.get(1)?),
                flags: row.get(2)?,
            })
        })
        .optional()
    })
    .map_err(db)
}

/// Records (or updates) a mirrored message.
pub fn put_message(conn: &Connection, collection: u64, message: Message) -> Result<()> {
    conn.execute(
        "INSERT INTO upstream_imap_messages (collection, uid, item, flags) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (collection, uid) DO UPDATE SET item = excluded.item, flags = excluded.flags",
        params![
            to_sql(collection),
            message.uid,
            to_sql(message.item),
            message.flags
        ],
    )
    .map(drop)
    .map_err(db)
}

/// Forgets one message.
pub fn remove_message(conn: &Connection, collection: u64, uid: u32) -> Result<()> {
    conn.execute(
        "DELETE FROM upstream_imap_messages WHERE collection = ?1 AND uid = ?2",
        params![to_sql(collection), uid],
    )
    .map(drop)
    .map_err(db)
}

/// Forgets every message of a folder (its UIDVALIDITY changed).
pub fn forget_messages(conn: &Connection, collection: u64) -> Result<()> {
    conn.execute(
        "DELETE FROM upstream_imap_messages WHERE collection = ?1",
        [to_sql(collection)],
    )
    .map(drop)
    .map_err(db)
}

/// The mirrored message of `item` in whichever folder holds it, with that
/// folder's collection.
pub fn message_anywhere(conn: &Connection, item: u64) -> Result<Option<(u64, Message)>> {
    conn.prepare_cached(
        "SELECT collection, uid, item, flags FROM upstream_imap_messages WHERE item = ?1 AND item != 0 LIMIT 1",
    )
    .and_then(|mut s| {
        s.query_row([to_sql(item)], |row| {
            Ok((
                from_sql(row.get(0)?),
                Message {
                    uid: row.get(1)?,
                    item: from_sql(row.get(2)?),
                    flags: row.get(3)?,
                },
            ))
        })
        .optional()
    })
    .map_err(db)
}

/// The mirrored message with `uid` in `collection`.
pub fn message_by_uid(conn: &Connection, collection: u64, uid: u32) -> Result<Option<Message>> {
    conn.prepare_cached(
        "SELECT uid, item, flags FROM upstream_imap_messages WHERE collection = ?1 AND uid = ?2",
    )
    .and_then(|mut s| {
        s.query_row(params![to_sql(collection), uid], |row| {
            Ok(Message {
                uid: row.get(0)?,
                item: from_sql(row.get(1)?),
                flags: row.get(2)?,
            })
        })
        .optional()
    })
    .map_err(db)
}
