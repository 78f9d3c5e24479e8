//! Enrolled devices and what the server remembers per device: activation
//! codes, the replay guard, cursors, applied operations, policy, wipe and
//! revocation.
//!
//! Read-check-write steps (redeeming a code, the hello replay guard) lock
//! the row they decide on, so two server processes cannot both redeem one
//! code or both accept one hello.

use crate::conn::{Conn, get, get_u32, get_u64, to_sql};
use crate::{PostgresStore, directory, fresh_id};
use postgres::Row;
use tidings::proto::{self, CollectionInfo, Cursor, OperationResult, Policy};
use tidings::store::{
    APPLIED_OPERATIONS_PER_DEVICE, ActivationCode, ActivationRecord, Appended, DeviceRecord,
    DeviceRegistry, UploadId, UploadState, WipeState,
};
use tidings::sync::Rights;
use tidings::{Error, ErrorKind, Result};

/// The advisory lock class under which a device's operations run one
/// transaction at a time across processes ("op" in ASCII); the device id
/// is the lock's second key (ids that share their low 32 bits only wait
/// for each other).
const OPERATIONS_LOCK_CLASS: i32 = 0x6f70;

fn device_row(row: &Row) -> Result<DeviceRecord> {
    let key: Vec<u8> = get(row, 2)?;
    let wipe_id = get_u64(row, 7)?;
    Ok(DeviceRecord {
        id: get_u64(row, 0)?,
        principal: get_u64(row, 1)?,
        public_key: key
            .try_into()
            .map_err(|_| Error::new(ErrorKind::Storage, "stored device key is not 32 bytes"))?,
        name: get(row, 3)?,
        last_hello: get::<Option<i64>>(row, 4)?.map(crate::conn::from_sql),
        revoked: get(row, 5)?,
        wipe: match get::<i64>(row, 6)? {
            1 => WipeState::Pending(wipe_id),
            2 => WipeState::Done(wipe_id),
            _ => WipeState::None,
        },
    })
}

fn no_device() -> Error {
    Error::new(ErrorKind::NotFound, "no such device")
}

fn device(conn: &mut Conn, id: u64) -> Result<DeviceRecord> {
    let row = conn
        .query_opt(
            "SELECT id, principal, public_key, name, last_hello, revoked, wipe_state, wipe_id
             FROM devices WHERE id = $1",
            &[&to_sql(id)],
        )?
        .ok_or_else(no_device)?;
    device_row(&row)
}

fn device_by_key(conn: &mut Conn, public_key: &[u8; 32]) -> Result<Option<DeviceRecord>> {
    let row = conn.query_opt(
        "SELECT id, principal, public_key, name, last_hello, revoked, wipe_state, wipe_id
         FROM devices WHERE public_key = $1",
        &[&&public_key[..]],
    )?;
    row.as_ref().map(device_row).transpose()
}

/// The device with `public_key` and its stored policy, in one statement.
fn device_and_policy_by_key(
    conn: &mut Conn,
    public_key: &[u8; 32],
) -> Result<Option<(DeviceRecord, Policy)>> {
    let row = conn.query_opt(
        "SELECT id, principal, public_key, name, last_hello, revoked, wipe_state, wipe_id,
                policy
         FROM devices WHERE public_key = $1",
        &[&&public_key[..]],
    )?;
    row.map(|row| Ok((device_row(&row)?, proto::decode(&get::<Vec<u8>>(&row, 8)?)?)))
        .transpose()
}

/// The device with `public_key`, its policy, and the collections its
/// principal may see, in one statement. The device's columns repeat on each
/// collection's row (a principal sees a handful); a principal with none
/// gives one row whose collection columns are NULL.
fn device_with_infos_by_key(
    conn: &mut Conn,
    public_key: &[u8; 32],
) -> Result<Option<(DeviceRecord, Policy, Vec<CollectionInfo>)>> {
    let owner_rights = i64::from(Rights::OWNER.bits());
    let rows = conn.query(
        "SELECT d.id, d.principal, d.public_key, d.name, d.last_hello, d.revoked,
                d.wipe_state, d.wipe_id, d.policy,
                v.id, v.kind, v.name, v.owner, v.rights, v.epoch, v.owner_name
         FROM devices d
         LEFT JOIN LATERAL (
             SELECT c.id, c.kind, c.name, c.owner, $2::BIGINT AS rights, c.epoch,
                    p.name AS owner_name
               FROM collections c JOIN principals p ON p.id = c.owner
               WHERE c.owner = d.principal
             UNION ALL
             SELECT c.id, c.kind, c.name, c.owner, g.rights, c.epoch, p.name
               FROM grants g
               JOIN collections c ON c.id = g.collection
               JOIN principals p ON p.id = c.owner
               WHERE g.principal = d.principal AND c.owner <> d.principal
         ) v ON true
         WHERE d.public_key = $1
         ORDER BY v.id",
        &[&&public_key[..], &owner_rights],
    )?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let device = device_row(first)?;
    let policy = proto::decode(&get::<Vec<u8>>(first, 8)?)?;
    let mut infos = Vec::with_capacity(rows.len());
    for row in &rows {
        if get::<Option<i64>>(row, 9)?.is_some() {
            infos.extend(directory::info_row(row, 9)?);
        }
    }
    Ok(Some((device, policy, infos)))
}

fn device_exists(conn: &mut Conn, id: u64) -> Result<()> {
    let found = conn.query_opt("SELECT 1 FROM devices WHERE id = $1", &[&to_sql(id)])?;
    found.map(drop).ok_or_else(no_device)
}

fn redeem(
    conn: &mut Conn,
    code: &ActivationCode,
    public_key: [u8; 32],
    name: &str,
    now_ms: u64,
) -> Result<DeviceRecord> {
    let rejected = |reason| Error::new(ErrorKind::ActivationRejected, reason);
    if device_by_key(conn, &public_key)?.is_some() {
        return Err(rejected("device key already enrolled"));
    }
    let row = conn
        .query_opt(
            "SELECT principal, hash, expires_at_ms, attempts_left, burned
             FROM activations WHERE lookup = $1 FOR UPDATE",
            &[&code.id()],
        )?
        .ok_or_else(|| rejected("no such activation"))?;
    let hash: Vec<u8> = get(&row, 1)?;
    let mut record = ActivationRecord {
        principal: get_u64(&row, 0)?,
        hash: hash.try_into().unwrap_or([0; 32]),
        expires_at_ms: get_u64(&row, 2)?,
        attempts_left: get_u32(&row, 3)?,
        burned: get(&row, 4)?,
    };
    let outcome = record.redeem(code, now_ms);
    // Written whatever the outcome: a wrong guess must count. The caller
    // keeps this write even when redeeming fails.
    conn.execute(
        "UPDATE activations SET attempts_left = $2, burned = $3 WHERE lookup = $1",
        &[&code.id(), &i64::from(record.attempts_left), &record.burned],
    )?;
    let principal = outcome?;
    let id = fresh_id(conn)?;
    conn.execute(
        "INSERT INTO devices (id, principal, public_key, name) VALUES ($1, $2, $3, $4)",
        &[&to_sql(id), &to_sql(principal), &&public_key[..], &name],
    )?;
    device(conn, id)
}

impl PostgresStore {
    /// [`DeviceRegistry::device_and_policy_by_key`] and, in the same
    /// statement, [`Directory::collection_infos_at_once`] for the device's
    /// principal: what a reconnect reads first, in one round trip.
    ///
    /// [`Directory::collection_infos_at_once`]: tidings::store::Directory::collection_infos_at_once
    pub fn device_with_infos_by_key(
        &self,
        public_key: &[u8; 32],
    ) -> Result<Option<(DeviceRecord, Policy, Vec<CollectionInfo>)>> {
        device_with_infos_by_key(&mut self.conn(), public_key)
    }

    /// Every device, by id.
    pub fn devices(&self) -> Result<Vec<DeviceRecord>> {
        let rows = self.conn().query(
            "SELECT id, principal, public_key, name, last_hello, revoked, wipe_state, wipe_id
             FROM devices ORDER BY id",
            &[],
        )?;
        rows.iter().map(device_row).collect()
    }

    /// Every device's policy version (0: none set), by device id: what the
    /// server watches to push a policy an administrator changed.
    pub fn policy_versions(&self) -> Result<Vec<(u64, u64)>> {
        let rows = self
            .conn()
            .query("SELECT id, policy FROM devices ORDER BY id", &[])?;
        rows.iter()
            .map(|row| {
                let policy: Policy = proto::decode(&get::<Vec<u8>>(row, 1)?)?;
                Ok((get_u64(row, 0)?, policy.version))
            })
            .collect()
    }
}

impl DeviceRegistry for PostgresStore {
    fn create_activation(
        &mut self,
        principal: u64,
        code: &ActivationCode,
        expires_at_ms: u64,
        max_attempts: u32,
    ) -> Result<()> {
        self.conn().atomic(|conn| {
            directory::principal(conn, principal)?;
            let record = ActivationRecord::new(principal, code, expires_at_ms, max_attempts);
            // Replaces only a burned code: a live one with this id is kept,
            // and the caller draws another code.
            let written = conn.execute(
                "INSERT INTO activations
                   (lookup, principal, hash, expires_at_ms, attempts_left, burned)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (lookup) DO UPDATE SET
                   principal = excluded.principal, hash = excluded.hash,
                   expires_at_ms = excluded.expires_at_ms,
                   attempts_left = excluded.attempts_left, burned = excluded.burned
                 WHERE activations.burned",
                &[
                    &code.id(),
                    &to_sql(principal),
                    &&record.hash[..],
                    &to_sql(expires_at_ms),
                    &i64::from(record.attempts_left),
                    &record.burned,
                ],
            )?;
            if written == 0 {
                return Err(ActivationRecord::id_in_use());
            }
            Ok(())
        })
    }

    fn redeem_activation(
        &mut self,
        code: &str,
        public_key: [u8; 32],
        name: &str,
        now_ms: u64,
    ) -> Result<DeviceRecord> {
        let code = ActivationCode::parse(code)?;
        let mut conn = self.conn();
        // The counted attempt must stick even though redeeming fails, so the
        // unit is kept unless a statement failed; a failure of the rules is
        // returned after it is kept.
        conn.begin()?;
        let result = redeem(&mut conn, &code, public_key, name, now_ms);
        conn.end(true)?;
        result
    }

    fn device_by_key(&self, public_key: &[u8; 32]) -> Result<Option<DeviceRecord>> {
        device_by_key(&mut self.conn(), public_key)
    }

    fn device_and_policy_by_key(
        &self,
        public_key: &[u8; 32],
    ) -> Result<Option<(DeviceRecord, Policy)>> {
        device_and_policy_by_key(&mut self.conn(), public_key)
    }

    fn device(&self, id: u64) -> Result<DeviceRecord> {
        device(&mut self.conn(), id)
    }

    fn record_hello(&mut self, device: u64, timestamp: u64) -> Result<()> {
        // One statement on every reconnect: the row lock of the UPDATE orders
        // concurrent hellos of one device, and the comparison is unsigned
        // (the sign bit flipped) as the core's is.
        let mut conn = self.conn();
        let updated = conn.execute(
            "UPDATE devices SET last_hello = $2
             WHERE id = $1 AND (last_hello IS NULL
               OR (last_hello # x'8000000000000000'::bigint)
                  < ($2 # x'8000000000000000'::bigint))",
            &[&to_sql(device), &to_sql(timestamp)],
        )?;
        if updated == 1 {
            return Ok(());
        }
        device_exists(&mut conn, device)?;
        Err(Error::new(
            ErrorKind::Replay,
            "hello timestamp did not increase",
        ))
    }

    fn save_cursor(&mut self, device: u64, cursor: Cursor) -> Result<()> {
        let mut conn = self.conn();
        device_exists(&mut conn, device)?;
        conn.execute(
            "INSERT INTO cursors (device, collection, epoch, modseq, floor, partial)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (device, collection) DO UPDATE SET
               epoch = excluded.epoch, modseq = excluded.modseq,
               floor = excluded.floor, partial = excluded.partial",
            &[
                &to_sql(device),
                &to_sql(cursor.collection_id),
                &to_sql(cursor.epoch),
                &to_sql(cursor.modseq),
                &to_sql(cursor.floor),
                &cursor.partial,
            ],
        )
        .map(drop)
    }

    fn cursors(&self, device: u64) -> Result<Vec<Cursor>> {
        let mut conn = self.conn();
        device_exists(&mut conn, device)?;
        let rows = conn.query(
            "SELECT collection, epoch, modseq, floor, partial FROM cursors
             WHERE device = $1 ORDER BY collection",
            &[&to_sql(device)],
        )?;
        rows.iter()
            .map(|row| {
                Ok(Cursor {
                    collection_id: get_u64(row, 0)?,
                    epoch: get_u64(row, 1)?,
                    modseq: get_u64(row, 2)?,
                    floor: get_u64(row, 3)?,
                    partial: get(row, 4)?,
                })
            })
            .collect()
    }

    fn applied_operation(&self, device: u64, op_id: &[u8]) -> Result<Option<OperationResult>> {
        let mut conn = self.conn();
        device_exists(&mut conn, device)?;
        if conn.in_transaction() {
            // Another process may be running this device's operations
            // (a session the device left behind): wait for its
            // transaction, so its record is read here rather than the
            // operation applied twice. Held until this one ends; a
            // statement of its own, so the read below sees what the
            // other committed.
            conn.execute(
                "SELECT pg_advisory_xact_lock($1, $2)",
                &[&OPERATIONS_LOCK_CLASS, &(device as i32)],
            )?;
        }
        let row = conn.query_opt(
            "SELECT result FROM applied_operations WHERE device = $1 AND op_id = $2
             ORDER BY seq DESC LIMIT 1",
            &[&to_sql(device), &op_id],
        )?;
        match row {
            Some(row) => proto::decode(&get::<Vec<u8>>(&row, 0)?).map(Some),
            None => Ok(None),
        }
    }

    fn record_operation(&mut self, device: u64, result: OperationResult) -> Result<()> {
        let window = i64::try_from(APPLIED_OPERATIONS_PER_DEVICE).unwrap_or(i64::MAX);
        self.conn().atomic(|conn| {
            device_exists(conn, device)?;
            conn.execute(
                "INSERT INTO applied_operations (device, op_id, result) VALUES ($1, $2, $3)",
                &[&to_sql(device), &result.op_id, &proto::encode(&result)],
            )?;
            // The table per device stays bounded, like the core's in-memory one:
            // everything older than the newest `window` rows goes.
            conn.execute(
                "DELETE FROM applied_operations WHERE device = $1 AND seq <= (
                     SELECT seq FROM applied_operations WHERE device = $1
                     ORDER BY seq DESC OFFSET $2 LIMIT 1)",
                &[&to_sql(device), &window],
            )
            .map(drop)
        })
    }

    fn policy(&self, device: u64) -> Result<Policy> {
        let row = self
            .conn()
            .query_opt(
                "SELECT policy FROM devices WHERE id = $1",
                &[&to_sql(device)],
            )?
            .ok_or_else(no_device)?;
        proto::decode(&get::<Vec<u8>>(&row, 0)?)
    }

    fn set_policy(&mut self, device: u64, policy: Policy) -> Result<()> {
        let changed = self.conn().execute(
            "UPDATE devices SET policy = $2 WHERE id = $1",
            &[&to_sql(device), &proto::encode(&policy)],
        )?;
        if changed == 0 {
            return Err(no_device());
        }
        Ok(())
    }

    fn set_wipe(&mut self, device: u64, wipe: WipeState) -> Result<()> {
        let (state, id) = match wipe {
            WipeState::None => (0i64, 0),
            WipeState::Pending(id) => (1, id),
            WipeState::Done(id) => (2, id),
        };
        let changed = self.conn().execute(
            "UPDATE devices SET wipe_state = $2, wipe_id = $3 WHERE id = $1",
            &[&to_sql(device), &state, &to_sql(id)],
        )?;
        if changed == 0 {
            return Err(no_device());
        }
        Ok(())
    }

    fn revoke(&mut self, device: u64) -> Result<()> {
        self.conn().atomic(|conn| {
            let changed = conn.execute(
                "UPDATE devices SET revoked = true WHERE id = $1",
                &[&to_sql(device)],
            )?;
            if changed == 0 {
                return Err(no_device());
            }
            crate::uploads::remove_uploads_of(conn, device)
        })
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
