//! Mail a device sends: what it is ([`Outgoing`]), where it goes
//! ([`MailTransport`]), what sending may cost ([`Allowance`]), and replies
//! and forwards, whose original comes from the store.

use super::{Effects, MAX_RECIPIENTS, done, uploads};
use crate::compress::unpack;
use crate::error::{Error, ErrorKind, Result};
use crate::proto::{self, operation_result::Outcome};
use crate::store::Store;
use crate::sync::Rights;
use crate::sync::abridge::STORED_ITEM_LIMITS;
use crate::sync::mail::{check_outgoing, reply_recipients};
use bytes::Bytes;

/// How an outgoing mail relates to one the principal received.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Relation {
    /// A reply (to all recipients, or to the sender only).
    Reply {
        /// Reply to all recipients.
        all: bool,
    },
    /// A forward.
    Forward,
}

/// The mail an outgoing message answers or forwards, from the server's store:
/// the device never uploads it again.
#[derive(Clone, Debug, PartialEq)]
pub struct Original {
    /// Its folder.
    pub collection_id: u64,
    /// Its id.
    pub item_id: u64,
    /// Reply or forward.
    pub relation: Relation,
    /// The original item, packed (see [`compress::unpack`](crate::compress::unpack)).
    pub packed: Bytes,
    /// The original message's whole size, as stored (`MailItem.size`):
    /// what a forward, which attaches it, may store per recipient.
    pub size: u64,
}

/// Mail a device asked to send. The core does not speak SMTP: the server
/// application composes the message (quoting or attaching `original`, which
/// the device never uploads) and hands it to its mail transport. Each
/// operation yields this once, however often the device retries.
#[derive(Clone, Debug, PartialEq)]
pub struct Outgoing {
    /// The sender.
    pub principal_id: u64,
    /// What the device wrote.
    pub mail: proto::OutgoingMail,
    /// The mail it answers or forwards, if any.
    pub original: Option<Original>,
}

/// Where the mail a device sends goes, when the server hands it over inside
/// the operation ([`ServerSession::handle_bytes_sending`]): `send` runs in
/// the same write that records the operation's result, before it is
/// recorded. An error refuses the operation with that error's code (a
/// [`Storage`](ErrorKind::Storage) error is not an answer: the session ends
/// and the device retries), so a device answered `Done` knows its mail was
/// taken, and one refused knows nothing was sent (sync.md §6).
///
/// [`ServerSession::handle_bytes_sending`]: crate::session::ServerSession::handle_bytes_sending
pub trait MailTransport<S: ?Sized> {
    /// Takes `outgoing`, writing what it must through `store`.
    ///
    /// # Errors
    ///
    /// Why the mail cannot be sent; the operation is answered with it.
    fn send(&mut self, store: &mut S, outgoing: &Outgoing) -> Result<()>;

    /// Called before the operation that sends `outgoing` takes the
    /// store's write lock (after [`ItemStore::settle`]), with the mail
    /// as it will be sent unless the store changes meanwhile: a transport
    /// may compose and read it here, where no other device's write waits
    /// for it, and use that in [`send`](Self::send) when it is handed the
    /// same mail. Nothing may be written here; the default does nothing.
    ///
    /// [`ItemStore::settle`]: crate::store::ItemStore::settle
    fn prepare(&mut self, store: &S, outgoing: &Outgoing) {
        let _ = (store, outgoing);
    }
}

/// `transport` again, for one call (an `Option` of a trait object does
/// not shorten its borrow by itself).
pub(crate) fn reborrow<'b, S: ?Sized>(
    transport: &'b mut Option<&mut dyn MailTransport<S>>,
) -> Option<&'b mut dyn MailTransport<S>> {
    match transport {
        Some(transport) => Some(&mut **transport),
        None => None,
    }
}

/// What a device may still send in this turn (see
/// `ServerSession::set_outgoing_allowance`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Allowance {
    /// Bytes left.
    pub(crate) bytes: u64,
    /// The device has its whole budget: one send of any size may go (a
    /// mail larger than the budget would otherwise never go), and the
    /// server carries the debt.
    pub(crate) whole: bool,
    /// Bytes charged since the server last asked.
    pub(crate) charged: u64,
}

impl Allowance {
    /// No bound.
    pub(crate) const UNBOUNDED: Self = Self {
        bytes: u64::MAX,
        whole: true,
        charged: 0,
    };

    pub(super) fn admits(&self, cost: u64) -> bool {
        cost <= self.bytes || self.whole
    }

    pub(super) fn charge(&mut self, cost: u64) {
        self.bytes = self.bytes.saturating_sub(cost);
        self.whole = false;
        self.charged = self.charged.saturating_add(cost);
    }
}

impl Outgoing {
    /// What sending it may store: the mail (with the original it answers
    /// or forwards) once for the sender and once per recipient.
    pub fn stored_bytes(&self) -> u64 {
        let mail = u64::try_from(prost::Message::encoded_len(&self.mail)).unwrap_or(u64::MAX);
        stored_bytes(mail, &self.mail, self.original.as_ref())
    }
}

/// What sending `mail`, whose encoded size is `size`, with `original`
/// may store (see [`Outgoing::stored_bytes`]).
pub(crate) fn stored_bytes(
    size: u64,
    mail: &proto::OutgoingMail,
    original: Option<&Original>,
) -> u64 {
    // A reply quotes the original's text; a forward attaches it whole.
    let original = original.map_or(0, |o| match o.relation {
        Relation::Forward => o
            .size
            .max(u64::try_from(o.packed.len()).unwrap_or(u64::MAX)),
        Relation::Reply { .. } => u64::try_from(o.packed.len()).unwrap_or(u64::MAX),
    });
    let size = size.saturating_add(original);
    let recipients = [&mail.to, &mail.cc, &mail.bcc]
        .iter()
        .fold(0usize, |n, list| n.saturating_add(list.len()));
    let copies = u64::try_from(recipients)
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    size.saturating_mul(copies)
}

pub(super) fn distinct_recipients(mut mail: proto::OutgoingMail) -> Result<proto::OutgoingMail> {
    let named = mail
        .to
        .len()
        .saturating_add(mail.cc.len())
        .saturating_add(mail.bcc.len());
    if named > MAX_RECIPIENTS {
        return Err(Error::new(ErrorKind::LimitExceeded, "too many recipients"));
    }
    let mut seen = std::collections::HashSet::with_capacity(named);
    for list in [&mut mail.to, &mut mail.cc, &mut mail.bcc] {
        list.retain(|a| seen.insert(a.email.to_ascii_lowercase()));
    }
    Ok(mail)
}

/// Hands the mail in `effects` (an operation sends one at most) to
/// `transport`.
pub(super) fn hand_over<S: Store>(
    store: &mut S,
    transport: &mut dyn MailTransport<S>,
    effects: &mut Effects,
) -> Result<()> {
    for outgoing in core::mem::take(&mut effects.outgoing) {
        transport.send(store, &outgoing)?;
    }
    Ok(())
}

/// Lets `transport` compose and read the mail `op` sends before the
/// operation takes the write lock ([`MailTransport::prepare`]): what
/// the batch wrote so far is settled first, so a costly mail (a long
/// text of pasted files, a reply quoting a large original) holds up no
/// other device's write. Only for a send that will go as things stand:
/// not one already applied, refused, or beyond what the device may send.
pub(super) fn prepare_send<S: Store>(
    store: &mut S,
    (device, principal): (u64, u64),
    op: &proto::Operation,
    allowance: &Allowance,
    transport: &mut dyn MailTransport<S>,
    now_ms: u64,
) -> Result<()> {
    use proto::operation::Kind;
    let sends = matches!(
        op.kind,
        Some(Kind::SendMail(_) | Kind::ReplyMail(_) | Kind::ForwardMail(_))
    );
    if !sends || op.op_id.len() != 16 || store.applied_operation(device, &op.op_id)?.is_some() {
        return Ok(());
    }
    store.settle()?;
    // The three kinds only read here; the operation runs again under the
    // lock, and the transport uses what it prepared only for the same mail.
    let mut effects = Effects::default();
    if super::run(
        store,
        (device, principal),
        op.kind.as_ref(),
        &mut effects,
        now_ms,
    )
    .is_err()
    {
        return Ok(());
    }
    let cost = effects
        .outgoing
        .iter()
        .map(Outgoing::stored_bytes)
        .fold(0u64, u64::saturating_add);
    if cost > super::MAX_SEND_STORED_BYTES
        || !allowance.admits(cost.saturating_sub(effects.uploaded))
    {
        return Ok(());
    }
    for outgoing in &effects.outgoing {
        transport.prepare(store, outgoing);
    }
    Ok(())
}

/// A reply or forward: the original comes from the store, read with the
/// sender's rights, never from the device. `(device, principal)` asks;
/// `(collection_id, item_id)` names the original.
pub(super) fn send_about<S: Store>(
    store: &S,
    (device, principal): (u64, u64),
    (collection_id, item_id): (u64, u64),
    relation: Relation,
    mail: Option<proto::OutgoingMail>,
    effects: &mut Effects,
) -> Result<Outcome> {
    store.require(principal, collection_id, Rights::READ)?;
    super::events::need_kind(store, collection_id, proto::CollectionKind::Mail)?;
    let (packed, _) = store
        .item(collection_id, item_id)?
        .ok_or(ErrorKind::NotFound)?;
    let stored = unpack(&packed, &STORED_ITEM_LIMITS)
        .and_then(|bytes| proto::decode::<proto::Item>(&bytes))
        .ok()
        .and_then(|item| match item.kind {
            Some(proto::item::Kind::Mail(mail)) => Some(mail),
            _ => None,
        });
    let mut mail = mail.unwrap_or_default();
    let unnamed = mail.to.is_empty() && mail.cc.is_empty() && mail.bcc.is_empty();
    if let (Relation::Reply { all }, true) = (relation, unnamed) {
        let own = store.principal(principal)?.email;
        let headers = stored.as_ref().and_then(|m| m.headers.as_ref());
        (mail.to, mail.cc) = reply_recipients(headers.unwrap_or(&Default::default()), &own, all);
        if mail.to.is_empty() && mail.cc.is_empty() {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                "the original names no address a reply can go to",
            ));
        }
    }
    let original = Original {
        collection_id,
        item_id,
        relation,
        packed,
        size: stored.map_or(0, |m| m.size),
    };
    let mut mail = distinct_recipients(mail)?;
    check_outgoing(&mail)?;
    (effects.uploads_taken, effects.uploaded) =
        uploads::attach_uploads(store, device, &mut mail, Some(&original))?;
    effects.outgoing.push(Outgoing {
        principal_id: principal,
        mail,
        original: Some(original),
    });
    Ok(done(0, 0))
}
