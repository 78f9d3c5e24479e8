//! Principals, collections and delegations.

use crate::conn::{Conn, get, get_u32, get_u64, to_sql};
use crate::{PostgresStore, fresh_id};
use postgres::Row;
use tidings::proto::{CollectionInfo, CollectionKind};
use tidings::store::{Collection, Directory, Principal};
use tidings::sync::Rights;
use tidings::{Error, ErrorKind, Result};

fn principal_row(row: &Row) -> Result<Principal> {
    Ok(Principal {
        id: get_u64(row, 0)?,
        name: get(row, 1)?,
        email: get(row, 2)?,
    })
}

fn collection_row(row: &Row) -> Result<Collection> {
    let kind: i32 = get(row, 1)?;
    Ok(Collection {
        id: get_u64(row, 0)?,
        kind: CollectionKind::try_from(kind).unwrap_or(CollectionKind::Unspecified),
        name: get(row, 2)?,
        owner: get_u64(row, 3)?,
    })
}

/// A row of [`Directory::collection_infos_at_once`]'s list from column `at`
/// on (id, kind, name, owner, rights, epoch, owner's name); `None` for a
/// collection the principal may not read.
pub(crate) fn info_row(row: &Row, at: usize) -> Result<Option<CollectionInfo>> {
    let rights = Rights::from_bits(get_u32(row, at + 4)?)?;
    if !rights.contains(Rights::READ) {
        return Ok(None);
    }
    let kind: i32 = get(row, at + 1)?;
    Ok(Some(CollectionInfo {
        id: get_u64(row, at)?,
        kind: CollectionKind::try_from(kind).unwrap_or(CollectionKind::Unspecified) as i32,
        name: get(row, at + 2)?,
        owner_id: get_u64(row, at + 3)?,
        owner_name: get(row, at + 6)?,
        rights: rights.bits(),
        epoch: get_u64(row, at + 5)?,
    }))
}

/// The key addresses are unique by and looked up by: ASCII letters lowered,
/// as the core's `MemoryStore` and SQLite's `NOCASE` compare.
fn email_key(email: &str) -> String {
    email.to_ascii_lowercase()
}

pub(crate) fn principal(conn: &mut Conn, id: u64) -> Result<Principal> {
    let row = conn.query_opt(
        "SELECT id, name, email FROM principals WHERE id = $1",
        &[&to_sql(id)],
    )?;
    row.as_ref()
        .map(principal_row)
        .transpose()?
        .ok_or_else(|| Error::new(ErrorKind::NotFound, "no such principal"))
}

pub(crate) fn collection(conn: &mut Conn, id: u64) -> Result<Collection> {
    let row = conn.query_opt(
        "SELECT id, kind, name, owner FROM collections WHERE id = $1",
        &[&to_sql(id)],
    )?;
    row.as_ref()
        .map(collection_row)
        .transpose()?
        .ok_or_else(|| Error::new(ErrorKind::NotFound, "no such collection"))
}

fn principal_by_email(conn: &mut Conn, email: &str) -> Result<Option<Principal>> {
    let row = conn.query_opt(
        "SELECT id, name, email FROM principals WHERE email_key = $1",
        &[&email_key(email)],
    )?;
    row.as_ref().map(principal_row).transpose()
}

impl PostgresStore {
    /// Adds a principal; returns its id. Addresses are unique, ignoring case.
    pub fn add_principal(&mut self, name: &str, email: &str) -> Result<u64> {
        self.conn().atomic(|conn| {
            if principal_by_email(conn, email)?.is_some() {
                return Err(Error::new(
                    ErrorKind::InvalidArgument,
                    "a principal with this address exists",
                ));
            }
            let id = fresh_id(conn)?;
            conn.execute(
                "INSERT INTO principals (id, name, email, email_key) VALUES ($1, $2, $3, $4)",
                &[&to_sql(id), &name, &email, &email_key(email)],
            )?;
            Ok(id)
        })
    }

    /// Adds a collection owned by `owner`; returns its id.
    pub fn add_collection(&mut self, owner: u64, kind: CollectionKind, name: &str) -> Result<u64> {
        self.conn().atomic(|conn| {
            principal(conn, owner)?;
            let id = fresh_id(conn)?;
            conn.execute(
                "INSERT INTO collections (id, kind, name, owner, epoch, modseq, floor)
                 VALUES ($1, $2, $3, $4, 1, 0, 0)",
                &[&to_sql(id), &(kind as i32), &name, &to_sql(owner)],
            )?;
            Ok(id)
        })
    }

    /// Delegates `rights` on `collection` to `principal` ([`Rights::NONE`] revokes).
    pub fn grant(&mut self, collection: u64, principal: u64, rights: Rights) -> Result<()> {
        self.conn().atomic(|conn| {
            self::collection(conn, collection)?;
            self::principal(conn, principal)?;
            conn.execute(
                "INSERT INTO grants (principal, collection, rights) VALUES ($1, $2, $3)
                 ON CONFLICT (principal, collection) DO UPDATE SET rights = excluded.rights",
                &[
                    &to_sql(principal),
                    &to_sql(collection),
                    &i64::from(rights.bits()),
                ],
            )
            .map(drop)
        })
    }

    /// Every principal, by id.
    pub fn principals(&self) -> Result<Vec<Principal>> {
        let rows = self
            .conn()
            .query("SELECT id, name, email FROM principals ORDER BY id", &[])?;
        rows.iter().map(principal_row).collect()
    }

    /// Every delegation, as (principal, collection) to rights bits: what a
    /// server compares after it lost notifications, to notice delegations
    /// it did not hear of.
    pub fn grants(&self) -> Result<std::collections::BTreeMap<(u64, u64), u32>> {
        let rows = self
            .conn()
            .query("SELECT principal, collection, rights FROM grants", &[])?;
        rows.iter()
            .map(|row| Ok(((get_u64(row, 0)?, get_u64(row, 1)?), get_u32(row, 2)?)))
            .collect()
    }

    /// Who may see `collection`: its owner (with every right) and each
    /// principal it is delegated to, as (principal, rights bits), by
    /// principal. A server reads it once per change for every device.
    pub fn collection_readers(&self, collection: u64) -> Result<Vec<(u64, u32)>> {
        let owner = self.collection(collection)?.owner;
        let rows = self.conn().query(
            "SELECT principal, rights FROM grants WHERE collection = $1",
            &[&to_sql(collection)],
        )?;
        let mut readers = vec![(owner, Rights::OWNER.bits())];
        for row in &rows {
            readers.push((get_u64(row, 0)?, get_u32(row, 1)?));
        }
        // The owner first among equals: a grant to the owner loses.
        readers.sort_by_key(|r| (r.0, r.1 != Rights::OWNER.bits()));
        readers.dedup_by_key(|r| r.0);
        Ok(readers)
    }

    /// Every collection, by id (what the server's watcher compares to notice
    /// collections created, renamed or deleted).
    pub fn collections(&self) -> Result<Vec<Collection>> {
        let rows = self.conn().query(
            "SELECT id, kind, name, owner FROM collections ORDER BY id",
            &[],
        )?;
        rows.iter().map(collection_row).collect()
    }

    /// The collections `owner` owns, by id.
    pub fn owned_collections(&self, owner: u64) -> Result<Vec<Collection>> {
        let rows = self.conn().query(
            "SELECT id, kind, name, owner FROM collections WHERE owner = $1 ORDER BY id",
            &[&to_sql(owner)],
        )?;
        rows.iter().map(collection_row).collect()
    }
}

impl Directory for PostgresStore {
    fn principal(&self, id: u64) -> Result<Principal> {
        principal(&mut self.conn(), id)
    }

    fn collection(&self, id: u64) -> Result<Collection> {
        collection(&mut self.conn(), id)
    }

    fn visible_collections(&self, principal: u64) -> Result<Vec<(Collection, Rights)>> {
        let owner_rights = i64::from(Rights::OWNER.bits());
        let rows = self.conn().query(
            "SELECT c.id, c.kind, c.name, c.owner, $2::BIGINT FROM collections c
               WHERE c.owner = $1
             UNION ALL
             SELECT c.id, c.kind, c.name, c.owner, g.rights FROM collections c
               JOIN grants g ON g.collection = c.id AND g.principal = $1
               WHERE c.owner <> $1
             ORDER BY 1",
            &[&to_sql(principal), &owner_rights],
        )?;
        let mut visible = Vec::new();
        for row in &rows {
            let rights = Rights::from_bits(get_u32(row, 4)?)?;
            if rights.contains(Rights::READ) {
                visible.push((collection_row(row)?, rights));
            }
        }
        Ok(visible)
    }

    fn collection_infos_at_once(&self, principal: u64) -> Result<Option<Vec<CollectionInfo>>> {
        // Every reconnect asks: the list, each epoch and each owner's name in
        // one round trip rather than one per collection and owner.
        let owner_rights = i64::from(Rights::OWNER.bits());
        let rows = self.conn().query(
            "SELECT c.id, c.kind, c.name, c.owner, $2::BIGINT, c.epoch, p.name
               FROM collections c JOIN principals p ON p.id = c.owner
               WHERE c.owner = $1
             UNION ALL
             SELECT c.id, c.kind, c.name, c.owner, g.rights, c.epoch, p.name
               FROM grants g
               JOIN collections c ON c.id = g.collection
               JOIN principals p ON p.id = c.owner
               WHERE g.principal = $1 AND c.owner <> $1
             ORDER BY 1",
            &[&to_sql(principal), &owner_rights],
        )?;
        let mut infos = Vec::new();
        for row in &rows {
            infos.extend(info_row(row, 0)?);
        }
        Ok(Some(infos))
    }

    fn rights(&self, principal: u64, collection: u64) -> Result<Rights> {
        // One statement: the owner and the grant from the same snapshot.
        let row = self
            .conn()
            .query_opt(
                "SELECT c.owner, g.rights FROM collections c
                 LEFT JOIN grants g ON g.collection = c.id AND g.principal = $1
                 WHERE c.id = $2",
                &[&to_sql(principal), &to_sql(collection)],
            )?
            .ok_or_else(|| Error::new(ErrorKind::NotFound, "no such collection"))?;
        if get_u64(&row, 0)? == principal {
            return Ok(Rights::OWNER);
        }
        match get::<Option<i64>>(&row, 1)? {
            None => Ok(Rights::NONE),
            Some(bits) => Rights::from_bits(
                u32::try_from(bits)
                    .map_err(|_| Error::new(ErrorKind::Storage, "stored value out of range"))?,
            ),
        }
    }

    fn principal_by_email(&self, email: &str) -> Result<Option<Principal>> {
        principal_by_email(&mut self.conn(), email)
    }
}
