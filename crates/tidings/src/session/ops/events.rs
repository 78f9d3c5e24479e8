//! Calendar operations' helpers: reading and writing the server's own
//! events, conflicts (as answered and as remembered) and the organizer's
//! copy of an answered invitation.

use super::{MAX_ANSWERED_EVENT_BYTES, Operation, OperationResult, Outcome};
use crate::compress::unpack;
use crate::error::{Error, ErrorKind, Result};
use crate::proto::{
    self, CalendarItem, Conflict, Item, ParticipationStatus, item, operation::Kind,
};
use crate::store::Store;
use crate::sync::Rights;
use crate::sync::abridge::STORED_ITEM_LIMITS;
use crate::sync::attendee_comment;
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

/// An edit of an abridged event keeps what abridging dropped whole from
/// the stored one, which the device never saw; any other abridged edit is
/// refused, as it would lose what was cut (sync.md §3 rule 9).
pub(super) fn put_back_dropped<S: Store>(
    store: &S,
    calendar: u64,
    event: &mut CalendarItem,
) -> Result<()> {
    if event.abridged.is_none() {
        return Ok(());
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
