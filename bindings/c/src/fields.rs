//! The fields of an item a handset shows: text fields, the mail's date, the
//! mailboxes of a mail or an event, and attendees' answers. Which field or
//! list is an integer constant (never a C enum: an out-of-range value from C
//! is an error here, not undefined behaviour).

use crate::bytes::tidings_bytes;
use crate::handle::{Out, borrow, input_str};
use crate::panic::{guard, guard_value};
use crate::replica::tidings_item;
use crate::result::{Fail, tidings_result};
use tidings::ErrorKind;
use tidings::proto::{Address, Attendee, CalendarEvent, item::Kind};

/// A text field of an item, for `tidings_item_text`: one of `TIDINGS_FIELD_*`.
pub type tidings_field = u32;

/// Mail: the subject.
pub const TIDINGS_FIELD_SUBJECT: tidings_field = 1;
/// Mail: the first sender's address.
pub const TIDINGS_FIELD_FROM: tidings_field = 2;
/// Mail: the text preview.
pub const TIDINGS_FIELD_PREVIEW: tidings_field = 3;
/// Event: the summary.
pub const TIDINGS_FIELD_SUMMARY: tidings_field = 4;
/// Event: the location.
pub const TIDINGS_FIELD_LOCATION: tidings_field = 5;
/// Event: the UID.
pub const TIDINGS_FIELD_UID: tidings_field = 6;
/// Event: the start, as iCalendar writes it ("20261203T090000"; a date
/// alone, "20261203", is an all-day event; a final "Z" is UTC).
pub const TIDINGS_FIELD_START: tidings_field = 7;
/// Retired: collection names come from `tidings_client_collection_name`;
/// `tidings_item_text` refuses it.
pub const TIDINGS_FIELD_NAME: tidings_field = 8;
/// Event: the end, as iCalendar writes it (empty when the event has a
/// duration instead: `TIDINGS_FIELD_DURATION`).
pub const TIDINGS_FIELD_END: tidings_field = 9;
/// Event: the time zone (TZID) of the start ("" for UTC, floating times and
/// dates).
pub const TIDINGS_FIELD_START_TZID: tidings_field = 10;
/// Event: the time zone (TZID) of the end.
pub const TIDINGS_FIELD_END_TZID: tidings_field = 11;
/// Event: the duration, e.g. "PT1H" (empty when it has an end).
pub const TIDINGS_FIELD_DURATION: tidings_field = 12;
/// Event: the description.
pub const TIDINGS_FIELD_DESCRIPTION: tidings_field = 13;
/// Event: the recurrence rule, e.g. "FREQ=WEEKLY;BYDAY=MO" (empty when
/// the event does not recur).
pub const TIDINGS_FIELD_RRULE: tidings_field = 14;
/// Mail: the Message-ID, without angle brackets.
pub const TIDINGS_FIELD_MESSAGE_ID: tidings_field = 15;

/// A list of mailboxes of an item, for `tidings_item_address_count` and
/// `tidings_item_address`: one of `TIDINGS_ADDRESSES_*`. `TO`, `CC` and
/// `BCC` also name the recipients of an outgoing mail.
pub type tidings_addresses = u32;

/// Mail: From.
pub const TIDINGS_ADDRESSES_FROM: tidings_addresses = 1;
/// Mail: To (and an outgoing mail's To).
pub const TIDINGS_ADDRESSES_TO: tidings_addresses = 2;
/// Mail: Cc (and an outgoing mail's Cc).
pub const TIDINGS_ADDRESSES_CC: tidings_addresses = 3;
/// Mail: Bcc (only on the sender's own copy; and an outgoing mail's Bcc).
pub const TIDINGS_ADDRESSES_BCC: tidings_addresses = 4;
/// Mail: Reply-To.
pub const TIDINGS_ADDRESSES_REPLY_TO: tidings_addresses = 5;
/// Event: the organizer (one mailbox, or none).
pub const TIDINGS_ADDRESSES_ORGANIZER: tidings_addresses = 6;
/// Event: the attendees, in order (their answers:
/// `tidings_item_attendee_status_at`).
pub const TIDINGS_ADDRESSES_ATTENDEES: tidings_addresses = 7;

/// A text field (empty when the item has none). Free with
/// `tidings_bytes_free`. A field number this library does not know, or
/// `TIDINGS_FIELD_NAME`, is `TIDINGS_INVALID_ARGUMENT`.
#[unsafe(no_mangle)]
pub extern "C" fn tidings_item_text(
    item: *const tidings_item,
    field: tidings_field,
    out: *mut tidings_bytes,
) -> tidings_result {
    guard(|| {
        let out = Out::new(out)?;
        let item = borrow(item)?;
        let text = text(&item.item.kind, field)?;
        out.set(tidings_bytes::from_vec(text.into_bytes()));
        Ok(())
    })
}

fn text(kind: &Option<Kind>, field: tidings_field) -> Result<String, Fail> {
    if !(TIDINGS_FIELD_SUBJECT..=TIDINGS_FIELD_MESSAGE_ID).contains(&field)
        || field == TIDINGS_FIELD_NAME
    {
        return Err(ErrorKind::InvalidArgument.into());
    }
    let found = match kind {
        Some(Kind::Mail(m)) => {
            let headers = m.headers.clone().unwrap_or_default();
            match field {
                TIDINGS_FIELD_SUBJECT => Some(headers.subject),
                TIDINGS_FIELD_FROM => headers.from.into_iter().next().map(|a| a.email),
                TIDINGS_FIELD_PREVIEW => Some(m.preview.clone()),
                TIDINGS_FIELD_MESSAGE_ID => Some(headers.message_id),
                _ => None,
            }
        }
        Some(Kind::Calendar(c)) => c.master.as_ref().and_then(|e| event_text(e, field)),
        None => None,
    };
    Ok(found.unwrap_or_default())
}

fn event_text(event: &CalendarEvent, field: tidings_field) -> Option<String> {
    let (start, end) = (event.start.clone(), event.end.clone());
    Some(match field {
        TIDINGS_FIELD_SUMMARY => event.summary.clone(),
        TIDINGS_FIELD_LOCATION => event.location.clone(),
        TIDINGS_FIELD_UID => event.uid.clone(),
        TIDINGS_FIELD_START => start?.value,
        TIDINGS_FIELD_START_TZID => start?.tzid,
        TIDINGS_FIELD_END => end?.value,
        TIDINGS_FIELD_END_TZID => end?.tzid,
        TIDINGS_FIELD_DURATION => event.duration.clone(),
        TIDINGS_FIELD_DESCRIPTION => event.description.clone(),
        TIDINGS_FIELD_RRULE => event.rrule.clone(),
        _ => return None,
    })
}

/// Mail: the Date header as seconds since the Unix epoch (UTC; 0 when the
/// mail had none) and the sender's UTC offset in minutes, so either the
/// reader's or the sender's local time can be shown. Events are
/// `TIDINGS_INVALID_ARGUMENT`.
#[unsafe(no_mangle)]
pub extern "C" fn tidings_item_date(
    item: *const tidings_item,
    out_unix_seconds: *mut i64,
    out_offset_minutes: *mut i32,
) -> tidings_result {
    guard(|| {
        let (seconds, offset) = (Out::new(out_unix_seconds)?, Out::new(out_offset_minutes)?);
        let item = borrow(item)?;
        let Some(Kind::Mail(mail)) = &item.item.kind else {
            return Err(ErrorKind::InvalidArgument.into());
        };
        let headers = mail.headers.clone().unwrap_or_default();
        seconds.set(headers.date);
        offset.set(headers.date_offset_minutes);
        Ok(())
    })
}

/// Event: whether it lasts whole days (its start is a date, not a time);
/// false for mail and NULL.
#[unsafe(no_mangle)]
pub extern "C" fn tidings_item_all_day(item: *const tidings_item) -> bool {
    guard_value(false, || {
        match borrow(item).as_deref().map(|i| &i.item.kind) {
            Ok(Some(Kind::Calendar(c))) => c
                .master
                .as_ref()
                .and_then(|m| m.start.as_ref())
                .is_some_and(|s| s.value.len() == 8 && s.value.bytes().all(|b| b.is_ascii_digit())),
            _ => false,
        }
    })
}

/// How many mailboxes list `list` (`TIDINGS_ADDRESSES_*`) of the item holds
/// (0 for a list the item's kind does not have, an unknown list, and NULL).
#[unsafe(no_mangle)]
pub extern "C" fn tidings_item_address_count(
    item: *const tidings_item,
    list: tidings_addresses,
) -> usize {
    guard_value(0, || {
        borrow(item).map_or(0, |i| addresses(&i.item.kind, list).map_or(0, |a| a.len()))
    })
}

/// Mailbox `index` (below `tidings_item_address_count`) of list `list`: its
/// display name ("" when it has none) and address, UTF-8. Free both with
/// `tidings_bytes_free`. An unknown list or an index past the end is
/// `TIDINGS_INVALID_ARGUMENT`.
#[unsafe(no_mangle)]
pub extern "C" fn tidings_item_address(
    item: *const tidings_item,
    list: tidings_addresses,
    index: usize,
    out_name: *mut tidings_bytes,
    out_email: *mut tidings_bytes,
) -> tidings_result {
    guard(|| {
        let (name, email) = (Out::new(out_name)?, Out::new(out_email)?);
        let item = borrow(item)?;
        let found = addresses(&item.item.kind, list)?
            .into_iter()
            .nth(index)
            .ok_or(Fail::from(ErrorKind::InvalidArgument))?;
        name.set(tidings_bytes::from_vec(found.name.into_bytes()));
        email.set(tidings_bytes::from_vec(found.email.into_bytes()));
        Ok(())
    })
}

/// The mailboxes of one list; an unknown list is an error, a list of the
/// other kind of item is empty.
fn addresses(kind: &Option<Kind>, list: tidings_addresses) -> Result<Vec<Address>, Fail> {
    if !(TIDINGS_ADDRESSES_FROM..=TIDINGS_ADDRESSES_ATTENDEES).contains(&list) {
        return Err(ErrorKind::InvalidArgument.into());
    }
    Ok(match kind {
        Some(Kind::Mail(m)) => {
            let headers = m.headers.clone().unwrap_or_default();
            match list {
                TIDINGS_ADDRESSES_FROM => headers.from,
                TIDINGS_ADDRESSES_TO => headers.to,
                TIDINGS_ADDRESSES_CC => headers.cc,
                TIDINGS_ADDRESSES_BCC => headers.bcc,
                TIDINGS_ADDRESSES_REPLY_TO => headers.reply_to,
                _ => Vec::new(),
            }
        }
        Some(Kind::Calendar(c)) => {
            let master = c.master.clone().unwrap_or_default();
            match list {
                TIDINGS_ADDRESSES_ORGANIZER => master.organizer.into_iter().collect(),
                TIDINGS_ADDRESSES_ATTENDEES => master
                    .attendees
                    .into_iter()
                    .map(|a| a.address.unwrap_or_default())
                    .collect(),
                _ => Vec::new(),
            }
        }
        None => Vec::new(),
    })
}

/// Event: the answer (`TIDINGS_PARTICIPATION_STATUS_*`) of attendee `index`
/// (the order of `TIDINGS_ADDRESSES_ATTENDEES`); past the end, or mail, is
/// `TIDINGS_INVALID_ARGUMENT`.
#[unsafe(no_mangle)]
pub extern "C" fn tidings_item_attendee_status_at(
    item: *const tidings_item,
    index: usize,
    out: *mut i32,
) -> tidings_result {
    guard(|| {
        let out = Out::new(out)?;
        let item = borrow(item)?;
        let found = attendees(&item.item.kind)?
            .get(index)
            .ok_or(Fail::from(ErrorKind::InvalidArgument))?
            .status;
        out.set(found);
        Ok(())
    })
}

/// Event: the answer (`TIDINGS_PARTICIPATION_STATUS_*`) of the attendee
/// with address `email` (UTF-8, any case); `TIDINGS_INVALID_ARGUMENT` if
/// none.
#[unsafe(no_mangle)]
pub extern "C" fn tidings_item_attendee_status(
    item: *const tidings_item,
    email: *const u8,
    email_len: usize,
    out: *mut i32,
) -> tidings_result {
    guard(|| {
        let out = Out::new(out)?;
        let email = input_str(email, email_len)?;
        let item = borrow(item)?;
        let found = attendees(&item.item.kind)?
            .iter()
            .find(|a| {
                a.address
                    .as_ref()
                    .is_some_and(|x| x.email.eq_ignore_ascii_case(email))
            })
            .ok_or(Fail::from(ErrorKind::InvalidArgument))?
            .status;
        out.set(found);
        Ok(())
    })
}

fn attendees(kind: &Option<Kind>) -> Result<&[Attendee], Fail> {
    match kind {
        Some(Kind::Calendar(c)) => Ok(c.master.as_ref().map_or(&[], |m| &m.attendees)),
        _ => Err(ErrorKind::InvalidArgument.into()),
    }
}
