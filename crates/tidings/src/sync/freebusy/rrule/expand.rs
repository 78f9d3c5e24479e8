//! Expansion of a parsed [`Rule`], period by period, as RFC 5545 §3.3.10
//! describes: each period's candidate days are filtered by every BYxxx part,
//! then BYSETPOS picks among them.

use super::super::time::{DAY, MAX_SECS, civil_from_days, days_from_civil, days_in_month, weekday};
use super::{Freq, Rule, Until, invalid};
use crate::error::Result;

/// Where the expansion of one rule may emit instances, and how much it may do.
pub(in crate::sync::freebusy) struct Bounds<'f> {
    /// Instances starting before this civil second are counted but not emitted.
    pub(in crate::sync::freebusy) from: i64,
    /// Expansion stops at the first period starting after this civil second.
    pub(in crate::sync::freebusy) to: i64,
    /// UTC of a civil second in DTSTART's zone, for UNTIL in UTC.
    pub(in crate::sync::freebusy) to_utc: &'f dyn Fn(i64) -> Result<i64>,
}

impl Rule {
    /// Appends the civil start of every instance in `bounds` to `out`, DTSTART
    /// included (it is always the first instance), spending one unit of
    /// `budget` per instance generated and one per [`DAYS_PER_UNIT`] days
    /// examined, so a rule that matches seldom or never (the 30th of
    /// February) cannot walk millennia for free; running out is an error.
    pub(in crate::sync::freebusy) fn expand(
        &self,
        dtstart: i64,
        b: &Bounds<'_>,
        budget: &mut usize,
        out: &mut Vec<i64>,
    ) -> Result<()> {
        let (day0, tod) = (dtstart.div_euclid(DAY), dtstart.rem_euclid(DAY));
        let (y0, m0, d0) = civil_from_days(day0);
        let units = [(3600, tod / 3600), (60, tod / 60 % 60), (1, tod % 60)];
        if !self.time_of_day.iter().all(|t| units.contains(t)) {
            return Err(invalid("unsupported RRULE part"));
        }
        let mut rule = self.clone();
        if rule.by_day.is_empty() && rule.by_month_day.is_empty() {
            match rule.freq {
                Freq::Yearly if rule.by_month.is_empty() => rule.by_month = vec![m0],
                Freq::Weekly => rule.by_day = vec![(0, weekday(day0))],
                _ => {}
            }
            if matches!(rule.freq, Freq::Yearly | Freq::Monthly) {
                rule.by_month_day = vec![i64::from(d0)];
            }
        }
        let week0 = day0 - i64::from((weekday(day0) + 7 - rule.wkst) % 7);
        let month0 = y0 * 12 + i64::from(m0) - 1;
        // Without COUNT nothing before `from` matters: skip whole periods.
        let mut k = match (self.count, rule.freq) {
            (Some(_), _) => 0,
            (None, Freq::Daily) => (b.from.div_euclid(DAY) - day0) / rule.interval,
            (None, Freq::Weekly) => (b.from.div_euclid(DAY) - week0) / (7 * rule.interval),
            (None, Freq::Monthly) => (month_of(b.from) - month0) / rule.interval,
            (None, Freq::Yearly) => (month_of(b.from) / 12 - y0) / rule.interval,
        };
        k = (k - 1).max(0);
        let mut count = 1u64;
        spend(budget)?;
        if dtstart >= b.from && dtstart <= b.to {
            out.push(dtstart);
        }
        let mut days = Vec::with_capacity(366);
        let mut walked = 0;
        loop {
            let first = match rule.freq {
                Freq::Daily => day0 + k * rule.interval,
                Freq::Weekly => week0 + k * 7 * rule.interval,
                Freq::Monthly => month_start(month0 + k * rule.interval),
                Freq::Yearly => month_start((y0 + k * rule.interval) * 12),
            };
            if first * DAY > b.to || first * DAY >= MAX_SECS {
                return Ok(());
            }
            walked += rule.candidates(first, &mut days);
            while walked >= DAYS_PER_UNIT {
                walked -= DAYS_PER_UNIT;
                spend(budget)?;
            }
            for &day in &days {
                let t = day * DAY + tod;
                if t <= dtstart {
                    continue;
                }
                let past = match self.until {
                    Some(Until::Date(d)) => day > d,
                    Some(Until::Local(u)) => t > u,
                    Some(Until::Utc(u)) => (b.to_utc)(t)? > u,
                    None => self.count.is_some_and(|c| count >= c),
                };
                if past || t > b.to {
                    return Ok(());
                }
                count += 1;
                spend(budget)?;
                if t >= b.from {
                    out.push(t);
                }
            }
            k += 1;
        }
    }

    /// The sorted days of the period starting on day `first` that the rule
    /// selects; returns how many days it examined.
    fn candidates(&self, first: i64, out: &mut Vec<i64>) -> i64 {
        out.clear();
        let (y, m, _) = civil_from_days(first);
        let span: Vec<(i64, i64)> = match self.freq {
            Freq::Daily => vec![(first, first + 1)],
            Freq::Weekly => vec![(first, first + 7)],
            Freq::Monthly => vec![(first, first + i64::from(days_in_month(y, m)))],
            Freq::Yearly if self.by_month.is_empty() => vec![(first, days_from_civil(y + 1, 1, 1))],
            Freq::Yearly => (self.by_month.iter())
                .map(|&m| {
                    (
                        days_from_civil(y, m, 1),
                        days_from_civil(y, m, days_in_month(y, m)) + 1,
                    )
                })
                .collect(),
        };
        let mut examined = 0;
        for (lo, hi) in span {
            examined += hi - lo;
            out.extend((lo..hi).filter(|&d| self.selects(d)));
        }
        if !self.by_set_pos.is_empty() {
            let all = std::mem::take(out);
            let len = all.len() as i64;
            let pick = |p: &i64| if *p > 0 { p - 1 } else { len + p };
            out.extend(
                self.by_set_pos
                    .iter()
                    .map(pick)
                    .filter_map(|i| all.get(usize::try_from(i).ok()?)),
            );
            out.sort_unstable();
            out.dedup();
        }
        examined
    }

    fn selects(&self, day: i64) -> bool {
        let (y, m, d) = civil_from_days(day);
        let dim = i64::from(days_in_month(y, m));
        let d = i64::from(d);
        let month_ok = self.by_month.is_empty() || self.by_month.contains(&m);
        let md_ok = self.by_month_day.is_empty()
            || self
                .by_month_day
                .iter()
                .any(|&n| n == d || n == d - dim - 1);
        // An ordinal counts within the month, or within the year for a YEARLY rule without BYMONTH.
        let (index, len) = if self.freq == Freq::Yearly && self.by_month.is_empty() {
            let jan1 = days_from_civil(y, 1, 1);
            (day - jan1, days_from_civil(y + 1, 1, 1) - jan1)
        } else {
            (d - 1, dim)
        };
        let wd = weekday(day);
        let day_ok = self.by_day.is_empty()
            || self.by_day.iter().any(|&(n, w)| {
                w == wd && (n == 0 || n == index / 7 + 1 || -n == (len - 1 - index) / 7 + 1)
            });
        month_ok && md_ok && day_ok
    }
}

fn month_of(civil: i64) -> i64 {
    let (y, m, _) = civil_from_days(civil.div_euclid(DAY));
    y * 12 + i64::from(m) - 1
}

fn month_start(index: i64) -> i64 {
    days_from_civil(index.div_euclid(12), (index.rem_euclid(12) + 1) as u32, 1)
}

/// Days examined (each filtered by every BYxxx list, at most 128 entries
/// each) that cost one unit of the budget an instance costs.
const DAYS_PER_UNIT: i64 = 16;

fn spend(budget: &mut usize) -> Result<()> {
    *budget = budget
        .checked_sub(1)
        .ok_or_else(|| invalid("recurrence exceeds its expansion budget"))?;
    Ok(())
}
