//! Applying a device's operations on the server: once per op id, with rights
//! checked against the collection, each with a typed result.

use super::uploads;
use crate::compress::unpack;
use crate::error::{Error, ErrorKind, Result};
use crate::proto::{
    self, CalendarItem, Conflict, Done, ErrorInfo, Item, Operation, OperationResult,
    ParticipationStatus, SearchHit, SearchResults, item, operation::Kind,
    operation_result::Outcome,
};
use crate::store::{Store, UploadId, hide_missing};
use crate::sync::Rights;
use crate::sync::abridge::STORED_ITEM_LIMITS;
use crate::sync::attendee_comment;
use crate::sync::invitation::{self, Answered};
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

    fn admits(&self, cost: u64) -> bool {
        cost <= self.bytes || self.whole
    }

    fn charge(&mut self, cost: u64) {
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

/// What applying an operation did besides its result.
#[derive(Debug, Default)]
pub(crate) struct Effects {
    /// Collections that changed.
    pub(crate) changed: Vec<u64>,
    /// Mail to hand to the mail transport.
    pub(crate) outgoing: Vec<Outgoing>,
    /// Uploads the mail took: discarded once it is accepted.
    pub(crate) uploads_taken: Vec<UploadId>,
    /// Their bytes: charged to the device as their parts arrived.
    pub(crate) uploaded: u64,
}

/// Most bytes one range answer carries: with its envelope it fits one frame.
pub const MAX_RANGE_BYTES: u32 = 48 << 10;

/// Most hits a search returns.
const MAX_SEARCH_HITS: usize = 200;

/// Most item ids one `SetFlags`, `MoveItems` or `DeleteItems` may name
/// (`docs/spec/sync.md` §7); repeats count, and are then applied once.
pub const MAX_ITEMS_PER_OPERATION: usize = 1000;

/// Most collections one `Search` may name; repeats count, then are searched once.
pub const MAX_SEARCH_COLLECTIONS: usize = 256;

/// Most bytes of a search query.
pub const MAX_SEARCH_QUERY_BYTES: usize = 256;

/// Most bytes one send may store (`Outgoing::stored_bytes`: the mail once
/// for the sender and once per recipient): a 25 MiB file reaches nine
/// recipients in one mail. Refused beyond it whatever the device's
/// allowance, and remembered like any refusal.
pub const MAX_SEND_STORED_BYTES: u64 = 256 << 20;

/// Most recipients (to, cc and bcc together) of one outgoing mail; a repeated
/// address counts, and is then sent to once.
pub const MAX_RECIPIENTS: usize = 100;

/// Most bytes of `RespondToInvitation.comment`: a note to the organizer,
/// which goes into the organizer's copy of the event too.
pub const MAX_RESPONSE_COMMENT_BYTES: usize = 4 << 10;

/// Most bytes an event may encode to once an answer is recorded in it: the
/// attendee's copy is refused beyond it, the organizer's left as it was.
/// An answer to one instance adds an override (a copy of the series'
/// event), so answers could otherwise grow another principal's event
/// without bound. The default inflate limit of a device, so every device
/// can still hold the answered event whole.
pub const MAX_ANSWERED_EVENT_BYTES: usize = 4 << 20;

/// `ids` without repeats (in first-seen order), refused with
/// [`ErrorKind::LimitExceeded`] when the request names more than `max`:
/// the count is checked before any work starts.
pub(crate) fn distinct(ids: &[u64], max: usize) -> Result<Vec<u64>> {
    if ids.len() > max {
        return Err(Error::new(ErrorKind::LimitExceeded, "too many ids"));
    }
    let mut seen = std::collections::HashSet::with_capacity(ids.len());
    Ok(ids.iter().copied().filter(|id| seen.insert(*id)).collect())
}

/// The mail with each address once (case-insensitively, first list wins:
/// to, then cc, then bcc), refused when it names more than [`MAX_RECIPIENTS`].
fn distinct_recipients(mut mail: proto::OutgoingMail) -> Result<proto::OutgoingMail> {
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

/// Applies `op` for `device` unless it was applied before, in which case the
/// remembered result is returned again. Returns the result and the
/// collections that changed.
///
/// With a `transport`, mail the operation sends is handed to it before the
/// result is recorded; without one, it is left in the effects for the
/// application ([`ServerEvent::Outgoing`](crate::session::ServerEvent::Outgoing)).
pub(crate) fn apply<S: Store>(
    store: &mut S,
    (device, principal): (u64, u64),
    op: &Operation,
    allowance: &mut Allowance,
    transport: Option<&mut dyn MailTransport<S>>,
    now_ms: u64,
) -> Result<(OperationResult, Effects)> {
    // Reads change nothing and may be large: only changes are remembered.
    let read_only = matches!(
        op.kind,
        Some(Kind::FetchBody(_) | Kind::FetchAttachment(_) | Kind::Search(_) | Kind::FreeBusy(_))
    );
    if !read_only {
        // What the operation reads (a version, flags, its own id) must
        // still hold when it writes.
        store.prepare_write()?;
    }
    // A revocation committed while the session still runs (by an admin,
    // or through another process) ends its operations here, not when the
    // session next hears of it: read under the write lock, so no change
    // of a revoked device is applied, and none of its reads answered.
    if store.device(device)?.revoked {
        return Err(Error::new(
            ErrorKind::DeviceRevoked,
            "the device was revoked",
        ));
    }
    if let Some(done) = store.applied_operation(device, &op.op_id)? {
        return Ok((done, Effects::default()));
    }
    // An upload part stores its bytes as it runs: what the device may
    // still send is checked first (a refusal stores nothing).
    let upload_cost = match &op.kind {
        Some(Kind::UploadPart(part)) => part.data.len() as u64,
        _ => 0,
    };
    if upload_cost > 0 && !allowance.admits(upload_cost) {
        return Ok((over_allowance(op), Effects::default()));
    }
    let mut effects = Effects::default();
    let outcome = if op.op_id.len() != 16 {
        Err(Error::new(
            ErrorKind::InvalidArgument,
            "op_id must be 16 bytes",
        ))
    } else {
        run(
            store,
            (device, principal),
            op.kind.as_ref(),
            &mut effects,
            now_ms,
        )
    };
    // Mail to send counts against what the device may still send; over
    // it, the send is refused whole (sending writes nothing here) and not
    // remembered, so the same operation may be tried again later.
    let mut cost = effects
        .outgoing
        .iter()
        .map(Outgoing::stored_bytes)
        .fold(0u64, u64::saturating_add);
    let mut outcome = outcome;
    if cost > MAX_SEND_STORED_BYTES {
        // Whatever the allowance: a server writes a send in one
        // transaction, and no one send may hold it that long.
        effects = Effects::default();
        cost = 0;
        outcome = Err(Error::new(
            ErrorKind::LimitExceeded,
            "the mail and its copies are too large for one send",
        ));
    }
    // The sender's copy of uploaded files was paid for by their parts: a
    // 25 MiB file reaches nine recipients within 256 MiB (sync.md §7).
    cost = cost.saturating_sub(effects.uploaded);
    if cost > 0 && !allowance.admits(cost) {
        return Ok((over_allowance(op), Effects::default()));
    }
    if let (Some(transport), Ok(_)) = (transport, &outcome) {
        if let Err(refused) = hand_over(store, transport, &mut effects) {
            // A storage failure is not an answer (below); a refusal
            // sends nothing and keeps the uploads the mail would take.
            effects = Effects::default();
            cost = 0;
            outcome = Err(refused);
        }
    }
    allowance.charge(cost.saturating_add(upload_cost));
    for id in &effects.uploads_taken {
        store.remove_upload(device, id)?;
    }
    let outcome = match outcome {
        Ok(outcome) => outcome,
        // A storage failure is not an answer: the device retries later.
        Err(e) if e.kind() == ErrorKind::Storage => return Err(e),
        Err(e) => Outcome::Error(ErrorInfo {
            code: e.code().into(),
            hello_floor: 0,
        }),
    };
    let result = OperationResult {
        op_id: op.op_id.clone(),
        outcome: Some(outcome),
    };
    if op.op_id.len() == 16 && !read_only {
        store.record_operation(device, result.clone())?;
    }
    effects.changed.dedup();
    Ok((result, effects))
}

/// A send beyond what the device may still send: refused whole and not
/// remembered, so the same operation may be tried again later.
fn over_allowance(op: &Operation) -> OperationResult {
    OperationResult {
        op_id: op.op_id.clone(),
        outcome: Some(Outcome::Error(ErrorInfo {
            code: ErrorKind::LimitExceeded.code().into(),
            hello_floor: 0,
        })),
    }
}

fn run<S: Store>(
    store: &mut S,
    (device, principal): (u64, u64),
    kind: Option<&Kind>,
    effects: &mut Effects,
    now_ms: u64,
) -> Result<Outcome> {
    let kind =
        kind.ok_or_else(|| Error::new(ErrorKind::ProtoMissingField, "operation without a kind"))?;
    let need =
        |store: &S, collection: u64, right: Rights| store.require(principal, collection, right);
    // Every operation is checked whole before its first write: a refusal
    // leaves the store as it was (all or nothing).
    match kind {
        Kind::SetFlags(op) => {
            let ids = distinct(&op.item_ids, MAX_ITEMS_PER_OPERATION)?;
            need(store, op.collection_id, Rights::WRITE)?;
            let mut changes = Vec::with_capacity(ids.len());
            for id in ids {
                let (_, flags) = store
                    .item(op.collection_id, id)?
                    .ok_or(ErrorKind::NotFound)?;
                let wanted = (flags | op.set) & !op.clear;
                if wanted != flags {
                    changes.push((id, wanted));
                }
            }
            if !changes.is_empty() {
                effects.changed.push(op.collection_id);
            }
            for (id, flags) in changes {
                store.set_flags(op.collection_id, id, flags)?;
            }
            Ok(done(0, 0))
        }
        Kind::MoveItems(op) => {
            let ids = distinct(&op.item_ids, MAX_ITEMS_PER_OPERATION)?;
            need(store, op.collection_id, Rights::WRITE)?;
            need(store, op.to_collection_id, Rights::WRITE)?;
            if op.collection_id == op.to_collection_id {
                return Err(Error::new(
                    ErrorKind::InvalidArgument,
                    "items move to another collection",
                ));
            }
            if store.collection(op.collection_id)?.kind
                != store.collection(op.to_collection_id)?.kind
            {
                return Err(Error::new(
                    ErrorKind::InvalidArgument,
                    "items move only between collections of one kind",
                ));
            }
            let mut moving = Vec::with_capacity(ids.len());
            for id in ids {
                let (packed, flags) = store
                    .item(op.collection_id, id)?
                    .ok_or(ErrorKind::NotFound)?;
                moving.push((id, packed, flags));
            }
            if !moving.is_empty() {
                effects
                    .changed
                    .extend([op.collection_id, op.to_collection_id]);
            }
            for (id, packed, flags) in moving {
                let packed = crate::sync::refiled(&packed, op.to_collection_id);
                store.upsert(op.to_collection_id, Some(id), packed, flags)?;
                store.remove(op.collection_id, id)?;
            }
            Ok(done(0, 0))
        }
        Kind::DeleteItems(op) => {
            let ids = distinct(&op.item_ids, MAX_ITEMS_PER_OPERATION)?;
            need(store, op.collection_id, Rights::WRITE)?;
            for &id in &ids {
                store
                    .item(op.collection_id, id)?
                    .ok_or(ErrorKind::NotFound)?;
            }
            if !ids.is_empty() {
                effects.changed.push(op.collection_id);
            }
            for id in ids {
                store.remove(op.collection_id, id)?;
            }
            Ok(done(0, 0))
        }
        Kind::CreateEvent(op) => {
            need(store, op.calendar_id, Rights::WRITE)?;
            let mut event = op.item.clone().ok_or(ErrorKind::ProtoMissingField)?;
            refuse_abridged(&event)?;
            event.calendar_id = op.calendar_id;
            event.version = 1;
            let id = store.allocate_id()?;
            event.id = id;
            store.upsert(op.calendar_id, Some(id), pack_event(&event), 0)?;
            effects.changed.push(op.calendar_id);
            Ok(done(id, 1))
        }
        Kind::UpdateEvent(op) => {
            need(store, op.calendar_id, Rights::WRITE)?;
            let mut event = op.item.clone().ok_or(ErrorKind::ProtoMissingField)?;
            refuse_abridged(&event)?;
            let current = match current_event(store, op.calendar_id, event.id, op.expected_version)?
            {
                Ok(current) => current,
                Err(conflict) => return Ok(conflict),
            };
            event.calendar_id = op.calendar_id;
            event.version = current.version.checked_add(1).ok_or(ErrorKind::Conflict)?;
            let id = event.id;
            effects.changed.push(op.calendar_id);
            if let Err(e) = store.upsert(op.calendar_id, Some(id), pack_event(&event), 0) {
                return refused_as_conflict(store, op.calendar_id, id, e);
            }
            Ok(done(id, event.version))
        }
        Kind::DeleteEvent(op) => {
            need(store, op.calendar_id, Rights::WRITE)?;
            if let Err(conflict) =
                current_event(store, op.calendar_id, op.item_id, op.expected_version)?
            {
                return Ok(conflict);
            }
            effects.changed.push(op.calendar_id);
            if let Err(e) = store.remove(op.calendar_id, op.item_id) {
                return refused_as_conflict(store, op.calendar_id, op.item_id, e);
            }
            Ok(done(op.item_id, 0))
        }
        Kind::Respond(op) => {
            let rights = store
                .rights(principal, op.calendar_id)
                .map_err(hide_missing)?;
            if !rights.contains(Rights::RESPOND) && !rights.contains(Rights::WRITE) {
                return Err(Error::new(
                    ErrorKind::PermissionDenied,
                    "no right to answer invitations here",
                ));
            }
            let status = ParticipationStatus::try_from(op.status)
                .map_err(|_| ErrorKind::ProtoInvalidValue)?;
            if op.comment.len() > MAX_RESPONSE_COMMENT_BYTES {
                return Err(Error::new(
                    ErrorKind::LimitExceeded,
                    "the comment is too long",
                ));
            }
            let owner = store.principal(store.collection(op.calendar_id)?.owner)?;
            let mut event = load_event(store, op.calendar_id, op.item_id)?;
            let rid = op.recurrence_id.as_ref();
            let answered = invitation::answer(&mut event, &owner.email, status, rid)?;
            if proto::encode(&event).len() > MAX_ANSWERED_EVENT_BYTES {
                return Err(Error::new(
                    ErrorKind::LimitExceeded,
                    "the event would be too large with this answer",
                ));
            }
            event.version = event.version.checked_add(1).ok_or(ErrorKind::Conflict)?;
            let answer = (answered, owner.email.as_str(), status, op.comment.as_str());
            let organizer_copy = organizer_copy(store, &event, answer)?;
            effects.changed.push(op.calendar_id);
            store.answer_invitation(op.calendar_id, event.id, pack_event(&event), &op.comment)?;
            if let Some((calendar, id, packed)) = organizer_copy {
                effects.changed.push(calendar);
                store.upsert(calendar, Some(id), packed, 0)?;
            }
            Ok(done(event.id, event.version))
        }
        Kind::Search(op) => search(store, principal, op).map(Outcome::Search),
        Kind::SendMail(op) => {
            let mut mail =
                distinct_recipients(op.mail.clone().ok_or(ErrorKind::ProtoMissingField)?)?;
            check_outgoing(&mail)?;
            (effects.uploads_taken, effects.uploaded) =
                uploads::attach_uploads(store, device, &mut mail, None)?;
            effects.outgoing.push(Outgoing {
                principal_id: principal,
                mail,
                original: None,
            });
            Ok(done(0, 0))
        }
        Kind::ReplyMail(op) => {
            let relation = Relation::Reply { all: op.reply_all };
            send_about(
                store,
                (device, principal),
                (op.collection_id, op.item_id),
                relation,
                op.mail.clone(),
                effects,
            )
        }
        Kind::ForwardMail(op) => send_about(
            store,
            (device, principal),
            (op.collection_id, op.item_id),
            Relation::Forward,
            op.mail.clone(),
            effects,
        ),
        Kind::FetchBody(range) | Kind::FetchAttachment(range) => {
            fetch_range(store, principal, range)
        }
        Kind::FreeBusy(query) => free_busy(store, principal, query).map(Outcome::FreeBusy),
        Kind::UploadPart(part) => uploads::upload_part(store, device, part, now_ms),
    }
}

/// Hands the mail in `effects` (an operation sends one at most) to
/// `transport`.
fn hand_over<S: Store>(
    store: &mut S,
    transport: &mut dyn MailTransport<S>,
    effects: &mut Effects,
) -> Result<()> {
    for outgoing in core::mem::take(&mut effects.outgoing) {
        transport.send(store, &outgoing)?;
    }
    Ok(())
}

/// A reply or forward: the original comes from the store, read with the
/// sender's rights, never from the device. `(device, principal)` asks;
/// `(collection_id, item_id)` names the original.
fn send_about<S: Store>(
    store: &S,
    (device, principal): (u64, u64),
    (collection_id, item_id): (u64, u64),
    relation: Relation,
    mail: Option<proto::OutgoingMail>,
    effects: &mut Effects,
) -> Result<Outcome> {
    store.require(principal, collection_id, Rights::READ)?;
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

/// Bytes `offset..offset + length` of one part, at most [`MAX_RANGE_BYTES`]:
/// a download broken by a disconnect resumes from the bytes held. With
/// `packed_item`, of the item's whole packed form instead (how a device
/// completes an abridged item).
fn fetch_range<S: Store>(store: &S, principal: u64, range: &proto::FetchRange) -> Result<Outcome> {
    store.require(principal, range.collection_id, Rights::READ)?;
    let length = range.length.clamp(1, MAX_RANGE_BYTES) as usize;
    let (total_size, data) = if range.packed_item {
        let (packed, _) = store
            .item(range.collection_id, range.item_id)?
            .ok_or(ErrorKind::NotFound)?;
        let start = usize::try_from(range.offset)
            .unwrap_or(usize::MAX)
            .min(packed.len());
        let end = start.saturating_add(length).min(packed.len());
        (packed.len() as u64, packed.slice(start..end))
    } else {
        store
            .mail_part_range(
                range.collection_id,
                range.item_id,
                range.part_id,
                range.offset,
                length,
            )?
            .ok_or(ErrorKind::NotFound)?
    };
    if range.offset > total_size {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            "range starts past the end of the part",
        ));
    }
    Ok(Outcome::Range(proto::RangeData {
        offset: range.offset,
        total_size,
        data: data.to_vec(),
    }))
}

/// When `query.principal_id` is busy, from the calendars they own. Allowed
/// for the principal themselves and for anyone who may read one of those
/// calendars (a delegate, a colleague it was shared with).
fn free_busy<S: Store>(
    store: &S,
    principal: u64,
    query: &proto::FreeBusyQuery,
) -> Result<proto::FreeBusy> {
    let target = query.principal_id;
    let calendars: Vec<u64> = store
        .visible_collections(target)?
        .into_iter()
        .filter(|(c, _)| c.owner == target && c.kind == proto::CollectionKind::Calendar)
        .map(|(c, _)| c.id)
        .collect();
    let mut visible = target == principal;
    for &calendar in &calendars {
        visible |= store
            .rights(principal, calendar)
            .map_err(hide_missing)?
            .contains(Rights::READ);
    }
    if !visible {
        return Err(Error::new(
            ErrorKind::PermissionDenied,
            "no calendar of that principal is visible",
        ));
    }
    let mut stored = Vec::new();
    for calendar in calendars {
        for (id, packed, _) in store.items(calendar)? {
            stored.push((calendar, id, packed));
        }
    }
    // One item that cannot be read or expanded is skipped and named, never
    // the whole answer's failure.
    let items: Vec<_> = stored
        .iter()
        .map(
            |(calendar_id, item_id, packed)| crate::sync::freebusy::StoredItem {
                calendar_id: *calendar_id,
                item_id: *item_id,
                packed,
            },
        )
        .collect();
    crate::sync::freebusy::free_busy(&items, query.start, query.end)
}

/// An abridged event is not the whole event: storing it would lose what the
/// device was not shown (sync.md §3 rule 9).
fn refuse_abridged(event: &CalendarItem) -> Result<()> {
    match event.abridged {
        Some(_) => Err(ErrorKind::ItemAbridged.into()),
        None => Ok(()),
    }
}

pub(crate) fn done(item_id: u64, version: u64) -> Outcome {
    Outcome::Done(Done { item_id, version })
}

fn pack_event(event: &CalendarItem) -> Bytes {
    crate::sync::pack_item(item::Kind::Calendar(event.clone()))
}

/// A stored item, as the server reads its own (any ratio, bounded size).
fn decode_item(packed: &[u8]) -> Result<Item> {
    proto::decode(&unpack(packed, &STORED_ITEM_LIMITS)?)
}

fn load_event<S: Store>(store: &S, calendar: u64, id: u64) -> Result<CalendarItem> {
    let (packed, _) = store.item(calendar, id)?.ok_or(ErrorKind::NotFound)?;
    match decode_item(&packed)?.kind {
        Some(item::Kind::Calendar(event)) => Ok(event),
        _ => Err(Error::new(
            ErrorKind::InvalidArgument,
            "item is not an event",
        )),
    }
}

/// The current event if it is at `expected`, else the conflict answer.
fn current_event<S: Store>(
    store: &S,
    calendar: u64,
    id: u64,
    expected: u64,
) -> Result<Result<CalendarItem, Outcome>> {
    let current = load_event(store, calendar, id)?;
    if current.version == expected {
        return Ok(Ok(current));
    }
    // An answer fits one frame: a large item goes abridged, as in a page.
    let packed = store
        .item(calendar, id)?
        .map(|(p, _)| crate::sync::fit_packed(&p).to_vec())
        .unwrap_or_default();
    Ok(Err(Outcome::Conflict(Conflict {
        current_version: current.version,
        current: packed,
    })))
}

/// A write the store refused as [`ErrorKind::Conflict`]: a collection whose
/// truth lives upstream, changed there first. The store then holds the
/// upstream's version (or nothing, if it was deleted there), which the
/// device gets as the protocol's `Conflict`, as for a stale version.
fn refused_as_conflict<S: Store>(store: &S, calendar: u64, id: u64, e: Error) -> Result<Outcome> {
    if e.kind() != ErrorKind::Conflict {
        return Err(e);
    }
    let Some((packed, _)) = store.item(calendar, id)? else {
        return Ok(Outcome::Conflict(Conflict {
            current_version: 0,
            current: Vec::new(),
        }));
    };
    let current = load_event(store, calendar, id)?;
    Ok(Outcome::Conflict(Conflict {
        current_version: current.version,
        current: crate::sync::fit_packed(&packed).to_vec(),
    }))
}

/// The organizer's copy of the event with the same answer recorded, when
/// the organizer is a principal of this server: (calendar, id, packed), to
/// be written with the attendee's copy once both are known to succeed. A
/// copy that cannot take the answer (it does not list the attendee, or
/// lacks the instance) is left as it is: the attendee's answer stands. The
/// attendee's note goes with the answer ([`attendee_comment`]).
fn organizer_copy<S: Store>(
    store: &S,
    event: &CalendarItem,
    (answered, attendee, status, comment): (Answered, &str, ParticipationStatus, &str),
) -> Result<Option<(u64, u64, Bytes)>> {
    let series = event.master.iter().chain(&event.overrides);
    let (answered_event, rid) = match answered {
        Answered::Series => (series.clone().next(), None),
        Answered::Instance(i) => {
            let o = event.overrides.get(i);
            (o, o.and_then(|o| o.recurrence_id.as_ref()))
        }
    };
    let Some(answered_event) = answered_event else {
        return Ok(None);
    };
    // An instance's own ORGANIZER, else the series'.
    let organizer = answered_event
        .organizer
        .as_ref()
        .or_else(|| series.clone().find_map(|e| e.organizer.as_ref()));
    let Some(organizer) = organizer
        .and_then(|o| store.principal_by_email(&o.email).transpose())
        .transpose()?
    else {
        return Ok(None);
    };
    let uid = answered_event.uid.as_str();
    for (calendar, rights) in store.visible_collections(organizer.id)? {
        if calendar.owner != organizer.id
            || !rights.contains(Rights::WRITE)
            || calendar.id == event.calendar_id
        {
            continue;
        }
        for (id, packed, _) in store.items(calendar.id)? {
            let Ok(Item {
                kind: Some(item::Kind::Calendar(mut copy)),
            }) = decode_item(&packed)
            else {
                continue;
            };
            if !copy
                .master
                .iter()
                .chain(&copy.overrides)
                .any(|e| e.uid == uid)
            {
                continue;
            }
            match invitation::answer(&mut copy, attendee, status, rid) {
                Ok(in_copy) => attendee_comment::set(&mut copy, in_copy, attendee, comment),
                Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(e),
            }
            // An attendee cannot grow the organizer's event past what
            // every device can hold: the attendee's answer stands alone.
            if proto::encode(&copy).len() > MAX_ANSWERED_EVENT_BYTES {
                return Ok(None);
            }
            copy.version = copy.version.checked_add(1).ok_or(ErrorKind::Conflict)?;
            return Ok(Some((calendar.id, id, pack_event(&copy))));
        }
    }
    Ok(None)
}

fn search<S: Store>(store: &S, principal: u64, op: &proto::Search) -> Result<SearchResults> {
    if op.query.len() > MAX_SEARCH_QUERY_BYTES {
        return Err(Error::new(
            ErrorKind::LimitExceeded,
            "search query too long",
        ));
    }
    let query = op.query.to_lowercase();
    if query.trim().is_empty() {
        return Err(Error::new(ErrorKind::InvalidArgument, "empty search"));
    }
    let named = distinct(&op.collection_ids, MAX_SEARCH_COLLECTIONS)?;
    let collections: Vec<u64> = if named.is_empty() {
        store
            .visible_collections(principal)?
            .into_iter()
            .map(|(c, _)| c.id)
            .collect()
    } else {
        named
    };
    let limit = usize::try_from(op.limit)
        .unwrap_or(MAX_SEARCH_HITS)
        .clamp(1, MAX_SEARCH_HITS);
    let mut results = SearchResults::default();
    // Every named collection is checked before any is read.
    for &collection in &collections {
        store.require(principal, collection, Rights::READ)?;
    }
    for collection in collections {
        for (id, packed, _) in store.items(collection)? {
            if decode_item(&packed).is_ok_and(|item| matches(&item, &query)) {
                if results.hits.len() == limit {
                    results.truncated = true;
                    return Ok(results);
                }
                results.hits.push(SearchHit {
                    collection_id: collection,
                    item_id: id,
                });
            }
        }
    }
    Ok(results)
}

fn matches(item: &Item, query: &str) -> bool {
    let found = |text: &str| text.to_lowercase().contains(query);
    match &item.kind {
        Some(item::Kind::Mail(mail)) => {
            let headers = mail.headers.clone().unwrap_or_default();
            found(&headers.subject)
                || found(&mail.preview)
                || headers
                    .from
                    .iter()
                    .any(|a| found(&a.name) || found(&a.email))
        }
        Some(item::Kind::Calendar(event)) => event
            .master
            .as_ref()
            .is_some_and(|m| found(&m.summary) || found(&m.location) || found(&m.description)),
        None => false,
    }
}
