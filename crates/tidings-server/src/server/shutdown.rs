//! The server's order to stop, which every task waits on.
//!
//! A `watch` channel would carry it too, but its wait future is 144 bytes
//! held inside the task of every idle connection; waiting here is one
//! `Notified` (64 bytes) and a flag.

use super::presence::Presences;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::Notify;

/// Ordered once; every waiter, present or future, sees it.
#[derive(Default)]
pub(crate) struct Shutdown {
    ordered: AtomicBool,
    notify: Notify,
}

impl Shutdown {
    /// Orders the stop and wakes every waiter.
    pub(crate) fn order(&self) {
        self.ordered.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    /// Whether the stop is ordered.
    pub(crate) fn is_ordered(&self) -> bool {
        self.ordered.load(Ordering::SeqCst)
    }

    /// What [`order`](Self::order) wakes.
    pub(crate) fn notify(&self) -> &Notify {
        &self.notify
    }

    /// Resolves once the stop is ordered.
    pub(crate) async fn ordered(&self) {
        // Registered before the flag is read: an order between the two
        // still wakes this waiter (`notify_waiters` reaches every
        // `Notified` created before it, polled or not).
        let notified = self.notify.notified();
        if self.ordered.load(Ordering::SeqCst) {
            return;
        }
        notified.await;
    }
}

/// Resolves once the stop is ordered; owns its handle, for spawned tasks.
pub(crate) async fn stopped(shutdown: Arc<Shutdown>) {
    shutdown.ordered().await;
}

/// Orders the stop, to every task and to every authenticated session
/// (which wait on their device's share instead), and does so when dropped:
/// a server dropped without `Server::shutdown` still stops its tasks.
pub(crate) struct OrderOnDrop {
    pub(crate) shutdown: Arc<Shutdown>,
    pub(crate) presences: Arc<Presences>,
}

impl OrderOnDrop {
    /// Orders the stop now.
    pub(crate) fn order(&self) {
        self.shutdown.order();
        self.presences.stop_all();
    }
}

impl Drop for OrderOnDrop {
    fn drop(&mut self) {
        self.order();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waiters_before_and_after_the_order_both_resolve() {
        let shutdown = Arc::new(Shutdown::default());
        let early = tokio::spawn(stopped(shutdown.clone()));
        tokio::task::yield_now().await;
        assert!(!early.is_finished());
        drop(OrderOnDrop {
            shutdown: shutdown.clone(),
            presences: Arc::new(Presences::new(0.0)),
        });
        let bounded = std::time::Duration::from_secs(5);
        tokio::time::timeout(bounded, early)
            .await
            .expect("a waiter from before the order resolves")
            .expect("no panic");
        tokio::time::timeout(bounded, shutdown.ordered())
            .await
            .expect("a waiter from after the order resolves at once");
    }
}
