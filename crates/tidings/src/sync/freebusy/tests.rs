//! Hand-checked instants for each rule. Times in comments are UTC.

use super::time::parse_time;
use super::*;
use crate::proto::{CalendarEvent, CalendarTime, TimeZone};

mod civil;
mod floating;
mod props;
mod python;
mod robust;
mod rules;
mod vtimezones;

pub(super) const LONDON: &str = "BEGIN:VTIMEZONE\r\nTZID:Europe/London\r\n\
BEGIN:DAYLIGHT\r\nTZOFFSETFROM:+0000\r\nTZOFFSETTO:+0100\r\nTZNAME:BST\r\n\
DTSTART:19810329T010000\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nEND:DAYLIGHT\r\n\
BEGIN:STANDARD\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0000\r\nTZNAME:GMT\r\n\
DTSTART:19961027T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nEND:STANDARD\r\n\
END:VTIMEZONE\r\n";

/// UTC seconds of a basic-form value.
pub(super) fn at(v: &str) -> i64 {
    parse_time(v).map(|(s, _)| s).unwrap_or(i64::MIN)
}

pub(super) fn ct(value: &str, tzid: &str) -> Option<CalendarTime> {
    Some(CalendarTime {
        value: value.into(),
        tzid: tzid.into(),
        params: String::new(),
    })
}

pub(super) fn event(start: &str, end: &str, tzid: &str) -> CalendarEvent {
    let end = if end.is_empty() { None } else { ct(end, tzid) };
    CalendarEvent {
        start: ct(start, tzid),
        end,
        ..Default::default()
    }
}

pub(super) fn item(
    master: CalendarEvent,
    overrides: Vec<CalendarEvent>,
    tz: &[(&str, &str)],
) -> CalendarItem {
    let timezones = tz
        .iter()
        .map(|(id, v)| TimeZone {
            tzid: (*id).into(),
            vtimezone: (*v).into(),
        })
        .collect();
    CalendarItem {
        master: Some(master),
        overrides,
        timezones,
        ..Default::default()
    }
}

/// Busy periods as `(start, end, tentative)`, or the error kind.
pub(super) fn fb(
    items: &[CalendarItem],
    start: &str,
    end: &str,
) -> Result<Vec<(i64, i64, bool)>, ErrorKind> {
    let got = busy_periods(items, at(start), at(end)).map_err(|e| e.kind())?;
    Ok(got.iter().map(|p| (p.start, p.end, p.tentative)).collect())
}

pub(super) fn busy(a: &str, b: &str) -> (i64, i64, bool) {
    (at(a), at(b), false)
}

#[test]
fn london_summer_and_winter() {
    let london = [("Europe/London", LONDON)];
    let summer = item(
        event("20260701T090000", "20260701T100000", "Europe/London"),
        vec![],
        &london,
    );
    let winter = item(
        event("20261201T090000", "20261201T100000", "Europe/London"),
        vec![],
        &london,
    );
    let got = fb(&[summer, winter], "20260101T000000Z", "20261231T000000Z");
    let want = vec![
        busy("20260701T080000Z", "20260701T090000Z"),
        busy("20261201T090000Z", "20261201T100000Z"),
    ];
    assert_eq!(got, Ok(want));
}

#[test]
fn gap_and_fold_use_the_offset_before_the_transition() {
    let zone = match tz::Zone::parse(LONDON, at("20300101T000000Z")).0 {
        Ok(z) => z,
        Err(e) => panic!("{e}"),
    };
    // 2026-03-29 01:30 does not exist in London; 2026-10-25 01:30 happens twice.
    assert_eq!(zone.to_utc(at("20260329T013000")), at("20260329T013000Z"));
    assert_eq!(zone.to_utc(at("20260329T020000")), at("20260329T010000Z"));
    assert_eq!(zone.to_utc(at("20261025T013000")), at("20261025T003000Z"));
    assert_eq!(zone.to_utc(at("20261025T020000")), at("20261025T020000Z"));
    assert_eq!(zone.to_utc(at("19700101T000000")), at("19700101T000000Z"));
}

#[test]
fn weekly_with_exdate_and_override_moved_to_tuesday() {
    // Mondays 10:00-11:00 London from 2026-01-05; 01-12 excluded; 01-19 moved to Tuesday 14:00.
    let mut m = event("20260105T100000", "20260105T110000", "Europe/London");
    m.rrule = "FREQ=WEEKLY;BYDAY=MO".into();
    m.exdates = vec![ct("20260112T100000", "Europe/London").unwrap_or_default()];
    let mut moved = event("20260120T140000", "20260120T150000", "Europe/London");
    moved.recurrence_id = ct("20260119T100000", "Europe/London");
    let it = item(m, vec![moved], &[("Europe/London", LONDON)]);
    let want = vec![
        busy("20260105T100000Z", "20260105T110000Z"),
        busy("20260120T140000Z", "20260120T150000Z"),
        busy("20260126T100000Z", "20260126T110000Z"),
    ];
    assert_eq!(fb(&[it], "20260101T000000Z", "20260201T000000Z"), Ok(want));
}

#[test]
fn override_moves_an_instance_into_and_out_of_the_window() {
    let mut m = event("20260105T100000Z", "20260105T110000Z", "");
    m.rrule = "FREQ=DAILY".into();
    let mut out = event("20260301T100000Z", "20260301T110000Z", "");
    out.recurrence_id = ct("20260110T100000Z", "");
    let mut into = event("20260110T200000Z", "20260110T210000Z", "");
    into.recurrence_id = ct("20260201T100000Z", "");
    let it = item(m, vec![out, into], &[]);
    let want = vec![busy("20260110T200000Z", "20260110T210000Z")];
    assert_eq!(fb(&[it], "20260110T000000Z", "20260110T235959Z"), Ok(want));
}

#[test]
fn monthly_second_tuesday_and_last_weekday() {
    let mut m = event("20260113T120000Z", "20260113T130000Z", "");
    m.rrule = "FREQ=MONTHLY;BYDAY=2TU;COUNT=3".into();
    let want = ["20260113", "20260210", "20260310"]
        .map(|d| busy(&format!("{d}T120000Z"), &format!("{d}T130000Z")));
    assert_eq!(
        fb(
            &[item(m, vec![], &[])],
            "20260101T000000Z",
            "20261231T000000Z"
        ),
        Ok(want.to_vec())
    );
    let mut last = event("20260130T090000Z", "20260130T100000Z", "");
    last.rrule = "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1;UNTIL=20260601".into();
    let got = fb(
        &[item(last, vec![], &[])],
        "20260101T000000Z",
        "20261231T000000Z",
    );
    let days = ["20260130", "20260227", "20260331", "20260430", "20260529"];
    let want = days.map(|d| busy(&format!("{d}T090000Z"), &format!("{d}T100000Z")));
    assert_eq!(got, Ok(want.to_vec()));
}

#[test]
fn count_and_until() {
    let mut m = event("20260101T080000Z", "20260101T090000Z", "");
    m.rrule = "FREQ=WEEKLY;INTERVAL=2;BYDAY=TH;COUNT=2".into();
    let got = fb(
        &[item(m.clone(), vec![], &[])],
        "20251201T000000Z",
        "20261201T000000Z",
    );
    assert_eq!(
        got,
        Ok(vec![
            busy("20260101T080000Z", "20260101T090000Z"),
            busy("20260115T080000Z", "20260115T090000Z")
        ])
    );
    m.rrule = "FREQ=YEARLY;UNTIL=20280101T080000Z".into();
    let got = fb(
        &[item(m, vec![], &[])],
        "20270101T000000Z",
        "20280102T000000Z",
    );
    assert_eq!(
        got,
        Ok(vec![
            busy("20270101T080000Z", "20270101T090000Z"),
            busy("20280101T080000Z", "20280101T090000Z")
        ])
    );
}
