//! Bytes handled without a store: a caught-up device's acknowledgements
//! and keepalives, which are most of what an idle device sends. A server
//! that runs store work on other threads can handle them where the bytes
//! arrive and hand the cursors to a writer of its own, rather than pay a
//! thread hand-off and a transaction per acknowledgement.

use super::{MailTransport, Phase, ServerSession, ops};
use crate::error::{Error, ErrorKind, Result};
use crate::proto::{Cursor, Envelope, envelope::Body};

/// What [`ServerSession::handle_bytes_without_store`] did with the bytes.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct WithoutStore {
    /// Cursors the device acknowledged. The caller stores them
    /// ([`DeviceRegistry::save_cursor`](crate::store::DeviceRegistry::save_cursor)) at its own
    /// pace: the session no longer needs them, and a cursor stored late (or
    /// lost in a crash) only makes compaction of the change log more careful.
    pub acknowledged: Vec<Cursor>,
    /// Messages that need the store wait in the session: call
    /// [`handle_bytes`](ServerSession::handle_bytes) (with no new bytes, or
    /// with the next ones) before calling this again.
    pub needs_store: bool,
}

impl ServerSession {
    /// Whether the session has authenticated its device and had its Hello.
    pub fn is_established(&self) -> bool {
        matches!(self.phase, Phase::Established { .. })
    }

    /// Feeds bytes received from an established session's device, handling
    /// without a store what needs none: acknowledgements while every
    /// collection has been sent all it holds, and keepalives. The first
    /// message that needs more, and every one after it, waits in the session
    /// for [`handle_bytes`](Self::handle_bytes), in order. Refused (bytes
    /// untouched) before the session is established or while messages wait.
    /// An error closes the session, as in `handle_bytes`.
    pub fn handle_bytes_without_store(
        &mut self,
        now_ms: u64,
        mut bytes: &[u8],
    ) -> Result<WithoutStore> {
        if self.is_closed() {
            return Err(ErrorKind::SessionClosed.into());
        }
        if !self.is_established() || !self.waiting.is_empty() {
            return Err(Error::new(
                ErrorKind::InvalidState,
                "only an established session with nothing waiting",
            ));
        }
        let mut done = WithoutStore::default();
        while let Some(frame) = self.next_frame(now_ms, &mut bytes)? {
            let body = match self.channel.open(&frame) {
                Ok(Some(Envelope { body: Some(body) })) => body,
                Ok(_) => continue, // keepalive or rekey marker
                Err(e) => {
                    self.tell_device(now_ms, &e);
                    return Err(self.fail(e));
                }
            };
            self.without_store(body, &mut done.acknowledged);
        }
        done.needs_store = !self.waiting.is_empty();
        Ok(done)
    }

    /// Handles `body` now if it needs no store and nothing waits before it;
    /// otherwise it waits.
    fn without_store(&mut self, body: Body, acknowledged: &mut Vec<Cursor>) {
        match body {
            Body::Ack(ack) if self.waiting.is_empty() && self.follows.all_settled() => {
                for cursor in ack.cursors {
                    if self.follows.acked(&cursor) {
                        acknowledged.push(cursor);
                    }
                }
            }
            other => self.waiting.push_back(other),
        }
    }

    /// Handles the messages [`handle_bytes_without_store`] left waiting.
    pub(super) fn handle_waiting<S: crate::store::Store>(
        &mut self,
        now_ms: u64,
        store: &mut S,
        mut transport: Option<&mut dyn MailTransport<S>>,
    ) -> Result<()> {
        while let Some(body) = self.waiting.pop_front() {
            if let Err(e) = self.handle_body(now_ms, body, store, ops::reborrow(&mut transport)) {
                self.tell_device(now_ms, &e);
                return Err(self.fail(e));
            }
            if self.is_closed() {
                break;
            }
        }
        Ok(())
    }
}
