//! A VTIMEZONE (RFC 5545 §3.6.5) written from an IANA zone of jiff's
//! bundled tz database, for an event a device made with a TZID and no
//! definition: CalDAV servers and the clients that read the event from
//! them need one for every TZID (RFC 5545 §3.2.19).
//!
//! The zone's transitions are read from a year before the first year the
//! event uses to 2042 at least (past the explicit tables tz databases carry,
//! into the zone's current rule). The trailing run of transitions that
//! repeats yearly (the same month, weekday, week of the month, local time
//! and offsets) becomes one `RRULE:FREQ=YEARLY` observance per kind
//! (standard, daylight), open-ended as the zone's rule is; every
//! transition before it is an observance of its own. A zone without
//! transitions in that time is one STANDARD observance.

use jiff::civil::{Date, DateTime, Weekday};
use jiff::tz::Offset;

/// The last year always read: a few years past 2037, where tz databases'
/// explicit tables end and the zone's POSIX rule takes over.
const LAST_YEAR: i16 = 2042;

/// Most transitions read; the zones with the most have a few hundred.
const MAX_TRANSITIONS: usize = 400;

/// A transition as a VTIMEZONE states it: its onset in the local time it
/// ends (TZOFFSETFROM), and the offsets on either side.
#[derive(Clone, Debug)]
struct Step {
    onset: DateTime,
    from: Offset,
    to: Offset,
    dst: bool,
    name: String,
}

/// How a yearly rule names the day of its transition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Week {
    /// The `n`th weekday of the month (1 to 4).
    Nth(i8),
    /// The last weekday of the month.
    Last,
    /// The first weekday on or after this day of the month.
    From(i8),
}

/// The VTIMEZONE text (CRLF line ends, lines unfolded) called `tzid` with
/// the rules of the IANA zone `iana`, correct from January 1 of
/// `from_year`; `None` when the database has no such zone.
pub(crate) fn vtimezone(tzid: &str, iana: &str, from_year: i16) -> Option<String> {
    let tz = jiff::tz::db().get(iana).ok()?;
    let first = from_year.clamp(1900, LAST_YEAR).saturating_sub(1);
    let start = Offset::UTC
        .to_timestamp(Date::new(first, 1, 1).ok()?.at(0, 0, 0, 0))
        .ok()?;
    let end = Offset::UTC
        .to_timestamp(Date::new(LAST_YEAR + 1, 1, 1).ok()?.at(0, 0, 0, 0))
        .ok()?;
    let mut before = tz.to_offset(start);
    let mut steps = Vec::new();
    for transition in tz.following(start).take(MAX_TRANSITIONS) {
        if transition.timestamp() >= end {
            break;
        }
        let to = transition.offset();
        steps.push(Step {
            onset: before.to_datetime(transition.timestamp()),
            from: before,
            to,
            dst: transition.dst().is_dst(),
            name: transition.abbreviation().to_owned(),
        });
        before = to;
    }
    let mut out = format!("BEGIN:VTIMEZONE\r\nTZID:{tzid}\r\n");
    if steps.is_empty() {
        let offset = tz.to_offset(start);
        let name = tz.to_offset_info(start).abbreviation().to_owned();
        let fixed = Step {
            onset: Date::new(first, 1, 1).ok()?.at(0, 0, 0, 0),
            from: offset,
            to: offset,
            dst: false,
            name,
        };
        observance(&mut out, &fixed, None);
    } else {
        let rules = split_rules(&steps);
        let ruled = |i: usize| rules.iter().any(|r| r.covers.contains(&i));
        for (_, step) in steps.iter().enumerate().filter(|&(i, _)| !ruled(i)) {
            observance(&mut out, step, None);
        }
        for rule in &rules {
            observance(&mut out, &steps[rule.first], Some(rule.week));
        }
    }
    out.push_str("END:VTIMEZONE\r\n");
    Some(out)
}

/// A yearly observance: its first step, the steps it generates, the rule.
struct Rule {
    first: usize,
    covers: Vec<usize>,
    week: Week,
}

/// The yearly rules of the trailing run of `steps`, one per kind: of each
/// kind, the latest steps (three years at least) one week rule names. No
/// such run: none, every step explicit.
fn split_rules(steps: &[Step]) -> Vec<Rule> {
    let all_explicit = Vec::new();
    // A zone whose transitions stop before the end of what was read (DST
    // abolished) has no rule that goes on.
    if steps.last().is_none_or(|s| s.onset.year() < LAST_YEAR - 1) {
        return all_explicit;
    }
    let same_kind = |a: &Step, b: &Step| {
        a.from == b.from
            && a.to == b.to
            && a.dst == b.dst
            && a.name == b.name
            && a.onset.month() == b.onset.month()
            && a.onset.weekday() == b.onset.weekday()
            && a.onset.time() == b.onset.time()
    };
    // The kinds of the last two steps; the run is as far back as every
    // step is one of them, a year after the previous one of its kind.
    let kinds: Vec<&Step> = steps.iter().rev().take(2).collect();
    let mut seen: Vec<Vec<usize>> = vec![Vec::new(); kinds.len()];
    for (i, step) in steps.iter().enumerate().rev() {
        let Some(k) = kinds.iter().position(|kind| same_kind(kind, step)) else {
            break;
        };
        if let Some(&next) = seen[k].last()
            && steps[next].onset.year() != step.onset.year() + 1
        {
            break;
        }
        seen[k].push(i);
    }
    // Per kind, the longest latest part one week rule names.
    let mut rules = Vec::new();
    for indices in &seen {
        let found = (3..=indices.len()).rev().find_map(|len| {
            let part: Vec<&Step> = indices.iter().take(len).map(|&i| &steps[i]).collect();
            let covers = indices.get(..len)?.to_vec();
            Some(Rule {
                first: *covers.last()?,
                week: week_rule(&part)?,
                covers,
            })
        });
        match found {
            Some(rule) => rules.push(rule),
            None => return all_explicit,
        }
    }
    if rules.len() < 2 {
        return all_explicit;
    }
    rules.sort_by_key(|r| r.first);
    rules
}

/// One week rule that names the day of every step in `steps` (all of one
/// kind): the nth weekday, the last one, or the first on or after a day
/// (only when all seven such days were seen, so the day is known).
fn week_rule(steps: &[&Step]) -> Option<Week> {
    let days: Vec<(i8, i8)> = steps
        .iter()
        .map(|s| (s.onset.day(), s.onset.date().days_in_month()))
        .collect();
    let nth = |d: i8| (d - 1) / 7 + 1;
    let first = days.first()?;
    if nth(first.0) <= 4 && days.iter().all(|d| nth(d.0) == nth(first.0)) {
        return Some(Week::Nth(nth(first.0)));
    }
    if days.iter().all(|&(d, len)| d + 7 > len) {
        return Some(Week::Last);
    }
    let low = days.iter().map(|d| d.0).min()?;
    let mut seen = [false; 7];
    for &(d, _) in &days {
        let slot = seen.get_mut(usize::try_from(d - low).ok()?)?;
        *slot = true;
    }
    let shortest = days.iter().map(|d| d.1).min()?;
    (seen.iter().all(|&s| s) && low + 6 <= shortest).then_some(Week::From(low))
}

/// Appends `step` as a STANDARD or DAYLIGHT observance, repeating yearly
/// by `week` when given.
fn observance(out: &mut String, step: &Step, week: Option<Week>) {
    let kind = if step.dst { "DAYLIGHT" } else { "STANDARD" };
    let o = step.onset;
    out.push_str(&format!(
        "BEGIN:{kind}\r\nDTSTART:{:04}{:02}{:02}T{:02}{:02}{:02}\r\n",
        o.year(),
        o.month(),
        o.day(),
        o.hour(),
        o.minute(),
        o.second()
    ));
    if let Some(week) = week {
        let day = weekday(o.weekday());
        let by_day = match week {
            Week::Nth(n) => format!("BYDAY={n}{day}"),
            Week::Last => format!("BYDAY=-1{day}"),
            Week::From(low) => {
                let days: Vec<String> = (low..low + 7).map(|d| d.to_string()).collect();
                format!("BYDAY={day};BYMONTHDAY={}", days.join(","))
            }
        };
        out.push_str(&format!(
            "RRULE:FREQ=YEARLY;BYMONTH={};{by_day}\r\n",
            o.month()
        ));
    }
    out.push_str(&format!(
        "TZOFFSETFROM:{}\r\nTZOFFSETTO:{}\r\n",
        utc_offset(step.from),
        utc_offset(step.to)
    ));
    if !step.name.is_empty() && step.name.bytes().all(|b| b.is_ascii_graphic()) {
        out.push_str(&format!("TZNAME:{}\r\n", step.name));
    }
    out.push_str(&format!("END:{kind}\r\n"));
}

/// RFC 5545 §3.3.14 UTC-OFFSET: `+HHMM`, or `+HHMMSS` when seconds count.
fn utc_offset(offset: Offset) -> String {
    let total = offset.seconds();
    let sign = if total < 0 { '-' } else { '+' };
    let abs = total.unsigned_abs();
    let (h, m, s) = (abs / 3600, abs / 60 % 60, abs % 60);
    match s {
        0 => format!("{sign}{h:02}{m:02}"),
        s => format!("{sign}{h:02}{m:02}{s:02}"),
    }
}

fn weekday(day: Weekday) -> &'static str {
    match day {
        Weekday::Monday => "MO",
        Weekday::Tuesday => "TU",
        Weekday::Wednesday => "WE",
        Weekday::Thursday => "TH",
        Weekday::Friday => "FR",
        Weekday::Saturday => "SA",
        Weekday::Sunday => "SU",
    }
}

#[cfg(test)]
mod tests;
