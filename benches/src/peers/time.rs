//! Dates as the peers write them: RFC 3339 for JMAP, JSCalendar's
//! LocalDateTime and Duration, ActiveSync's compact and long forms. Civil
//! date arithmetic after Howard Hinnant's `days_from_civil`.

/// Days since 1970-01-01 of a proleptic Gregorian date.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (i64::from(m) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
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

fn parts(ts: i64) -> (i64, u32, u32, i64, i64, i64) {
    let (y, m, d) = civil_from_days(ts.div_euclid(86_400));
    let s = ts.rem_euclid(86_400);
    (y, m, d, s / 3600, s / 60 % 60, s % 60)
}

/// `2026-11-30T08:00:00Z` (RFC 3339 UTCDate).
pub fn utc(ts: i64) -> String {
    let (y, m, d, h, mi, s) = parts(ts);
    format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

/// `2026-11-30T09:00:00+01:00`: the sender's local time with its offset.
pub fn with_offset(ts: i64, offset_minutes: i32) -> String {
    let (y, m, d, h, mi, s) = parts(ts + i64::from(offset_minutes) * 60);
    let sign = if offset_minutes < 0 { '-' } else { '+' };
    let off = offset_minutes.unsigned_abs();
    format!(
        "{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}{sign}{:02}:{:02}",
        off / 60,
        off % 60
    )
}

/// ActiveSync's long form, `2026-11-30T08:00:00.000Z` (Email DateReceived).
pub fn activesync_long(ts: i64) -> String {
    let (y, m, d, h, mi, s) = parts(ts);
    format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}.000Z")
}

/// An iCalendar basic-form time: `20261129`, `20261129T090000` or
/// `20261129T090000Z` (anything after a `/`, a PERIOD's end, is ignored).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BasicTime {
    /// Seconds since the epoch, reading the wall-clock digits as UTC.
    pub seconds: i64,
    /// A DATE value (no time of day).
    pub date_only: bool,
    /// Ends in `Z`.
    pub utc: bool,
}

impl BasicTime {
    /// Parses the basic form; `None` for anything else.
    pub fn parse(value: &str) -> Option<Self> {
        let value = value.split('/').next()?;
        let digits = |s: &str| -> Option<i64> {
            s.bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| s.parse().ok())?
        };
        let (date, rest) = value.split_at_checked(8)?;
        let (y, m, d) = (
            digits(date.get(..4)?)?,
            digits(date.get(4..6)?)?,
            digits(date.get(6..8)?)?,
        );
        if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
            return None;
        }
        let day = days_from_civil(y, m as u32, d as u32) * 86_400;
        if rest.is_empty() {
            return Some(Self {
                seconds: day,
                date_only: true,
                utc: false,
            });
        }
        let time = rest.strip_prefix('T')?;
        let (time, utc) = match time.strip_suffix('Z') {
            Some(t) => (t, true),
            None => (time, false),
        };
        if time.len() != 6 {
            return None;
        }
        let (h, mi, s) = (
            digits(&time[..2])?,
            digits(&time[2..4])?,
            digits(&time[4..])?,
        );
        Some(Self {
            seconds: day + h * 3600 + mi * 60 + s,
            date_only: false,
            utc,
        })
    }

    /// JSCalendar LocalDateTime, `2026-11-29T09:00:00`.
    pub fn local(self) -> String {
        let (y, m, d, h, mi, s) = parts(self.seconds);
        format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}")
    }

    /// ActiveSync's compact form, `20261129T090000Z` (the digits as given:
    /// converting a local time to UTC changes no length).
    pub fn compact(self) -> String {
        let (y, m, d, h, mi, s) = parts(self.seconds);
        format!("{y:04}{m:02}{d:02}T{h:02}{mi:02}{s:02}Z")
    }
}

/// An ISO 8601 duration of whole seconds, as JSCalendar writes it:
/// `PT1H30M`, `P1D`, `PT0S`.
pub fn duration(seconds: i64) -> String {
    let (days, rest) = (seconds.abs() / 86_400, seconds.abs() % 86_400);
    let (h, m, s) = (rest / 3600, rest / 60 % 60, rest % 60);
    let mut out = String::from(if seconds < 0 { "-P" } else { "P" });
    if days > 0 {
        out.push_str(&format!("{days}D"));
    }
    if rest > 0 || days == 0 {
        out.push('T');
        if h > 0 {
            out.push_str(&format!("{h}H"));
        }
        if m > 0 {
            out.push_str(&format!("{m}M"));
        }
        if s > 0 || rest == 0 {
            out.push_str(&format!("{s}S"));
        }
    }
    out
}

/// Seconds of an ISO 8601 duration as iCalendar writes it (`-PT15M`,
/// `P1D`, `PT1H30M`, `P2W`); `None` for anything else.
pub fn parse_duration(value: &str) -> Option<i64> {
    let (sign, rest) = match value.strip_prefix('-') {
        Some(rest) => (-1, rest),
        None => (1, value.strip_prefix('+').unwrap_or(value)),
    };
    let rest = rest.strip_prefix('P')?;
    let (mut total, mut number, mut in_time) = (0i64, String::new(), false);
    for c in rest.chars() {
        match c {
            '0'..='9' => number.push(c),
            'T' => in_time = true,
            _ => {
                let n: i64 = number.parse().ok()?;
                number.clear();
                total += n * match (c, in_time) {
                    ('W', false) => 604_800,
                    ('D', false) => 86_400,
                    ('H', true) => 3600,
                    ('M', true) => 60,
                    ('S', true) => 1,
                    _ => return None,
                };
            }
        }
    }
    number.is_empty().then_some(sign * total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_round_trip() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        for z in [-1_000_000, -1, 0, 1, 11_017, 20_000, 2_932_896] {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
    }

    #[test]
    fn formats() {
        let ts = days_from_civil(2026, 11, 30) * 86_400 + 8 * 3600;
        assert_eq!(utc(ts), "2026-11-30T08:00:00Z");
        assert_eq!(with_offset(ts, 60), "2026-11-30T09:00:00+01:00");
        assert_eq!(with_offset(ts, -330), "2026-11-30T02:30:00-05:30");
        assert_eq!(activesync_long(ts), "2026-11-30T08:00:00.000Z");
    }

    #[test]
    fn basic_times() {
        let t = BasicTime::parse("20261129T090000Z").unwrap();
        assert!(t.utc && !t.date_only);
        assert_eq!(t.local(), "2026-11-29T09:00:00");
        assert_eq!(t.compact(), "20261129T090000Z");
        let d = BasicTime::parse("20261129").unwrap();
        assert!(d.date_only);
        assert_eq!(t.seconds - d.seconds, 9 * 3600);
        assert!(BasicTime::parse("2026112").is_none());
        assert!(BasicTime::parse("20261329").is_none());
        assert_eq!(
            BasicTime::parse("20261129T090000Z/PT1H").unwrap().seconds,
            t.seconds
        );
    }

    #[test]
    fn durations() {
        assert_eq!(duration(0), "PT0S");
        assert_eq!(duration(3600), "PT1H");
        assert_eq!(duration(5400), "PT1H30M");
        assert_eq!(duration(86_400), "P1D");
        assert_eq!(duration(90_061), "P1DT1H1M1S");
        assert_eq!(duration(-900), "-PT15M");
        for s in [0, 900, 5400, 86_400, 90_061, -900] {
            assert_eq!(parse_duration(&duration(s)), Some(s));
        }
        assert_eq!(parse_duration("P2W"), Some(1_209_600));
        assert_eq!(parse_duration("PT"), Some(0));
        assert_eq!(parse_duration("15M"), None);
        assert_eq!(parse_duration("PT15"), None);
    }
}
