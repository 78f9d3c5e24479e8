//! ActiveSync calendar items: the ApplicationData Exchange sends for an
//! event (MS-ASCAL), with its time zone blob and recurrence.

use super::super::time::{BasicTime, parse_duration};
use super::super::wbxml::{Writer, airsync, airsyncbase, calendar};
use base64::Engine;
use tidings::proto::{CalendarEvent, CalendarItem};

/// The 172-byte TIME_ZONE_INFORMATION Exchange sends, base64-encoded, with
/// every event (MS-ASDTYPE 2.6.4): bias, two names in UTF-16 and two
/// transition dates; here Central Europe's.
pub fn time_zone_blob() -> String {
    let mut tz = Vec::with_capacity(172);
    tz.extend((-60i32).to_le_bytes());
    let name = |tz: &mut Vec<u8>, name: &str| {
        let mut units: Vec<u8> = name.encode_utf16().flat_map(u16::to_le_bytes).collect();
        units.resize(64, 0);
        tz.extend(units);
    };
    let date = |tz: &mut Vec<u8>, month: u16| {
        for v in [0u16, month, 0, 5, 3, 0, 0, 0] {
            tz.extend(v.to_le_bytes());
        }
    };
    name(&mut tz, "W. Europe Standard Time");
    date(&mut tz, 10);
    tz.extend(0i32.to_le_bytes());
    name(&mut tz, "W. Europe Daylight Time");
    date(&mut tz, 3);
    tz.extend((-60i32).to_le_bytes());
    debug_assert_eq!(tz.len(), 172);
    base64::engine::general_purpose::STANDARD.encode(&tz)
}

fn times(e: &CalendarEvent) -> Option<(BasicTime, BasicTime)> {
    let start = BasicTime::parse(&e.start.as_ref()?.value)?;
    let end = e
        .end
        .as_ref()
        .and_then(|t| BasicTime::parse(&t.value))
        .or_else(|| {
            parse_duration(&e.duration).map(|d| BasicTime {
                seconds: start.seconds + d,
                ..start
            })
        })
        .unwrap_or(start);
    Some((start, end))
}

/// An RRULE BYDAY entry split into its ordinal and its weekday ("-1FR").
fn split(day: &str) -> (&str, &str) {
    day.split_at_checked(day.len().saturating_sub(2))
        .unwrap_or(("", day))
}

fn weekday_bit(day: &str) -> u32 {
    match day.to_ascii_uppercase().as_str() {
        "SU" => 1,
        "MO" => 2,
        "TU" => 4,
        "WE" => 8,
        "TH" => 16,
        "FR" => 32,
        "SA" => 64,
        _ => 0,
    }
}

/// An RRULE as MS-ASCAL's Recurrence element; rules ActiveSync cannot
/// express lose what it has no element for.
fn recurrence(w: &mut Writer, rrule: &str, start: BasicTime) {
    let (mut freq, mut interval, mut count, mut until) = ("", None, None, None);
    let (mut by_day, mut by_month_day, mut by_month) = (Vec::new(), None, None);
    for part in rrule.split(';') {
        let Some((key, value)) = part.split_once('=') else {
            continue;
        };
        match key.to_ascii_uppercase().as_str() {
            "FREQ" => freq = value,
            "INTERVAL" => interval = Some(value),
            "COUNT" => count = Some(value),
            "UNTIL" => until = BasicTime::parse(value),
            "BYDAY" => by_day = value.split(',').collect(),
            "BYMONTHDAY" => by_month_day = value.split(',').next(),
            "BYMONTH" => by_month = value.split(',').next(),
            _ => {}
        }
    }
    let nth = by_day
        .first()
        .and_then(|d| split(d).0.trim_start_matches('+').parse::<i32>().ok());
    let days: u32 = by_day
        .iter()
        .map(|d| weekday_bit(split(d).1))
        .fold(0, |a, b| a | b);
    // 1970-01-01 was a Thursday.
    let start_day = 1 << ((start.seconds.div_euclid(86_400) + 4) % 7);
    let kind = match (freq.to_ascii_uppercase().as_str(), nth) {
        ("DAILY", _) => "0",
        ("WEEKLY", _) => "1",
        ("MONTHLY", Some(_)) => "3",
        ("MONTHLY", None) => "2",
        ("YEARLY", Some(_)) => "6",
        ("YEARLY", None) => "5",
        _ => return,
    };
    w.open(calendar::RECURRENCE).text(calendar::TYPE, kind);
    if let Some(interval) = interval {
        w.text(calendar::INTERVAL, interval);
    }
    if let Some(until) = until {
        w.text(calendar::UNTIL, &until.compact());
    }
    if let Some(count) = count {
        w.text(calendar::OCCURRENCES, count);
    }
    match kind {
        "1" => {
            let days = if days == 0 { start_day } else { days };
            w.text(calendar::DAY_OF_WEEK, &days.to_string());
        }
        "2" | "5" => {
            w.text(calendar::DAY_OF_MONTH, by_month_day.unwrap_or("1"));
        }
        "3" | "6" => {
            let week = nth.map_or(1, |n| if n < 0 { 5 } else { n });
            w.text(calendar::WEEK_OF_MONTH, &week.to_string())
                .text(calendar::DAY_OF_WEEK, &days.to_string());
        }
        _ => {}
    }
    if matches!(kind, "5" | "6") {
        w.text(calendar::MONTH_OF_YEAR, by_month.unwrap_or("1"));
    }
    w.close();
}

fn reminder_minutes(e: &CalendarEvent) -> Option<i64> {
    let seconds = parse_duration(&e.alarms.first()?.trigger)?;
    Some(-seconds / 60)
}

fn attendee_status(status: i32) -> &'static str {
    match status {
        2 => "3",
        3 => "4",
        4 => "2",
        1 => "5",
        _ => "0",
    }
}

/// The ApplicationData of an event, whole, as Exchange sends it on every
/// Add and Change.
pub fn calendar_application_data(w: &mut Writer, item: &CalendarItem) {
    let Some(e) = item.master.as_ref().or(item.overrides.first()) else {
        w.empty(airsync::APPLICATION_DATA);
        return;
    };
    w.open(airsync::APPLICATION_DATA)
        .text(calendar::TIME_ZONE, &time_zone_blob());
    let span = times(e);
    if let Some(stamp) = BasicTime::parse(&e.dtstamp) {
        w.text(calendar::DT_STAMP, &stamp.compact());
    }
    if let Some((start, _)) = span {
        w.text(calendar::START_TIME, &start.compact());
    }
    w.text(calendar::SUBJECT, &e.summary)
        .text(calendar::UID, &e.uid);
    if let Some(o) = &e.organizer {
        if !o.name.is_empty() {
            w.text(calendar::ORGANIZER_NAME, &o.name);
        }
        w.text(calendar::ORGANIZER_EMAIL, &o.email);
    }
    if !e.location.is_empty() {
        w.text(calendar::LOCATION, &e.location);
    }
    if let Some((start, end)) = span {
        w.text(calendar::END_TIME, &end.compact());
        if !e.rrule.is_empty() {
            recurrence(w, &e.rrule, start);
        }
    }
    w.open(airsyncbase::BODY).text(airsyncbase::TYPE, "1").text(
        airsyncbase::ESTIMATED_DATA_SIZE,
        &e.description.len().to_string(),
    );
    if !e.description.is_empty() {
        w.text(airsyncbase::DATA, &e.description);
    }
    w.close()
        .text(calendar::SENSITIVITY, "0")
        .text(
            calendar::BUSY_STATUS,
            if e.transparency == 2 { "0" } else { "2" },
        )
        .text(
            calendar::ALL_DAY_EVENT,
            if span.is_some_and(|(s, _)| s.date_only) {
                "1"
            } else {
                "0"
            },
        );
    if let Some(minutes) = reminder_minutes(e) {
        w.text(calendar::REMINDER, &minutes.to_string());
    }
    let exceptions = item.master.as_ref().map_or(0, |m| m.exdates.len()) + item.overrides.len();
    if item.master.is_some() && exceptions > 0 {
        w.open(calendar::EXCEPTIONS);
        for t in &e.exdates {
            if let Some(t) = BasicTime::parse(&t.value) {
                w.open(calendar::EXCEPTION)
                    .text(calendar::DELETED, "1")
                    .text(calendar::EXCEPTION_START_TIME, &t.compact())
                    .close();
            }
        }
        for o in &item.overrides {
            let Some(id) = o
                .recurrence_id
                .as_ref()
                .and_then(|t| BasicTime::parse(&t.value))
            else {
                continue;
            };
            w.open(calendar::EXCEPTION)
                .text(calendar::EXCEPTION_START_TIME, &id.compact());
            if o.summary != e.summary {
                w.text(calendar::SUBJECT, &o.summary);
            }
            if let Some((start, end)) = times(o) {
                w.text(calendar::START_TIME, &start.compact())
                    .text(calendar::END_TIME, &end.compact());
            }
            if o.location != e.location {
                w.text(calendar::LOCATION, &o.location);
            }
            w.close();
        }
        w.close();
    }
    let meeting = !e.attendees.is_empty();
    w.text(calendar::MEETING_STATUS, if meeting { "3" } else { "0" });
    if meeting {
        w.open(calendar::ATTENDEES);
        for a in &e.attendees {
            let address = a.address.clone().unwrap_or_default();
            w.open(calendar::ATTENDEE)
                .text(calendar::EMAIL, &address.email);
            if !address.name.is_empty() {
                w.text(calendar::NAME, &address.name);
            }
            w.text(calendar::ATTENDEE_STATUS, attendee_status(a.status))
                .text(calendar::ATTENDEE_TYPE, if a.role == 3 { "2" } else { "1" })
                .close();
        }
        w.close();
    }
    w.text(airsyncbase::NATIVE_BODY_TYPE, "1");
    if e.attendees.iter().any(|a| a.rsvp) {
        w.text(calendar::RESPONSE_REQUESTED, "1");
    }
    w.close();
}
