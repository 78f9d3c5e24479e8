//! Civil (proleptic Gregorian) date arithmetic and RFC 5545 value parsing.
//!
//! Hand-written because it is a few lines; `tests` checks it against jiff.
//! Times are "civil seconds": a wall-clock reading counted as if it were UTC.

use crate::error::{Error, ErrorKind, Result};

/// Seconds in a civil day.
pub(super) const DAY: i64 = 86_400;
/// Civil seconds of 0001-01-01T00:00:00, the earliest supported value.
pub(super) const MIN_SECS: i64 = -62_135_596_800;
/// Civil seconds of 10000-01-01T00:00:00, just past the latest supported value.
pub(super) const MAX_SECS: i64 = 253_402_300_800;

const MALFORMED: &str = "malformed date or date-time";

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
pub(super) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (i64::from(m) + 9) % 12; // March = 0
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468
}

/// The civil date `(year, month, day)` of a day count since 1970-01-01.
pub(super) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Weekday of a day count: 0 = Monday .. 6 = Sunday (1970-01-01 was a Thursday).
pub(super) fn weekday(days: i64) -> u32 {
    (days + 3).rem_euclid(7) as u32
}

/// Days in `month` of `year`.
pub(super) fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// What a CalendarTime value says about how to place it on the time line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Form {
    /// A DATE: all-day, placed at midnight UTC.
    Date,
    /// A DATE-TIME without `Z`: floating, or local when a TZID is given.
    Local,
    /// A DATE-TIME with `Z`.
    Utc,
}

fn digits(s: &str, from: usize, len: usize) -> Option<u32> {
    let part = s.get(from..from.checked_add(len)?)?;
    if !part.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    part.parse().ok()
}

fn parse_date(s: &str) -> Option<i64> {
    let (y, m, d) = (digits(s, 0, 4)?, digits(s, 4, 2)?, digits(s, 6, 2)?);
    let ok = y >= 1 && (1..=12).contains(&m) && d >= 1 && d <= days_in_month(y.into(), m);
    ok.then(|| days_from_civil(y.into(), m, d))
}

/// Parses "20261129", "20261129T090000" or "20261129T090000Z" into civil seconds.
pub(super) fn parse_time(s: &str) -> Result<(i64, Form)> {
    let bad = || Error::new(ErrorKind::InvalidData, MALFORMED);
    let days = parse_date(s).ok_or_else(bad)?;
    let form = match (s.len(), s.get(15..)) {
        (8, _) => return Ok((days * DAY, Form::Date)),
        (15, _) => Form::Local,
        (16, Some("Z")) => Form::Utc,
        _ => return Err(bad()),
    };
    let (h, m, sec) = (digits(s, 9, 2), digits(s, 11, 2), digits(s, 13, 2));
    match (s.get(8..9), h, m, sec) {
        (Some("T"), Some(h @ 0..24), Some(m @ 0..60), Some(sec @ 0..=60)) => {
            Ok((days * DAY + i64::from(h * 3600 + m * 60 + sec), form))
        }
        _ => Err(bad()),
    }
}

/// Writes civil seconds back in RFC 5545 basic form, as `form` says.
pub(super) fn format_time(local: i64, form: Form) -> String {
    let (y, m, d) = civil_from_days(local.div_euclid(DAY));
    let secs = local.rem_euclid(DAY);
    let (h, min, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    match form {
        Form::Date => format!("{y:04}{m:02}{d:02}"),
        Form::Local => format!("{y:04}{m:02}{d:02}T{h:02}{min:02}{s:02}"),
        Form::Utc => format!("{y:04}{m:02}{d:02}T{h:02}{min:02}{s:02}Z"),
    }
}

/// An RFC 5545 DURATION: nominal days (a week is 7) plus exact seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Duration {
    /// Calendar days: the same wall-clock time that many days later.
    pub(super) days: i64,
    /// Elapsed seconds.
    pub(super) secs: i64,
}

/// Parses a non-negative DURATION such as "PT1H", "P1D", "P2W" or "P1DT30M".
pub(super) fn parse_duration(s: &str) -> Result<Duration> {
    let bad = || Error::new(ErrorKind::InvalidData, "malformed or negative duration");
    let body = s.strip_prefix('+').unwrap_or(s);
    let body = body.strip_prefix('P').ok_or_else(bad)?;
    let (mut out, mut in_time, mut num, mut seen) =
        (Duration { days: 0, secs: 0 }, false, None, false);
    for c in body.chars() {
        match (c, in_time) {
            ('0'..='9', _) => {
                let n: i64 = num.unwrap_or(0) * 10 + i64::from(u32::from(c) - u32::from('0'));
                // Caps each number so later arithmetic cannot overflow.
                num = Some(n).filter(|n| *n < 100_000_000);
                if num.is_none() {
                    return Err(bad());
                }
                continue;
            }
            ('T', false) if num.is_none() => in_time = true,
            ('W', false) => out.days += 7 * num.ok_or_else(bad)?,
            ('D', false) => out.days += num.ok_or_else(bad)?,
            ('H', true) => out.secs += 3600 * num.ok_or_else(bad)?,
            ('M', true) => out.secs += 60 * num.ok_or_else(bad)?,
            ('S', true) => out.secs += num.ok_or_else(bad)?,
            _ => return Err(bad()),
        }
        seen |= num.is_some();
        num = None;
    }
    if num.is_some() || !seen {
        return Err(bad());
    }
    Ok(out)
}
