//! Instants cross-checked with Python: `python3 src/sync/freebusy/tests/crosscheck.py` at the crate
//! root (icalendar 7.3.2, python-dateutil 2.9, zoneinfo) prints them.

use super::super::tz::Zone;
use super::vtimezones::{FIJI, NEW_YORK, US_EASTERN, VADUZ, VIENNA};
use super::{at, ct, event, fb, item};

const LOCALS: [&str; 11] = [
    "19750301T120000",
    "19860427T013000",
    "20061029T013000",
    "20140829T080000",
    "20150118T013000",
    "20150118T023000",
    "20151025T023000",
    "20260329T023000",
    "20261025T023000",
    "20261101T013000",
    "20270314T023000",
];

/// icalendar's reading of each VTIMEZONE, except in gaps (marked), where
/// icalendar 7.3.2 takes the later offset and RFC 5545 §3.3.5 (like zoneinfo)
/// the earlier one: there the value is icalendar's plus 3600.
#[rustfmt::skip]
const WANT: [(&str, [i64; 11]); 3] = [
    (NEW_YORK, [162921600, 514967400, 1162099800, 1409313600, 1421562600, 1421566200,
        1445754600, 1774765800, 1792909800, 1793511000, 1805005800 + 3600 /* gap */]),
    (FIJI, [162864000, 514906200, 1162042200, 1409256000, 1421497800, 1421505000,
        1445693400 + 3600 /* gap */, 1774708200, 1792848600 + 3600 /* gap */, 1793449800, 1804948200]),
    (VADUZ, [162903600, 514942200, 1162078200, 1409292000, 1421541000, 1421544600,
        1445733000, 1774744200 + 3600 /* gap */, 1792888200, 1793493000, 1804987800]),
];

#[test]
fn vtimezone_offsets_match_python() {
    for (vtimezone, want) in WANT {
        let zone = Zone::parse(vtimezone, at("20300101T000000")).0;
        let got = LOCALS.map(|l| zone.as_ref().map(|z| z.to_utc(at(l))).unwrap_or(0));
        assert_eq!(got, want, "{}", vtimezone.get(16..50).unwrap_or(""));
    }
}

#[test]
fn rfc7265_example_matches_dateutil() {
    let tz = "US/Eastern";
    let mut master = event("20060102T120000", "", tz);
    master.duration = "PT1H".into();
    master.rrule = "FREQ=DAILY;COUNT=5".into();
    master.rdates = ct("20060102T150000/PT2H", tz).into_iter().collect();
    let mut moved = event("20060104T140000", "", tz);
    moved.duration = "PT1H".into();
    moved.recurrence_id = ct("20060104T120000", tz);
    let it = item(master, vec![moved], &[(tz, US_EASTERN)]);
    let got = fb(&[it], "20060101T000000Z", "20060201T000000Z");
    let want = [
        (1136221200, 1136224800),
        (1136232000, 1136239200),
        (1136307600, 1136311200),
        (1136401200, 1136404800),
        (1136480400, 1136484000),
        (1136566800, 1136570400),
    ];
    assert_eq!(got, Ok(want.map(|(s, e)| (s, e, false)).to_vec()));
}

#[test]
fn vienna_weekly_with_exdates_matches_dateutil() {
    let tz = "Europe/Vienna";
    let mut master = event("20120327T100000", "20120327T180000", tz);
    master.rrule = "FREQ=WEEKLY;UNTIL=20120703T080000Z;BYDAY=TU".into();
    let ex = [
        "20120529T100000",
        "20120403T100000",
        "20120410T100000",
        "20120501T100000",
        "20120417T100000",
    ];
    master.exdates = ex.iter().filter_map(|v| ct(v, tz)).collect();
    let got = fb(
        &[item(master, vec![], &[(tz, VIENNA)])],
        "20120301T000000Z",
        "20120801T000000Z",
    );
    let want = [
        (1332835200, 1332864000),
        (1335254400, 1335283200),
        (1336464000, 1336492800),
        (1337068800, 1337097600),
        (1337673600, 1337702400),
        (1338883200, 1338912000),
        (1339488000, 1339516800),
        (1340092800, 1340121600),
        (1340697600, 1340726400),
        (1341302400, 1341331200),
    ];
    assert_eq!(got, Ok(want.map(|(s, e)| (s, e, false)).to_vec()));
}
