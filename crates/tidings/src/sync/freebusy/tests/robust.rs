//! Issue 15, items 3 and 5: one event never fails free/busy, and the zone
//! cases that used to be answered wrongly.

use super::*;
use crate::compress::{PackOptions, pack};
use crate::proto::{Item, RawProperty, item as kind};

fn packed(item: &CalendarItem) -> Vec<u8> {
    let item = Item {
        kind: Some(kind::Kind::Calendar(item.clone())),
    };
    pack(&proto::encode(&item), &PackOptions::default())
}

fn named(mut it: CalendarItem, id: u64, uid: &str) -> CalendarItem {
    it.id = id;
    if let Some(m) = &mut it.master {
        m.uid = uid.into();
    }
    for o in &mut it.overrides {
        o.uid = uid.into();
    }
    it
}

/// Free/busy over the given items, each stored in calendar 5 under its id.
fn answer(items: &[CalendarItem], start: &str, end: &str) -> FreeBusy {
    let bytes: Vec<(u64, Vec<u8>)> = items.iter().map(|i| (i.id, packed(i))).collect();
    let stored: Vec<StoredItem<'_>> = bytes
        .iter()
        .map(|(id, p)| StoredItem {
            calendar_id: 5,
            item_id: *id,
            packed: p,
        })
        .collect();
    match free_busy(&stored, at(start), at(end)) {
        Ok(fb) => fb,
        Err(e) => panic!("free/busy failed as a whole: {e}"),
    }
}

fn periods(fb: &FreeBusy) -> Vec<(i64, i64, bool)> {
    fb.periods
        .iter()
        .map(|p| (p.start, p.end, p.tentative))
        .collect()
}

fn good() -> CalendarItem {
    named(
        item(
            event("20261201T090000Z", "20261201T100000Z", ""),
            vec![],
            &[],
        ),
        1,
        "good",
    )
}

/// Each poisonous shape is left out, counted and named; the good event stays.
fn poisoned_by(bad: CalendarItem, code: ErrorKind) {
    let bad = named(bad, 2, "bad-event");
    assert_eq!(
        fb(
            &[good(), bad.clone()],
            "20261130T000000Z",
            "20261203T000000Z"
        ),
        Err(code),
        "busy_periods stays all or nothing"
    );
    let fb = answer(&[good(), bad], "20261130T000000Z", "20261203T000000Z");
    assert_eq!(
        periods(&fb),
        vec![busy("20261201T090000Z", "20261201T100000Z")]
    );
    assert_eq!(fb.skipped_count, 1);
    assert_eq!(
        fb.skipped,
        vec![SkippedEvent {
            calendar_id: 5,
            item_id: 2,
            uid: "bad-event".into(),
            code: code.code().into(),
        }]
    );
}

#[test]
fn an_event_that_ends_before_it_starts_is_skipped_and_named() {
    poisoned_by(
        item(
            event("20261202T100000Z", "20261202T090000Z", ""),
            vec![],
            &[],
        ),
        ErrorKind::InvalidData,
    );
}

#[test]
fn an_unknown_rrule_part_is_skipped_and_named() {
    let mut m = event("20261202T100000Z", "20261202T110000Z", "");
    m.rrule = "FREQ=DAILY;BYHOUR=9;X-NONSENSE=1".into();
    poisoned_by(item(m, vec![], &[]), ErrorKind::InvalidData);
}

/// A rule no day can match (the 30th of February) with a COUNT walks from
/// DTSTART, day by day: from year 1 it would walk two millennia to reach
/// the window. The days it examines are spent like instances, so it runs
/// out and is skipped instead.
#[test]
fn a_rule_that_never_matches_is_skipped_not_walked_for_ever() {
    let mut m = event("00010101T090000Z", "00010101T100000Z", "");
    let thirtieth = vec!["30"; 128].join(",");
    m.rrule = format!("FREQ=DAILY;COUNT=2;BYMONTH=2;BYMONTHDAY={thirtieth}");
    poisoned_by(item(m, vec![], &[]), ErrorKind::InvalidData);
}

/// 400 items each just under their own budget took 13 s per query: the
/// query has a budget of its own, and the items past it are skipped.
#[test]
fn a_query_stops_expanding_once_its_own_budget_is_spent() {
    // Daily from 2002 with a COUNT: walked from DTSTART, ≈ 9,600 units each.
    let costly = |i: u64| {
        let mut m = event("20020101T090000Z", "20020101T100000Z", "");
        m.rrule = "FREQ=DAILY;COUNT=9000".into();
        named(item(m, vec![], &[]), 100 + i, "costly")
    };
    let few: Vec<CalendarItem> = (0..40).map(costly).collect();
    let fb = answer(&few, "20260801T000000Z", "20260802T000000Z");
    assert_eq!(fb.skipped_count, 0);
    assert_eq!(
        periods(&fb),
        vec![busy("20260801T090000Z", "20260801T100000Z")]
    );

    let mut many: Vec<CalendarItem> = (0..60).map(costly).collect();
    many.push(good());
    let fb = answer(&many, "20260801T000000Z", "20261203T000000Z");
    // 500,000 units run out in the 53rd; the rest, and the cheap one after, are skipped.
    assert_eq!(fb.skipped_count, 8);
    assert!(
        fb.skipped
            .iter()
            .all(|s| s.code == ErrorKind::LimitExceeded.code().into())
    );
    assert_eq!(fb.skipped.last().map(|s| s.item_id), Some(1));
}

/// A VTIMEZONE of `observances` yearly observances since 1601, named `tzid`.
fn zone_of_observances(tzid: &str, observances: usize) -> String {
    let observance = "BEGIN:STANDARD\r\nDTSTART:16010101T000000\r\n\
        RRULE:FREQ=YEARLY\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r\n";
    format!(
        "BEGIN:VTIMEZONE\r\nTZID:{tzid}\r\n{}END:VTIMEZONE\r\n",
        observance.repeat(observances)
    )
}

fn zoned(id: u64, tzid: &str, vtimezone: &str) -> CalendarItem {
    let m = event("20261201T110000", "20261201T120000", tzid);
    named(item(m, vec![], &[(tzid, vtimezone)]), id, "zoned")
}

/// A stranger's invitation carried a VTIMEZONE of thousands of yearly
/// observances: each had an expansion budget of its own, and every
/// free/busy query over its owner's calendar took 4 to 11 s. The zone has
/// one budget for all of them; past it, the event is skipped and named.
#[test]
fn a_zone_of_thousands_of_observances_is_skipped_not_expanded() {
    let costly = zone_of_observances("Costly", 3000);
    poisoned_by(zoned(2, "Costly", &costly), ErrorKind::InvalidData);
    // Twenty observances are four centuries of yearly onsets each: read.
    let fine = zone_of_observances("Fine", 20);
    let fb = answer(
        &[zoned(2, "Fine", &fine)],
        "20261130T000000Z",
        "20261203T000000Z",
    );
    assert_eq!(fb.skipped_count, 0);
    assert_eq!(
        periods(&fb),
        vec![busy("20261201T100000Z", "20261201T110000Z")]
    );
}

/// A VTIMEZONE that cannot be read (here an observance without its
/// TZOFFSETFROM) skipped every event that used it, though its TZID names
/// an IANA zone: it is read in that zone instead.
#[cfg(feature = "iana-tz")]
#[test]
fn an_unreadable_zone_that_names_an_iana_zone_is_read_in_that_zone() {
    let broken = "BEGIN:VTIMEZONE\r\nTZID:America/New_York\r\nBEGIN:STANDARD\r\n\
        DTSTART:19701101T020000\r\nTZOFFSETTO:-0500\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n";
    let fb = answer(
        &[zoned(2, "America/New_York", broken)],
        "20261130T000000Z",
        "20261203T000000Z",
    );
    assert_eq!(fb.skipped_count, 0);
    // 11:00 in New York in December is 16:00 UTC.
    assert_eq!(
        periods(&fb),
        vec![busy("20261201T160000Z", "20261201T170000Z")]
    );
    // A name that is no IANA zone is still skipped and named.
    let unnamed = broken.replace("America/New_York", "Custom Zone");
    poisoned_by(zoned(2, "Custom Zone", &unnamed), ErrorKind::InvalidData);
}

/// Items each with a costly zone of its own were free of the query's
/// budget: a zone's expansion is paid from it as the item's is.
#[test]
fn each_new_zone_is_paid_from_the_query_budget() {
    // 60 observances from 1601 to the horizon: tens of thousands of units.
    let items: Vec<CalendarItem> = (0..60u64)
        .map(|i| {
            let tzid = format!("Zone{i}");
            zoned(100 + i, &tzid, &zone_of_observances(&tzid, 60))
        })
        .collect();
    let fb = answer(&items, "20261130T000000Z", "20261203T000000Z");
    assert!(fb.skipped_count > 40, "{} skipped", fb.skipped_count);
    assert!(
        fb.skipped
            .iter()
            .all(|s| s.code == ErrorKind::LimitExceeded.code().into())
    );
}

/// Fifteen short meetings a day for a year made an answer over one frame,
/// and the server ended the session instead of answering.
#[test]
fn an_answer_too_large_for_a_frame_is_refused_not_sent() {
    let meetings: Vec<CalendarItem> = (0..15u64)
        .map(|i| {
            let at = |minute: u64| format!("20260101T08{minute:02}00Z");
            let mut m = event(&at(i * 3), &at(i * 3 + 2), "");
            m.rrule = "FREQ=DAILY".into();
            named(item(m, vec![], &[]), 100 + i, "daily")
        })
        .collect();
    let month = answer(&meetings, "20260301T000000Z", "20260401T000000Z");
    assert_eq!(month.periods.len(), 15 * 31);
    let bytes: Vec<(u64, Vec<u8>)> = meetings.iter().map(|i| (i.id, packed(i))).collect();
    let stored: Vec<StoredItem<'_>> = bytes
        .iter()
        .map(|(id, p)| StoredItem {
            calendar_id: 5,
            item_id: *id,
            packed: p,
        })
        .collect();
    let year = free_busy(&stored, at("20260101T000000Z"), at("20270101T000000Z"));
    assert_eq!(year.map_err(|e| e.kind()), Err(ErrorKind::LimitExceeded));
}

#[test]
fn range_thisandfuture_is_skipped_and_named() {
    let mut m = event("20261201T140000Z", "20261201T150000Z", "");
    m.rrule = "FREQ=DAILY;COUNT=5".into();
    let mut o = event("20261202T160000Z", "20261202T170000Z", "");
    o.recurrence_id = Some(CalendarTime {
        value: "20261202T140000Z".into(),
        tzid: String::new(),
        params: "RANGE=THISANDFUTURE".into(),
    });
    poisoned_by(item(m, vec![o], &[]), ErrorKind::InvalidData);
}

#[test]
fn an_item_that_does_not_unpack_is_skipped_and_named() {
    let good_bytes = packed(&good());
    let garbage = [1u8, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x7f, 0];
    let stored = [
        StoredItem {
            calendar_id: 5,
            item_id: 1,
            packed: &good_bytes,
        },
        StoredItem {
            calendar_id: 5,
            item_id: 9,
            packed: &garbage,
        },
    ];
    let fb = free_busy(&stored, at("20261130T000000Z"), at("20261203T000000Z"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(periods(&fb).len(), 1);
    assert_eq!(fb.skipped_count, 1);
    assert_eq!(fb.skipped[0].item_id, 9);
    assert_ne!(fb.skipped[0].code, 0);
}

#[test]
fn skipped_items_are_all_counted_but_only_32_named() {
    let bad: Vec<CalendarItem> = (0..40)
        .map(|i| {
            named(
                item(
                    event("20261202T100000Z", "20261202T090000Z", ""),
                    vec![],
                    &[],
                ),
                100 + i,
                "bad",
            )
        })
        .collect();
    let fb = answer(&bad, "20261130T000000Z", "20261203T000000Z");
    assert_eq!(fb.skipped_count, 40);
    assert_eq!(fb.skipped.len(), MAX_SKIPPED_NAMED);
}

#[test]
fn a_second_rrule_is_expanded_too() {
    // Mondays and, by a second rule, Wednesdays, 10:00-11:00 UTC. DTSTART
    // (a Monday) counts as the first instance of each rule (RFC 5545).
    let mut m = event("20261130T100000Z", "20261130T110000Z", "");
    m.rrule = "FREQ=WEEKLY;BYDAY=MO;COUNT=2".into();
    m.other.push(RawProperty {
        name: "RRULE".into(),
        params: String::new(),
        value: "FREQ=WEEKLY;BYDAY=WE;COUNT=3".into(),
    });
    let got = fb(
        &[item(m, vec![], &[])],
        "20261130T000000Z",
        "20261212T000000Z",
    );
    let want = vec![
        busy("20261130T100000Z", "20261130T110000Z"),
        busy("20261202T100000Z", "20261202T110000Z"),
        busy("20261207T100000Z", "20261207T110000Z"),
        busy("20261209T100000Z", "20261209T110000Z"),
    ];
    assert_eq!(got, Ok(want));
}

#[test]
fn floating_times_are_read_in_the_calendars_x_wr_timezone() {
    // 09:00 floating in a calendar whose X-WR-TIMEZONE is London: 08:00Z in July.
    let mut it = item(
        event("20260701T090000", "20260701T100000", ""),
        vec![],
        &[("Europe/London", LONDON)],
    );
    it.floating_tzid = "Europe/London".into();
    let got = fb(&[it], "20260601T000000Z", "20260801T000000Z");
    assert_eq!(got, Ok(vec![busy("20260701T080000Z", "20260701T090000Z")]));
}

/// Paris, as some exporters write it: observances from 2020 on only.
const PARIS_FROM_2020: &str = "BEGIN:VTIMEZONE\r\nTZID:Europe/Paris\r\n\
BEGIN:DAYLIGHT\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\n\
DTSTART:20200329T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nEND:DAYLIGHT\r\n\
BEGIN:STANDARD\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\n\
DTSTART:20201025T030000\r\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nEND:STANDARD\r\n\
END:VTIMEZONE\r\n";

#[test]
fn a_truncated_vtimezone_still_places_older_events_in_their_season() {
    let paris = [("Europe/Paris", PARIS_FROM_2020)];
    let summer = item(
        event("20150715T100000", "20150715T110000", "Europe/Paris"),
        vec![],
        &paris,
    );
    let winter = item(
        event("20151215T100000", "20151215T110000", "Europe/Paris"),
        vec![],
        &paris,
    );
    let got = fb(&[summer, winter], "20150101T000000Z", "20151231T000000Z");
    let want = vec![
        busy("20150715T080000Z", "20150715T090000Z"),
        busy("20151215T090000Z", "20151215T100000Z"),
    ];
    assert_eq!(got, Ok(want));
}

/// Outlook's shape: TZID=Europe/Paris with no VTIMEZONE, and the cancelled
/// instance's RECURRENCE-ID in UTC. Needs the IANA database (servers).
#[cfg(feature = "iana-tz")]
#[test]
fn a_bare_iana_tzid_is_resolved_and_a_cancelled_instance_is_free() {
    let mut m = event("20260706T100000", "20260706T110000", "Europe/Paris");
    m.rrule = "FREQ=DAILY;COUNT=3".into();
    let mut cancelled = event("20260707T100000", "20260707T110000", "Europe/Paris");
    cancelled.status = "CANCELLED".into();
    cancelled.recurrence_id = ct("20260707T080000Z", "");
    let got = fb(
        &[item(m, vec![cancelled], &[])],
        "20260701T000000Z",
        "20260710T000000Z",
    );
    let want = vec![
        busy("20260706T080000Z", "20260706T090000Z"),
        busy("20260708T080000Z", "20260708T090000Z"),
    ];
    assert_eq!(got, Ok(want));
}

/// Evolution and Thunderbird name zones with a prefix of their own
/// (`/softwarestudio.org/Olson_20011030_5/Pacific/Auckland`), often with
/// no VTIMEZONE: read as UTC, 12 hours off.
#[cfg(feature = "iana-tz")]
#[test]
fn a_prefixed_iana_name_is_resolved_by_the_zone_it_ends_with() {
    let evolution = event(
        "20270115T160000",
        "20270115T163000",
        "/softwarestudio.org/Olson_20011030_5/Pacific/Auckland",
    );
    let lightning = event(
        "20270715T100000",
        "20270715T110000",
        "/mozilla.org/20070129_1/America/New_York",
    );
    let got = fb(
        &[item(evolution, vec![], &[]), item(lightning, vec![], &[])],
        "20270101T000000Z",
        "20271231T000000Z",
    );
    let want = vec![
        // Auckland in summer is UTC+13, New York in summer UTC-4.
        busy("20270115T030000Z", "20270115T033000Z"),
        busy("20270715T140000Z", "20270715T150000Z"),
    ];
    assert_eq!(got, Ok(want));
    // A name that only ends in a word is no zone: still read as UTC.
    for unknown in ["Western/Central Europe", "/Europe", "Custom/UTC+2"] {
        assert_eq!(
            crate::sync::freebusy::iana_zone_name(unknown),
            None,
            "{unknown}"
        );
    }
}

/// A stranger's invitation named its zone with 1 MB of `/`: every suffix
/// was looked up at every instance, and its owner's free/busy query ran
/// for half an hour. Past 256 bytes a TZID names no zone, and only the
/// last 64 bytes are tried after a prefix.
#[cfg(feature = "iana-tz")]
#[test]
fn a_long_zone_name_is_no_zone_and_costs_nothing() {
    use crate::sync::freebusy::iana_zone_name;
    let long = format!("{}/Europe/Berlin", "/".repeat(1 << 20));
    assert_eq!(iana_zone_name(&long), None);
    let prefixed = format!("/{}/Europe/Berlin", "x".repeat(100));
    assert_eq!(iana_zone_name(&prefixed).as_deref(), Some("Europe/Berlin"));
    let mut daily = event("20270101T100000", "20270101T110000", &long);
    daily.rrule = "FREQ=DAILY;COUNT=365".into();
    let got = fb(
        &[item(daily, vec![], &[])],
        "20270101T000000Z",
        "20270103T000000Z",
    );
    assert_eq!(
        got,
        Ok(vec![
            busy("20270101T100000Z", "20270101T110000Z"),
            busy("20270102T100000Z", "20270102T110000Z"),
        ])
    );
}

/// Exchange's shape: a Windows zone name as TZID, quoted, with no
/// VTIMEZONE. Read as UTC it was an hour off in a Berlin winter.
#[cfg(feature = "iana-tz")]
#[test]
fn a_windows_zone_name_is_resolved_by_its_iana_zone() {
    let winter = event(
        "20270115T100000",
        "20270115T110000",
        "W. Europe Standard Time",
    );
    let summer = event(
        "20270715T100000",
        "20270715T110000",
        "W. Europe Standard Time",
    );
    let got = fb(
        &[item(winter, vec![], &[]), item(summer, vec![], &[])],
        "20270101T000000Z",
        "20271231T000000Z",
    );
    let want = vec![
        busy("20270115T090000Z", "20270115T100000Z"),
        busy("20270715T080000Z", "20270715T090000Z"),
    ];
    assert_eq!(got, Ok(want));
}

/// A stranger's invitation: a daily series in a zone of a prefixed name
/// (each read tried every suffix of it) and a million floating EXDATEs,
/// read at every free/busy query of its owner and not paid for: 4 s a
/// query. Each EXDATE is now a unit of the item's budget and each TZID is
/// looked up once per query: past 10,000 the series is refused, and below
/// that the EXDATEs still apply.
#[cfg(feature = "iana-tz")]
#[test]
fn exdates_are_paid_for_from_the_items_budget() {
    let tzid = format!("{}Europe/Paris", "x/".repeat(26));
    let series = |exdates: usize| {
        let mut daily = event("20270101T100000", "20270101T110000", &tzid);
        daily.rrule = "FREQ=DAILY;COUNT=300".into();
        // Floating, as Outlook writes them: read in the series' zone. The
        // first is 2 January's instance; the rest fall on no instance.
        daily.exdates = (0..exdates)
            .map(|n| {
                let value = match n {
                    0 => "20270102T100000".to_owned(),
                    n => format!("2030{:02}{:02}T{:02}0000", 1 + n % 12, 1 + n % 28, n % 24),
                };
                ct(&value, "").unwrap_or_default()
            })
            .collect();
        item(daily, vec![], &[])
    };
    let too_many = fb(&[series(10_001)], "20270101T000000Z", "20270104T000000Z");
    assert_eq!(
        too_many,
        Err(ErrorKind::InvalidData),
        "refused, not expanded"
    );
    let got = fb(&[series(9_000)], "20270101T000000Z", "20270104T000000Z");
    assert_eq!(
        got,
        Ok(vec![
            // Paris in winter is UTC+1; 2 January is excluded.
            busy("20270101T090000Z", "20270101T100000Z"),
            busy("20270103T090000Z", "20270103T100000Z"),
        ])
    );
}
