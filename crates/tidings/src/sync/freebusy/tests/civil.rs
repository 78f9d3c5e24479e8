//! The hand-written civil arithmetic agrees with jiff.

use super::super::time::{civil_from_days, days_from_civil, days_in_month, weekday};
use jiff::civil::Date;

#[test]
fn civil_math_matches_jiff() {
    let epoch = Date::constant(1970, 1, 1);
    let mut day = days_from_civil(1, 1, 1);
    while day <= days_from_civil(9999, 12, 31) {
        let want = epoch.checked_add(jiff::Span::new().days(day)).ok();
        let (y, m, d) = civil_from_days(day);
        let got = Date::new(y as i16, m as i8, d as i8).ok();
        assert_eq!(got, want, "day {day}");
        assert_eq!(days_from_civil(y, m, d), day);
        let wd = want.map(|w| w.weekday().to_monday_zero_offset() as u32);
        assert_eq!(Some(weekday(day)), wd);
        assert_eq!(
            Some(days_in_month(y, m) as i8),
            want.map(|w| w.days_in_month())
        );
        day += 13;
    }
}
