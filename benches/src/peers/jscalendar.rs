//! Calendar events as JMAP carries them: JSCalendar Event objects (RFC 8984)
//! with the `id` and `calendarIds` of JMAP for Calendars, built from the
//! same [`CalendarItem`]s Tidings sends.
//!
//! Only what JSCalendar models is written: Tidings' items also keep every
//! unmodelled iCalendar property and sub-component verbatim, which this
//! mapping drops, so the comparison errs in JMAP's favour.

use super::jmap::CALENDAR;
use super::time::{BasicTime, duration, utc};
use serde_json::{Map, Value, json};
use tidings::proto::{Alarm, Attendee, CalendarEvent, CalendarItem, CalendarTime};

/// A CalendarEvent id.
pub fn event_id(id: u64) -> String {
    format!("v{id}")
}

fn non_empty(map: &mut Map<String, Value>, key: &str, value: &str) {
    if !value.is_empty() {
        map.insert(key.into(), value.into());
    }
}

fn mailto(email: &str) -> Value {
    json!({ "imip": format!("mailto:{email}") })
}

fn participation_status(status: i32) -> Option<&'static str> {
    Some(match status {
        1 => "needs-action",
        2 => "accepted",
        3 => "declined",
        4 => "tentative",
        5 => "delegated",
        _ => return None,
    })
}

fn attendee(a: &Attendee) -> Value {
    let address = a.address.clone().unwrap_or_default();
    let mut p = Map::new();
    p.insert("@type".into(), "Participant".into());
    non_empty(&mut p, "name", &address.name);
    non_empty(&mut p, "email", &address.email);
    p.insert("sendTo".into(), mailto(&address.email));
    let role = match a.role {
        1 => json!({ "attendee": true, "chair": true }),
        3 => json!({ "attendee": true, "optional": true }),
        4 => json!({ "informational": true }),
        _ => json!({ "attendee": true }),
    };
    p.insert("roles".into(), role);
    if let Some(status) = participation_status(a.status) {
        p.insert("participationStatus".into(), status.into());
    }
    if a.rsvp {
        p.insert("expectReply".into(), true.into());
    }
    Value::Object(p)
}

fn alarm(a: &Alarm) -> Value {
    let trigger = match BasicTime::parse(&a.trigger) {
        Some(t) => json!({ "@type": "AbsoluteTrigger", "when": utc(t.seconds) }),
        None => {
            let mut t = Map::new();
            t.insert("@type".into(), "OffsetTrigger".into());
            t.insert("offset".into(), a.trigger.clone().into());
            if a.trigger_params
                .to_ascii_uppercase()
                .contains("RELATED=END")
            {
                t.insert("relativeTo".into(), "end".into());
            }
            Value::Object(t)
        }
    };
    json!({
        "@type": "Alert",
        "trigger": trigger,
        "action": if a.action.eq_ignore_ascii_case("EMAIL") { "email" } else { "display" },
    })
}

/// An RRULE value as a RecurrenceRule object (RFC 8984 section 4.3.3).
pub fn recurrence_rule(rrule: &str) -> Value {
    let mut rule = Map::new();
    rule.insert("@type".into(), "RecurrenceRule".into());
    for part in rrule.split(';') {
        let Some((key, value)) = part.split_once('=') else {
            continue;
        };
        let numbers = || -> Value {
            value
                .split(',')
                .filter_map(|n| n.parse::<i64>().ok())
                .collect()
        };
        let (name, v) = match key.to_ascii_uppercase().as_str() {
            "FREQ" => ("frequency", value.to_ascii_lowercase().into()),
            "INTERVAL" => ("interval", value.parse::<u64>().unwrap_or(1).into()),
            "COUNT" => ("count", value.parse::<u64>().unwrap_or(1).into()),
            "UNTIL" => match BasicTime::parse(value) {
                Some(t) => ("until", t.local().into()),
                None => continue,
            },
            "WKST" => ("firstDayOfWeek", value.to_ascii_lowercase().into()),
            "BYDAY" => {
                let days: Vec<Value> = value
                    .split(',')
                    .map(|d| {
                        let (nth, day) = d
                            .split_at_checked(d.len().saturating_sub(2))
                            .unwrap_or(("", d));
                        let mut n = Map::new();
                        n.insert("@type".into(), "NDay".into());
                        n.insert("day".into(), day.to_ascii_lowercase().into());
                        if let Ok(nth) = nth.trim_start_matches('+').parse::<i64>() {
                            n.insert("nthOfPeriod".into(), nth.into());
                        }
                        Value::Object(n)
                    })
                    .collect();
                ("byDay", days.into())
            }
            "BYMONTH" => (
                "byMonth",
                value
                    .split(',')
                    .map(|m| Value::from(m.to_string()))
                    .collect(),
            ),
            "BYMONTHDAY" => ("byMonthDay", numbers()),
            "BYYEARDAY" => ("byYearDay", numbers()),
            "BYWEEKNO" => ("byWeekNo", numbers()),
            "BYHOUR" => ("byHour", numbers()),
            "BYMINUTE" => ("byMinute", numbers()),
            "BYSECOND" => ("bySecond", numbers()),
            "BYSETPOS" => ("bySetPosition", numbers()),
            _ => continue,
        };
        rule.insert(name.into(), v);
    }
    Value::Object(rule)
}

fn time_zone(time: &CalendarTime, parsed: BasicTime) -> Value {
    if parsed.utc {
        "Etc/UTC".into()
    } else if !time.tzid.is_empty() {
        time.tzid.clone().into()
    } else {
        Value::Null
    }
}

/// The properties of one VEVENT (the master or an override).
fn event_properties(e: &CalendarEvent) -> Map<String, Value> {
    let mut p = Map::new();
    p.insert("@type".into(), "Event".into());
    p.insert("uid".into(), e.uid.clone().into());
    if let Some(stamp) = BasicTime::parse(&e.dtstamp) {
        p.insert("updated".into(), utc(stamp.seconds).into());
    }
    non_empty(&mut p, "title", &e.summary);
    non_empty(&mut p, "description", &e.description);
    if !e.location.is_empty() {
        p.insert(
            "locations".into(),
            json!({ "1": { "@type": "Location", "name": e.location } }),
        );
    }
    let start = e
        .start
        .as_ref()
        .and_then(|s| Some((s, BasicTime::parse(&s.value)?)));
    if let Some((time, parsed)) = start {
        p.insert("start".into(), parsed.local().into());
        p.insert("timeZone".into(), time_zone(time, parsed));
        if parsed.date_only {
            p.insert("showWithoutTime".into(), true.into());
        }
        let end = e.end.as_ref().and_then(|t| BasicTime::parse(&t.value));
        if !e.duration.is_empty() {
            p.insert("duration".into(), e.duration.clone().into());
        } else if let Some(end) = end {
            p.insert(
                "duration".into(),
                duration(end.seconds - parsed.seconds).into(),
            );
        }
    }
    let mut participants = Map::new();
    if let Some(organizer) = &e.organizer {
        let mut o = Map::new();
        o.insert("@type".into(), "Participant".into());
        non_empty(&mut o, "name", &organizer.name);
        non_empty(&mut o, "email", &organizer.email);
        o.insert("sendTo".into(), mailto(&organizer.email));
        o.insert("roles".into(), json!({ "owner": true }));
        participants.insert("o".into(), Value::Object(o));
        p.insert("replyTo".into(), mailto(&organizer.email));
    }
    for (n, a) in e.attendees.iter().enumerate() {
        participants.insert(format!("p{}", n + 1), attendee(a));
    }
    if !participants.is_empty() {
        p.insert("participants".into(), Value::Object(participants));
    }
    if !e.rrule.is_empty() {
        p.insert("recurrenceRules".into(), json!([recurrence_rule(&e.rrule)]));
    }
    if !e.alarms.is_empty() {
        let alerts: Map<String, Value> = e
            .alarms
            .iter()
            .enumerate()
            .map(|(n, a)| (format!("a{}", n + 1), alarm(a)))
            .collect();
        p.insert("alerts".into(), Value::Object(alerts));
    }
    if e.transparency == 2 {
        p.insert("freeBusyStatus".into(), "free".into());
    }
    if e.sequence > 0 {
        p.insert("sequence".into(), e.sequence.into());
    }
    if !e.status.is_empty() {
        p.insert("status".into(), e.status.to_ascii_lowercase().into());
    }
    p
}

/// The JMAP CalendarEvent for an item: the master's properties, each
/// override as a patch of what differs from the master, exception dates as
/// excluded overrides and extra dates as empty ones (RFC 8984 section 4.3.5).
pub fn event(item: &CalendarItem) -> Value {
    let base = item.master.as_ref().or(item.overrides.first());
    let mut p = base.map(event_properties).unwrap_or_default();
    let mut overrides = Map::new();
    if let Some(master) = &item.master {
        let key = |t: &CalendarTime| BasicTime::parse(&t.value).map(BasicTime::local);
        for t in &master.exdates {
            if let Some(k) = key(t) {
                overrides.insert(k, json!({ "excluded": true }));
            }
        }
        for t in &master.rdates {
            if let Some(k) = key(t) {
                overrides.insert(k, json!({}));
            }
        }
        for o in &item.overrides {
            let Some(k) = o.recurrence_id.as_ref().and_then(key) else {
                continue;
            };
            let patch: Map<String, Value> = event_properties(o)
                .into_iter()
                .filter(|(name, value)| p.get(name) != Some(value))
                .collect();
            overrides.insert(k, Value::Object(patch));
        }
    }
    if !overrides.is_empty() {
        p.insert("recurrenceOverrides".into(), Value::Object(overrides));
    }
    p.insert("id".into(), event_id(item.id).into());
    p.insert("calendarIds".into(), json!({ CALENDAR: true }));
    Value::Object(p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tidings::sync::ical::calendar_items_from_ical;

    const WEEKLY: &str = "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:council-1\r\n\
        DTSTAMP:20261101T120000Z\r\n\
        DTSTART;TZID=Europe/Berlin:20261130T090000\r\n\
        DTEND;TZID=Europe/Berlin:20261130T103000\r\n\
        SUMMARY:Council\r\nLOCATION:Town hall\r\n\
        ORGANIZER;CN=Ada Quinn:mailto:mayor@town.example\r\n\
        ATTENDEE;CN=Sam Okoye;PARTSTAT=ACCEPTED;RSVP=TRUE:mailto:chief@town.example\r\n\
        RRULE:FREQ=WEEKLY;BYDAY=MO,-1FR;COUNT=10\r\n\
        EXDATE;TZID=Europe/Berlin:20261207T090000\r\n\
        BEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-PT15M\r\nDESCRIPTION:x\r\nEND:VALARM\r\n\
        END:VEVENT\r\n\
        BEGIN:VEVENT\r\nUID:council-1\r\nDTSTAMP:20261101T120000Z\r\n\
        RECURRENCE-ID;TZID=Europe/Berlin:20261214T090000\r\n\
        DTSTART;TZID=Europe/Berlin:20261214T100000\r\n\
        DTEND;TZID=Europe/Berlin:20261214T113000\r\n\
        SUMMARY:Council\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

    /// RFC 8984's property names and value forms for a recurring meeting
    /// with an attendee, an alarm, an exception date and a moved instance.
    #[test]
    fn a_recurring_meeting_in_jscalendar() {
        let mut item = calendar_items_from_ical(WEEKLY, 1).unwrap().remove(0);
        item.id = 9;
        let e = event(&item);
        assert_eq!(e["@type"], "Event");
        assert_eq!(e["id"], "v9");
        assert_eq!(e["calendarIds"], json!({"c1": true}));
        assert_eq!(e["uid"], "council-1");
        assert_eq!(e["title"], "Council");
        assert_eq!(e["start"], "2026-11-30T09:00:00");
        assert_eq!(e["timeZone"], "Europe/Berlin");
        assert_eq!(e["duration"], "PT1H30M");
        assert_eq!(e["updated"], "2026-11-01T12:00:00Z");
        assert_eq!(e["locations"]["1"]["name"], "Town hall");
        assert_eq!(e["participants"]["o"]["roles"], json!({"owner": true}));
        assert_eq!(e["replyTo"], json!({"imip": "mailto:mayor@town.example"}));
        let chief = &e["participants"]["p1"];
        assert_eq!(chief["participationStatus"], "accepted");
        assert_eq!(chief["expectReply"], true);
        assert_eq!(chief["sendTo"]["imip"], "mailto:chief@town.example");
        assert_eq!(
            e["recurrenceRules"][0],
            json!({
                "@type": "RecurrenceRule", "frequency": "weekly", "count": 10,
                "byDay": [{"@type": "NDay", "day": "mo"},
                          {"@type": "NDay", "day": "fr", "nthOfPeriod": -1}],
            })
        );
        assert_eq!(
            e["alerts"]["a1"]["trigger"],
            json!({"@type": "OffsetTrigger", "offset": "-PT15M"})
        );
        let overrides = &e["recurrenceOverrides"];
        assert_eq!(overrides["2026-12-07T09:00:00"], json!({"excluded": true}));
        // The moved instance carries only what differs from the master.
        assert_eq!(
            overrides["2026-12-14T09:00:00"],
            json!({"start": "2026-12-14T10:00:00"})
        );
    }

    #[test]
    fn all_day_and_utc_events() {
        let text = "BEGIN:VEVENT\r\nUID:a\r\nDTSTART;VALUE=DATE:20261224\r\n\
            DTEND;VALUE=DATE:20261225\r\nTRANSP:TRANSPARENT\r\nEND:VEVENT\r\n\
            BEGIN:VEVENT\r\nUID:b\r\nDTSTART:20261224T100000Z\r\nDURATION:PT2H\r\nEND:VEVENT\r\n";
        let items = calendar_items_from_ical(text, 1).unwrap();
        let day = event(&items[0]);
        assert_eq!(day["showWithoutTime"], true);
        assert_eq!(day["duration"], "P1D");
        assert_eq!(day["timeZone"], Value::Null);
        assert_eq!(day["freeBusyStatus"], "free");
        let utc = event(&items[1]);
        assert_eq!(utc["timeZone"], "Etc/UTC");
        assert_eq!(utc["duration"], "PT2H");
    }
}
