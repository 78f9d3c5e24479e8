//! Properties: periods stay in the window, sorted and disjoint; simple rules
//! agree with a brute-force expansion; no input panics.

use super::super::busy_periods;
use super::{LONDON, ct, event, item};
use crate::proto::{CalendarItem, CalendarTime, TimeZone};
use arbitrary::{Arbitrary, Unstructured};
use proptest::prelude::*;

const BASE: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z
const DAY: i64 = 86_400;

fn basic(secs: i64) -> String {
    let (days, tod) = (secs.div_euclid(DAY), secs.rem_euclid(DAY));
    let (y, m, d) = super::super::time::civil_from_days(days);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        tod / 3600,
        tod / 60 % 60,
        tod % 60
    )
}

/// The union of `spans` clipped to [lo, hi), computed the slow way.
fn oracle(spans: &[(i64, i64)], lo: i64, hi: i64) -> Vec<(i64, i64)> {
    let mut v: Vec<_> = spans
        .iter()
        .map(|&(s, e)| (s.max(lo), e.min(hi)))
        .filter(|(s, e)| s < e)
        .collect();
    v.sort_unstable();
    let mut out: Vec<(i64, i64)> = Vec::new();
    for (s, e) in v {
        match out.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => out.push((s, e)),
        }
    }
    out
}

const POOL_TIMES: [&str; 6] = [
    "20260105T100000",
    "20260105T100000Z",
    "20260105",
    "20251231T235959",
    "2026",
    "20260105T100000/PT1H",
];
const POOL_RULES: [&str; 8] = [
    "FREQ=DAILY",
    "FREQ=WEEKLY;BYDAY=MO,WE;INTERVAL=3",
    "FREQ=MONTHLY;BYDAY=-1FR;COUNT=9999",
    "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
    "FREQ=MONTHLY;BYMONTHDAY=-31,31;BYSETPOS=1,-1",
    "FREQ=DAILY;INTERVAL=1000000;UNTIL=20260101",
    "FREQ=YEARLY;BYDAY=53MO,-53SU",
    "FREQ=WEEKLY;WKST=SU;BYDAY=SU,SA",
];

fn pick<'a>(u: &mut Unstructured<'_>, pool: &[&'a str]) -> &'a str {
    u.choose(pool).copied().unwrap_or("")
}

/// An arbitrary item, with some fields replaced by near-valid values so the
/// deep paths run too.
fn messy_item(u: &mut Unstructured<'_>) -> arbitrary::Result<CalendarItem> {
    let mut it = CalendarItem::arbitrary(u)?;
    if let (true, Some(m)) = (u.arbitrary()?, it.master.as_mut()) {
        let tzid = if u.arbitrary()? { "Europe/London" } else { "" };
        m.start = Some(CalendarTime {
            value: pick(u, &POOL_TIMES).into(),
            tzid: tzid.into(),
            params: String::new(),
        });
        m.rrule = pick(u, &POOL_RULES).into();
        m.exdates.push(CalendarTime {
            value: pick(u, &POOL_TIMES).into(),
            ..Default::default()
        });
        it.timezones.push(TimeZone {
            tzid: "Europe/London".into(),
            vtimezone: LONDON.into(),
        });
    }
    Ok(it)
}

proptest! {
    #[test]
    fn simple_rules_match_brute_force(
        offset in -400 * DAY..400 * DAY, len in 0..3 * DAY, weekly in any::<bool>(),
        interval in 1i64..4, count in proptest::option::of(1u64..60),
        from in -30 * DAY..400 * DAY, width in 0..366 * DAY,
    ) {
        let start = BASE + offset;
        let mut m = event(&basic(start), &basic(start + len), "");
        let freq = if weekly { "WEEKLY" } else { "DAILY" };
        m.rrule = format!("FREQ={freq};INTERVAL={interval}");
        if let Some(c) = count { m.rrule += &format!(";COUNT={c}"); }
        let (lo, hi) = (BASE + from, BASE + from + width);
        let got = busy_periods(&[item(m, vec![], &[])], lo, hi);
        prop_assert!(got.is_ok());
        let got: Vec<_> = got.unwrap_or_default().iter().map(|p| (p.start, p.end)).collect();
        let step = interval * if weekly { 7 * DAY } else { DAY };
        let n = count.map_or((hi - start) / step + 2, |c| c as i64).max(0);
        let spans: Vec<_> = (0..n).map(|k| (start + k * step, start + k * step + len)).collect();
        prop_assert_eq!(&got, &oracle(&spans, lo, hi));
        prop_assert!(got.iter().all(|&(s, e)| lo <= s && s < e && e <= hi));
        prop_assert!(got.windows(2).all(|w| w[0].1 < w[1].0));
    }

    #[test]
    fn arbitrary_items_never_panic(seed in proptest::collection::vec(any::<u8>(), 0..4096), from in -500 * DAY..500 * DAY, width in 0..400 * DAY) {
        let mut u = Unstructured::new(&seed);
        let mut items = Vec::new();
        while let Ok(it) = messy_item(&mut u) {
            items.push(it);
            if items.len() == 4 { break; }
        }
        if let Ok(got) = busy_periods(&items, BASE + from, BASE + from + width) {
            prop_assert!(got.iter().all(|p| BASE + from <= p.start && p.start < p.end && p.end <= BASE + from + width));
            prop_assert!(got.windows(2).all(|w| w[0].end <= w[1].start));
        }
    }
}

#[test]
fn rdate_period_with_pool_value_parses() {
    let mut m = event("20260105T100000Z", "20260105T110000Z", "");
    m.rdates = ct("20260106T100000Z/PT1H", "").into_iter().collect();
    let got = busy_periods(&[item(m, vec![], &[])], BASE, BASE + 30 * DAY).map(|v| v.len());
    assert_eq!(got.ok(), Some(2));
}
