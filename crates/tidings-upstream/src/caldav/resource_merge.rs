//! A device's change written into the upstream's own resource, not over it.
//!
//! The item the core writes (`calendar_item_to_ical`) holds the resource's
//! events and the zones they use, and nothing else the mirror did not model:
//! written as it is, an update dropped what else the resource held: its
//! VCALENDAR properties (Apple's `X-CALENDARSERVER-ACCESS:CONFIDENTIAL`,
//! so a device's answer made a private event public to everyone sharing
//! the calendar), a VTODO stored beside the event (Xandikos takes such a
//! resource), and zones no event uses. So the resource as the upstream
//! holds it is read again, and only its VEVENTs are replaced by the
//! written ones (with any zone they need that it lacks); the rest stays
//! byte for byte.

/// One physical line's place in the text: its content, without line end.
type Line<'a> = &'a str;

/// A component directly inside the VCALENDAR, as its physical lines.
struct Component<'a> {
    /// Its name, upper-cased (`VEVENT`, `VTIMEZONE`, `VTODO`, …).
    name: String,
    lines: Vec<Line<'a>>,
}

/// A VCALENDAR cut into its own properties and its components.
struct Calendar<'a> {
    properties: Vec<Line<'a>>,
    components: Vec<Component<'a>>,
}

/// The name after `BEGIN:` or `END:` on `line`, upper-cased.
fn delimiter(line: &str, keyword: &str) -> Option<String> {
    let (head, name) = line.split_once(':')?;
    head.eq_ignore_ascii_case(keyword)
        .then(|| name.trim().to_ascii_uppercase())
}

/// Reads `text` as one VCALENDAR; `None` for anything else (more than one,
/// components not closed), which is then not merged.
fn cut(text: &str) -> Option<Calendar<'_>> {
    let mut calendar = Calendar {
        properties: Vec::new(),
        components: Vec::new(),
    };
    let (mut opened, mut closed) = (false, false);
    let mut current: Option<(Component<'_>, usize)> = None;
    for line in text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)) {
        let folded = line.starts_with([' ', '\t']);
        if let Some((component, depth)) = &mut current {
            component.lines.push(line);
            if !folded {
                if delimiter(line, "BEGIN").is_some() {
                    *depth += 1;
                } else if delimiter(line, "END").is_some() {
                    *depth -= 1;
                }
            }
            if *depth == 0 {
                calendar.components.extend(current.take().map(|(c, _)| c));
            }
            continue;
        }
        if line.trim().is_empty() && !folded {
            continue;
        }
        match (folded, delimiter(line, "BEGIN"), delimiter(line, "END")) {
            (false, Some(name), _) if name == "VCALENDAR" => {
                if opened {
                    return None;
                }
                opened = true;
            }
            (false, Some(name), _) if opened && !closed => {
                let lines = vec![line];
                current = Some((Component { name, lines }, 1));
            }
            (false, _, Some(name)) if name == "VCALENDAR" && opened && !closed => closed = true,
            _ if opened && !closed => calendar.properties.push(line),
            // Anything outside the VCALENDAR.
            _ => return None,
        }
    }
    (opened && closed && current.is_none()).then_some(calendar)
}

/// The TZID a VTIMEZONE defines (its folded lines joined).
fn tzid(zone: &Component<'_>) -> Option<String> {
    let mut lines = zone.lines.iter();
    let mut value = None;
    while let Some(line) = lines.next() {
        let Some((head, rest)) = line.split_once(':') else {
            continue;
        };
        let name = head.split(';').next().unwrap_or(head);
        if name.eq_ignore_ascii_case("TZID") {
            let mut whole = rest.to_owned();
            for more in lines.by_ref() {
                match more.strip_prefix([' ', '\t']) {
                    Some(continued) => whole.push_str(continued),
                    None => break,
                }
            }
            value = Some(whole);
            break;
        }
    }
    value
}

/// `written` (the item's events, as the gateway would `PUT` them) merged
/// into `upstream` (the resource as the upstream holds it): the upstream's
/// VCALENDAR properties and components are kept, in their order, except
/// its VEVENTs, whose place the written VEVENTs take, preceded by any zone
/// they define that the upstream lacks. `None` when either is not one
/// VCALENDAR, or `upstream` holds no VEVENT: `written` then goes as it is.
pub(crate) fn merge(upstream: &str, written: &str) -> Option<String> {
    let kept = cut(upstream)?;
    let new = cut(written)?;
    if !kept.components.iter().any(|c| c.name == "VEVENT") {
        return None;
    }
    let defined: Vec<String> = kept
        .components
        .iter()
        .filter(|c| c.name == "VTIMEZONE")
        .filter_map(tzid)
        .collect();
    let mut lines: Vec<Line<'_>> = vec!["BEGIN:VCALENDAR"];
    lines.extend(&kept.properties);
    let mut events_written = false;
    for component in &kept.components {
        if component.name != "VEVENT" {
            lines.extend(&component.lines);
            continue;
        }
        if std::mem::replace(&mut events_written, true) {
            continue;
        }
        for zone in new.components.iter().filter(|c| c.name == "VTIMEZONE") {
            if tzid(zone).is_none_or(|id| !defined.contains(&id)) {
                lines.extend(&zone.lines);
            }
        }
        for event in new.components.iter().filter(|c| c.name == "VEVENT") {
            lines.extend(&event.lines);
        }
    }
    lines.push("END:VCALENDAR");
    let mut text = lines.join("\r\n");
    text.push_str("\r\n");
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::merge;

    const UPSTREAM: &str = "BEGIN:VCALENDAR\r\n\
        VERSION:2.0\r\n\
        PRODID:-//Apple Inc.//iCal 5.0.3//EN\r\n\
        CALSCALE:GREGORIAN\r\n\
        X-CALENDARSERVER-ACCESS:CONFIDENTIAL\r\n\
        BEGIN:VTIMEZONE\r\n\
        TZID:Europe/Unused\r\n\
        BEGIN:STANDARD\r\n\
        DTSTART:19701025T030000\r\n\
        TZOFFSETFROM:+0200\r\n\
        TZOFFSETTO:+0100\r\n\
        END:STANDARD\r\n\
        END:VTIMEZONE\r\n\
        BEGIN:VEVENT\r\n\
        UID:private-1\r\n\
        SUMMARY:Before\r\n\
        ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:mayor@example.org\r\n\
        END:VEVENT\r\n\
        BEGIN:VEVENT\r\n\
        UID:private-1\r\n\
        RECURRENCE-ID:20270101T100000Z\r\n\
        SUMMARY:Moved\r\n\
        END:VEVENT\r\n\
        BEGIN:VTODO\r\n\
        UID:private-1\r\n\
        SUMMARY:Prepare the slides\r\n\
        END:VTODO\r\n\
        END:VCALENDAR\r\n";

    const WRITTEN: &str = "BEGIN:VCALENDAR\r\n\
        VERSION:2.0\r\n\
        PRODID:-//Tidings//Tidings//EN\r\n\
        BEGIN:VTIMEZONE\r\n\
        TZID:Europe/Paris\r\n\
        BEGIN:STANDARD\r\n\
        DTSTART:19701025T030000\r\n\
        TZOFFSETFROM:+0200\r\n\
        TZOFFSETTO:+0100\r\n\
        END:STANDARD\r\n\
        END:VTIMEZONE\r\n\
        BEGIN:VEVENT\r\n\
        UID:private-1\r\n\
        SUMMARY:After\r\n\
        ATTENDEE;PARTSTAT=ACCEPTED:mailto:mayor@example.org\r\n\
        END:VEVENT\r\n\
        END:VCALENDAR\r\n";

    #[test]
    fn only_the_events_are_replaced_and_the_rest_is_kept_byte_for_byte() {
        let merged = merge(UPSTREAM, WRITTEN).expect("merged");
        for kept in [
            "PRODID:-//Apple Inc.//iCal 5.0.3//EN\r\n",
            "CALSCALE:GREGORIAN\r\n",
            "X-CALENDARSERVER-ACCESS:CONFIDENTIAL\r\n",
            "TZID:Europe/Unused\r\n",
            "BEGIN:VTODO\r\nUID:private-1\r\nSUMMARY:Prepare the slides\r\nEND:VTODO\r\n",
        ] {
            assert!(merged.contains(kept), "{kept} kept: {merged}");
        }
        for gone in ["SUMMARY:Before", "SUMMARY:Moved", "NEEDS-ACTION", "Tidings"] {
            assert!(!merged.contains(gone), "{gone} replaced: {merged}");
        }
        assert!(merged.contains("PARTSTAT=ACCEPTED"), "{merged}");
        assert!(merged.contains("TZID:Europe/Paris"), "the zone it needs");
        assert_eq!(merged.matches("BEGIN:VEVENT").count(), 1, "{merged}");
        assert!(merged.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"));
        assert!(
            merged.ends_with("END:VTODO\r\nEND:VCALENDAR\r\n"),
            "order kept"
        );
        let zone_before_event = merged.find("TZID:Europe/Paris") < merged.find("BEGIN:VEVENT");
        assert!(zone_before_event, "{merged}");
    }

    #[test]
    fn a_zone_the_upstream_defines_is_not_written_twice() {
        let written = WRITTEN.replace("Europe/Paris", "Europe/Unused");
        let merged = merge(UPSTREAM, &written).expect("merged");
        assert_eq!(merged.matches("BEGIN:VTIMEZONE").count(), 1, "{merged}");
    }

    #[test]
    fn folded_lines_and_lower_case_delimiters_are_read() {
        let upstream = UPSTREAM
            .replace("X-CALENDARSERVER-ACCESS:CONFIDENTIAL", "X-LONG:abc\r\n def")
            .replace("BEGIN:VTODO", "begin:vtodo")
            .replace("END:VTODO", "end:VTODO");
        let merged = merge(&upstream, WRITTEN).expect("merged");
        assert!(merged.contains("X-LONG:abc\r\n def\r\n"), "{merged}");
        assert!(merged.contains("begin:vtodo"), "{merged}");
    }

    #[test]
    fn what_is_not_one_calendar_with_events_is_not_merged() {
        let two = format!("{UPSTREAM}{UPSTREAM}");
        assert_eq!(merge(&two, WRITTEN), None);
        assert_eq!(merge("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n", WRITTEN), None);
        let no_events = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n";
        assert_eq!(merge(no_events, WRITTEN), None);
        assert_eq!(merge(UPSTREAM, "not a calendar"), None);
    }
}
