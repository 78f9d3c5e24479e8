//! Every TZID of an event sent upstream defined (RFC 5545 §3.2.19): a
//! phone's event often names its zone (`DTSTART;TZID=Europe/Berlin:…`) with
//! no VTIMEZONE, which CalDAV servers store as sent and other clients then
//! read as floating or UTC time, or refuse.
//!
//! A TZID the item defines is kept as it is. Any other one gets a
//! VTIMEZONE from jiff's bundled tz database ([`super::vtimezone`]): for an
//! IANA name, for a Windows name (Outlook's) through the CLDR mapping, or
//! for an IANA name after a prefix (Evolution's and Thunderbird's own
//! TZIDs), the TZID kept as written.
//! A TZID neither knows has no definition to send: its times are written
//! in UTC, as the core's free/busy reads them (the local time as if UTC).

use super::vtimezone::vtimezone;
use tidings::proto::{CalendarEvent, CalendarItem, CalendarTime, TimeZone};
use tidings::sync::freebusy::iana_zone_name;

/// `item` with a VTIMEZONE for every TZID its events use, or those times
/// in UTC where no definition is known.
pub(crate) fn complete(item: &mut CalendarItem) {
    let events = || item.master.iter().chain(&item.overrides);
    let mut missing: Vec<String> = Vec::new();
    let mut first_year = i16::MAX;
    for time in events().flat_map(times) {
        first_year = first_year.min(year(&time.value));
        let defined = item.timezones.iter().any(|z| z.tzid == time.tzid);
        if !time.tzid.is_empty() && !defined && !missing.contains(&time.tzid) {
            missing.push(time.tzid.clone());
        }
    }
    let mut unknown = Vec::new();
    for tzid in missing {
        let iana = iana_zone_name(&tzid);
        match iana.and_then(|iana| vtimezone(&tzid, &iana, first_year)) {
            Some(vtimezone) => item.timezones.push(TimeZone { tzid, vtimezone }),
            None => unknown.push(tzid),
        }
    }
    if unknown.is_empty() {
        return;
    }
    for event in item.master.iter_mut().chain(item.overrides.iter_mut()) {
        for time in times_mut(event) {
            if unknown.contains(&time.tzid) {
                as_utc(time);
            }
        }
    }
}

/// Every time of `event` that may name a TZID.
fn times(event: &CalendarEvent) -> impl Iterator<Item = &CalendarTime> {
    let single = [&event.start, &event.end, &event.recurrence_id];
    single
        .into_iter()
        .flatten()
        .chain(&event.exdates)
        .chain(&event.rdates)
}

fn times_mut(event: &mut CalendarEvent) -> impl Iterator<Item = &mut CalendarTime> {
    let single = [&mut event.start, &mut event.end, &mut event.recurrence_id];
    single
        .into_iter()
        .flatten()
        .chain(&mut event.exdates)
        .chain(&mut event.rdates)
}

/// The year a basic-form value starts with; `i16::MAX` when it has none.
fn year(value: &str) -> i16 {
    value
        .get(..4)
        .and_then(|y| y.parse().ok())
        .unwrap_or(i16::MAX)
}

/// A local date-time (or PERIOD of them) in a zone nobody defines, its
/// TZID dropped and each local date-time marked UTC.
fn as_utc(time: &mut CalendarTime) {
    let local = |part: &str| part.len() == 15 && part.as_bytes().get(8) == Some(&b'T');
    let value: Vec<String> = time
        .value
        .split('/')
        .map(|part| match local(part) {
            true => format!("{part}Z"),
            false => part.to_owned(),
        })
        .collect();
    time.value = value.join("/");
    time.tzid.clear();
}

#[cfg(test)]
mod tests;
