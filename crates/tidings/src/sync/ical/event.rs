//! One VEVENT (with its VALARMs) into a [`CalendarEvent`].
//!
//! The rule that makes the mapping lossless: a property goes into a modelled
//! field only when that field can hold it exactly and can tell it from
//! absence (a non-empty value, the first occurrence, parameters the model
//! knows or keeps verbatim beside it). Anything else is kept verbatim in
//! `other`, in order, and written back as it came.

use super::line::{ContentLine, Param, lex};
use super::props::{TRANSP, attendee, lookup, organizer, time, times};
use super::tree::Component;
use super::value::{is_duration, is_utc_date_time, unescape_text};
use crate::error::{Error, ErrorKind, Result};
use crate::proto::{Alarm, CalendarEvent, CalendarTime, RawProperty};

/// Converts a VEVENT component, refusing one without UID or DTSTART.
pub(crate) fn event(component: &Component<'_>) -> Result<CalendarEvent> {
    let mut event = CalendarEvent::default();
    for line in component.properties() {
        let line = line?;
        if !model(&mut event, &line) {
            event.other.push(raw(&line));
        }
    }
    for child in &component.children {
        if child.is("VALARM") {
            event.alarms.push(alarm(child)?);
        } else {
            event.components.push(child.verbatim()?);
        }
    }
    let invalid = |reason| Err(Error::new(ErrorKind::InvalidData, reason));
    let kept = |name| {
        event
            .other
            .iter()
            .any(|p| p.name.eq_ignore_ascii_case(name))
    };
    if event.uid.is_empty() {
        return match kept("UID") {
            true => invalid("VEVENT UID is empty or has parameters"),
            false => invalid("VEVENT has no UID"),
        };
    }
    if event.start.is_none() {
        return match kept("DTSTART") {
            true => invalid("VEVENT DTSTART is not a valid DATE or DATE-TIME"),
            false => invalid("VEVENT has no DTSTART"),
        };
    }
    if event.recurrence_id.is_none() && kept("RECURRENCE-ID") {
        // Kept verbatim it would turn an override into a second master.
        return invalid("VEVENT RECURRENCE-ID is not a valid DATE or DATE-TIME");
    }
    Ok(event)
}

/// Puts `line` into the event's modelled fields; false when they cannot hold it.
fn model(event: &mut CalendarEvent, line: &ContentLine<'_>) -> bool {
    let plain = line.params.is_empty();
    let value = line.value;
    match line.name.to_ascii_uppercase().as_str() {
        "UID" => plain && set(&mut event.uid, value),
        "SUMMARY" => set_text(&mut event.summary, &mut event.summary_params, line),
        "LOCATION" => set_text(&mut event.location, &mut event.location_params, line),
        "DESCRIPTION" => set_text(&mut event.description, &mut event.description_params, line),
        "DTSTART" => set_time(&mut event.start, line),
        "DTEND" => set_time(&mut event.end, line),
        "RECURRENCE-ID" => set_time(&mut event.recurrence_id, line),
        "DURATION" => plain && is_duration(value) && set(&mut event.duration, value),
        // Its parameters are other-param only (Evolution's
        // X-EVOLUTION-ENDDATE, Lotus Notes' TZID): the rule is what counts,
        // and they are kept beside it, to be written back.
        "RRULE" => {
            let fits = set(&mut event.rrule, value);
            if fits {
                line.params_raw.clone_into(&mut event.rrule_params);
            }
            fits
        }
        "STATUS" => plain && set(&mut event.status, value),
        // `VALUE=DATE-TIME` says what the form says (Radicale's and ical.net's
        // writers add it): modelled, and written without it.
        "DTSTAMP" => {
            let value_param = |p: &Param<'_>| {
                p.is("VALUE")
                    && p.single()
                        .is_some_and(|v| v.eq_ignore_ascii_case("DATE-TIME"))
            };
            let params_ok = line.params.iter().all(value_param);
            params_ok && is_utc_date_time(value) && set(&mut event.dtstamp, value)
        }
        "SEQUENCE" => plain && event.sequence == 0 && set_sequence(&mut event.sequence, value),
        "TRANSP" => match lookup(TRANSP, value) {
            Some(t) if plain && event.transparency == 0 => {
                event.set_transparency(t);
                true
            }
            _ => false,
        },
        "EXDATE" => times(line, false)
            .map(|t| event.exdates.extend(t))
            .is_some(),
        "RDATE" => times(line, true).map(|t| event.rdates.extend(t)).is_some(),
        "ORGANIZER" if event.organizer.is_none() => match organizer(line) {
            Some((address, uri, params)) => {
                event.organizer = Some(address);
                event.organizer_uri = uri;
                event.organizer_params = params;
                true
            }
            None => false,
        },
        "ATTENDEE" => attendee(line).map(|a| event.attendees.push(a)).is_some(),
        _ => false,
    }
}

/// Sets an unset string field to a non-empty value.
fn set(field: &mut String, value: &str) -> bool {
    let fits = field.is_empty() && !value.is_empty();
    if fits {
        value.clone_into(field);
    }
    fits
}

/// Sets an unset TEXT field (unescaped) and its parameters.
fn set_text(field: &mut String, params: &mut String, line: &ContentLine<'_>) -> bool {
    let fits = set(field, &unescape_text(line.value));
    if fits {
        line.params_raw.clone_into(params);
    }
    fits
}

/// Sets an unset time field, from the line as written or, failing that, as
/// [`repaired`].
fn set_time(field: &mut Option<CalendarTime>, line: &ContentLine<'_>) -> bool {
    if field.is_some() {
        return false;
    }
    *field = time(line).or_else(|| {
        let text = repaired(line)?;
        time(&lex(&text).ok()?)
    });
    field.is_some()
}

/// A time line as its writer meant it, when it is malformed in one of two
/// ways real exporters have: white space around the value
/// (`DTSTART:20261203T090000 `) or an empty `TZID=` (a floating time whose
/// zone the writer did not know). Without this the event had no start and
/// was refused. The repaired line is what the item holds and writes back.
fn repaired(line: &ContentLine<'_>) -> Option<String> {
    let empty_tzid = |p: &Param<'_>| p.is("TZID") && p.values.iter().all(|v| v.is_empty());
    let value = line.value.trim_matches([' ', '\t']);
    if value.len() == line.value.len() && !line.params.iter().any(empty_tzid) {
        return None;
    }
    let mut text = line.name.to_owned();
    for param in line.params.iter().filter(|p| !empty_tzid(p)) {
        text.push(';');
        text.push_str(param.raw);
    }
    text.push(':');
    text.push_str(value);
    Some(text)
}

/// SEQUENCE in canonical form and above zero (zero could not be told from
/// absence, so "SEQUENCE:0" stays verbatim).
fn set_sequence(field: &mut u32, value: &str) -> bool {
    match value.parse::<u32>() {
        Ok(n) if n > 0 && n.to_string() == value => {
            *field = n;
            true
        }
        _ => false,
    }
}

/// Converts a VALARM: ACTION, TRIGGER (with its parameters) and DESCRIPTION.
fn alarm(component: &Component<'_>) -> Result<Alarm> {
    let mut alarm = Alarm::default();
    for line in component.properties() {
        let line = line?;
        let plain = line.params.is_empty();
        let modelled = match line.name.to_ascii_uppercase().as_str() {
            "ACTION" => plain && set(&mut alarm.action, line.value),
            "TRIGGER" => {
                let fits = set(&mut alarm.trigger, line.value);
                if fits {
                    line.params_raw.clone_into(&mut alarm.trigger_params);
                }
                fits
            }
            "DESCRIPTION" => plain && set(&mut alarm.description, &unescape_text(line.value)),
            _ => false,
        };
        if !modelled {
            alarm.other.push(raw(&line));
        }
    }
    for child in &component.children {
        alarm.components.push(child.verbatim()?);
    }
    Ok(alarm)
}

/// A property kept as written.
fn raw(line: &ContentLine<'_>) -> RawProperty {
    RawProperty {
        name: line.name.to_owned(),
        params: line.params_raw.to_owned(),
        value: line.value.to_owned(),
    }
}
