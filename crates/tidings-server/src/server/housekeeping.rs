//! What a serving process tidies on its own, at start and then
//! periodically: uploads left idle ([`UPLOAD_IDLE_MS`], sync.md §6) are
//! discarded, whichever device they belong to. A device's own session
//! start and new uploads discard its idle ones too; this reaches devices
//! that never come back. Raw messages an older build kept after their
//! mail was removed are freed, a few per transaction, so other writers
//! wait for one small batch at a time (removals free their own at once).

use super::access::{Access, Backend};
use crate::clock::now_ms;
use crate::stores::ServerStore;
use std::sync::Arc;
use std::time::Duration;
use tidings::session::{UPLOAD_IDLE_MS, discard_idle_uploads};

/// How often (an upload goes at most this long after it became idle).
pub(crate) const EVERY: Duration = Duration::from_secs(60 * 60);

/// Raw messages freed per transaction: at most this many mails' bytes
/// (25 MiB each at most) are deleted while other writers wait.
const FREED_PER_BATCH: usize = 16;

/// Frees, batch after batch, the raw messages no live item reads.
async fn free_removed_messages<B: Backend>(access: &Access<B>) {
    let mut freed = 0;
    loop {
        let job = access.run(|pool| pool.write(|s| s.free_removed_messages(FREED_PER_BATCH)));
        match job.await {
            Some(Ok(n)) => {
                freed += n;
                if n < FREED_PER_BATCH {
                    break;
                }
            }
            None => break,
            Some(Err(e)) => {
                tracing::warn!(error = %e, "freeing removed mail failed");
                break;
            }
        }
    }
    if freed > 0 {
        tracing::info!(freed, "stored bytes of removed mail freed");
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
        tokio::select! {
            () = &mut stop => return,
            () = tokio::time::sleep(every) => {}
        }
    }
}
