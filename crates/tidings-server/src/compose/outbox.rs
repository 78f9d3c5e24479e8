//! Mail from a principal mirrored from an upstream with SMTP: composed as
//! always, then queued in the gateway's outbox in the batch's transaction,
//! never delivered locally.
//!
//! - Recipients, local principals included, get it over SMTP only: their
//!   mail lives upstream, and the mirror of their INBOX brings the copy the
//!   upstream delivered. Delivering locally too would show it twice.
//! - The sender's local Sent collection gets nothing now: the gateway
//!   APPENDs the mail to the upstream's Sent folder, and the mirror brings
//!   that copy (once) into the Sent collection.
//! - A reply's or forward's original, when mirrored, is remembered with its
//!   folder, UIDVALIDITY and UID, and flagged `\Answered` or `$Forwarded`
//!   upstream once the mail is submitted.

use super::{Delivery, compose};
use crate::store::SqliteStore;
use crate::stores::ServerStore;
use tidings::proto::MailFlag;
use tidings::session::{Outgoing, Relation};
use tidings::store::Directory;
use tidings::{Error, ErrorKind, Result};
use tidings_upstream::outbox::{Answers, Outbox};
use tidings_upstream::state;

/// Composes `outgoing` (unless `composed` gives it, composed beforehand
/// so as not to hold the transaction) and queues it in `outbox`, inside
/// the caller's transaction. The outbox's limit is checked first.
///
/// # Errors
///
/// [`ErrorKind::UpstreamUnavailable`] when the sender's outbox is full
/// (the SMTP server has not taken what waits): nothing is composed or
/// queued, and the device is answered so, inside its operation; those of
/// [`compose`]; [`ErrorKind::UpstreamConfig`] on a store that is not
/// SQLite (the gateway runs only there).
pub fn queue(
    store: &mut impl ServerStore,
    outgoing: &Outgoing,
    outbox: &Outbox,
    composed: Option<Vec<u8>>,
) -> Result<Delivery> {
    let any: &mut dyn std::any::Any = store;
    let store = any.downcast_mut::<SqliteStore>().ok_or_else(|| {
        Error::new(
            ErrorKind::UpstreamConfig,
            "the upstream gateway runs on the SQLite store only",
        )
    })?;
    let sender = store.principal(outgoing.principal_id)?;
    let mail = &outgoing.mail;
    let to: Vec<String> = mail
        .to
        .iter()
        .chain(&mail.cc)
        .chain(&mail.bcc)
        .map(|a| a.email.clone())
        .collect();
    if let Err(full) = outbox.check_room(store.companion_sql(), outgoing.principal_id) {
        if full.kind() != ErrorKind::LimitExceeded {
            return Err(full);
        }
        // Answered inside the operation: the device keeps the mail and
        // knows it was not sent, rather than a `Done` and a notice later.
        tracing::warn!(principal = sender.id, "outbox full: mail not sent");
        return Err(Error::new(
            ErrorKind::UpstreamUnavailable,
            "too many of the sender's mails wait for the SMTP server; this one was not sent",
        ));
    }
    let raw = match composed {
        Some(raw) => raw,
        None => compose(store, &sender, outgoing)?,
    };
    let answers = match &outgoing.original {
        Some(original) => {
            let conn = store.companion_sql();
            let folder = state::folder(conn, original.collection_id)?;
            let message = state::message_by_item(conn, original.collection_id, original.item_id)?;
            folder.zip(message).map(|(folder, message)| Answers {
                folder: folder.name,
                uidvalidity: folder.uidvalidity,
                uid: message.uid,
                flags: match original.relation {
                    Relation::Reply { .. } => MailFlag::Answered as u32,
                    Relation::Forward => MailFlag::Forwarded as u32,
                },
            })
        }
        None => None,
    };
    outbox.enqueue(
        store.companion_sql(),
        outgoing.principal_id,
        &sender.email,
        &to,
        &raw,
        answers.as_ref(),
    )?;
    Ok(Delivery {
        local: 0,
        external: to.len(),
    })
}
