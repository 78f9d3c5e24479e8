//! Floating times beside a zoned DTSTART, and overrides of excluded
//! instances, as real writers leave them (an outside hunt through 618
//! calendars: Thunderbird's floating DTEND in 47 of them).

use super::*;

fn london() -> [(&'static str, &'static str); 1] {
    [("Europe/London", LONDON)]
}

/// Thunderbird: `DTSTART;TZID=…:…T180000` then `DTEND:…T190000`. Read as
/// UTC the hour in London's summer was two hours busy.
#[test]
fn a_floating_end_is_read_in_the_zone_of_its_start() {
    let mut master = event("20260701T180000", "", "Europe/London");
    master.end = ct("20260701T190000", "");
    let items = [item(master, vec![], &london())];
    let got = fb(&items, "20260701T000000Z", "20260702T000000Z");
    assert_eq!(got, Ok(vec![busy("20260701T170000Z", "20260701T180000Z")]));
}

/// Outlook: a weekly series in a zone, its deleted week as a floating
/// EXDATE meaning the same wall-clock time.
#[test]
fn a_floating_exdate_excludes_the_instance_at_that_local_time() {
    let mut master = event("20260701T180000", "20260701T190000", "Europe/London");
    master.rrule = "FREQ=WEEKLY;COUNT=3".into();
    master.exdates = ct("20260708T180000", "").into_iter().collect();
    let items = [item(master, vec![], &london())];
    let got = fb(&items, "20260701T000000Z", "20260801T000000Z");
    assert_eq!(
        got,
        Ok(vec![
            busy("20260701T170000Z", "20260701T180000Z"),
            busy("20260715T170000Z", "20260715T180000Z"),
        ])
    );
}

/// A moved instance later deleted: some clients add the EXDATE and leave
/// the override. The instance does not exist, nor does its override.
#[test]
fn an_override_of_an_excluded_instance_is_not_busy() {
    let mut master = event("20240818T090000Z", "20240818T100000Z", "");
    master.rrule = "FREQ=DAILY;COUNT=3".into();
    master.exdates = ct("20240819T090000Z", "").into_iter().collect();
    let mut moved = event("20240819T140000Z", "20240819T150000Z", "");
    moved.recurrence_id = ct("20240819T090000Z", "");
    let items = [item(master, vec![moved], &[])];
    let got = fb(&items, "20240818T000000Z", "20240821T000000Z");
    assert_eq!(
        got,
        Ok(vec![
            busy("20240818T090000Z", "20240818T100000Z"),
            busy("20240820T090000Z", "20240820T100000Z"),
        ])
    );
}
