use super::vtimezone;
use tidings::proto::{CalendarEvent, CalendarItem, CalendarTime, TimeZone};
use tidings::sync::freebusy::busy_periods;

/// The UTC second the core reads `local` (basic form) in `zone` as, with
/// `vtimezone` the only definition.
fn read(vtimezone: &str, tzid: &str, local: &str, near: i64) -> i64 {
    let time = |value: &str| CalendarTime {
        value: value.into(),
        tzid: tzid.into(),
        ..CalendarTime::default()
    };
    let mut end = local.to_owned();
    end.replace_range(9..11, "13");
    let item = CalendarItem {
        master: Some(CalendarEvent {
            uid: "z".into(),
            start: Some(time(local)),
            end: Some(time(&end)),
            ..CalendarEvent::default()
        }),
        timezones: vec![TimeZone {
            tzid: tzid.into(),
            vtimezone: vtimezone.into(),
        }],
        ..CalendarItem::default()
    };
    let periods = busy_periods(&[item], near - 2 * 86_400, near + 2 * 86_400).expect("read");
    periods.first().expect("one period").start
}

#[test]
fn the_zone_rules_become_yearly_observances() {
    let berlin = vtimezone("Europe/Berlin", "Europe/Berlin", 2026).expect("known");
    assert!(berlin.starts_with("BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\n"));
    assert!(
        berlin.contains(
            "BEGIN:DAYLIGHT\r\nDTSTART:20250330T020000\r\n\
             RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nTZOFFSETFROM:+0100\r\n\
             TZOFFSETTO:+0200\r\nTZNAME:CEST\r\nEND:DAYLIGHT\r\n"
        ),
        "{berlin}"
    );
    assert!(
        berlin.contains("DTSTART:20251026T030000\r\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU"),
        "{berlin}"
    );
    assert_eq!(berlin.matches("BEGIN:").count(), 3, "{berlin}");
    let new_york = vtimezone("America/New_York", "America/New_York", 2026).expect("known");
    assert!(new_york.contains("BYMONTH=3;BYDAY=2SU"), "{new_york}");
    assert!(new_york.contains("BYMONTH=11;BYDAY=1SU"), "{new_york}");
    let tokyo = vtimezone("Asia/Tokyo", "Asia/Tokyo", 2026).expect("known");
    assert!(
        tokyo.contains("TZOFFSETFROM:+0900\r\nTZOFFSETTO:+0900\r\n"),
        "{tokyo}"
    );
    assert_eq!(vtimezone("Mars/Olympus", "Mars/Olympus", 2026), None);
}

#[test]
fn every_local_time_reads_as_the_tz_database_has_it() {
    // Northern and southern rules, "Friday before the last Sunday"
    // (Jerusalem), half hours, DST abolished (Sao Paulo 2019, Moscow 2014,
    // Istanbul 2016, after years of EU rules), and a zone of irregular
    // rules (Casablanca).
    let zones = [
        "Europe/Berlin",
        "America/New_York",
        "Australia/Sydney",
        "Asia/Jerusalem",
        "Asia/Kolkata",
        "America/Sao_Paulo",
        "Europe/Moscow",
        "Africa/Casablanca",
        "Australia/Lord_Howe",
        "Europe/Istanbul",
    ];
    for zone in zones {
        let text = vtimezone(zone, zone, 2012).expect("known");
        let tz = jiff::tz::db().get(zone).expect("zone");
        for year in (2012..=2060).step_by(3) {
            for month in 1..=12 {
                for day in [1, 15, 28] {
                    let civil = jiff::civil::date(year, month, day).at(12, 0, 0, 0);
                    let expected = tz
                        .to_ambiguous_timestamp(civil)
                        .compatible()
                        .expect("in range")
                        .as_second();
                    let local = format!("{year:04}{month:02}{day:02}T120000");
                    let got = read(&text, zone, &local, expected);
                    assert_eq!(got, expected, "{zone} {local}:\n{text}");
                }
            }
        }
    }
}
