//! When a reconnecting device's first pages are built.
//!
//! A reconnect's first pages may be the costliest thing a device asks for
//! (a catch-up from nothing, items abridged one by one), and they are
//! built in the hello's own turn, before the server's connection knows
//! which device it serves: a device reconnecting in a loop would get that
//! work done at every hello, whatever share of the server it is allowed.
//! A server that paces devices says, once the hello has authenticated the
//! device, whether its pages wait; the session then answers the `Hello`
//! with its `Welcome` alone and sends the pages at the next
//! [`ServerSession::push_changes`](super::ServerSession::push_changes),
//! which the server calls once the device may have them.

/// Decides whether an authenticated device's first pages wait.
pub trait CatchUpPacing: Send + Sync {
    /// Whether the first pages of `device_id`, which has just
    /// authenticated, wait for a later
    /// [`push_changes`](super::ServerSession::push_changes) (for example
    /// while the device has used more than its share of the store).
    fn defer_first_pages(&self, device_id: u64) -> bool;
}
