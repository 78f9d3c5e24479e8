//! What a serving process tidies on its own, at start and then
//! periodically: uploads left idle ([`UPLOAD_IDLE_MS`], sync.md §6) are
//! discarded, whichever device they belong to. A device's own session
//! start and new uploads discard its idle ones too; this reaches devices
//! that never come back. Raw messages an older build kept after their
//! mail was removed are freed once per store, by a sweep that reads a
//! bounded window per transaction (removals free their own at once).
//! Change logs are compacted behind the devices in use (`compaction`).

use super::access::{Access, Backend};
use crate::clock::now_ms;
use crate::stores::ServerStore;
use std::sync::Arc;
use std::time::Duration;
use tidings::session::{UPLOAD_IDLE_MS, discard_idle_uploads};

/// How often (an upload goes at most this long after it became idle).
pub(crate) const EVERY: Duration = Duration::from_secs(60 * 60);

/// Stored messages a sweep looks at per transaction: each is one index
/// lookup, so other writers wait for a bounded slice at a time.
const SWEEP_WINDOW: usize = 256;

/// Set in the store's meta once a sweep has gone through every message:
/// removals free their own bytes since, so nothing is left to find.
const SWEPT: &str = "removed_mail_swept";

/// Frees, window by window in id order, the raw messages no live item
/// reads (what builds before removals freed them kept), once per store.
async fn free_removed_messages<B: Backend>(access: &Access<B>) {
    let swept = access.run(|pool| pool.read(|s| s.meta(SWEPT))).await;
    if matches!(swept, Some(Ok(Some(_)))) {
        return;
    }
    let mut after = 0;
    loop {
        let job =
            access.run(move |pool| pool.write(|s| s.free_removed_messages(after, SWEEP_WINDOW)));
        match job.await {
            Some(Ok(Some(next))) => after = next,
            Some(Ok(None)) => break,
            None => return,
            Some(Err(e)) => {
                tracing::warn!(error = %e, "freeing removed mail failed");
                return;
            }
        }
    }
    match access
        .run(|pool| pool.write(|s| s.set_meta(SWEPT, b"1")))
        .await
    {
        Some(Ok(())) => tracing::info!("stored bytes of removed mail swept"),
        Some(Err(e)) => tracing::warn!(error = %e, "recording the sweep failed"),
        None => {}
    }
}

/// Compacts every change log behind the devices in use
/// ([`compaction`](super::compaction)): read at once, then each
/// collection compacted in a transaction of its own, so other writers wait
/// one collection's tombstones at a time. A cursor that moves meanwhile
/// only moves forward, so what was read stays safe to compact.
async fn compact_logs<B: Backend>(access: &Access<B>) {
    let now = now_ms();
    let wanted = access.run(move |pool| pool.read(|s| super::compaction::compactable(s, now)));
    let wanted = match wanted.await {
        Some(Ok(wanted)) => wanted,
        Some(Err(e)) => {
            tracing::warn!(error = %e, "reading what to compact failed");
            return;
        }
        None => return,
    };
    for (collection, up_to) in wanted {
        let job = access.run(move |pool| pool.write(|s| s.compact(collection, up_to)));
        match job.await {
            Some(Ok(())) => tracing::debug!(collection, up_to, "change log compacted"),
            Some(Err(e)) => tracing::warn!(collection, error = %e, "compacting failed"),
            None => return,
        }
    }
}

/// Tidies now and then every `every`, until `stop` resolves.
pub(crate) async fn run<B: Backend>(
    access: Arc<Access<B>>,
    every: Duration,
    stop: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(stop);
    loop {
        let job = access.run(|pool| pool.write(|s| discard_idle_uploads(s, None, now_ms())));
        match job.await {
            Some(Ok(0)) | None => {}
            Some(Ok(discarded)) => {
                tracing::info!(
                    discarded,
                    idle_ms = UPLOAD_IDLE_MS,
                    "idle uploads discarded"
                );
            }
            Some(Err(e)) => tracing::warn!(error = %e, "discarding idle uploads failed"),
        }
        free_removed_messages(&access).await;
        compact_logs(&access).await;
        tokio::select! {
            () = &mut stop => return,
            () = tokio::time::sleep(every) => {}
        }
    }
}
