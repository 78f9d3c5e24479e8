//! Principals, collections and delegations.

use super::{SqliteStore, from_sql, storage, to_sql};
use rusqlite::{OptionalExtension, Row, params};
use tidings::proto::CollectionKind;
use tidings::store::{Collection, Directory, Principal};
use tidings::sync::Rights;
use tidings::{Error, ErrorKind, Result};

fn principal_row(row: &Row<'_>) -> rusqlite::Result<Principal> {
    Ok(Principal {
        id: from_sql(row.get(0)?),
        name: row.get(1)?,
        email: row.get(2)?,
    })
}

fn collection_row(row: &Row<'_>) -> rusqlite::Result<Collection> {
    let kind: i32 = row.get(1)?;
    Ok(Collection {
        id: from_sql(row.get(0)?),
        kind: CollectionKind::try_from(kind).unwrap_or(CollectionKind::Unspecified),
        name: row.get(2)?,
        owner: from_sql(row.get(3)?),
    })
}

impl SqliteStore {
    /// Adds a principal; returns its id. Addresses are unique, ignoring case.
    pub fn add_principal(&mut self, name: &str, email: &str) -> Result<u64> {
        if self.principal_by_email(email)?.is_some() {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                "a principal with this address exists",
            ));
        }
        let id = self.fresh_id()?;
        self.conn
            .execute(
                "INSERT INTO principals (id, name, email) VALUES (?1, ?2, ?3)",
                params![to_sql(id), name, email],
            )
            .map_err(storage)?;
        Ok(id)
    }

    /// Adds a collection owned by `owner`; returns its id.
    pub fn add_collection(&mut self, owner: u64, kind: CollectionKind, name: &str) -> Result<u64> {
        self.principal(owner)?;
        let id = self.fresh_id()?;
        self.conn
            .execute(
                "INSERT INTO collections (id, kind, name, owner, epoch, modseq, floor)
                 VALUES (?1, ?2, ?3, ?4, 1, 0, 0)",
                params![to_sql(id), kind as i32, name, to_sql(owner)],
            )
            .map_err(storage)?;
        Ok(id)
    }

    /// Delegates `rights` on `collection` to `principal` ([`Rights::NONE`] revokes).
    pub fn grant(&mut self, collection: u64, principal: u64, rights: Rights) -> Result<()> {
        self.collection(collection)?;
        self.principal(principal)?;
        self.conn
            .execute(
                "INSERT INTO grants (principal, collection, rights) VALUES (?1, ?2, ?3)
                 ON CONFLICT (principal, collection) DO UPDATE SET rights = excluded.rights",
                params![to_sql(principal), to_sql(collection), rights.bits()],
            )
            .map(drop)
            .map_err(storage)
    }

    /// Every principal, by id.
    pub fn principals(&self) -> Result<Vec<Principal>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id, name, email FROM principals ORDER BY id")
            .map_err(storage)?;
        let rows = stmt.query_map([], principal_row).map_err(storage)?;
        rows.collect::<rusqlite::Result<_>>().map_err(storage)
    }

    /// Every delegation, as (principal, collection) to rights bits: the
    /// server compares it to notice an administrator's `delegate`.
    pub fn grants(&self) -> Result<std::collections::BTreeMap<(u64, u64), u32>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT principal, collection, rights FROM grants")
            .map_err(storage)?;
        let rows = stmt
            .query_map([], |row| {
                Ok((
                    (from_sql(row.get(0)?), from_sql(row.get(1)?)),
                    row.get::<_, u32>(2)?,
                ))
            })
            .map_err(storage)?;
        rows.collect::<rusqlite::Result<_>>().map_err(storage)
    }

    /// Who may see `collection`: its owner (with every right) and each
    /// principal it is delegated to, as (principal, rights bits), by
    /// principal. The server reads it once per change for every device.
    pub fn collection_readers(&self, collection: u64) -> Result<Vec<(u64, u32)>> {
        let owner = self.collection(collection)?.owner;
        let mut stmt = self
            .conn
            .prepare_cached("SELECT principal, rights FROM grants WHERE collection = ?1")
            .map_err(storage)?;
        let rows = stmt
            .query_map([to_sql(collection)], |row| {
                Ok((from_sql(row.get(0)?), row.get::<_, u32>(1)?))
            })
            .map_err(storage)?;
        let mut readers = vec![(owner, Rights::OWNER.bits())];
        for row in rows {
            readers.push(row.map_err(storage)?);
        }
        // The owner first among equals: a grant to the owner loses.
        readers.sort_by_key(|r| (r.0, r.1 != Rights::OWNER.bits()));
        readers.dedup_by_key(|r| r.0);
        Ok(readers)
    }

    /// Every collection, by id: the server compares it to notice a
    /// collection created, renamed or deleted by another writer.
    pub fn collections(&self) -> Result<Vec<Collection>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id, kind, name, owner FROM collections ORDER BY id")
            .map_err(storage)?;
        let rows = stmt.query_map([], collection_row).map_err(storage)?;
        rows.collect::<rusqlite::Result<_>>().map_err(storage)
    }

    /// The collections `owner` owns, by id.
    pub fn owned_collections(&self, owner: u64) -> Result<Vec<Collection>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, kind, name, owner FROM collections WHERE owner = ?1 ORDER BY id",
            )
            .map_err(storage)?;
        let rows = stmt
            .query_map([to_sql(owner)], collection_row)
            .map_err(storage)?;
        rows.collect::<rusqlite::Result<_>>().map_err(storage)
    }
}

impl Directory for SqliteStore {
    fn principal(&self, id: u64) -> Result<Principal> {
        self.conn
            .prepare_cached("SELECT id, name, email FROM principals WHERE id = ?1")
            .and_then(|mut s| s.query_row([to_sql(id)], principal_row).optional())
            .map_err(storage)?
            .ok_or_else(|| Error::new(ErrorKind::NotFound, "no such principal"))
    }

    fn collection(&self, id: u64) -> Result<Collection> {
        self.conn
            .prepare_cached("SELECT id, kind, name, owner FROM collections WHERE id = ?1")
            .and_then(|mut s| s.query_row([to_sql(id)], collection_row).optional())
            .map_err(storage)?
            .ok_or_else(|| Error::new(ErrorKind::NotFound, "no such collection"))
    }

    fn visible_collections(&self, principal: u64) -> Result<Vec<(Collection, Rights)>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT c.id, c.kind, c.name, c.owner, ?2 FROM collections c WHERE c.owner = ?1
                 UNION ALL
                 SELECT c.id, c.kind, c.name, c.owner, g.rights FROM collections c
                   JOIN grants g ON g.collection = c.id AND g.principal = ?1
                   WHERE c.owner <> ?1
                 ORDER BY 1",
            )
            .map_err(storage)?;
        let rows = stmt
            .query_map(params![to_sql(principal), Rights::OWNER.bits()], |row| {
                Ok((collection_row(row)?, row.get::<_, u32>(4)?))
            })
            .map_err(storage)?;
        let mut visible = Vec::new();
        for row in rows {
            let (collection, bits) = row.map_err(storage)?;
            let rights = Rights::from_bits(bits)?;
            if rights.contains(Rights::READ) {
                visible.push((collection, rights));
            }
        }
        Ok(visible)
    }

    fn rights(&self, principal: u64, collection: u64) -> Result<Rights> {
        if self.collection(collection)?.owner == principal {
            return Ok(Rights::OWNER);
        }
        let bits: Option<u32> = self
            .conn
            .prepare_cached("SELECT rights FROM grants WHERE principal = ?1 AND collection = ?2")
            .and_then(|mut s| {
                s.query_row(params![to_sql(principal), to_sql(collection)], |r| r.get(0))
                    .optional()
            })
            .map_err(storage)?;
        bits.map_or(Ok(Rights::NONE), Rights::from_bits)
    }

    fn principal_by_email(&self, email: &str) -> Result<Option<Principal>> {
        self.conn
            .prepare_cached("SELECT id, name, email FROM principals WHERE email = ?1")
            .and_then(|mut s| s.query_row([email], principal_row).optional())
            .map_err(storage)
    }
}
