//! Calendar operations' helpers: reading and writing the server's own
//! events, conflicts (as answered and as remembered) and the organizer's
//! copy of an answered invitation.

use super::{MAX_ANSWERED_EVENT_BYTES, Operation, OperationResult, Outcome};
use crate::compress::unpack;
use crate::error::{Error, ErrorKind, Result};
use crate::proto::{
    self, CalendarItem, CollectionKind, Conflict, Item, ParticipationStatus, item, operation::Kind,
};
use crate::store::Store;
use crate::sync::Rights;
use crate::sync::abridge::STORED_ITEM_LIMITS;
use crate::sync::attendee_comment;
use crate::sync::freebusy;
use crate::sync::invitation::{self, Answered};
use bytes::Bytes;

/// An abridged event is not the whole event: storing it would lose what the
/// device was not shown (sync.md §3 rule 9).
pub(super) fn refuse_abridged(event: &CalendarItem) -> Result<()> {
    match event.abridged {
        Some(_) => Err(ErrorKind::ItemAbridged.into()),
        None => Ok(()),
    }
}

/// `collection` is of `kind`: events are written only into calendars, and
/// mail operations act only on mail folders (sync.md §6). Checked after
/// the rights, so only someone who may act there learns its kind.
pub(super) fn need_kind<S: Store>(store: &S, collection: u64, kind: CollectionKind) -> Result<()> {
    if store.collection(collection)?.kind == kind {
        return Ok(());
    }
    Err(Error::new(
        ErrorKind::InvalidArgument,
        match kind {
            CollectionKind::Calendar => "events are written only into a calendar",
            _ => "this operation is for mail, not a calendar",
        },
    ))
}

/// What an event a device writes must be (sync.md §6): a master or at
/// least one overridden instance, every one with the same UID (not empty
/// in a new event; an edit keeps the stored event's, `stored_uid`), the
/// master without a RECURRENCE-ID and each override with one, and their
/// times readable ([`freebusy::check_times`]; a DTSTART in each of a new
/// event's: an edit of one stored without, as a few writers leave an
/// invitation, need not add it). Whether an override names an instance
/// of the series is not checked: clients keep overrides a changed rule no
/// longer generates.
pub(super) fn check_written(event: &CalendarItem, stored_uid: Option<&str>) -> Result<()> {
    let refuse = |reason| Err(Error::new(ErrorKind::InvalidArgument, reason));
    let mut components = event.master.iter().chain(&event.overrides);
    let Some(uid) = components.clone().next().map(|e| e.uid.as_str()) else {
        return refuse("an event needs a master or an overridden instance");
    };
    if components.any(|e| e.uid != uid) {
        return refuse("the master and its overrides share one UID");
    }
    match stored_uid {
        Some(stored) if stored != uid => return refuse("an event keeps its UID"),
        None if uid.trim().is_empty() => return refuse("an event needs a UID"),
        _ => {}
    }
    if event
        .master
        .as_ref()
        .is_some_and(|m| m.recurrence_id.is_some())
    {
        return refuse("the master has no RECURRENCE-ID");
    }
    if event.overrides.iter().any(|o| o.recurrence_id.is_none()) {
        return refuse("an overridden instance names its RECURRENCE-ID");
    }
    event
        .master
        .iter()
        .chain(&event.overrides)
        .try_for_each(|e| freebusy::check_times(e, stored_uid.is_none()))
}

/// The UID of a stored event (its master's, else its first override's).
pub(super) fn uid_of(event: &CalendarItem) -> &str {
    event
        .master
        .iter()
        .chain(&event.overrides)
        .next()
        .map_or("", |e| e.uid.as_str())
}

/// An edit of an abridged event keeps what abridging dropped whole from
/// the stored one, which the device never saw; any other abridged edit is
/// refused, as it would lose what was cut (sync.md §3 rule 9).
pub(super) fn put_back_dropped<S: Store>(
    store: &S,
    calendar: u64,
    event: &mut CalendarItem,
) -> Result<()> {
    let Some(mark) = &event.abridged else {
        return Ok(());
    };
    // A placeholder (ids only: unreadable, or refused by the device) is
    // no edit of the event: stored, it would empty it everywhere.
    if mark.reason != proto::AbridgedReason::TooLarge as i32 {
        return Err(ErrorKind::ItemAbridged.into());
    }
    let (packed, _) = store.item(calendar, event.id)?.ok_or(ErrorKind::NotFound)?;
    match crate::sync::abridge::put_back_dropped(event, &packed) {
        true => Ok(()),
        false => Err(ErrorKind::ItemAbridged.into()),
    }
}

pub(super) fn pack_event(event: &CalendarItem) -> Bytes {
    crate::sync::pack_item(item::Kind::Calendar(event.clone()))
}

/// A stored item, as the server reads its own (any ratio, bounded size).
pub(super) fn decode_item(packed: &[u8]) -> Result<Item> {
    proto::decode(&unpack(packed, &STORED_ITEM_LIMITS)?)
}

pub(super) fn load_event<S: Store>(store: &S, calendar: u64, id: u64) -> Result<CalendarItem> {
    let (packed, _) = store.item(calendar, id)?.ok_or(ErrorKind::NotFound)?;
    match decode_item(&packed)?.kind {
        Some(item::Kind::Calendar(event)) => Ok(event),
        _ => Err(Error::new(
            ErrorKind::InvalidArgument,
            "item is not an event",
        )),
    }
}

/// `result` as it is remembered: a `Conflict` without the item it carries
/// (up to 48 KiB), which a replay reads again ([`refill_conflict`]). Kept
/// whole, 1,024 remembered conflicts over a large event held 48 MB per
/// device for a few bytes of requests.
pub(super) fn remembered(result: &OperationResult) -> OperationResult {
    let mut kept = result.clone();
    if let Some(Outcome::Conflict(conflict)) = &mut kept.outcome {
        conflict.current = Vec::new();
    }
    kept
}

/// A remembered `Conflict` of an event operation, answered again with the
/// event as it stands now: its version and packed form (none, version 0,
/// if it is gone). Other answers are given back as they were.
pub(super) fn refill_conflict<S: Store>(
    store: &S,
    op: &Operation,
    done: &mut OperationResult,
) -> Result<()> {
    let Some(Outcome::Conflict(conflict)) = &mut done.outcome else {
        return Ok(());
    };
    let (calendar, id) = match &op.kind {
        Some(Kind::UpdateEvent(update)) => (
            update.calendar_id,
            update.item.as_ref().map_or(0, |item| item.id),
        ),
        Some(Kind::DeleteEvent(delete)) => (delete.calendar_id, delete.item_id),
        _ => return Ok(()),
    };
    *conflict = match store.item(calendar, id)? {
        Some((packed, _)) => Conflict {
            current_version: load_event(store, calendar, id)?.version,
            current: crate::sync::fit_packed(&packed).to_vec(),
        },
        None => Conflict {
            current_version: 0,
            current: Vec::new(),
        },
    };
    Ok(())
}

/// The current event if it is at `expected`, else the conflict answer.
pub(super) fn current_event<S: Store>(
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
pub(super) fn refused_as_conflict<S: Store>(
    store: &S,
    calendar: u64,
    id: u64,
    e: Error,
) -> Result<Outcome> {
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
pub(super) fn organizer_copy<S: Store>(
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
