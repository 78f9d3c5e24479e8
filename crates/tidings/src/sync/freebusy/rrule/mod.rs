//! The RRULE subset Tidings expands: FREQ DAILY/WEEKLY/MONTHLY/YEARLY with
//! INTERVAL, COUNT, UNTIL, BYDAY (ordinals too), BYMONTHDAY, BYMONTH, BYSETPOS
//! and WKST. Any other part is refused rather than guessed at.

use super::time::{DAY, Form, parse_time};
use crate::error::{Error, ErrorKind, Result};

/// Longest BYxxx list accepted; bounds the per-day filtering work.
const MAX_LIST: usize = 128;

fn invalid(reason: &'static str) -> Error {
    Error::new(ErrorKind::InvalidData, reason)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Freq {
    Daily,
    Weekly,
    Monthly,
    Yearly,
}

/// The UNTIL bound, compared in the form it was written in.
#[derive(Clone, Copy, Debug)]
pub(super) enum Until {
    /// Last allowed civil day.
    Date(i64),
    /// Last allowed civil second (floating, or local in DTSTART's zone).
    Local(i64),
    /// Last allowed UTC second.
    Utc(i64),
}

/// A parsed RRULE.
#[derive(Clone, Debug)]
pub(super) struct Rule {
    pub(super) freq: Freq,
    pub(super) interval: i64,
    pub(super) count: Option<u64>,
    pub(super) until: Option<Until>,
    /// `(ordinal, weekday)`; ordinal 0 means every such weekday.
    by_day: Vec<(i64, u32)>,
    by_month_day: Vec<i64>,
    by_month: Vec<u32>,
    by_set_pos: Vec<i64>,
    wkst: u32,
    /// BYHOUR, BYMINUTE, BYSECOND as `(unit seconds, value)`: accepted only as
    /// a no-op restating DTSTART's time, as some VTIMEZONEs write them.
    time_of_day: Vec<(i64, i64)>,
}

fn day_code(s: &str) -> Result<u32> {
    let days = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"];
    let pos = days.iter().position(|d| d.eq_ignore_ascii_case(s));
    pos.map(|p| p as u32)
        .ok_or_else(|| invalid("malformed RRULE weekday"))
}

fn int(s: &str, lo: i64, hi: i64) -> Result<i64> {
    let n: i64 = s.parse().map_err(|_| invalid("malformed RRULE number"))?;
    let ok = s.len() <= 10 && (lo..=hi).contains(&n) && n != 0;
    ok.then_some(n)
        .ok_or_else(|| invalid("RRULE number out of range"))
}

fn list<T>(v: &str, f: impl Fn(&str) -> Result<T>) -> Result<Vec<T>> {
    let out = v.split(',').map(f).collect::<Result<Vec<T>>>()?;
    (out.len() <= MAX_LIST)
        .then_some(out)
        .ok_or_else(|| invalid("RRULE list too long"))
}

impl Rule {
    /// Parses an RRULE value such as "FREQ=WEEKLY;BYDAY=MO;UNTIL=20261231T000000Z".
    pub(super) fn parse(s: &str) -> Result<Rule> {
        let mut freq = None;
        let mut r = Rule {
            freq: Freq::Daily,
            interval: 1,
            count: None,
            until: None,
            by_day: Vec::new(),
            by_month_day: Vec::new(),
            by_month: Vec::new(),
            by_set_pos: Vec::new(),
            wkst: 0,
            time_of_day: Vec::new(),
        };
        for part in s.split(';').filter(|p| !p.is_empty()) {
            let (key, v) = part
                .split_once('=')
                .ok_or_else(|| invalid("malformed RRULE"))?;
            match key.to_ascii_uppercase().as_str() {
                "FREQ" => freq = Some(parse_freq(v)?),
                "INTERVAL" => r.interval = int(v, 1, 1_000_000)?,
                "COUNT" => r.count = Some(int(v, 1, i64::from(u32::MAX))?.unsigned_abs()),
                "UNTIL" => r.until = Some(parse_until(v)?),
                "BYDAY" => r.by_day = list(v, parse_by_day)?,
                "BYMONTHDAY" => r.by_month_day = list(v, |x| int(x, -31, 31))?,
                "BYMONTH" => r.by_month = list(v, |x| Ok(int(x, 1, 12)? as u32))?,
                "BYSETPOS" => r.by_set_pos = list(v, |x| int(x, -366, 366))?,
                "WKST" => r.wkst = day_code(v)?,
                "BYHOUR" => r
                    .time_of_day
                    .push((3600, int(v, 0, 23).or_else(|_| zero(v))?)),
                "BYMINUTE" => r
                    .time_of_day
                    .push((60, int(v, 0, 59).or_else(|_| zero(v))?)),
                "BYSECOND" => r.time_of_day.push((1, int(v, 0, 60).or_else(|_| zero(v))?)),
                "BYYEARDAY" | "BYWEEKNO" => {
                    return Err(invalid("unsupported RRULE part"));
                }
                _ => return Err(invalid("unknown RRULE part")),
            }
        }
        r.freq = freq.ok_or_else(|| invalid("RRULE without FREQ"))?;
        if r.count.is_some() && r.until.is_some() {
            return Err(invalid("RRULE with both COUNT and UNTIL"));
        }
        let ordinals = r.by_day.iter().any(|(n, _)| *n != 0);
        if ordinals && matches!(r.freq, Freq::Daily | Freq::Weekly) {
            return Err(invalid("RRULE BYDAY ordinal needs MONTHLY or YEARLY"));
        }
        if r.freq == Freq::Weekly && !r.by_month_day.is_empty() {
            return Err(invalid("RRULE BYMONTHDAY with FREQ=WEEKLY"));
        }
        // Each day examined is filtered by these lists: a value repeated
        // (BYMONTHDAY=30,30,…) costs once.
        r.by_month.sort_unstable();
        r.by_month.dedup();
        r.by_month_day.sort_unstable();
        r.by_month_day.dedup();
        r.by_day.sort_unstable();
        r.by_day.dedup();
        Ok(r)
    }
}

/// `int` refuses 0, which is a valid hour, minute or second.
fn zero(v: &str) -> Result<i64> {
    (v == "0" || v == "00")
        .then_some(0)
        .ok_or_else(|| invalid("unsupported RRULE part"))
}

fn parse_freq(v: &str) -> Result<Freq> {
    match v.to_ascii_uppercase().as_str() {
        "DAILY" => Ok(Freq::Daily),
        "WEEKLY" => Ok(Freq::Weekly),
        "MONTHLY" => Ok(Freq::Monthly),
        "YEARLY" => Ok(Freq::Yearly),
        _ => Err(invalid("unsupported RRULE frequency")),
    }
}

fn parse_until(v: &str) -> Result<Until> {
    Ok(match parse_time(v)? {
        (secs, Form::Date) => Until::Date(secs.div_euclid(DAY)),
        (secs, Form::Local) => Until::Local(secs),
        (secs, Form::Utc) => Until::Utc(secs),
    })
}

fn parse_by_day(v: &str) -> Result<(i64, u32)> {
    let split = v
        .len()
        .checked_sub(2)
        .ok_or_else(|| invalid("malformed RRULE weekday"))?;
    let (n, d) = (v.get(..split), v.get(split..));
    let (n, d) = n.zip(d).ok_or_else(|| invalid("malformed RRULE weekday"))?;
    let n = if n.is_empty() {
        0
    } else {
        int(n.strip_prefix('+').unwrap_or(n), -53, 53)?
    };
    Ok((n, day_code(d)?))
}

mod expand;
pub(super) use expand::Bounds;
