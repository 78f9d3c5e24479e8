//! UTC offsets from a VTIMEZONE (RFC 5545 §3.6.5).
//!
//! Every onset of every STANDARD/DAYLIGHT observance (its DTSTART, RRULE and
//! RDATEs) up to a horizon becomes a transition; a local time takes the offset
//! of the last transition it has passed. A local time in a gap or a fold uses
//! the offset before the transition, as §3.3.5 requires.

use super::rrule::{Bounds, Rule};
use super::time::{DAY, Form, civil_from_days, days_from_civil, days_in_month, parse_time};
use crate::error::{Error, ErrorKind, Result};

/// Most expansion units (onsets, and days examined by sixteens) one
/// VTIMEZONE may spend over all its observances up to the horizon. An
/// Outlook zone's two yearly rules from 1601 spend about 2,500; one of
/// thousands of such observances took 4 to 11 s per free/busy query when
/// each observance had a budget of its own (10,000 units).
const MAX_ZONE_UNITS: usize = 100_000;

fn invalid(reason: &'static str) -> Error {
    Error::new(ErrorKind::InvalidData, reason)
}

#[derive(Clone, Copy, Debug)]
struct Transition {
    /// UTC second of the onset.
    at: i64,
    from: i64,
    to: i64,
}

/// The offsets of one VTIMEZONE, up to its horizon.
#[derive(Clone, Debug)]
pub(super) struct Zone {
    transitions: Vec<Transition>,
    /// The offset before the first transition.
    initial: i64,
}

#[derive(Default)]
struct Observance<'a> {
    dtstart: Option<i64>,
    from: Option<i64>,
    to: Option<i64>,
    rrule: Option<&'a str>,
    rdates: Vec<&'a str>,
}

impl Zone {
    /// Parses `vtimezone`, expanding onsets up to civil second `horizon`;
    /// returns the zone (or why it cannot be read) and the units it spent
    /// of [`MAX_ZONE_UNITS`].
    pub(super) fn parse(vtimezone: &str, horizon: i64) -> (Result<Zone>, usize) {
        let mut budget = MAX_ZONE_UNITS;
        let zone = Zone::parse_within(vtimezone, horizon, &mut budget);
        (zone, MAX_ZONE_UNITS - budget)
    }

    fn parse_within(vtimezone: &str, horizon: i64, budget: &mut usize) -> Result<Zone> {
        let mut transitions = Vec::new();
        let mut current: Option<Observance<'_>> = None;
        for line in vtimezone.lines() {
            let (head, value) = line.split_once(':').unwrap_or((line, ""));
            let name = head.split(';').next().unwrap_or(head).to_ascii_uppercase();
            let is_obs =
                value.eq_ignore_ascii_case("STANDARD") || value.eq_ignore_ascii_case("DAYLIGHT");
            match (name.as_str(), current.as_mut()) {
                ("BEGIN", None) if is_obs => current = Some(Observance::default()),
                ("END", Some(_)) if is_obs => {
                    let obs = current
                        .take()
                        .ok_or_else(|| invalid("malformed VTIMEZONE"))?;
                    onsets(&obs, horizon, budget, &mut transitions)?;
                }
                ("DTSTART", Some(o)) => o.dtstart = Some(parse_time(value)?.0),
                ("TZOFFSETFROM", Some(o)) => o.from = Some(parse_offset(value)?),
                ("TZOFFSETTO", Some(o)) => o.to = Some(parse_offset(value)?),
                ("RRULE", Some(o)) => o.rrule = Some(value),
                ("RDATE", Some(o)) => o.rdates.extend(value.split(',')),
                _ => {}
            }
        }
        transitions.sort_by_key(|t| t.at);
        let first = transitions
            .first()
            .ok_or_else(|| invalid("VTIMEZONE without observances"))?;
        Ok(Zone {
            initial: first.from,
            transitions,
        })
    }

    /// Whether civil second `local` comes before the zone's first onset: a
    /// VTIMEZONE cut short says nothing of that time.
    pub(super) fn before_first(&self, local: i64) -> bool {
        self.transitions
            .first()
            .is_some_and(|t| local < t.at + t.from.min(t.to))
    }

    /// [`Zone::to_utc`] for a time before the first onset: the offset the
    /// same civil date and time has in the first full year the zone covers,
    /// so that summer stays summer when a VTIMEZONE lists recent years only.
    pub(super) fn to_utc_carried_back(&self, local: i64) -> i64 {
        let Some(first) = self.transitions.first() else {
            return local;
        };
        let (first_year, _, _) = civil_from_days((first.at + first.from).div_euclid(DAY));
        let (_, month, day) = civil_from_days(local.div_euclid(DAY));
        let target = first_year + 1;
        let day = day.min(days_in_month(target, month));
        let moved = days_from_civil(target, month, day) * DAY + local.rem_euclid(DAY);
        local - (moved - self.to_utc(moved))
    }

    /// The UTC second of civil second `local` in this zone.
    pub(super) fn to_utc(&self, local: i64) -> i64 {
        // A transition applies once the later of its two wall-clock readings has passed.
        let passed = self
            .transitions
            .partition_point(|t| t.at + t.from.max(t.to) <= local);
        let offset = passed.checked_sub(1).and_then(|i| self.transitions.get(i));
        local - offset.map_or(self.initial, |t| t.to)
    }
}

/// Appends the transitions of `obs` up to `horizon`, spending `budget`.
fn onsets(
    obs: &Observance<'_>,
    horizon: i64,
    budget: &mut usize,
    out: &mut Vec<Transition>,
) -> Result<()> {
    let missing = || invalid("VTIMEZONE observance lacks DTSTART or an offset");
    let (start, from) = (
        obs.dtstart.ok_or_else(missing)?,
        obs.from.ok_or_else(missing)?,
    );
    let to = obs.to.ok_or_else(missing)?;
    let mut locals = Vec::new();
    let too_many = || invalid("VTIMEZONE has too many onsets");
    // Each observance costs at least one unit, its RDATEs one each, so a
    // zone of many small observances is bounded as one of many onsets is.
    *budget = budget
        .checked_sub(1 + obs.rdates.len())
        .ok_or_else(too_many)?;
    match obs.rrule {
        Some(rule) => {
            let to_utc = |local: i64| Ok(local - from);
            // At least two years of onsets, even for a window long before
            // them: a truncated zone is carried back from its first years.
            let bounds = Bounds {
                from: start,
                to: horizon.max(start + 731 * DAY),
                to_utc: &to_utc,
            };
            Rule::parse(rule)?.expand(start, &bounds, budget, &mut locals)?;
        }
        None => locals.push(start),
    }
    for rdate in &obs.rdates {
        locals.push(match parse_time(rdate)? {
            (utc, Form::Utc) => utc + from,
            (local, _) => local,
        });
    }
    out.extend(locals.into_iter().map(|local| Transition {
        at: local - from,
        from,
        to,
    }));
    Ok(())
}

/// Parses a UTC offset "+0100", "-0500" or "+053000" into seconds.
fn parse_offset(v: &str) -> Result<i64> {
    let bad = || invalid("malformed UTC offset");
    let (sign, rest) = match v.as_bytes().first() {
        Some(b'+') => (1, v.get(1..)),
        Some(b'-') => (-1, v.get(1..)),
        _ => return Err(bad()),
    };
    let rest =
        rest.filter(|r| (r.len() == 4 || r.len() == 6) && r.bytes().all(|b| b.is_ascii_digit()));
    let rest = rest.ok_or_else(bad)?;
    let part = |i: usize| rest.get(i..i + 2).and_then(|p| p.parse::<i64>().ok());
    let (h, m, s) = (
        part(0).ok_or_else(bad)?,
        part(2).ok_or_else(bad)?,
        part(4).unwrap_or(0),
    );
    if h >= 24 || m >= 60 || s >= 60 {
        return Err(bad());
    }
    Ok(sign * (h * 3600 + m * 60 + s))
}

/// Civil seconds up to which zones are expanded for a window ending at `end`:
/// two years on, far past any local time that can still reach the window.
pub(super) fn horizon(end: i64) -> i64 {
    end + 731 * DAY
}

/// The zone of jiff's bundled tz database a TZID names, and its name:
/// an IANA name; a Windows name (Exchange's) by the zone CLDR maps it to;
/// or an IANA name after a prefix, as Thunderbird and Evolution write
/// their own (`/mozilla.org/20070129_1/America/New_York`,
/// `/softwarestudio.org/Olson_20011030_5/Pacific/Auckland`) and read
/// others', the longest such name first.
///
/// A TZID longer than [`MAX_NAMED_TZID`] names no zone, and only the last
/// [`MAX_ZONE_NAME`] bytes are tried as an IANA name: every suffix of a
/// 1 MB name of `/`s was looked up, at every instance, and one stranger's
/// invitation made its owner's free/busy query run for half an hour.
#[cfg(feature = "iana-tz")]
pub(super) fn iana_zone(tzid: &str) -> Option<(jiff::tz::TimeZone, String)> {
    if tzid.len() > MAX_NAMED_TZID {
        return None;
    }
    let db = jiff::tz::db();
    if let Ok(tz) = db.get(tzid) {
        return Some((tz, tzid.to_owned()));
    }
    if let Some(name) = super::windows_zones::iana_name(tzid) {
        return Some((db.get(name).ok()?, name.to_owned()));
    }
    let suffixes = tzid.match_indices('/').map(|(at, _)| &tzid[at + 1..]);
    suffixes
        .filter(|name| name.len() <= MAX_ZONE_NAME && name.contains('/'))
        .find_map(|name| Some((db.get(name).ok()?, name.to_owned())))
}

/// Longest TZID looked up as a zone name: the longest IANA name has 32
/// bytes, a Windows name 50, a writer's prefix and an IANA name about 60.
#[cfg(feature = "iana-tz")]
pub(super) const MAX_NAMED_TZID: usize = 256;

/// Longest IANA name tried after a writer's prefix.
#[cfg(feature = "iana-tz")]
const MAX_ZONE_NAME: usize = 64;

/// The IANA zones of TZIDs no VTIMEZONE defines ([`iana_zone`]), each
/// looked up once per query rather than at every time read in it: an
/// invitation's million EXDATEs in one zone of a prefixed name (each read
/// trying every suffix of the name) made its owner's free/busy query run
/// for 4 s.
#[derive(Default)]
pub(super) struct IanaZones {
    #[cfg(feature = "iana-tz")]
    found: core::cell::RefCell<std::collections::BTreeMap<String, Option<jiff::tz::TimeZone>>>,
}

/// TZIDs one query remembers; any past them is looked up at each read
/// (which the query's budget pays for).
#[cfg(feature = "iana-tz")]
const MAX_REMEMBERED_TZIDS: usize = 64;

impl IanaZones {
    /// `local` (civil seconds) in the IANA zone `tzid` names, in UTC;
    /// `None` when it names none.
    #[cfg(feature = "iana-tz")]
    pub(super) fn to_utc(&self, tzid: &str, local: i64) -> Option<i64> {
        let tz = {
            let mut found = self.found.borrow_mut();
            match found.get(tzid) {
                Some(tz) => tz.clone(),
                None => {
                    let tz = iana_zone(tzid).map(|(tz, _)| tz);
                    if found.len() < MAX_REMEMBERED_TZIDS {
                        found.insert(tzid.to_owned(), tz.clone());
                    }
                    tz
                }
            }
        }?;
        let naive = jiff::Timestamp::from_second(local).ok()?;
        let civil = jiff::tz::Offset::UTC.to_datetime(naive);
        // `compatible` is RFC 5545's rule: the offset before a gap, the first of a fold.
        let ts = tz.to_ambiguous_timestamp(civil).compatible().ok()?;
        Some(ts.as_second())
    }

    /// Without the `iana-tz` feature, an unknown TZID is read as UTC.
    #[cfg(not(feature = "iana-tz"))]
    pub(super) fn to_utc(&self, _tzid: &str, _local: i64) -> Option<i64> {
        None
    }
}
