//! What the CalDAV mirror remembers, in the store's own database so that it
//! commits in the same transaction as the change it describes: per calendar
//! its collection, href and sync token; per resource its href, item id and
//! ETag. A crash between fetching and committing re-does the work from the
//! old token; a resource already mirrored at the same ETag is not fetched
//! again.

use rusqlite::{Connection, OptionalExtension, params};
use tidings::{Error, ErrorKind, Result};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS upstream_caldav_calendars (
    collection INTEGER PRIMARY KEY,
    principal INTEGER NOT NULL,
    href TEXT NOT NULL,
    name TEXT NOT NULL,
    sync_token TEXT NOT NULL DEFAULT '',
    UNIQUE (principal, href)
);
CREATE TABLE IF NOT EXISTS upstream_caldav_resources (
    collection INTEGER NOT NULL,
    href TEXT NOT NULL,
    item INTEGER NOT NULL,
    etag TEXT NOT NULL,
    PRIMARY KEY (collection, href)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS upstream_caldav_by_item ON upstream_caldav_resources (collection, item);
CREATE TABLE IF NOT EXISTS upstream_caldav_grants (
    principal INTEGER NOT NULL,
    collection INTEGER NOT NULL,
    rights INTEGER NOT NULL,
    PRIMARY KEY (principal, collection)
) WITHOUT ROWID;
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

/// A mirrored calendar.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Calendar {
    /// Its collection in the store.
    pub collection: u64,
    /// Its href upstream.
    pub href: String,
    /// Its name as last mirrored.
    pub name: String,
    /// The sync token of the last completed sync ("" when never synced).
    pub sync_token: String,
}

fn calendar_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Calendar> {
    Ok(Calendar {
        collection: from_sql(row.get(0)?),
        href: row.get(1)?,
        name: row.get(2)?,
        sync_token: row.get(3)?,
    })
}

/// Every mirrored calendar of `principal`.
pub fn calendars(conn: &Connection, principal: u64) -> Result<Vec<Calendar>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT collection, href, name, sync_token FROM upstream_caldav_calendars
             WHERE principal = ?1 ORDER BY collection",
        )
        .map_err(db)?;
    let rows = stmt
        .query_map([to_sql(principal)], calendar_row)
        .map_err(db)?;
    rows.collect::<rusqlite::Result<_>>().map_err(db)
}

/// The calendar mirrored into `collection`.
pub fn calendar(conn: &Connection, collection: u64) -> Result<Option<Calendar>> {
    conn.prepare_cached(
        "SELECT collection, href, name, sync_token FROM upstream_caldav_calendars
         WHERE collection = ?1",
    )
    .and_then(|mut s| s.query_row([to_sql(collection)], calendar_row).optional())
    .map_err(db)
}

/// Records a new calendar (not synced yet).
pub fn add_calendar(
    conn: &Connection,
    principal: u64,
    collection: u64,
    href: &str,
    name: &str,
) -> Result<()> {
    conn.execute(
        "INSERT INTO upstream_caldav_calendars (collection, principal, href, name)
         VALUES (?1, ?2, ?3, ?4)",
        params![to_sql(collection), to_sql(principal), href, name],
    )
    .map(drop)
    .map_err(db)
}

/// Renames a calendar.
pub fn rename_calendar(conn: &Connection, collection: u64, name: &str) -> Result<()> {
    conn.execute(
        "UPDATE upstream_caldav_calendars SET name = ?2 WHERE collection = ?1",
        params![to_sql(collection), name],
    )
    .map(drop)
    .map_err(db)
}

/// Forgets a calendar, its resources and the grants made on it.
pub fn remove_calendar(conn: &Connection, collection: u64) -> Result<()> {
    conn.execute(
        "DELETE FROM upstream_caldav_grants WHERE collection = ?1",
        [to_sql(collection)],
    )
    .map_err(db)?;
    conn.execute(
        "DELETE FROM upstream_caldav_resources WHERE collection = ?1",
        [to_sql(collection)],
    )
    .map_err(db)?;
    conn.execute(
        "DELETE FROM upstream_caldav_calendars WHERE collection = ?1",
        [to_sql(collection)],
    )
    .map(drop)
    .map_err(db)
}

/// Saves where a calendar's sync stands.
pub fn save_sync_token(conn: &Connection, collection: u64, token: &str) -> Result<()> {
    conn.execute(
        "UPDATE upstream_caldav_calendars SET sync_token = ?2 WHERE collection = ?1",
        params![to_sql(collection), token],
    )
    .map(drop)
    .map_err(db)
}

/// A mirrored resource (one iCalendar object, one item).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resource {
    /// Its href upstream.
    pub href: String,
    /// Its item id in the store (0: it could not be converted).
    pub item: u64,
    /// Its ETag as last mirrored or written.
    pub etag: String,
}

fn resource_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Resource> {
    Ok(Resource {
        href: row.get(0)?,
        item: from_sql(row.get(1)?),
        etag: row.get(2)?,
    })
}

/// Every mirrored resource of `collection`.
pub fn resources(conn: &Connection, collection: u64) -> Result<Vec<Resource>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT href, item, etag FROM upstream_caldav_resources WHERE collection = ?1
             ORDER BY href",
        )
        .map_err(db)?;
    let rows = stmt
        .query_map([to_sql(collection)], resource_row)
        .map_err(db)?;
    rows.collect::<rusqlite::Result<_>>().map_err(db)
}

/// The resource of `item` in `collection`.
pub fn resource_by_item(conn: &Connection, collection: u64, item: u64) -> Result<Option<Resource>> {
    conn.prepare_cached(
        "SELECT href, item, etag FROM upstream_caldav_resources WHERE collection = ?1 AND item = ?2",
    )
    .and_then(|mut s| {
        s.query_row(params![to_sql(collection), to_sql(item)], resource_row)
            .optional()
    })
    .map_err(db)
}

/// The resource at `href` in `collection`.
pub fn resource_by_href(
    conn: &Connection,
    collection: u64,
    href: &str,
) -> Result<Option<Resource>> {
    conn.prepare_cached(
        "SELECT href, item, etag FROM upstream_caldav_resources WHERE collection = ?1 AND href = ?2",
    )
    .and_then(|mut s| s.query_row(params![to_sql(collection), href], resource_row).optional())
    .map_err(db)
}

/// Records (or updates) a mirrored resource.
pub fn put_resource(conn: &Connection, collection: u64, resource: &Resource) -> Result<()> {
    conn.execute(
        "INSERT INTO upstream_caldav_resources (collection, href, item, etag) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (collection, href) DO UPDATE SET item = excluded.item, etag = excluded.etag",
        params![
            to_sql(collection),
            resource.href,
            to_sql(resource.item),
            resource.etag
        ],
    )
    .map(drop)
    .map_err(db)
}

/// Forgets one resource.
pub fn remove_resource(conn: &Connection, collection: u64, href: &str) -> Result<()> {
    conn.execute(
        "DELETE FROM upstream_caldav_resources WHERE collection = ?1 AND href = ?2",
        params![to_sql(collection), href],
    )
    .map(drop)
    .map_err(db)
}

/// Every calendar another principal than `principal` mirrors: (collection,
/// href), by collection.
pub fn calendars_elsewhere(conn: &Connection, principal: u64) -> Result<Vec<(u64, String)>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT collection, href FROM upstream_caldav_calendars WHERE principal != ?1
             ORDER BY collection",
        )
        .map_err(db)?;
    let rows = stmt
        .query_map([to_sql(principal)], |row| {
            Ok((from_sql(row.get(0)?), row.get(1)?))
        })
        .map_err(db)?;
    rows.collect::<rusqlite::Result<_>>().map_err(db)
}

/// The collection into which another principal than `principal` mirrors the
/// calendar `href` (trailing slashes aside), if any.
pub fn mirrored_elsewhere(conn: &Connection, principal: u64, href: &str) -> Result<Option<u64>> {
    conn.prepare_cached(
        "SELECT collection FROM upstream_caldav_calendars
         WHERE principal != ?1 AND rtrim(href, '/') = rtrim(?2, '/')
         ORDER BY collection LIMIT 1",
    )
    .and_then(|mut s| {
        s.query_row(params![to_sql(principal), href], |row| {
            Ok(from_sql(row.get(0)?))
        })
        .optional()
    })
    .map_err(db)
}

/// The grants the mirror made to `principal` from upstream shares:
/// (collection, rights bits).
pub fn grants(conn: &Connection, principal: u64) -> Result<Vec<(u64, u32)>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT collection, rights FROM upstream_caldav_grants WHERE principal = ?1
             ORDER BY collection",
        )
        .map_err(db)?;
    let rows = stmt
        .query_map([to_sql(principal)], |row| {
            Ok((from_sql(row.get(0)?), row.get(1)?))
        })
        .map_err(db)?;
    rows.collect::<rusqlite::Result<_>>().map_err(db)
}

/// Records a grant made from an upstream share.
pub fn put_grant(conn: &Connection, principal: u64, collection: u64, rights: u32) -> Result<()> {
    conn.execute(
        "INSERT INTO upstream_caldav_grants (principal, collection, rights) VALUES (?1, ?2, ?3)
         ON CONFLICT (principal, collection) DO UPDATE SET rights = excluded.rights",
        params![to_sql(principal), to_sql(collection), rights],
    )
    .map(drop)
    .map_err(db)
}

/// Forgets a grant (the share was withdrawn upstream).
pub fn remove_grant(conn: &Connection, principal: u64, collection: u64) -> Result<()> {
    conn.execute(
        "DELETE FROM upstream_caldav_grants WHERE principal = ?1 AND collection = ?2",
        params![to_sql(principal), to_sql(collection)],
    )
    .map(drop)
    .map_err(db)
}
