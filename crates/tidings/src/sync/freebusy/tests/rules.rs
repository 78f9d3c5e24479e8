//! Rules: all-day, free and tentative, clipping, refusals and limits.

use super::super::time::{self, DAY};
use super::super::*;
use super::{at, busy, ct, event, fb, item};
use crate::proto::Transparency;

#[test]
fn all_day_events_are_utc_days() {
    let one = event("20260310", "", "");
    let two = event("20260320", "20260322", "");
    let got = fb(
        &[item(one, vec![], &[]), item(two, vec![], &[])],
        "20260301T000000Z",
        "20260401T000000Z",
    );
    assert_eq!(
        got,
        Ok(vec![
            busy("20260310T000000Z", "20260311T000000Z"),
            busy("20260320T000000Z", "20260322T000000Z")
        ])
    );
}

#[test]
fn free_tentative_and_zero_length() {
    let mut transparent = event("20260301T100000Z", "20260301T110000Z", "");
    transparent.transparency = Transparency::Transparent as i32;
    let mut cancelled = event("20260301T120000Z", "20260301T130000Z", "");
    cancelled.status = "CANCELLED".into();
    let mut tentative = event("20260301T140000Z", "20260301T170000Z", "");
    tentative.status = "tentative".into();
    let confirmed = event("20260301T150000Z", "20260301T160000Z", "");
    let instant = event("20260301T180000Z", "", "");
    let items: Vec<_> = [transparent, cancelled, tentative, confirmed, instant]
        .into_iter()
        .map(|e| item(e, vec![], &[]))
        .collect();
    let got = fb(&items, "20260301T000000Z", "20260302T000000Z");
    let t = |a, b| (at(a), at(b), true);
    let want = vec![
        t("20260301T140000Z", "20260301T150000Z"),
        busy("20260301T150000Z", "20260301T160000Z"),
        t("20260301T160000Z", "20260301T170000Z"),
    ];
    assert_eq!(got, Ok(want));
}

#[test]
fn cancelled_series_frees_its_overrides() {
    let mut m = event("20260301T100000Z", "20260301T110000Z", "");
    m.status = "CANCELLED".into();
    let mut o = event("20260301T120000Z", "20260301T130000Z", "");
    o.recurrence_id = ct("20260301T100000Z", "");
    assert_eq!(
        fb(
            &[item(m, vec![o], &[])],
            "20260301T000000Z",
            "20260302T000000Z"
        ),
        Ok(vec![])
    );
}

#[test]
fn window_clips_and_merges() {
    let a = event("20260301T230000Z", "20260302T020000Z", "");
    let mut b = event("20260302T010000Z", "", "");
    b.duration = "PT2H".into();
    let got = fb(
        &[item(a, vec![], &[]), item(b, vec![], &[])],
        "20260302T000000Z",
        "20260302T023000Z",
    );
    assert_eq!(got, Ok(vec![busy("20260302T000000Z", "20260302T023000Z")]));
}

#[test]
fn refusals_are_typed() {
    let long = fb(&[], "20260101T000000Z", "20270103T000000Z");
    assert_eq!(long, Err(ErrorKind::InvalidArgument));
    let huge = busy_periods(&[], i64::MIN, i64::MAX).map_err(|e| e.kind());
    assert_eq!(huge, Err(ErrorKind::InvalidArgument));
    assert_eq!(
        fb(&[], "20260102T000000Z", "20260101T000000Z"),
        Err(ErrorKind::InvalidArgument)
    );
    for rule in [
        "FREQ=HOURLY",
        "FREQ=DAILY;BYHOUR=9,10",
        "FREQ=YEARLY;BYWEEKNO=1",
        "FREQ=WEEKLY;BYDAY=1MO",
        "BYDAY=MO",
        "FREQ=DAILY;X-FOO=1",
    ] {
        let mut m = event("20260105T100000Z", "20260105T110000Z", "");
        m.rrule = rule.into();
        let got = fb(
            &[item(m, vec![], &[])],
            "20260101T000000Z",
            "20260201T000000Z",
        );
        assert_eq!(got, Err(ErrorKind::InvalidData), "{rule}");
    }
    let mut m = event("20260105T100000Z", "20260105T110000Z", "");
    m.rrule = "FREQ=DAILY;BYHOUR=10;BYMINUTE=0".into(); // restates DTSTART: accepted
    assert_eq!(
        fb(
            &[item(m, vec![], &[])],
            "20260105T000000Z",
            "20260106T000000Z"
        )
        .map(|v| v.len()),
        Ok(1)
    );
}

#[test]
fn too_many_instances_is_an_error_not_a_truncation() {
    let mut m = event("19900101T100000Z", "19900101T110000Z", "");
    m.rrule = "FREQ=DAILY;COUNT=20000".into();
    let got = fb(
        &[item(m.clone(), vec![], &[])],
        "20260101T000000Z",
        "20260201T000000Z",
    );
    assert_eq!(got, Err(ErrorKind::InvalidData));
    // Without COUNT, expansion skips ahead to the window.
    m.rrule = "FREQ=DAILY".into();
    let got = fb(
        &[item(m, vec![], &[])],
        "20260101T000000Z",
        "20260201T000000Z",
    );
    assert_eq!(got.map(|v| v.len()), Ok(31));
}

#[test]
fn durations_parse() {
    let d = |s| time::parse_duration(s).map(|d| (d.days, d.secs)).ok();
    assert_eq!(d("PT1H"), Some((0, 3600)));
    assert_eq!(d("P1W"), Some((7, 0)));
    assert_eq!(d("+P1DT2H3M4S"), Some((1, 7384)));
    for bad in ["", "P", "PT", "-PT1H", "P1H", "PT1D", "P1", "PT999999999H"] {
        assert_eq!(d(bad), None, "{bad}");
    }
    assert_eq!(time::parse_time("20260229").ok(), None);
    assert_eq!(time::parse_time("20261129T240000").ok(), None);
    assert_eq!(
        time::parse_time("20261129T090000Z").map(|t| t.0).ok(),
        Some(at("20261129T090000Z"))
    );
    assert_eq!(DAY, 86_400);
}

#[test]
fn tzid_without_vtimezone() {
    let paris = item(
        event("20260701T090000", "20260701T100000", "Europe/Paris"),
        vec![],
        &[],
    );
    let got = fb(&[paris], "20260701T000000Z", "20260702T000000Z");
    // With `iana-tz` jiff's tzdb knows Paris; without it the time is read as UTC.
    let hour = if cfg!(feature = "iana-tz") {
        "07"
    } else {
        "09"
    };
    let next = if cfg!(feature = "iana-tz") {
        "08"
    } else {
        "10"
    };
    let want = busy(
        &format!("20260701T{hour}0000Z"),
        &format!("20260701T{next}0000Z"),
    );
    assert_eq!(got, Ok(vec![want]));
}
