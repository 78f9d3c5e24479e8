//! The server's mail transport: composes and delivers the mail a device
//! sends, inside its operation and so in the batch's transaction (a
//! principal mirrored from an upstream with SMTP: queued in the gateway's
//! `outbox`, in the same transaction). A mail that cannot be composed
//! refuses the operation (sync.md §6): nothing is sent, and the device is
//! told why.
//!
//! The costly part, composing the mail and reading it as the store will
//! keep it, is done beforehand ([`MailTransport::prepare`]), when the
//! batch holds no write lock: a long text of pasted files mailed to
//! oneself held every other device's writes for seconds.

use crate::compose;
use crate::server::access::Backend;
use std::marker::PhantomData;
use tidings::session::{MailTransport, Outgoing};
use tidings::store::Directory;
use tidings::sync::mail::{DEFAULT_PREVIEW_BYTES, ParsedMail};
use tidings_upstream::outbox::Outbox;

/// A mail composed before its operation took the write lock.
struct Prepared {
    /// The mail it was composed from: used only for the same mail.
    outgoing: Outgoing,
    raw: Vec<u8>,
    /// How the store will keep it (`None`: it goes to the outbox, which
    /// keeps the bytes only).
    read: Option<tidings::Result<ParsedMail>>,
}

/// The transport one batch of a device's bytes sends through.
pub(super) struct Sender<'o, B> {
    outbox: Option<&'o Outbox>,
    /// Mail was delivered: the watcher must look after the commit.
    pub(super) delivered: bool,
    prepared: Option<Prepared>,
    backend: PhantomData<fn(B)>,
}

impl<'o, B> Sender<'o, B> {
    pub(super) fn new(outbox: Option<&'o Outbox>) -> Self {
        Self {
            outbox,
            delivered: false,
            prepared: None,
            backend: PhantomData,
        }
    }

    fn outbox_for(&self, outgoing: &Outgoing) -> Option<&'o Outbox> {
        self.outbox.filter(|o| o.sends_for(outgoing.principal_id))
    }
}

impl<'b, B: Backend> MailTransport<B::Batch<'b>> for Sender<'_, B> {
    fn prepare(&mut self, batch: &B::Batch<'b>, outgoing: &Outgoing) {
        self.prepared = None;
        let Ok(store) = B::batch_reads(batch) else {
            return;
        };
        let Ok(sender) = store.principal(outgoing.principal_id) else {
            return;
        };
        // A mail that cannot be composed is refused under the lock, as
        // before: those refusals are quick checks of what the device gave.
        let Ok(raw) = compose::compose(store, &sender, outgoing) else {
            return;
        };
        let read = match self.outbox_for(outgoing) {
            Some(_) => None,
            None => Some(ParsedMail::parse(&raw, DEFAULT_PREVIEW_BYTES)),
        };
        self.prepared = Some(Prepared {
            outgoing: outgoing.clone(),
            raw,
            read,
        });
    }

    fn send(&mut self, batch: &mut B::Batch<'b>, outgoing: &Outgoing) -> tidings::Result<()> {
        let prepared = self.prepared.take().filter(|p| p.outgoing == *outgoing);
        let outbox = self.outbox_for(outgoing);
        let store = B::in_batch(batch)?;
        let report = match (outbox, prepared) {
            (Some(outbox), prepared) => {
                compose::outbox::queue(store, outgoing, outbox, prepared.map(|p| p.raw))
            }
            (
                None,
                Some(Prepared {
                    raw,
                    read: Some(read),
                    ..
                }),
            ) => compose::deliver_composed(store, outgoing, &raw, read),
            (None, _) => compose::deliver(store, outgoing),
        }
        .inspect_err(|e| tracing::warn!(code = e.code(), error = %e, "mail not sent"))?;
        tracing::info!(
            local = report.local,
            external = report.external,
            "mail sent"
        );
        // The watcher is poked once this batch has committed: it reads
        // committed state and would not see this yet.
        self.delivered = true;
        Ok(())
    }
}
