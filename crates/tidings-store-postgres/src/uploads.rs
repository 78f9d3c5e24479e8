//! Files devices upload for the mail they send (`UploadPart`, sync.md §6):
//! one row per upload and one per part as it arrived (migration 0007). The
//! core bounds their size and number.

use crate::PostgresStore;
use crate::conn::{Conn, get, get_u64, to_sql};
use tidings::Result;
use tidings::store::{Appended, UploadId, UploadState};

fn upload_seq(conn: &mut Conn, device: u64, id: &UploadId) -> Result<Option<i64>> {
    let row = conn.query_opt(
        "SELECT seq FROM uploads WHERE device = $1 AND upload_id = $2",
        &[&to_sql(device), &&id[..]],
    )?;
    row.map(|row| get::<i64>(&row, 0)).transpose()
}

impl PostgresStore {
    pub(crate) fn uploads_of(&self, device: u64) -> Result<Vec<(UploadId, UploadState)>> {
        let rows = self.conn().query(
            "SELECT upload_id, total_size, held FROM uploads WHERE device = $1 ORDER BY seq",
            &[&to_sql(device)],
        )?;
        let mut uploads = Vec::with_capacity(rows.len());
        for row in rows {
            let id: Vec<u8> = get(&row, 0)?;
            // Only the core writes ids, always 16 bytes; others are skipped.
            if let Ok(id) = UploadId::try_from(id.as_slice()) {
                let state = UploadState {
                    total_size: get_u64(&row, 1)?,
                    held: get_u64(&row, 2)?,
                };
                uploads.push((id, state));
            }
        }
        Ok(uploads)
    }

    pub(crate) fn start_upload_row(
        &mut self,
        device: u64,
        id: &UploadId,
        total_size: u64,
        now_ms: u64,
    ) -> Result<()> {
        self.conn().atomic(|conn| {
            // Its parts go with it (ON DELETE CASCADE).
            conn.execute(
                "DELETE FROM uploads WHERE device = $1 AND upload_id = $2",
                &[&to_sql(device), &&id[..]],
            )?;
            conn.execute(
                // Another process starting the same upload at the same
                // moment inserted it first: both meant a fresh start.
                "INSERT INTO uploads (device, upload_id, total_size, touched_ms)
                 VALUES ($1, $2, $3, $4) ON CONFLICT (device, upload_id) DO NOTHING",
                &[&to_sql(device), &&id[..], &to_sql(total_size), &ms(now_ms)],
            )
            .map(drop)
        })
    }

    pub(crate) fn append_upload_part(
        &mut self,
        device: u64,
        id: &UploadId,
        at: u64,
        data: &[u8],
        now_ms: u64,
    ) -> Result<Appended> {
        let length = i64::try_from(data.len()).unwrap_or(i64::MAX);
        self.conn().atomic(|conn| {
            // The row is locked and `held` read under the lock: another
            // session's copy of this part, stored meanwhile, is not
            // stored again (what is held stays a prefix of the file).
            let row = conn.query_opt(
                "SELECT seq, held FROM uploads WHERE device = $1 AND upload_id = $2 FOR UPDATE",
                &[&to_sql(device), &&id[..]],
            )?;
            let Some(row) = row else {
                return Ok(Appended::NotAt(0));
            };
            let seq: i64 = get(&row, 0)?;
            let held = get_u64(&row, 1)?;
            if held != at {
                return Ok(Appended::NotAt(held));
            }
            conn.execute(
                "INSERT INTO upload_parts (upload, at_byte, data) VALUES ($1, $2, $3)",
                &[&seq, &to_sql(held), &data],
            )?;
            conn.execute(
                "UPDATE uploads SET held = held + $2, touched_ms = $3 WHERE seq = $1",
                &[&seq, &length, &ms(now_ms)],
            )?;
            Ok(Appended::Stored(held.saturating_add(data.len() as u64)))
        })
    }

    pub(crate) fn upload_content(&self, device: u64, id: &UploadId) -> Result<Option<Vec<u8>>> {
        let mut conn = self.conn();
        let Some(seq) = upload_seq(&mut conn, device, id)? else {
            return Ok(None);
        };
        let rows = conn.query(
            "SELECT data FROM upload_parts WHERE upload = $1 ORDER BY at_byte",
            &[&seq],
        )?;
        let mut bytes = Vec::new();
        for row in rows {
            bytes.extend_from_slice(&get::<Vec<u8>>(&row, 0)?);
        }
        Ok(Some(bytes))
    }

    pub(crate) fn remove_upload_row(&mut self, device: u64, id: &UploadId) -> Result<()> {
        self.conn()
            .execute(
                "DELETE FROM uploads WHERE device = $1 AND upload_id = $2",
                &[&to_sql(device), &&id[..]],
            )
            .map(drop)
    }
}

impl PostgresStore {
    /// Discards the uploads of `device` (of every device with `None`) last
    /// touched before `before_ms`; returns how many. Their parts go with
    /// them (ON DELETE CASCADE).
    pub(crate) fn remove_stale_uploads(
        &mut self,
        device: Option<u64>,
        before_ms: u64,
    ) -> Result<u64> {
        let device = device.map(to_sql);
        self.conn().execute(
            "DELETE FROM uploads WHERE ($1::BIGINT IS NULL OR device = $1) AND touched_ms < $2",
            &[&device, &ms(before_ms)],
        )
    }
}

/// A time in ms as stored: in order (times past 2^63 ms are the latest).
fn ms(ms: u64) -> i64 {
    i64::try_from(ms).unwrap_or(i64::MAX)
}

/// Discards every upload of `device` (it was revoked).
pub(crate) fn remove_uploads_of(conn: &mut Conn, device: u64) -> Result<()> {
    conn.execute("DELETE FROM uploads WHERE device = $1", &[&to_sql(device)])
        .map(drop)
}
