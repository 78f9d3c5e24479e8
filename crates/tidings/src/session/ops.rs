//! Applying a device's operations on the server: once per op id, with rights
//! checked against the collection, each with a typed result.

use super::uploads;
use crate::error::{Error, ErrorKind, Result};
use crate::proto::{
    self, CollectionKind, Done, ErrorInfo, Operation, OperationResult, ParticipationStatus,
    operation::Kind, operation_result::Outcome,
};
use crate::store::{Store, UploadId, hide_missing};
use crate::sync::Rights;
use crate::sync::invitation;
use crate::sync::mail::check_outgoing;
use events::{
    check_written, current_event, load_event, need_kind, organizer_copy, pack_event,
    put_back_dropped, refill_conflict, refuse_abridged, refused_as_conflict, remembered, uid_of,
};
use search::search;

pub(crate) use sending::{Allowance, reborrow, stored_bytes};
pub use sending::{MailTransport, Original, Outgoing, Relation};
use sending::{distinct_recipients, hand_over, prepare_send, send_about};

mod events;
mod search;
mod sending;

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

/// Most bytes the items one `SetFlags`, `MoveItems` or `DeleteItems` names
/// may hold, packed (`docs/spec/sync.md` §7): the operation rewrites each
/// under the store's write lock, and a hundred items of 1.5 MB (a mail
/// with a 2 MB subject) moved in one held every other device's writes and
/// reconnects 8 s. Ordinary mail is a few KiB an item: a thousand fit.
pub const MAX_OPERATION_ITEM_BYTES: usize = 8 << 20;

/// Adds `packed`'s length to `total`, refusing past
/// [`MAX_OPERATION_ITEM_BYTES`].
fn count_item_bytes(total: &mut usize, packed: &[u8]) -> Result<()> {
    *total = total.saturating_add(packed.len());
    match *total > MAX_OPERATION_ITEM_BYTES {
        true => Err(Error::new(
            ErrorKind::LimitExceeded,
            "the items named hold more than 8 MiB: name fewer in one operation",
        )),
        false => Ok(()),
    }
}

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
    mut transport: Option<&mut dyn MailTransport<S>>,
    now_ms: u64,
) -> Result<(OperationResult, Effects)> {
    // Reads change nothing and may be large: only changes are remembered.
    let read_only = matches!(
        op.kind,
        Some(Kind::FetchBody(_) | Kind::FetchAttachment(_) | Kind::Search(_) | Kind::FreeBusy(_))
    );
    if let Some(transport) = reborrow(&mut transport) {
        prepare_send(store, (device, principal), op, allowance, transport, now_ms)?;
    }
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
    if let Some(mut done) = store.applied_operation(device, &op.op_id)? {
        refill_conflict(store, op, &mut done)?;
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
        store.record_operation(device, remembered(&result))?;
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
            need_kind(store, op.collection_id, CollectionKind::Mail)?;
            let mut changes = Vec::with_capacity(ids.len());
            let mut bytes = 0;
            for id in ids {
                let (packed, flags) = store
                    .item(op.collection_id, id)?
                    .ok_or(ErrorKind::NotFound)?;
                count_item_bytes(&mut bytes, &packed)?;
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
            let mut bytes = 0;
            for id in ids {
                let (packed, flags) = store
                    .item(op.collection_id, id)?
                    .ok_or(ErrorKind::NotFound)?;
                count_item_bytes(&mut bytes, &packed)?;
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
            let mut bytes = 0;
            for &id in &ids {
                let (packed, _) = store
                    .item(op.collection_id, id)?
                    .ok_or(ErrorKind::NotFound)?;
                count_item_bytes(&mut bytes, &packed)?;
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
            need_kind(store, op.calendar_id, CollectionKind::Calendar)?;
            let mut event = op.item.clone().ok_or(ErrorKind::ProtoMissingField)?;
            refuse_abridged(&event)?;
            check_written(&event, None)?;
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
            need_kind(store, op.calendar_id, CollectionKind::Calendar)?;
            let mut event = op.item.clone().ok_or(ErrorKind::ProtoMissingField)?;
            let current = match current_event(store, op.calendar_id, event.id, op.expected_version)?
            {
                Ok(current) => current,
                Err(conflict) => return Ok(conflict),
            };
            put_back_dropped(store, op.calendar_id, &mut event)?;
            check_written(&event, Some(uid_of(&current)))?;
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
            need_kind(store, op.calendar_id, CollectionKind::Calendar)?;
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
            need_kind(store, op.calendar_id, CollectionKind::Calendar)?;
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

pub(crate) fn done(item_id: u64, version: u64) -> Outcome {
    Outcome::Done(Done { item_id, version })
}
