//! Value encodings: TEXT escaping (RFC 5545 §3.3.11), parameter values
//! (RFC 6868 caret encoding and quoting) and the forms of DATE, DATE-TIME,
//! PERIOD and DURATION values (§3.3.4–3.3.9).

/// Resolves TEXT escapes: `\\`, `\;`, `\,` and `\n` or `\N`.
///
/// Lenient like most readers: any other escaped character stands for itself
/// and a lone trailing backslash is kept.
pub(crate) fn unescape_text(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n' | 'N') => out.push('\n'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

/// Escapes a TEXT value. TEXT has no carriage return, so CRLF and a lone CR
/// become a line break like LF.
pub fn escape_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {
                chars.next_if_eq(&'\n');
                out.push_str("\\n");
            }
            other => out.push(other),
        }
    }
    out
}

/// Decodes RFC 6868 carets in a parameter value: `^n`, `^'` and `^^`.
pub(crate) fn decode_param(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '^' {
            out.push(c);
            continue;
        }
        match chars.peek() {
            Some('n') => out.push('\n'),
            Some('\'') => out.push('"'),
            Some('^') => out.push('^'),
            // Any other caret stands for itself (RFC 6868 §3).
            _ => {
                out.push('^');
                continue;
            }
        }
        chars.next();
    }
    out
}

/// Encodes a parameter value with RFC 6868 carets, quoted when it holds a
/// character that would end it (`;`, `:` or `,`).
pub(crate) fn encode_param(value: &str) -> String {
    let mut encoded = String::with_capacity(value.len() + 2);
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '^' => encoded.push_str("^^"),
            '"' => encoded.push_str("^'"),
            '\n' => encoded.push_str("^n"),
            '\r' => {
                chars.next_if_eq(&'\n');
                encoded.push_str("^n");
            }
            other => encoded.push(other),
        }
    }
    if encoded.contains([';', ':', ',']) {
        format!("\"{encoded}\"")
    } else {
        encoded
    }
}

/// The three forms a time value can take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TimeKind {
    /// `VALUE=DATE`: "20261129".
    Date,
    /// `VALUE=DATE-TIME` (the default): "20261129T090000" or with "Z".
    DateTime,
    /// `VALUE=PERIOD` (RDATE only): start "/" end or duration.
    Period,
}

impl TimeKind {
    /// The kind a `VALUE` parameter names, if it is one of the three.
    pub(crate) fn from_param(value: &str) -> Option<TimeKind> {
        [
            ("DATE", TimeKind::Date),
            ("DATE-TIME", TimeKind::DateTime),
            ("PERIOD", TimeKind::Period),
        ]
        .into_iter()
        .find(|(name, _)| value.eq_ignore_ascii_case(name))
        .map(|(_, kind)| kind)
    }

    /// The kind a well-formed value has by its form, for writing `VALUE=`.
    pub(crate) fn of(value: &str) -> TimeKind {
        if value.contains('/') {
            TimeKind::Period
        } else if value.len() == 8 {
            TimeKind::Date
        } else {
            TimeKind::DateTime
        }
    }

    /// Whether `value` is well formed for this kind.
    pub(crate) fn accepts(self, value: &str) -> bool {
        match self {
            TimeKind::Date => is_date(value),
            TimeKind::DateTime => is_date_time(value),
            TimeKind::Period => value.split_once('/').is_some_and(|(start, end)| {
                is_date_time(start) && (is_date_time(end) || is_duration(end))
            }),
        }
    }
}

/// `n` ASCII digits read as a number, if `s` is exactly that.
fn number(s: &str, n: usize) -> Option<u32> {
    (s.len() == n && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// DATE: "YYYYMMDD".
pub(crate) fn is_date(value: &str) -> bool {
    let part = |range: core::ops::Range<usize>| value.get(range).and_then(|s| number(s, s.len()));
    value.len() == 8
        && part(0..4).is_some()
        && part(4..6).is_some_and(|m| (1..=12).contains(&m))
        && part(6..8).is_some_and(|d| (1..=31).contains(&d))
}

/// DATE-TIME: "YYYYMMDDTHHMMSS" with an optional "Z" for UTC.
pub(crate) fn is_date_time(value: &str) -> bool {
    let local = value.strip_suffix('Z').unwrap_or(value);
    let Some((date, time)) = local.split_once('T') else {
        return false;
    };
    let part = |range: core::ops::Range<usize>| time.get(range).and_then(|s| number(s, 2));
    is_date(date)
        && time.len() == 6
        && part(0..2).is_some_and(|h| h <= 23)
        && part(2..4).is_some_and(|m| m <= 59)
        && part(4..6).is_some_and(|s| s <= 60)
}

/// DATE-TIME in UTC, as DTSTAMP requires.
pub(crate) fn is_utc_date_time(value: &str) -> bool {
    value.ends_with('Z') && is_date_time(value)
}

/// DURATION: `[+-]P` then weeks, or days and/or a time part ("PT1H30M").
pub(crate) fn is_duration(value: &str) -> bool {
    let unsigned = value.strip_prefix(['+', '-']).unwrap_or(value);
    let Some(body) = unsigned.strip_prefix('P') else {
        return false;
    };
    if let Some(weeks) = body.strip_suffix('W') {
        return is_digits(weeks);
    }
    let (days, time) = match body.split_once('T') {
        Some((days, time)) => (days, Some(time)),
        None => (body, None),
    };
    let days_ok = days.is_empty() || days.strip_suffix('D').is_some_and(is_digits);
    let time_ok = time.is_none_or(is_time_duration);
    days_ok && time_ok && !(days.is_empty() && time.is_none())
}

/// The part after 'T': hours, minutes and seconds, each optional but at
/// least one, in that order ("1H30M", "15M", "1H0M5S").
fn is_time_duration(time: &str) -> bool {
    let mut rest = time;
    let mut units = ['H', 'M', 'S'].into_iter();
    let mut any = false;
    while !rest.is_empty() {
        let Some(end) = rest.find(|c: char| !c.is_ascii_digit()) else {
            return false;
        };
        let Some((digits, tail)) = rest.split_at_checked(end) else {
            return false;
        };
        let mut tail_chars = tail.chars();
        let Some(unit) = tail_chars.next() else {
            return false;
        };
        if digits.is_empty() || !units.by_ref().any(|u| u == unit) {
            return false;
        }
        any = true;
        rest = tail_chars.as_str();
    }
    any
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}
