//! Calendar items into iCalendar text: CRLF line ends, lines folded at 75
//! octets, modelled properties first and verbatim ones after them.
//!
//! Items may come from a device, so nothing in one can break the structure:
//! values lose any CR or LF, verbatim parameters and properties are written
//! only when they read back as themselves, and verbatim components only when
//! they are exactly one well-formed component.

use super::line::{is_name, lex_params, unfold};
use super::props::{PARTSTAT, ROLE, TRANSP, name_of};
use super::tree::components;
use super::value::{TimeKind, encode_param, escape_text};
use crate::proto::{Alarm, Attendee, CalendarEvent, CalendarItem, CalendarTime, RawProperty};

/// Longest line in octets, not counting CRLF (RFC 5545 §3.1).
const FOLD_AT: usize = 75;

/// See [`calendar_item_to_ical`](super::calendar_item_to_ical).
pub(crate) fn write(item: &CalendarItem) -> String {
    let mut w = Writer::default();
    w.line("BEGIN:VCALENDAR");
    w.line("VERSION:2.0");
    w.line("PRODID:-//Tidings//Tidings//EN");
    w.plain("X-WR-TIMEZONE", &item.floating_tzid);
    for zone in &item.timezones {
        w.component(&zone.vtimezone, Some("VTIMEZONE"));
    }
    for event in item.master.iter().chain(&item.overrides) {
        w.event(event);
    }
    w.line("END:VCALENDAR");
    w.out
}

#[derive(Default)]
struct Writer {
    out: String,
}

impl Writer {
    /// Appends one content line, folded.
    fn line(&mut self, line: &str) {
        let mut width = 0;
        for c in line.chars() {
            if width + c.len_utf8() > FOLD_AT {
                self.out.push_str("\r\n ");
                width = 1;
            }
            self.out.push(c);
            width += c.len_utf8();
        }
        self.out.push_str("\r\n");
    }

    /// Appends `name`, its parameters (each "NAME=value") and a value that
    /// holds no line break.
    fn property<S: AsRef<str>>(&mut self, name: &str, params: &[S], value: &str) {
        let mut line = String::from(name);
        for param in params.iter().map(AsRef::as_ref).filter(|p| !p.is_empty()) {
            line.push(';');
            line.push_str(param);
        }
        line.push(':');
        line.push_str(&clean(value));
        self.line(&line);
    }

    /// A property without parameters, written only when it has a value.
    fn plain(&mut self, name: &str, value: &str) {
        if !value.is_empty() {
            self.property::<&str>(name, &[], value);
        }
    }

    /// A TEXT property with its verbatim parameters.
    fn text(&mut self, name: &str, params: &str, text: &str) {
        if !text.is_empty() {
            self.property(name, &[verbatim_params(params)], &escape_text(text));
        }
    }

    fn event(&mut self, event: &CalendarEvent) {
        self.line("BEGIN:VEVENT");
        self.plain("UID", &event.uid);
        self.plain("DTSTAMP", &event.dtstamp);
        if event.sequence > 0 {
            self.plain("SEQUENCE", &event.sequence.to_string());
        }
        self.times("RECURRENCE-ID", event.recurrence_id.as_slice());
        self.times("DTSTART", event.start.as_slice());
        self.times("DTEND", event.end.as_slice());
        self.plain("DURATION", &event.duration);
        if !event.rrule.is_empty() {
            let params = [verbatim_params(&event.rrule_params)];
            self.property("RRULE", &params, &event.rrule);
        }
        self.times("RDATE", &event.rdates);
        self.times("EXDATE", &event.exdates);
        self.text("SUMMARY", &event.summary_params, &event.summary);
        self.text("LOCATION", &event.location_params, &event.location);
        self.text("DESCRIPTION", &event.description_params, &event.description);
        self.plain("STATUS", &event.status);
        self.plain("TRANSP", name_of(TRANSP, event.transparency).unwrap_or(""));
        if let Some(organizer) = &event.organizer {
            let params = [
                common_name(&organizer.name),
                verbatim_params(&event.organizer_params),
            ];
            let value = user_value(&event.organizer_uri, &organizer.email);
            self.property("ORGANIZER", &params, &value);
        }
        for attendee in &event.attendees {
            self.attendee(attendee);
        }
        self.raw(&event.other);
        for alarm in &event.alarms {
            self.alarm(alarm);
        }
        for component in &event.components {
            self.component(component, None);
        }
        self.line("END:VEVENT");
    }

    /// Times, consecutive ones with the same parameters and form on one line.
    fn times(&mut self, name: &str, times: &[CalendarTime]) {
        let same = |a: &CalendarTime, b: &CalendarTime| {
            a.tzid == b.tzid
                && a.params == b.params
                && TimeKind::of(&a.value) == TimeKind::of(&b.value)
        };
        for group in times.chunk_by(same) {
            let Some(first) = group.first() else { continue };
            let mut params = Vec::new();
            if !first.tzid.is_empty() {
                params.push(format!("TZID={}", encode_param(&first.tzid)));
            }
            match TimeKind::of(&first.value) {
                TimeKind::Date => params.push("VALUE=DATE".to_owned()),
                TimeKind::Period => params.push("VALUE=PERIOD".to_owned()),
                TimeKind::DateTime => {}
            }
            params.push(verbatim_params(&first.params));
            let values: Vec<&str> = group.iter().map(|t| t.value.as_str()).collect();
            self.property(name, &params, &values.join(","));
        }
    }

    fn attendee(&mut self, attendee: &Attendee) {
        let address = attendee.address.clone().unwrap_or_default();
        let mut params = vec![common_name(&address.name)];
        if let Some(role) = name_of(ROLE, attendee.role) {
            params.push(format!("ROLE={role}"));
        }
        if let Some(status) = name_of(PARTSTAT, attendee.status) {
            params.push(format!("PARTSTAT={status}"));
        }
        if attendee.rsvp {
            params.push("RSVP=TRUE".to_owned());
        }
        params.push(verbatim_params(&attendee.other_params));
        let value = user_value(&attendee.uri, &address.email);
        self.property("ATTENDEE", &params, &value);
    }

    fn alarm(&mut self, alarm: &Alarm) {
        self.line("BEGIN:VALARM");
        self.plain("ACTION", &alarm.action);
        if !alarm.trigger.is_empty() {
            let params = [verbatim_params(&alarm.trigger_params)];
            self.property("TRIGGER", &params, &alarm.trigger);
        }
        self.text("DESCRIPTION", "", &alarm.description);
        self.raw(&alarm.other);
        for component in &alarm.components {
            self.component(component, None);
        }
        self.line("END:VALARM");
    }

    /// Verbatim properties that are well formed; BEGIN and END are refused so
    /// that no property can open or close a component.
    fn raw(&mut self, properties: &[RawProperty]) {
        for p in properties {
            let structural =
                p.name.eq_ignore_ascii_case("BEGIN") || p.name.eq_ignore_ascii_case("END");
            if is_name(&p.name) && !structural && params_ok(&p.params) {
                self.property(&p.name, &[p.params.as_str()], &p.value);
            }
        }
    }

    /// A verbatim component, when it is exactly one well-formed component
    /// (called `expected`, if given).
    fn component(&mut self, text: &str, expected: Option<&str>) {
        let Ok(unfolded) = unfold(text) else { return };
        let lines: Vec<&str> = unfolded.split('\n').collect();
        let Ok(roots) = components(&lines) else {
            return;
        };
        let [root] = roots.as_slice() else { return };
        if expected.is_none_or(|name| root.is(name)) && root.verbatim().is_ok() {
            for line in root.lines {
                self.line(line);
            }
        }
    }
}

/// A calendar user's value: its URI when it has one (the address is then
/// its EMAIL parameter, written among the verbatim ones), else `mailto:`.
fn user_value(uri: &str, email: &str) -> String {
    match uri {
        "" => format!("mailto:{email}"),
        uri => uri.to_owned(),
    }
}

/// A CN parameter, or "" for no name.
fn common_name(name: &str) -> String {
    match name {
        "" => String::new(),
        name => format!("CN={}", encode_param(name)),
    }
}

/// Verbatim parameters when they are a well-formed list, else none.
fn verbatim_params(params: &str) -> String {
    match params_ok(params) {
        true => params.to_owned(),
        false => String::new(),
    }
}

/// Whether `params` is a parameter list that fits on one line.
fn params_ok(params: &str) -> bool {
    !params.contains(['\r', '\n']) && lex_params(params).is_some()
}

/// A value without the line breaks it cannot hold.
fn clean(value: &str) -> String {
    value
        .chars()
        .filter(|c| !matches!(c, '\r' | '\n'))
        .collect()
}
