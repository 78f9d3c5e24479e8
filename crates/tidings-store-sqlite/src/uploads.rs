//! Files devices upload for the mail they send (`UploadPart`, sync.md §6):
//! one row per upload and one per part as it arrived, so a part is one
//! insert (never a rewrite of what came before) and the whole file is read
//! once, when a mail takes it. The core bounds their size and number.

use super::{SqliteStore, from_sql, storage, to_sql};
use rusqlite::{OptionalExtension, params};
use tidings::Result;
use tidings::store::{Appended, DeviceRegistry, UploadId, UploadState};

impl SqliteStore {
    pub(crate) fn uploads_of(&self, device: u64) -> Result<Vec<(UploadId, UploadState)>> {
        let mut statement = self
            .conn
            .prepare_cached(
                "SELECT upload_id, total_size, held FROM uploads WHERE device = ?1 ORDER BY seq",
            )
            .map_err(storage)?;
        let rows = statement
            .query_map([to_sql(device)], |row| {
                let id: Vec<u8> = row.get(0)?;
                let state = UploadState {
                    total_size: from_sql(row.get(1)?),
                    held: from_sql(row.get(2)?),
                };
                Ok((id, state))
            })
            .map_err(storage)?;
        let mut uploads = Vec::new();
        for row in rows {
            let (id, state) = row.map_err(storage)?;
            // Only the core writes ids, always 16 bytes; others are skipped.
            if let Ok(id) = UploadId::try_from(id.as_slice()) {
                uploads.push((id, state));
            }
        }
        Ok(uploads)
    }

    fn upload_seq(&self, device: u64, id: &UploadId) -> Result<Option<i64>> {
        self.conn
            .prepare_cached("SELECT seq FROM uploads WHERE device = ?1 AND upload_id = ?2")
            .and_then(|mut s| {
                s.query_row(params![to_sql(device), &id[..]], |row| row.get(0))
                    .optional()
            })
            .map_err(storage)
    }

    pub(crate) fn start_upload_row(
        &mut self,
        device: u64,
        id: &UploadId,
        total_size: u64,
        now_ms: u64,
    ) -> Result<()> {
        self.device(device)?;
        self.remove_upload_row(device, id)?;
        self.conn
            .prepare_cached(
                "INSERT INTO uploads (device, upload_id, total_size, touched_ms)
                 VALUES (?1, ?2, ?3, ?4)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    to_sql(device),
                    &id[..],
                    to_sql(total_size),
                    to_sql(now_ms)
                ])
            })
            .map(drop)
            .map_err(storage)
    }

    pub(crate) fn append_upload_part(
        &mut self,
        device: u64,
        id: &UploadId,
        at: u64,
        data: &[u8],
        now_ms: u64,
    ) -> Result<Appended> {
        // The caller holds the write lock: checked and written at once.
        let row: Option<(i64, i64)> = self
            .conn
            .prepare_cached("SELECT seq, held FROM uploads WHERE device = ?1 AND upload_id = ?2")
            .and_then(|mut s| {
                s.query_row(params![to_sql(device), &id[..]], |row| {
                    Ok((row.get(0)?, row.get(1)?))
                })
                .optional()
            })
            .map_err(storage)?;
        let Some((seq, held)) = row else {
            return Ok(Appended::NotAt(0));
        };
        let held = from_sql(held);
        if held != at {
            return Ok(Appended::NotAt(held));
        }
        let length = i64::try_from(data.len()).unwrap_or(i64::MAX);
        self.conn
            .prepare_cached("INSERT INTO upload_parts (upload, at_byte, data) VALUES (?1, ?2, ?3)")
            .and_then(|mut s| s.execute(params![seq, to_sql(held), data]))
            .map_err(storage)?;
        self.conn
            .prepare_cached("UPDATE uploads SET held = held + ?2, touched_ms = ?3 WHERE seq = ?1")
            .and_then(|mut s| s.execute(params![seq, length, to_sql(now_ms)]))
            .map_err(storage)?;
        Ok(Appended::Stored(held.saturating_add(data.len() as u64)))
    }

    pub(crate) fn upload_content(&self, device: u64, id: &UploadId) -> Result<Option<Vec<u8>>> {
        let Some(seq) = self.upload_seq(device, id)? else {
            return Ok(None);
        };
        let mut statement = self
            .conn
            .prepare_cached("SELECT data FROM upload_parts WHERE upload = ?1 ORDER BY at_byte")
            .map_err(storage)?;
        let parts = statement
            .query_map([seq], |row| row.get::<_, Vec<u8>>(0))
            .map_err(storage)?;
        let mut bytes = Vec::new();
        for part in parts {
            bytes.extend_from_slice(&part.map_err(storage)?);
        }
        Ok(Some(bytes))
    }

    pub(crate) fn remove_upload_row(&mut self, device: u64, id: &UploadId) -> Result<()> {
        if let Some(seq) = self.upload_seq(device, id)? {
            self.remove_upload_seq(seq)?;
        }
        Ok(())
    }

    fn remove_upload_seq(&mut self, seq: i64) -> Result<()> {
        self.conn
            .execute("DELETE FROM upload_parts WHERE upload = ?1", [seq])
            .map_err(storage)?;
        self.conn
            .execute("DELETE FROM uploads WHERE seq = ?1", [seq])
            .map(drop)
            .map_err(storage)
    }

    /// Discards every upload of `device` (it was revoked).
    pub(crate) fn remove_uploads_of(&mut self, device: u64) -> Result<()> {
        self.remove_uploads_where("device = ?1", params![to_sql(device)])
            .map(drop)
    }

    /// Discards the uploads of `device` (of every device with `None`) last
    /// touched before `before_ms`; returns how many.
    pub(crate) fn remove_stale_uploads(
        &mut self,
        device: Option<u64>,
        before_ms: u64,
    ) -> Result<u64> {
        let before = i64::try_from(before_ms).unwrap_or(i64::MAX);
        match device {
            Some(device) => self.remove_uploads_where(
                "device = ?1 AND touched_ms < ?2",
                params![to_sql(device), before],
            ),
            None => self.remove_uploads_where("touched_ms < ?1", params![before]),
        }
    }

    fn remove_uploads_where(
        &mut self,
        filter: &str,
        values: &[&dyn rusqlite::ToSql],
    ) -> Result<u64> {
        let seqs: Vec<i64> = {
            let mut statement = self
                .conn
                .prepare(&format!("SELECT seq FROM uploads WHERE {filter}"))
                .map_err(storage)?;
            let rows = statement
                .query_map(values, |row| row.get(0))
                .map_err(storage)?;
            rows.collect::<rusqlite::Result<_>>().map_err(storage)?
        };
        for seq in &seqs {
            self.remove_upload_seq(*seq)?;
        }
        Ok(seqs.len() as u64)
    }
}

#[cfg(test)]
mod tests {
    use crate::{Durability, SqliteStore};
    use tidings::store::{ActivationCode, DeviceRegistry, Directory, contract};

    fn devices(store: &mut SqliteStore) -> (u64, u64) {
        let ada = store
            .add_principal("Ada", "ada@town.example")
            .expect("principal");
        let mut enroll = |n: u8| {
            let code = ActivationCode::from_random([n; 10]);
            store
                .create_activation(ada, &code, u64::MAX, 1)
                .expect("activation");
            store
                .redeem_activation(&code.display(), [n; 32], "x", 0)
                .expect("redeem")
                .id
        };
        (enroll(1), enroll(2))
    }

    #[test]
    fn uploads_keep_the_stores_contract() {
        let mut store = SqliteStore::open_in_memory().expect("open");
        let (device, other) = devices(&mut store);
        assert_eq!(contract::check_uploads(&mut store, device, other), Ok(()));
        let ada = store.principal_by_email("ada@town.example").expect("read");
        let ada = ada.expect("ada").id;
        let inbox = store
            .add_collection(ada, tidings::proto::CollectionKind::Mail, "Inbox")
            .expect("inbox");
        assert_eq!(contract::check_items_after(&mut store, inbox), Ok(()));
        let parts: i64 = store
            .conn
            .query_row("SELECT count(*) FROM upload_parts", [], |row| row.get(0))
            .expect("count");
        assert_eq!(parts, 0, "a revoked device's parts are deleted too");
    }

    #[test]
    fn an_upload_survives_a_restart_and_is_read_back_whole() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("t.db");
        let file: Vec<u8> = (0..150_000u32).map(|i| (i * 7919 % 251) as u8).collect();
        let id = [9; 16];
        let device;
        {
            let mut store = SqliteStore::open(&path, Durability::Process).expect("open");
            device = devices(&mut store).0;
            store
                .start_upload(device, &id, file.len() as u64, 1_000)
                .expect("start");
            for (n, part) in file.chunks(48 << 10).enumerate() {
                let at = (n * (48 << 10)) as u64;
                store
                    .append_upload(device, &id, at, part, 1_000)
                    .expect("append");
            }
        }
        let store = SqliteStore::open(&path, Durability::Process).expect("reopen");
        assert_eq!(store.upload_bytes(device, &id), Ok(Some(file.clone())));
        let held = store.uploads(device).expect("uploads");
        assert_eq!(held.len(), 1);
        assert_eq!(held[0].1.held, file.len() as u64);
    }

    #[test]
    fn a_version_5_file_gains_the_upload_tables() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("v5.db");
        {
            let store = SqliteStore::open(&path, Durability::Process).expect("new");
            store
                .conn
                .execute_batch(
                    "DROP TABLE upload_parts; DROP TABLE uploads; PRAGMA user_version = 5;",
                )
                .expect("downgraded");
        }
        let mut store = SqliteStore::open(&path, Durability::Process).expect("upgraded");
        let (device, other) = devices(&mut store);
        assert_eq!(contract::check_uploads(&mut store, device, other), Ok(()));
    }

    #[test]
    fn a_version_6_file_gains_upload_times_and_its_uploads_count_as_idle() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("v6.db");
        let device;
        {
            let mut store = SqliteStore::open(&path, Durability::Process).expect("new");
            device = devices(&mut store).0;
            store
                .start_upload(device, &[1; 16], 3, 5_000)
                .expect("start");
            store
                .conn
                .execute_batch(
                    "ALTER TABLE uploads DROP COLUMN touched_ms; PRAGMA user_version = 6;",
                )
                .expect("downgraded");
        }
        let mut store = SqliteStore::open(&path, Durability::Process).expect("upgraded");
        assert_eq!(store.uploads(device).expect("uploads").len(), 1, "kept");
        assert_eq!(store.discard_stale_uploads(None, 1), Ok(1), "idle since 0");
    }
}
