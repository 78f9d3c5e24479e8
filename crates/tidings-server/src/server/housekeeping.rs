//! What a serving process tidies on its own, at start and then
//! periodically: uploads left idle ([`UPLOAD_IDLE_MS`], sync.md §6) are
//! discarded, whichever device they belong to. A device's own session
//! start and new uploads discard its idle ones too; this reaches devices
//! that never come back.

use super::access::{Access, Backend};
use crate::clock::now_ms;
use std::sync::Arc;
use std::time::Duration;
use tidings::session::{UPLOAD_IDLE_MS, discard_idle_uploads};

/// How often (an upload goes at most this long after it became idle).
pub(crate) const EVERY: Duration = Duration::from_secs(60 * 60);

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
        tokio::select! {
            () = &mut stop => return,
            () = tokio::time::sleep(every) => {}
        }
    }
}
