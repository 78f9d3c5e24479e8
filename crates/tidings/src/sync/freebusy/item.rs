//! The busy spans of one CalendarItem: its master's instances less EXDATEs and
//! overridden ones, plus each override on its own.

use super::rrule::{Bounds, Rule};
use super::time::{DAY, Duration, Form, format_time, parse_duration, parse_time};
use super::tz::{IanaZones, Zone, horizon};
use super::{MAX_INSTANCES, Span};
use crate::error::{Error, ErrorKind, Result};
use crate::proto::{CalendarEvent, CalendarItem, CalendarTime, Transparency};
use std::collections::BTreeMap;

fn invalid(reason: &'static str) -> Error {
    Error::new(ErrorKind::InvalidData, reason)
}

/// Parsed VTIMEZONEs, keyed by their text so items sharing one parse it once.
pub(super) struct Zones<'a> {
    horizon: i64,
    parsed: BTreeMap<&'a str, Result<Zone>>,
    /// Zones named by TZIDs no VTIMEZONE defines, as they are found.
    iana: IanaZones,
    /// Expansion units spent parsing, for the query's budget.
    pub(super) spent: usize,
}

impl<'a> Zones<'a> {
    pub(super) fn new(end: i64) -> Self {
        Zones {
            horizon: horizon(end),
            parsed: BTreeMap::new(),
            iana: IanaZones::default(),
            spent: 0,
        }
    }

    /// Parses the VTIMEZONEs of `item` not parsed yet.
    fn add(&mut self, item: &'a CalendarItem) {
        for tz in &item.timezones {
            if let std::collections::btree_map::Entry::Vacant(entry) =
                self.parsed.entry(&tz.vtimezone)
            {
                let (zone, spent) = Zone::parse(&tz.vtimezone, self.horizon);
                entry.insert(zone);
                self.spent = self.spent.saturating_add(spent);
            }
        }
    }
}

/// Places an item's times on the UTC time line.
struct Clock<'z> {
    zones: &'z Zones<'z>,
    item: &'z CalendarItem,
}

/// A CalendarTime read: its civil seconds, how to place them, and its TZID.
#[derive(Clone, Copy)]
struct Time<'t> {
    local: i64,
    form: Form,
    tzid: &'t str,
}

/// How long an event lasts.
#[derive(Clone, Copy)]
enum Length {
    Exact(i64),
    Nominal(Duration),
}

impl Clock<'_> {
    fn read<'t>(&self, value: &str, tzid: &'t str) -> Result<Time<'t>> {
        let (local, form) = parse_time(value)?;
        Ok(Time { local, form, tzid })
    }

    /// `t`, a DTEND, EXDATE, RDATE or RECURRENCE-ID of an event whose
    /// DTSTART is in `start_tzid`: a floating one is read in that zone.
    /// RFC 5545 wants them of DTSTART's form; Thunderbird writes a floating
    /// DTEND after a zoned DTSTART and Outlook a floating EXDATE, meaning
    /// the start's zone, as other readers take them (read as UTC, a 1-hour
    /// meeting in Brussels was 3 hours busy, or ended before it started).
    fn read_beside<'t>(&self, t: &'t CalendarTime, start_tzid: &'t str) -> Result<Time<'t>> {
        self.read(&t.value, beside(&t.tzid, start_tzid))
    }

    fn utc(&self, local: i64, form: Form, tzid: &str) -> Result<i64> {
        if form != Form::Local {
            return Ok(local); // UTC, or a date read as UTC
        }
        // A floating time is read in the calendar's X-WR-TIMEZONE, if any.
        let tzid = match tzid {
            "" => self.item.floating_tzid.as_str(),
            named => named,
        };
        if tzid.is_empty() {
            return Ok(local); // floating, with no zone to read it in: UTC
        }
        let tz = self.item.timezones.iter().find(|t| t.tzid == tzid);
        match tz.and_then(|t| self.zones.parsed.get(t.vtimezone.as_str())) {
            // Before a truncated VTIMEZONE's first onset, the IANA zone of
            // that name knows better; without one, the zone's own rules of
            // its first full year are carried back.
            Some(Ok(zone)) if zone.before_first(local) => {
                let iana = self.zones.iana.to_utc(tzid, local);
                Ok(iana.unwrap_or_else(|| zone.to_utc_carried_back(local)))
            }
            Some(Ok(zone)) => Ok(zone.to_utc(local)),
            // A VTIMEZONE that cannot be read (an observance without its
            // offsets, as some old writers left them, or one too costly):
            // the IANA zone of its name, if it names one, else skipped.
            Some(Err(e)) => self.zones.iana.to_utc(tzid, local).ok_or_else(|| e.clone()),
            None => Ok(self.zones.iana.to_utc(tzid, local).unwrap_or(local)),
        }
    }

    fn at(&self, t: Time<'_>) -> Result<i64> {
        self.utc(t.local, t.form, t.tzid)
    }

    fn end(&self, start: Time<'_>, len: Length) -> Result<i64> {
        Ok(match len {
            Length::Exact(secs) => self.at(start)? + secs,
            Length::Nominal(d) => {
                self.utc(start.local + d.days * DAY, start.form, start.tzid)? + d.secs
            }
        })
    }

    fn length(&self, e: &CalendarEvent, start: Time<'_>) -> Result<Length> {
        if let Some(end) = &e.end {
            let secs = self.at(self.read_beside(end, start.tzid)?)? - self.at(start)?;
            return (secs >= 0)
                .then_some(Length::Exact(secs))
                .ok_or_else(|| invalid("event ends before it starts"));
        }
        if !e.duration.is_empty() {
            return Ok(Length::Nominal(parse_duration(&e.duration)?));
        }
        let days = i64::from(start.form == Form::Date);
        Ok(Length::Nominal(Duration { days, secs: 0 }))
    }
}

/// The zone of a time written with `tzid` in an event starting in
/// `start_tzid`: its own, or the start's when it has none (see
/// [`Clock::read_beside`]).
fn beside<'t>(tzid: &'t str, start_tzid: &'t str) -> &'t str {
    match tzid {
        "" => start_tzid,
        named => named,
    }
}

/// `Some(tentative)` when `e` blocks time, `None` when it leaves it free.
fn blocks(e: &CalendarEvent) -> Option<bool> {
    let status = e.status.trim();
    let free = e.transparency == Transparency::Transparent as i32
        || status.eq_ignore_ascii_case("CANCELLED");
    (!free).then(|| status.eq_ignore_ascii_case("TENTATIVE"))
}

fn start_of(e: &CalendarEvent) -> Result<&CalendarTime> {
    e.start
        .as_ref()
        .ok_or_else(|| invalid("event without DTSTART"))
}

/// Appends the spans of `item` that reach into [start, end) to `out`,
/// unclipped, spending `budget` (the caller's [`MAX_INSTANCES`] for the item).
pub(super) fn spans<'a>(
    item: &'a CalendarItem,
    zones: &mut Zones<'a>,
    start: i64,
    end: i64,
    budget: &mut usize,
    out: &mut Vec<Span>,
) -> Result<()> {
    zones.add(item);
    let clock = Clock { zones, item };
    // A cancelled series frees its overridden instances too.
    if item
        .master
        .as_ref()
        .is_some_and(|m| m.status.trim().eq_ignore_ascii_case("CANCELLED"))
    {
        return Ok(());
    }
    let series_tzid = match &item.master {
        Some(m) => start_of(m)?.tzid.as_str(),
        None => "",
    };
    let excluded = match &item.master {
        Some(m) => Excluded::of(&clock, m, budget)?,
        None => Excluded::default(),
    };
    let mut replaced = Vec::with_capacity(item.overrides.len());
    for o in &item.overrides {
        let id = o
            .recurrence_id
            .as_ref()
            .ok_or_else(|| invalid("override without RECURRENCE-ID"))?;
        if id.params.to_ascii_uppercase().contains("THISANDFUTURE") {
            return Err(invalid("RANGE=THISANDFUTURE is not supported"));
        }
        let own_tzid = start_of(o)?.tzid.as_str();
        let id = clock.read_beside(id, beside(series_tzid, own_tzid))?;
        replaced.push(clock.at(id)?);
        // An instance the series excludes does not exist, nor does its
        // override (some clients leave one behind a deleted instance).
        if excluded.holds(&clock, id)? {
            continue;
        }
        let s = clock.read(&start_of(o)?.value, own_tzid)?;
        let len = clock.length(o, s)?;
        spend(budget)?;
        if let Some(tentative) = blocks(o) {
            out.push(Span {
                start: clock.at(s)?,
                end: clock.end(s, len)?,
                tentative,
            });
        }
    }
    let Some(master) = &item.master else {
        return Ok(());
    };
    let Some(tentative) = blocks(master) else {
        return Ok(());
    };
    let dtstart = start_of(master)?;
    let first = clock.read(&dtstart.value, &dtstart.tzid)?;
    let len = clock.length(master, first)?;
    // Every local time within two days of the window's ends is a candidate.
    let reach = match len {
        Length::Exact(s) => s,
        Length::Nominal(d) => d.days * DAY + d.secs,
    };
    let (from, to) = (start - reach - 2 * DAY, end + 2 * DAY);
    replaced.sort_unstable();
    for (t, own) in instances(&clock, master, first, (from, to), &excluded, budget)? {
        let utc = clock.at(t)?;
        if replaced.binary_search(&utc).is_err() {
            out.push(Span {
                start: utc,
                end: clock.end(t, own.unwrap_or(len))?,
                tentative,
            });
        }
    }
    Ok(())
}

/// The master's instances starting (civil) within [from, to] (RDATEs
/// wherever they are), less EXDATEs: each start, with its own length when
/// an RDATE PERIOD gives one.
fn instances<'m>(
    clock: &Clock<'_>,
    master: &'m CalendarEvent,
    first: Time<'m>,
    (from, to): (i64, i64),
    excluded: &Excluded,
    budget: &mut usize,
) -> Result<Vec<(Time<'m>, Option<Length>)>> {
    let mut instances: Vec<(Time<'m>, Option<Length>)> = Vec::new();
    if master.rrule.is_empty() {
        spend(budget)?;
        instances.push((first, None));
    } else {
        let to_utc = |local: i64| clock.at(Time { local, ..first });
        let bounds = Bounds {
            from,
            to,
            to_utc: &to_utc,
        };
        let mut found = Vec::new();
        // RFC 5545 allows more than one RRULE (RFC 2445 did): the set is
        // the union of what each generates. The first is in `rrule`, any
        // other among the unmodelled properties.
        let more = master
            .other
            .iter()
            .filter(|p| p.name.eq_ignore_ascii_case("RRULE") && p.params.is_empty());
        for rule in std::iter::once(master.rrule.as_str()).chain(more.map(|p| p.value.as_str())) {
            Rule::parse(rule)?.expand(first.local, &bounds, budget, &mut found)?;
        }
        found.sort_unstable();
        found.dedup();
        instances.extend(
            found
                .into_iter()
                .map(|local| (Time { local, ..first }, None)),
        );
    }
    for rdate in &master.rdates {
        spend(budget)?;
        let (value, period) = match rdate.value.split_once('/') {
            Some((v, p)) => (v, Some(p)),
            None => (rdate.value.as_str(), None),
        };
        let tzid = beside(&rdate.tzid, first.tzid);
        let t = clock.read(value, tzid)?;
        let own = match period {
            None => None,
            Some(p) if p.starts_with(['P', '+']) => Some(Length::Nominal(parse_duration(p)?)),
            Some(p) => {
                let secs = clock.at(clock.read(p, tzid)?)? - clock.at(t)?;
                let ok = (secs >= 0).then_some(Length::Exact(secs));
                Some(ok.ok_or_else(|| invalid("event ends before it starts"))?)
            }
        };
        instances.push((t, own));
    }
    let mut kept = Vec::with_capacity(instances.len());
    for (t, own) in instances {
        if !excluded.holds(clock, t)? {
            kept.push((t, own));
        }
    }
    Ok(kept)
}

/// A series' EXDATEs, sorted, so each instance is checked in O(log n).
#[derive(Default)]
struct Excluded {
    /// Local days a DATE EXDATE of a timed series excludes whole.
    days: Vec<i64>,
    /// Excluded instants.
    times: Vec<i64>,
}

impl Excluded {
    /// Reads `master`'s EXDATEs, each a unit of `budget`: a stranger's
    /// invitation may carry a million, read at every query.
    fn of(clock: &Clock<'_>, master: &CalendarEvent, budget: &mut usize) -> Result<Excluded> {
        let start = start_of(master)?;
        let timed = parse_time(&start.value)?.1 != Form::Date;
        let mut excluded = Excluded::default();
        for ex in &master.exdates {
            spend_on(budget, "series excludes more than 10000 instances")?;
            let t = clock.read_beside(ex, &start.tzid)?;
            // A DATE EXDATE on a timed series excludes that local day's instances.
            match t.form == Form::Date && timed {
                true => excluded.days.push(t.local),
                false => excluded.times.push(clock.at(t)?),
            }
        }
        excluded.days.sort_unstable();
        excluded.times.sort_unstable();
        Ok(excluded)
    }

    /// Whether the instance starting at `t` is excluded.
    fn holds(&self, clock: &Clock<'_>, t: Time<'_>) -> Result<bool> {
        let day = t.local.div_euclid(DAY) * DAY;
        let by_day = t.form != Form::Date && self.days.binary_search(&day).is_ok();
        Ok(by_day || self.times.binary_search(&clock.at(t)?).is_ok())
    }
}

/// Where one instance of a series is, as an override of it writes its
/// times (see [`super::instance`]).
pub(super) fn instance(
    item: &CalendarItem,
    recurrence_id: &CalendarTime,
) -> Result<Option<super::Instance>> {
    let Some(master) = &item.master else {
        return Ok(None);
    };
    let recurs = !master.rrule.is_empty() || !master.rdates.is_empty();
    if !recurs {
        return Ok(None);
    }
    let (local, _) = parse_time(&recurrence_id.value)?;
    let mut zones = Zones::new(local.saturating_add(3 * DAY));
    zones.add(item);
    let clock = Clock {
        zones: &zones,
        item,
    };
    let dtstart = start_of(master)?;
    let wanted = clock.at(clock.read_beside(recurrence_id, &dtstart.tzid)?)?;
    let first = clock.read(&dtstart.value, &dtstart.tzid)?;
    let mut budget = MAX_INSTANCES;
    let excluded = Excluded::of(&clock, master, &mut budget)?;
    let window = (wanted - 2 * DAY, wanted + 2 * DAY);
    let found = instances(&clock, master, first, window, &excluded, &mut budget)?
        .into_iter()
        .map(|(t, _)| Ok((clock.at(t)?, t)))
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .find(|&(utc, _)| utc == wanted);
    let Some((_, t)) = found else {
        return Ok(None);
    };
    let start = CalendarTime {
        value: format_time(t.local, t.form),
        tzid: t.tzid.to_owned(),
        params: String::new(),
    };
    // DTEND moves with DTSTART: by the same wall-clock shift when both are
    // written alike (so a 9:00 meeting stays 9:00 across DST), else by the
    // exact length, in UTC.
    let end = match &master.end {
        None => None,
        Some(end) => {
            let e = clock.read_beside(end, &dtstart.tzid)?;
            Some(match e.form == first.form && end.tzid == dtstart.tzid {
                true => CalendarTime {
                    value: format_time(e.local - first.local + t.local, e.form),
                    ..end.clone()
                },
                false => CalendarTime {
                    value: format_time(clock.at(e)? - clock.at(first)? + wanted, Form::Utc),
                    tzid: String::new(),
                    params: end.params.clone(),
                },
            })
        }
    };
    Ok(Some(super::Instance { start, end }))
}

/// Whether `a` and `b` name the same instant in `item`'s zones (equal text
/// always does); `None` when either cannot be read.
pub(super) fn same_instant(
    item: &CalendarItem,
    a: &CalendarTime,
    b: &CalendarTime,
) -> Option<bool> {
    if a.value == b.value && a.tzid == b.tzid {
        return Some(true);
    }
    let (local, _) = parse_time(&a.value).ok()?;
    let mut zones = Zones::new(local.saturating_add(3 * DAY));
    zones.add(item);
    let clock = Clock {
        zones: &zones,
        item,
    };
    let at = |t: &CalendarTime| clock.at(clock.read(&t.value, &t.tzid).ok()?).ok();
    Some(at(a)? == at(b)?)
}

fn spend(budget: &mut usize) -> Result<()> {
    spend_on(budget, "recurrence exceeds 10000 instances")
}

fn spend_on(budget: &mut usize, reason: &'static str) -> Result<()> {
    *budget = budget.checked_sub(1).ok_or_else(|| invalid(reason))?;
    Ok(())
}
