//! Free/busy: when a principal is busy, computed from their calendar items.
//!
//! Dependencies: none. Measured on a wasm32 release build (opt-level "s",
//! LTO, gzip -9), the `rrule` crate with chrono, chrono-tz and regex adds
//! ~475 KB gzipped and jiff ~50 KB for civil dates alone (~100 KB with its
//! bundled tz database), against a 150 KB budget for the whole core; this
//! module (civil arithmetic, VTIMEZONE offsets, the RRULE subset below)
//! adds ~24 KB, and is tested against jiff and Python's icalendar, dateutil
//! and zoneinfo. The optional `iana-tz` feature (off by default, for
//! servers) resolves a TZID that has no VTIMEZONE with jiff's bundled tzdb.
//!
//! Rules:
//! - TRANSP:TRANSPARENT and STATUS:CANCELLED events are free; a cancelled
//!   master frees its whole series, overrides included. STATUS:TENTATIVE
//!   gives tentative periods; where busy and tentative overlap, busy wins.
//! - DATE values and floating times are read as UTC: free/busy has no
//!   viewer's zone to read them in. So is a TZID with no VTIMEZONE in the
//!   item (unless `iana-tz` knows the name).
//! - No DTEND and no DURATION: a timed event lasts 0 (and so blocks
//!   nothing); an all-day one lasts a day. DURATION days are nominal.
//! - RRULE: FREQ DAILY/WEEKLY/MONTHLY/YEARLY, INTERVAL, COUNT, UNTIL,
//!   BYDAY (ordinals too), BYMONTHDAY, BYMONTH, BYSETPOS, WKST; any other part is refused
//!   with [`ErrorKind::InvalidData`]. RDATEs (PERIODs too) are added and
//!   EXDATEs removed; an override replaces the instance with its
//!   RECURRENCE-ID and counts on its own wherever it has moved.
//!   RANGE=THISANDFUTURE is refused.
//! - Work is bounded: expansion starts near the window (from DTSTART only for
//!   COUNT rules) and stops past its end; an item generating more than
//!   10,000 instances, RDATEs and overrides included, is refused with
//!   [`ErrorKind::InvalidData`] rather than truncated, since a truncated
//!   answer would show busy time as free. One query spends at most
//!   [`MAX_QUERY_UNITS`] over all its items; the items after that are
//!   skipped, unexpanded, with [`ErrorKind::LimitExceeded`].
//! - One item never fails the query: [`free_busy`] leaves out an item it
//!   cannot read or expand, and counts and names it in the answer
//!   (`FreeBusy.skipped`), so its owner can find and mend it. Only
//!   [`busy_periods`] (for callers that want all or nothing) fails on it.

mod item;
mod rrule;
mod time;
mod tz;
#[cfg(feature = "iana-tz")]
mod windows_zones;

use crate::compress::unpack;
use crate::error::{Error, ErrorKind, Result};
use crate::proto::{
    self, BusyPeriod, CalendarItem, CalendarTime, FreeBusy, Item, SkippedEvent, item as kind,
};
use time::{DAY, MAX_SECS, MIN_SECS};

/// The IANA zone the Unicode CLDR maps a Windows zone name to (what
/// Exchange and Outlook write as TZID), case-insensitive; `None` for any
/// other name.
#[cfg(feature = "iana-tz")]
pub fn windows_zone_to_iana(tzid: &str) -> Option<&'static str> {
    windows_zones::iana_name(tzid)
}

/// The IANA zone a TZID without a VTIMEZONE names, if any: itself, a
/// Windows name by the CLDR mapping, or an IANA name after a prefix
/// (Thunderbird's `/mozilla.org/20070129_1/America/New_York`). Free/busy
/// reads such times in that zone; the CalDAV gateway writes its VTIMEZONE.
#[cfg(feature = "iana-tz")]
pub fn iana_zone_name(tzid: &str) -> Option<String> {
    tz::iana_zone(tzid).map(|(_, name)| name)
}

/// Most skipped items named in one answer (all are counted).
pub const MAX_SKIPPED_NAMED: usize = 32;
/// Most bytes of a skipped item's UID in an answer.
const MAX_SKIPPED_UID: usize = 256;

/// One stored calendar item, as free/busy reads it.
#[derive(Clone, Copy, Debug)]
pub struct StoredItem<'a> {
    /// Its calendar.
    pub calendar_id: u64,
    /// Its id.
    pub item_id: u64,
    /// Its packed bytes (see [`compress::unpack`](crate::compress::unpack)).
    pub packed: &'a [u8],
}

/// Longest window accepted, in seconds.
pub const MAX_WINDOW: i64 = 366 * DAY;
/// Most instances one item may generate.
pub const MAX_INSTANCES: usize = 10_000;
/// Most expansion units (instances, and days examined by sixteens) one
/// query may spend over all its items: fifty items at their most, or a
/// year of daily instances from 1,300 series. Items past it are skipped
/// with [`ErrorKind::LimitExceeded`], unexpanded, so a calendar of many
/// costly series costs one query this much and no more.
pub const MAX_QUERY_UNITS: usize = 50 * MAX_INSTANCES;
/// Most bytes of an encoded answer: with its envelope and padding it must
/// fit one frame (about 3,500 periods; fifteen short meetings a day for a
/// year are 5,475). A busier window is refused rather than cut, since a
/// cut answer would show busy time as free.
pub const MAX_ANSWER_BYTES: usize = 48 << 10;

/// One instance's time, before clipping and merging.
#[derive(Clone, Copy, Debug)]
struct Span {
    start: i64,
    end: i64,
    tentative: bool,
}

/// Busy periods of `items` overlapping [start, end) (seconds since the Unix epoch, UTC), sorted, merged where they overlap.
///
/// Periods are clipped to the window; busy and tentative periods never
/// overlap each other, and touching periods of one kind are joined. The
/// first item that cannot be expanded fails the call; [`free_busy`] skips it.
pub fn busy_periods(items: &[CalendarItem], start: i64, end: i64) -> Result<Vec<BusyPeriod>> {
    let mut failed = None;
    let periods = periods(items, start, end, |_, e| {
        failed.get_or_insert(e);
    })?;
    failed.map_or(Ok(periods), Err)
}

/// The free/busy answer for `items` over [start, end): busy periods as
/// [`busy_periods`] gives them, from every item that can be read and
/// expanded; every other item is left out, counted and (the first
/// [`MAX_SKIPPED_NAMED`]) named with the code saying why. Only a bad window
/// fails the call, and a window so busy that its answer would pass
/// [`MAX_ANSWER_BYTES`] ([`ErrorKind::LimitExceeded`]).
pub fn free_busy(items: &[StoredItem<'_>], start: i64, end: i64) -> Result<FreeBusy> {
    check_window(start, end)?;
    let mut answer = FreeBusy::default();
    let mut skip = |stored: &StoredItem<'_>, uid: &str, e: Error| {
        answer.skipped_count = answer.skipped_count.saturating_add(1);
        if answer.skipped.len() < MAX_SKIPPED_NAMED {
            let mut uid = uid.to_owned();
            let mut cut = uid.len().min(MAX_SKIPPED_UID);
            while !uid.is_char_boundary(cut) {
                cut -= 1;
            }
            uid.truncate(cut);
            answer.skipped.push(SkippedEvent {
                calendar_id: stored.calendar_id,
                item_id: stored.item_id,
                uid,
                code: e.code().into(),
            });
        }
    };
    let mut events = Vec::with_capacity(items.len());
    let mut sources = Vec::with_capacity(items.len());
    for stored in items {
        let decoded = unpack(stored.packed, &crate::sync::abridge::STORED_ITEM_LIMITS)
            .and_then(|bytes| proto::decode::<Item>(&bytes));
        match decoded {
            Ok(Item {
                kind: Some(kind::Kind::Calendar(event)),
            }) => {
                events.push(event);
                sources.push(stored);
            }
            Ok(_) => {}
            Err(e) => skip(stored, "", e),
        }
    }
    let mut failed = Vec::new();
    let periods = periods(&events, start, end, |i, e| {
        failed.push((i, e));
    })?;
    for (i, e) in failed {
        if let (Some(stored), Some(event)) = (sources.get(i), events.get(i)) {
            let uid = event.master.iter().chain(&event.overrides).next();
            skip(stored, uid.map_or("", |m| m.uid.as_str()), e);
        }
    }
    answer.periods = periods;
    if prost::Message::encoded_len(&answer) > MAX_ANSWER_BYTES {
        return Err(Error::new(
            ErrorKind::LimitExceeded,
            "free/busy answer too large for one frame: ask for a shorter window",
        ));
    }
    Ok(answer)
}

/// One instance of a series, with its times as an override of it writes
/// them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Instance {
    /// Its start in the master's DTSTART form and zone: the override's
    /// RECURRENCE-ID and DTSTART.
    pub start: CalendarTime,
    /// The master's DTEND moved with it (`None` when the master has none).
    pub end: Option<CalendarTime>,
}

/// The instance of `item`'s series that starts at `recurrence_id` (the same
/// instant, in whatever form or zone it is written): `None` when the series
/// generates none there (EXDATEs removed), or `item` has no recurring
/// master. Overrides are not consulted.
///
/// # Errors
///
/// [`ErrorKind::InvalidData`] when `recurrence_id` or the series cannot be
/// read or expanded (the rules above).
pub fn instance(item: &CalendarItem, recurrence_id: &CalendarTime) -> Result<Option<Instance>> {
    item::instance(item, recurrence_id)
}

/// Whether the times of `e`, an event a device writes, can be read as
/// free/busy reads them: its DTSTART (which it must have when
/// `start_required`), DTEND, DURATION, RECURRENCE-ID and RRULE, each
/// when it has it. Zones are not looked up.
///
/// # Errors
///
/// [`ErrorKind::InvalidArgument`] naming the first that cannot be read.
pub fn check_times(e: &proto::CalendarEvent, start_required: bool) -> Result<()> {
    let arg = |reason| move |_| Error::new(ErrorKind::InvalidArgument, reason);
    match &e.start {
        Some(start) => {
            time::parse_time(&start.value).map_err(arg("DTSTART cannot be read"))?;
        }
        None if start_required => {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                "an event needs a DTSTART",
            ));
        }
        None => {}
    }
    if let Some(end) = &e.end {
        time::parse_time(&end.value).map_err(arg("DTEND cannot be read"))?;
    }
    if !e.duration.is_empty() {
        time::parse_duration(&e.duration).map_err(arg("DURATION cannot be read"))?;
    }
    if let Some(rid) = &e.recurrence_id {
        time::parse_time(&rid.value).map_err(arg("RECURRENCE-ID cannot be read"))?;
    }
    if !e.rrule.is_empty() {
        rrule::Rule::parse(&e.rrule).map_err(arg("RRULE cannot be read"))?;
    }
    Ok(())
}

/// Whether `a` and `b` are the same instant, read in `item`'s zones (equal
/// text always is); `false` when either cannot be read.
pub fn same_instant(item: &CalendarItem, a: &CalendarTime, b: &CalendarTime) -> bool {
    item::same_instant(item, a, b).unwrap_or(false)
}

fn check_window(start: i64, end: i64) -> Result<()> {
    let arg = |reason| Err(Error::new(ErrorKind::InvalidArgument, reason));
    if start < MIN_SECS + 3 * MAX_WINDOW || end > MAX_SECS - 3 * MAX_WINDOW {
        return arg("window outside the years 0004 to 9996");
    }
    if end < start {
        return arg("window ends before it starts");
    }
    if end - start > MAX_WINDOW {
        return arg("window longer than 366 days");
    }
    Ok(())
}

/// The merged periods of every item that expands; `failed(key, error)` for
/// each that does not, whose spans are then left out entirely.
fn periods(
    items: &[CalendarItem],
    start: i64,
    end: i64,
    mut failed: impl FnMut(usize, Error),
) -> Result<Vec<BusyPeriod>> {
    check_window(start, end)?;
    let mut zones = item::Zones::new(end);
    let (mut busy, mut tentative) = (Vec::new(), Vec::new());
    let mut spans = Vec::new();
    let mut left = MAX_QUERY_UNITS;
    for (i, item) in items.iter().enumerate() {
        spans.clear();
        if left == 0 {
            let spent = "free/busy query exceeds its expansion budget";
            failed(i, Error::new(ErrorKind::LimitExceeded, spent));
            continue;
        }
        let mut budget = MAX_INSTANCES;
        let zones_spent = zones.spent;
        let expanded = item::spans(item, &mut zones, start, end, &mut budget, &mut spans);
        // New zones are paid for too: many items, each with a costly zone
        // of its own, would otherwise cost a query without bound.
        let spent = (MAX_INSTANCES - budget).saturating_add(zones.spent - zones_spent);
        left = left.saturating_sub(spent);
        if let Err(e) = expanded {
            failed(i, e);
            continue;
        }
        for s in &spans {
            let (lo, hi) = (s.start.max(start), s.end.min(end));
            if lo < hi {
                if s.tentative {
                    &mut tentative
                } else {
                    &mut busy
                }
                .push((lo, hi));
            }
        }
    }
    let busy = union(busy);
    let tentative = subtract(union(tentative), &busy);
    let period = |tentative| {
        move |(start, end)| BusyPeriod {
            start,
            end,
            tentative,
        }
    };
    let mut out: Vec<BusyPeriod> = busy.into_iter().map(period(false)).collect();
    out.extend(tentative.into_iter().map(period(true)));
    out.sort_by_key(|p| p.start);
    Ok(out)
}

/// Sorts and joins overlapping or touching intervals.
fn union(mut v: Vec<(i64, i64)>) -> Vec<(i64, i64)> {
    v.sort_unstable();
    let mut out: Vec<(i64, i64)> = Vec::with_capacity(v.len());
    for (s, e) in v {
        match out.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => out.push((s, e)),
        }
    }
    out
}

/// The parts of sorted disjoint `a` not covered by sorted disjoint `b`.
fn subtract(a: Vec<(i64, i64)>, b: &[(i64, i64)]) -> Vec<(i64, i64)> {
    let mut out = Vec::with_capacity(a.len());
    let mut j = 0;
    for (mut s, e) in a {
        while b.get(j).is_some_and(|&(_, be)| be <= s) {
            j += 1;
        }
        let mut k = j;
        while let Some(&(bs, be)) = b.get(k).filter(|&&(bs, _)| bs < e) {
            if bs > s {
                out.push((s, bs));
            }
            s = s.max(be);
            k += 1;
        }
        if s < e {
            out.push((s, e));
        }
    }
    out
}

#[cfg(test)]
mod tests;
