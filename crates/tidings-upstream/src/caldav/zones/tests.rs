use super::complete;
use tidings::proto::{CalendarEvent, CalendarItem, CalendarTime, TimeZone};

fn at(value: &str, tzid: &str) -> CalendarTime {
    CalendarTime {
        value: value.into(),
        tzid: tzid.into(),
        ..CalendarTime::default()
    }
}

fn event(start: CalendarTime, end: CalendarTime) -> CalendarEvent {
    CalendarEvent {
        uid: "phone-1".into(),
        start: Some(start),
        end: Some(end),
        ..CalendarEvent::default()
    }
}

#[test]
fn each_zone_used_gets_one_definition() {
    let mut item = CalendarItem {
        master: Some(event(
            at("20261201T090000", "Europe/Berlin"),
            at("20261201T100000", "America/New_York"),
        )),
        overrides: vec![CalendarEvent {
            recurrence_id: Some(at("20261208T090000", "Europe/Berlin")),
            exdates: vec![at("20261215T090000", "W. Europe Standard Time")],
            ..event(
                at("20261208T110000", "Europe/Berlin"),
                at("20261208T120000", "Europe/Berlin"),
            )
        }],
        ..CalendarItem::default()
    };
    complete(&mut item);
    let tzids: Vec<&str> = item.timezones.iter().map(|z| z.tzid.as_str()).collect();
    assert_eq!(
        tzids,
        [
            "Europe/Berlin",
            "America/New_York",
            "W. Europe Standard Time"
        ]
    );
    let windows = &item.timezones[2].vtimezone;
    assert!(
        windows.starts_with("BEGIN:VTIMEZONE\r\nTZID:W. Europe Standard Time\r\n"),
        "{windows}"
    );
    assert!(
        windows.contains("TZOFFSETTO:+0200"),
        "Berlin's rules: {windows}"
    );
    let start = item.master.as_ref().and_then(|e| e.start.as_ref());
    assert_eq!(start, Some(&at("20261201T090000", "Europe/Berlin")));
}

#[test]
fn a_zone_the_item_defines_is_kept() {
    let own = TimeZone {
        tzid: "Europe/Berlin".into(),
        vtimezone: "BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\nEND:VTIMEZONE\r\n".into(),
    };
    let mut item = CalendarItem {
        master: Some(event(
            at("20261201T090000", "Europe/Berlin"),
            at("20261201T100000", "Europe/Berlin"),
        )),
        timezones: vec![own.clone()],
        ..CalendarItem::default()
    };
    complete(&mut item);
    assert_eq!(item.timezones, [own]);
}

#[test]
fn a_zone_nobody_defines_is_written_in_utc() {
    let mut item = CalendarItem {
        master: Some(CalendarEvent {
            rdates: vec![at("20261203T090000/PT1H", "Somewhere Time")],
            ..event(
                at("20261201T090000", "Somewhere Time"),
                at("20261201T100000", "Europe/Berlin"),
            )
        }),
        ..CalendarItem::default()
    };
    complete(&mut item);
    let master = item.master.as_ref().expect("master");
    assert_eq!(master.start, Some(at("20261201T090000Z", "")));
    assert_eq!(master.rdates, [at("20261203T090000Z/PT1H", "")]);
    assert_eq!(master.end, Some(at("20261201T100000", "Europe/Berlin")));
    assert_eq!(item.timezones.len(), 1);
}
