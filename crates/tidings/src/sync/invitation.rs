//! Answering an invitation in a calendar item, as RFC 5545/5546 clients
//! (Apple Calendar, Outlook) do: the attendee's PARTSTAT set in the whole
//! series, or in one instance's override, which is made from the master
//! when the instance has none yet.
//!
//! - The whole series: the master and every override listing the attendee.
//!   An override answered differently before is overwritten too (as Apple
//!   and Outlook do): answering the series answers all of it.
//! - One instance: only its override; the master and every other instance
//!   keep their answers.

use crate::error::{Error, ErrorKind, Result};
use crate::proto::{CalendarEvent, CalendarItem, CalendarTime, ParticipationStatus};
use crate::sync::freebusy;

/// Which part of the item an answer went to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answered {
    /// The whole series: the master (if it lists the attendee) and every
    /// override that does.
    Series,
    /// One instance: the override at this index of `overrides`.
    Instance(usize),
}

fn not_attendee() -> Error {
    Error::new(
        ErrorKind::NotFound,
        "the calendar's owner is not an attendee",
    )
}

/// Sets `email`'s answer to `status` in `item`: in the whole series when
/// `recurrence_id` is `None` (or has an empty value), else in that
/// instance's override, made from the master if there is none.
///
/// # Errors
///
/// Nothing is changed on error.
/// - [`ErrorKind::NotFound`]: `email` is not an attendee of what is
///   answered; or no instance of the series starts at `recurrence_id`
///   (an instant the series does not generate, an excluded one, or an
///   event that does not recur).
/// - [`ErrorKind::InvalidData`]: `recurrence_id`, or the series needed to
///   find the instance, cannot be read or expanded.
pub fn answer(
    item: &mut CalendarItem,
    email: &str,
    status: ParticipationStatus,
    recurrence_id: Option<&CalendarTime>,
) -> Result<Answered> {
    match recurrence_id.filter(|r| !r.value.is_empty()) {
        None => answer_series(item, email, status).map(|()| Answered::Series),
        Some(rid) => answer_instance(item, email, status, rid).map(Answered::Instance),
    }
}

/// The index of the override of the instance at `recurrence_id`, if any.
pub fn override_of(item: &CalendarItem, recurrence_id: &CalendarTime) -> Option<usize> {
    item.overrides.iter().position(|o| {
        o.recurrence_id
            .as_ref()
            .is_some_and(|id| freebusy::same_instant(item, id, recurrence_id))
    })
}

/// `email`'s answer in `event`, if it lists them.
pub fn status_in(event: &CalendarEvent, email: &str) -> Option<i32> {
    event
        .attendees
        .iter()
        .find(|a| is(a, email))
        .map(|a| a.status)
}

/// The parts of `after` (its master, its overrides) where `email`'s answer
/// differs from `before`: what a REPLY to the organizer carries. An
/// override new in `after` is compared with `before`'s master, whose
/// answer the instance had until then.
pub fn changed_answers<'a>(
    before: &CalendarItem,
    after: &'a CalendarItem,
    email: &str,
) -> Vec<&'a CalendarEvent> {
    let was = |event: &CalendarEvent| {
        let same = match &event.recurrence_id {
            None => before.master.as_ref(),
            Some(rid) => override_of(before, rid)
                .and_then(|i| before.overrides.get(i))
                .or(before.master.as_ref()),
        };
        same.and_then(|e| status_in(e, email))
    };
    after
        .master
        .iter()
        .chain(&after.overrides)
        .filter(|e| status_in(e, email).is_some_and(|now| Some(now) != was(e)))
        .collect()
}

fn is(attendee: &crate::proto::Attendee, email: &str) -> bool {
    attendee
        .address
        .as_ref()
        .is_some_and(|addr| addr.email.eq_ignore_ascii_case(email))
}

/// Sets the answer in `event`; false when it does not list `email`.
fn set(event: &mut CalendarEvent, email: &str, status: ParticipationStatus) -> bool {
    match event.attendees.iter_mut().find(|a| is(a, email)) {
        Some(attendee) => {
            attendee.status = status as i32;
            true
        }
        None => false,
    }
}

fn answer_series(item: &mut CalendarItem, email: &str, status: ParticipationStatus) -> Result<()> {
    let mut any = false;
    for event in item.master.iter_mut().chain(item.overrides.iter_mut()) {
        any |= set(event, email, status);
    }
    match any {
        true => Ok(()),
        false => Err(not_attendee()),
    }
}

fn answer_instance(
    item: &mut CalendarItem,
    email: &str,
    status: ParticipationStatus,
    rid: &CalendarTime,
) -> Result<usize> {
    if let Some(i) = override_of(item, rid) {
        let event = item.overrides.get_mut(i).ok_or_else(not_attendee)?;
        return match set(event, email, status) {
            true => Ok(i),
            false => Err(not_attendee()),
        };
    }
    let no_instance = || {
        Error::new(
            ErrorKind::NotFound,
            "the series has no instance at this recurrence_id",
        )
    };
    let at = freebusy::instance(item, rid)?.ok_or_else(no_instance)?;
    let master = item.master.as_ref().ok_or_else(no_instance)?;
    let mut instance = instance_of(master, at);
    if !set(&mut instance, email, status) {
        return Err(not_attendee());
    }
    item.overrides.push(instance);
    Ok(item.overrides.len().saturating_sub(1))
}

/// The override of one instance as the master describes it: the same
/// properties, moved to the instance, without the recurrence itself.
fn instance_of(master: &CalendarEvent, at: freebusy::Instance) -> CalendarEvent {
    let mut event = master.clone();
    event.rrule.clear();
    event.exdates.clear();
    event.rdates.clear();
    event.other.retain(|p| {
        !["RRULE", "EXRULE", "RDATE", "EXDATE"]
            .iter()
            .any(|name| p.name.eq_ignore_ascii_case(name))
    });
    let params = master
        .start
        .as_ref()
        .map(|s| s.params.clone())
        .unwrap_or_default();
    event.start = Some(CalendarTime {
        params,
        ..at.start.clone()
    });
    event.recurrence_id = Some(at.start);
    if at.end.is_some() {
        event.end = at.end;
    }
    event
}
