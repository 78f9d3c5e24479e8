//! Enrolled devices and what the server remembers per device: activation
//! codes, the replay guard, cursors, applied operations, policy, wipe and
//! revocation.

use super::{SqliteStore, from_sql, storage, to_sql};
use rusqlite::{OptionalExtension, Row, params};
use tidings::proto::{self, Cursor, OperationResult, Policy};
use tidings::store::{
    APPLIED_OPERATIONS_PER_DEVICE, ActivationCode, ActivationRecord, Appended, DeviceRecord,
    DeviceRegistry, Directory, UploadId, UploadState, WipeState,
};
use tidings::{Error, ErrorKind, Result};

const DEVICE_COLUMNS: &str =
    "id, principal, public_key, name, last_hello, revoked, wipe_state, wipe_id";

fn device_row(row: &Row<'_>) -> rusqlite::Result<DeviceRecord> {
    let key: Vec<u8> = row.get(2)?;
    let wipe_id = from_sql(row.get(7)?);
    Ok(DeviceRecord {
        id: from_sql(row.get(0)?),
        principal: from_sql(row.get(1)?),
        public_key: key.try_into().unwrap_or([0; 32]),
        name: row.get(3)?,
        last_hello: row.get::<_, Option<i64>>(4)?.map(from_sql),
        revoked: row.get(5)?,
        wipe: match row.get::<_, i64>(6)? {
            1 => WipeState::Pending(wipe_id),
            2 => WipeState::Done(wipe_id),
            _ => WipeState::None,
        },
    })
}

fn no_device() -> Error {
    Error::new(ErrorKind::NotFound, "no such device")
}

impl SqliteStore {
    /// Every device, by id.
    pub fn devices(&self) -> Result<Vec<DeviceRecord>> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!("SELECT {DEVICE_COLUMNS} FROM devices ORDER BY id"))
            .map_err(storage)?;
        let rows = stmt.query_map([], device_row).map_err(storage)?;
        rows.collect::<rusqlite::Result<_>>().map_err(storage)
    }

    /// Every device's policy version (0: none set), by device id: what the
    /// server watches to push a policy an administrator changed.
    pub fn policy_versions(&self) -> Result<Vec<(u64, u64)>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id, policy FROM devices ORDER BY id")
            .map_err(storage)?;
        let rows = stmt
            .query_map([], |row| {
                Ok((from_sql(row.get(0)?), row.get::<_, Vec<u8>>(1)?))
            })
            .map_err(storage)?;
        rows.map(|row| {
            let (id, bytes) = row.map_err(storage)?;
            Ok((id, proto::decode::<Policy>(&bytes)?.version))
        })
        .collect()
    }

    fn device_exists(&self, device: u64) -> Result<()> {
        self.device(device).map(drop)
    }

    fn update_device(&mut self, device: u64, sql: &str, value: i64) -> Result<()> {
        let changed = self
            .conn
            .execute(sql, params![to_sql(device), value])
            .map_err(storage)?;
        if changed == 0 {
            return Err(no_device());
        }
        Ok(())
    }
}

impl DeviceRegistry for SqliteStore {
    fn create_activation(
        &mut self,
        principal: u64,
        code: &ActivationCode,
        expires_at_ms: u64,
        max_attempts: u32,
    ) -> Result<()> {
        self.principal(principal)?;
        let live: Option<bool> = self
            .conn
            .query_row(
                "SELECT burned FROM activations WHERE lookup = ?1",
                [code.id()],
                |row| row.get(0),
            )
            .optional()
            .map_err(storage)?;
        if live == Some(false) {
            return Err(ActivationRecord::id_in_use());
        }
        let record = ActivationRecord::new(principal, code, expires_at_ms, max_attempts);
        self.conn
            .execute(
                "INSERT OR REPLACE INTO activations
                 (lookup, principal, hash, expires_at_ms, attempts_left, burned)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    code.id(),
                    to_sql(principal),
                    &record.hash[..],
                    to_sql(expires_at_ms),
                    record.attempts_left,
                    record.burned
                ],
            )
            .map(drop)
            .map_err(storage)
    }

    fn redeem_activation(
        &mut self,
        code: &str,
        public_key: [u8; 32],
        name: &str,
        now_ms: u64,
    ) -> Result<DeviceRecord> {
        let rejected = |reason| Error::new(ErrorKind::ActivationRejected, reason);
        let code = ActivationCode::parse(code)?;
        if self.device_by_key(&public_key)?.is_some() {
            return Err(rejected("device key already enrolled"));
        }
        let mut record = self
            .conn
            .query_row(
                "SELECT principal, hash, expires_at_ms, attempts_left, burned
                 FROM activations WHERE lookup = ?1",
                [code.id()],
                |row| {
                    let hash: Vec<u8> = row.get(1)?;
                    Ok(ActivationRecord {
                        principal: from_sql(row.get(0)?),
                        hash: hash.try_into().unwrap_or([0; 32]),
                        expires_at_ms: from_sql(row.get(2)?),
                        attempts_left: row.get(3)?,
                        burned: row.get(4)?,
                    })
                },
            )
            .optional()
            .map_err(storage)?
            .ok_or_else(|| rejected("no such activation"))?;
        let outcome = record.redeem(&code, now_ms);
        // Written whatever the outcome: a wrong guess must count. The server
        // runs sessions in `batch`es, which commit even a failed batch.
        self.conn
            .execute(
                "UPDATE activations SET attempts_left = ?2, burned = ?3 WHERE lookup = ?1",
                params![code.id(), record.attempts_left, record.burned],
            )
            .map_err(storage)?;
        let principal = outcome?;
        let id = self.fresh_id()?;
        self.conn
            .execute(
                "INSERT INTO devices (id, principal, public_key, name) VALUES (?1, ?2, ?3, ?4)",
                params![to_sql(id), to_sql(principal), &public_key[..], name],
            )
            .map_err(storage)?;
        self.device(id)
    }

    fn device_by_key(&self, public_key: &[u8; 32]) -> Result<Option<DeviceRecord>> {
        self.conn
            .prepare_cached(&format!(
                "SELECT {DEVICE_COLUMNS} FROM devices WHERE public_key = ?1"
            ))
            .and_then(|mut s| s.query_row([&public_key[..]], device_row).optional())
            .map_err(storage)
    }

    fn device(&self, id: u64) -> Result<DeviceRecord> {
        self.conn
            .prepare_cached(&format!(
                "SELECT {DEVICE_COLUMNS} FROM devices WHERE id = ?1"
            ))
            .and_then(|mut s| s.query_row([to_sql(id)], device_row).optional())
            .map_err(storage)?
            .ok_or_else(no_device)
    }

    fn record_hello(&mut self, device: u64, timestamp: u64) -> Result<()> {
        let record = self.device(device)?;
        if record.last_hello.is_some_and(|last| timestamp <= last) {
            return Err(Error::new(
                ErrorKind::Replay,
                "hello timestamp did not increase",
            ));
        }
        self.update_device(
            device,
            "UPDATE devices SET last_hello = ?2 WHERE id = ?1",
            to_sql(timestamp),
        )
    }

    fn save_cursor(&mut self, device: u64, cursor: Cursor) -> Result<()> {
        self.device_exists(device)?;
        self.conn
            .prepare_cached(
                "INSERT INTO cursors (device, collection, epoch, modseq, floor, partial)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (device, collection) DO UPDATE SET
                   epoch = excluded.epoch, modseq = excluded.modseq,
                   floor = excluded.floor, partial = excluded.partial",
            )
            .and_then(|mut s| {
                s.execute(params![
                    to_sql(device),
                    to_sql(cursor.collection_id),
                    to_sql(cursor.epoch),
                    to_sql(cursor.modseq),
                    to_sql(cursor.floor),
                    cursor.partial
                ])
            })
            .map(drop)
            .map_err(storage)
    }

    fn cursors(&self, device: u64) -> Result<Vec<Cursor>> {
        self.device_exists(device)?;
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT collection, epoch, modseq, floor, partial FROM cursors
                 WHERE device = ?1 ORDER BY collection",
            )
            .map_err(storage)?;
        let rows = stmt
            .query_map([to_sql(device)], |row| {
                Ok(Cursor {
                    collection_id: from_sql(row.get(0)?),
                    epoch: from_sql(row.get(1)?),
                    modseq: from_sql(row.get(2)?),
                    floor: from_sql(row.get(3)?),
                    partial: row.get(4)?,
                })
            })
            .map_err(storage)?;
        rows.collect::<rusqlite::Result<_>>().map_err(storage)
    }

    fn applied_operation(&self, device: u64, op_id: &[u8]) -> Result<Option<OperationResult>> {
        self.device_exists(device)?;
        let result: Option<Vec<u8>> = self
            .conn
            .prepare_cached(
                "SELECT result FROM applied_operations WHERE device = ?1 AND op_id = ?2
                 ORDER BY seq DESC LIMIT 1",
            )
            .and_then(|mut s| {
                s.query_row(params![to_sql(device), op_id], |row| row.get(0))
                    .optional()
            })
            .map_err(storage)?;
        result.map(|bytes| proto::decode(&bytes)).transpose()
    }

    fn record_operation(&mut self, device: u64, result: OperationResult) -> Result<()> {
        self.device_exists(device)?;
        let seq: i64 = self
            .conn
            .query_row(
                "SELECT coalesce(max(seq), 0) + 1 FROM applied_operations WHERE device = ?1",
                [to_sql(device)],
                |row| row.get(0),
            )
            .map_err(storage)?;
        let window = i64::try_from(APPLIED_OPERATIONS_PER_DEVICE).unwrap_or(i64::MAX);
        self.conn
            .execute(
                "INSERT INTO applied_operations (device, seq, op_id, result) VALUES (?1, ?2, ?3, ?4)",
                params![to_sql(device), seq, &result.op_id, proto::encode(&result)],
            )
            .map_err(storage)?;
        // The table per device stays bounded, like the core's in-memory one.
        self.conn
            .execute(
                "DELETE FROM applied_operations WHERE device = ?1 AND seq <= ?2",
                params![to_sql(device), seq - window],
            )
            .map(drop)
            .map_err(storage)
    }

    fn policy(&self, device: u64) -> Result<Policy> {
        let bytes: Vec<u8> = self
            .conn
            .query_row(
                "SELECT policy FROM devices WHERE id = ?1",
                [to_sql(device)],
                |row| row.get(0),
            )
            .optional()
            .map_err(storage)?
            .ok_or_else(no_device)?;
        proto::decode(&bytes)
    }

    fn set_policy(&mut self, device: u64, policy: Policy) -> Result<()> {
        let changed = self
            .conn
            .execute(
                "UPDATE devices SET policy = ?2 WHERE id = ?1",
                params![to_sql(device), proto::encode(&policy)],
            )
            .map_err(storage)?;
        if changed == 0 {
            return Err(no_device());
        }
        Ok(())
    }

    fn set_wipe(&mut self, device: u64, wipe: WipeState) -> Result<()> {
        let (state, id) = match wipe {
            WipeState::None => (0, 0),
            WipeState::Pending(id) => (1, id),
            WipeState::Done(id) => (2, id),
        };
        self.atomic(|store| {
            store.update_device(
                device,
                "UPDATE devices SET wipe_state = ?2 WHERE id = ?1",
                state,
            )?;
            store.update_device(
                device,
                "UPDATE devices SET wipe_id = ?2 WHERE id = ?1",
                to_sql(id),
            )
        })
    }

    fn revoke(&mut self, device: u64) -> Result<()> {
        self.update_device(device, "UPDATE devices SET revoked = ?2 WHERE id = ?1", 1)?;
        self.remove_uploads_of(device)
    }
    fn uploads(&self, device: u64) -> Result<Vec<(UploadId, UploadState)>> {
        self.uploads_of(device)
    }
    fn start_upload(
        &mut self,
        device: u64,
        id: &UploadId,
        total_size: u64,
        now_ms: u64,
    ) -> Result<()> {
        self.start_upload_row(device, id, total_size, now_ms)
    }
    fn append_upload(
        &mut self,
        device: u64,
        id: &UploadId,
        at: u64,
        data: &[u8],
        now_ms: u64,
    ) -> Result<Appended> {
        self.append_upload_part(device, id, at, data, now_ms)
    }
    fn discard_stale_uploads(&mut self, device: Option<u64>, before_ms: u64) -> Result<u64> {
        self.remove_stale_uploads(device, before_ms)
    }
    fn upload_bytes(&self, device: u64, id: &UploadId) -> Result<Option<Vec<u8>>> {
        self.upload_content(device, id)
    }
    fn remove_upload(&mut self, device: u64, id: &UploadId) -> Result<()> {
        self.remove_upload_row(device, id)
    }
}
