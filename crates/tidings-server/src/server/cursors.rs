//! Cursors that caught-up devices acknowledged, written in groups.
//!
//! Most of what an idle device sends is an acknowledgement of the page just
//! pushed to it. Its connection handles that without a store job
//! ([`ServerSession::handle_bytes_without_store`]) and records the cursor
//! here; one task writes whatever has gathered in one transaction. A push
//! to 10,000 devices then costs one write, not 10,000 thread hand-offs and
//! group commits. A stored cursor only tells compaction how far a device
//! has got (sync.md §3 rule 8, §4), so one written late, or lost in a crash, makes
//! compaction more careful and nothing else; the device resumes from its
//! own cursors.
//!
//! [`ServerSession::handle_bytes_without_store`]: tidings::session::ServerSession::handle_bytes_without_store

use super::access::{Access, Backend};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tidings::proto::Cursor;
use tidings::store::DeviceRegistry;
use tokio::sync::Notify;

/// How long the writer lets acknowledgements gather before writing them.
const GATHER: Duration = Duration::from_millis(50);

/// Acknowledged cursors not yet written: the latest per device and
/// collection, so at most one per followed collection of each device.
#[derive(Default)]
pub(crate) struct Cursors {
    unwritten: Mutex<HashMap<(u64, u64), Cursor>>,
    gathered: Notify,
}

impl Cursors {
    /// Records what `device` acknowledged (in the order it did).
    pub(crate) fn record(&self, device: u64, acknowledged: Vec<Cursor>) {
        if acknowledged.is_empty() {
            return;
        }
        let mut unwritten = self.unwritten.lock().unwrap_or_else(|e| e.into_inner());
        let first = unwritten.is_empty();
        for cursor in acknowledged {
            unwritten.insert((device, cursor.collection_id), cursor);
        }
        drop(unwritten);
        if first {
            self.gathered.notify_one();
        }
    }

    /// Writes what has gathered, in one transaction on a store worker.
    pub(crate) async fn flush<B: Backend>(&self, access: &Access<B>) {
        let batch = std::mem::take(&mut *self.unwritten.lock().unwrap_or_else(|e| e.into_inner()));
        if batch.is_empty() {
            return;
        }
        let count = batch.len();
        let written = access
            .run(move |pool| {
                pool.write(|store| {
                    for ((device, _), cursor) in batch {
                        store.save_cursor(device, cursor)?;
                    }
                    Ok(())
                })
            })
            .await;
        if !matches!(written, Some(Ok(()))) {
            // Harmless (see the module's comment), but worth knowing.
            tracing::warn!(count, "acknowledged cursors not written");
        }
    }
}

/// Writes gathered cursors until `stop` resolves (the server's shutdown
/// writes the last ones once its connections are gone).
pub(crate) async fn write<B: Backend>(
    cursors: Arc<Cursors>,
    access: Arc<Access<B>>,
    stop: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(stop);
    loop {
        tokio::select! {
            () = &mut stop => return,
            () = cursors.gathered.notified() => {}
        }
        tokio::select! {
            () = &mut stop => return,
            () = tokio::time::sleep(GATHER) => {}
        }
        cursors.flush(&access).await;
    }
}
