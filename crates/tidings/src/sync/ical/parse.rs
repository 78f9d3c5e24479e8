//! iCalendar text into calendar items: one item per UID, holding its master
//! VEVENT, its overrides and the VTIMEZONEs they refer to.

use std::collections::{HashMap, HashSet};

use super::event::event;
use super::line::{lex_params, unfold};
use super::tree::{Component, components};
use super::value::{decode_param, unescape_text};
use crate::error::{Error, ErrorKind, Result};
use crate::proto::{CalendarEvent, CalendarItem, TimeZone};

/// Bytes of VTIMEZONE text that all items together may carry per byte of
/// input. Each item carries its own copy of the zones it uses, so many small
/// events sharing one huge zone could otherwise multiply memory without bound;
/// real calendars stay far below this.
const ZONE_COPIES_PER_INPUT_BYTE: usize = 64;

/// A VTIMEZONE, read (and its text copied) only once an event refers to it.
struct Zone<'a> {
    tzid: String,
    component: &'a Component<'a>,
    text: Option<String>,
}

fn invalid(reason: &'static str) -> Error {
    Error::new(ErrorKind::InvalidData, reason)
}

/// See [`calendar_items_from_ical`](super::calendar_items_from_ical).
pub(crate) fn items(text: &str, calendar_id: u64) -> Result<Vec<CalendarItem>> {
    super::weight::check(text)?;
    let unfolded = unfold(text)?;
    let lines: Vec<&str> = match unfolded.as_str() {
        "" => Vec::new(),
        all => all.split('\n').collect(),
    };
    let roots = components(&lines)?;
    let mut vevents = Vec::new();
    let mut zones = Vec::new();
    // The calendar's default zone, for its floating times (free/busy).
    let mut floating_tzid = String::new();
    // Events and time zones may sit in VCALENDARs or, as some exporters
    // write them, at the top level.
    for root in &roots {
        if let Some(tz) = root
            .is("VCALENDAR")
            .then(|| root.first("X-WR-TIMEZONE"))
            .flatten()
        {
            if floating_tzid.is_empty() {
                floating_tzid = unescape_text(tz.value);
            }
        }
        let members = match root.is("VCALENDAR") {
            true => root.children.iter().collect(),
            false => vec![root],
        };
        for component in members {
            if component.is("VEVENT") {
                vevents.push(component);
            } else if component.is("VTIMEZONE") {
                // Zones are read only when an event refers to them.
                if let Some(tzid) = component.first("TZID") {
                    let tzid = unescape_text(tzid.value);
                    zones.push(Zone {
                        tzid,
                        component,
                        text: None,
                    });
                }
            }
        }
    }
    if vevents.is_empty() {
        return Err(invalid("iCalendar text holds no VEVENT"));
    }

    // Items in the order their UIDs first appear.
    let mut order = Vec::new();
    let mut by_uid: HashMap<String, CalendarItem> = HashMap::new();
    for vevent in vevents {
        let event = event(vevent)?;
        let item = by_uid.entry(event.uid.clone()).or_insert_with(|| {
            order.push(event.uid.clone());
            CalendarItem {
                calendar_id,
                floating_tzid: floating_tzid.clone(),
                ..CalendarItem::default()
            }
        });
        if event.recurrence_id.is_some() {
            item.overrides.push(event);
        } else if item.master.is_none() {
            item.master = Some(event);
        } else {
            return Err(invalid(
                "two VEVENTs share a UID and neither has a RECURRENCE-ID",
            ));
        }
    }
    let mut items: Vec<CalendarItem> = order.iter().filter_map(|uid| by_uid.remove(uid)).collect();
    let mut budget = text.len().saturating_mul(ZONE_COPIES_PER_INPUT_BYTE);
    // Each TZID's first definition, looked up by name for each item: going
    // through every zone for every item was quadratic (8,000 events and
    // 8,000 zones, 1.2 MB: 21 s under the mirror's write lock).
    let mut first = HashMap::new();
    for (index, zone) in zones.iter().enumerate() {
        first.entry(zone.tzid.clone()).or_insert(index);
    }
    for item in &mut items {
        item.timezones = referenced(item, &mut zones, &first, &mut budget)?;
    }
    Ok(items)
}

/// The time zones `item` refers to, first definition of each TZID (its
/// index in `zones` by name in `first`), in file order, each paid for from
/// `budget`.
fn referenced(
    item: &CalendarItem,
    zones: &mut [Zone<'_>],
    first: &HashMap<String, usize>,
    budget: &mut usize,
) -> Result<Vec<TimeZone>> {
    let mut wanted = HashSet::new();
    for event in item.master.iter().chain(&item.overrides) {
        tzids(event, &mut wanted);
    }
    let mut indexes: Vec<usize> = wanted
        .iter()
        .filter_map(|t| first.get(t).copied())
        .collect();
    indexes.sort_unstable();
    let mut out = Vec::with_capacity(indexes.len());
    for index in indexes {
        let Some(zone) = zones.get_mut(index) else {
            continue;
        };
        let text = match &zone.text {
            Some(text) => text,
            None => zone.text.insert(zone.component.verbatim()?),
        };
        *budget = budget.checked_sub(text.len()).ok_or_else(|| {
            invalid("VTIMEZONEs repeat in more items than the input's size allows")
        })?;
        out.push(TimeZone {
            tzid: zone.tzid.clone(),
            vtimezone: text.clone(),
        });
    }
    Ok(out)
}

/// Adds every TZID `event` refers to, in modelled times and verbatim properties.
fn tzids(event: &CalendarEvent, out: &mut HashSet<String>) {
    let single = [&event.start, &event.end, &event.recurrence_id];
    let times = single
        .into_iter()
        .flatten()
        .chain(&event.exdates)
        .chain(&event.rdates);
    out.extend(times.map(|t| t.tzid.clone()).filter(|t| !t.is_empty()));
    for property in &event.other {
        let params = lex_params(&property.params).unwrap_or_default();
        let named = params.iter().filter(|p| p.is("TZID"));
        out.extend(named.filter_map(|p| p.single()).map(decode_param));
    }
}
