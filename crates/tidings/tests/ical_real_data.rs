//! Every `.ics` among the Python `icalendar` package's test files either
//! round-trips losslessly or is refused with a typed error.
//!
//! The files are found through python3 at run time; `cargo xtask test`
//! installs the pinned package first (`pip install icalendar==7.3.2`).

mod items;

use std::collections::BTreeMap;

use items::ics::{self, Comp};
use tidings::ErrorKind;
use tidings::proto::{self, CalendarItem};
use tidings::sync::ical::{calendar_item_to_ical, calendar_items_from_ical};

const HINT: &str = "the Python package `icalendar` is not installed: run \
    `pip install icalendar==7.3.2` (cargo xtask test does), or put it on PYTHONPATH";

/// Files of the package this crate was measured against; fewer would mean
/// the tests lost their data.
const MIN_FILES: usize = 150;
/// Files that round-trip with the pinned package; fewer is a regression.
const MIN_ROUND_TRIPS: usize = 75;

#[test]
fn icalendar_package_calendars_round_trip_or_are_refused() {
    let package = items::python_dir(
        "__import__('os').path.dirname(__import__('importlib.util').util.find_spec('icalendar').origin)",
        HINT,
    );
    let files = items::files_with_suffix(&package.join("tests"), ".ics");
    assert!(
        files.len() >= MIN_FILES,
        "{HINT}\nonly {} .ics files",
        files.len()
    );

    let (mut ok, mut failed) = (0, Vec::new());
    let mut refused: BTreeMap<String, usize> = BTreeMap::new();
    for path in &files {
        let name = path
            .strip_prefix(&package)
            .unwrap_or(path)
            .display()
            .to_string();
        let text = match String::from_utf8(std::fs::read(path).expect("readable file")) {
            Ok(text) => text,
            Err(_) => {
                println!("{name:<80} refused(not UTF-8)");
                *refused.entry("not UTF-8".into()).or_default() += 1;
                continue;
            }
        };
        match calendar_items_from_ical(&text, 1) {
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::InvalidData, "{name}: {e}");
                println!("{name:<80} refused({e})");
                *refused.entry(e.to_string()).or_default() += 1;
            }
            Ok(items) => match round_trip(&text, &items) {
                Ok(()) => {
                    println!("{name:<80} ok ({} items)", items.len());
                    ok += 1;
                }
                Err(why) => {
                    println!("{name:<80} FAILED: {why}");
                    failed.push(name);
                }
            },
        }
    }
    let total_refused: usize = refused.values().sum();
    println!(
        "{ok} round-tripped, {total_refused} refused, {} failed, of {}",
        failed.len(),
        files.len()
    );
    for (reason, count) in &refused {
        println!("{count:>4} refused: {reason}");
    }
    assert!(failed.is_empty(), "accepted but not lossless: {failed:?}");
    assert!(ok >= MIN_ROUND_TRIPS, "only {ok} files round-tripped");
    // Files without any event cannot become calendar items at all; of the
    // others, most must round-trip.
    let without_events = refused.get("invalid input data: iCalendar text holds no VEVENT");
    let with_events = files.len() - without_events.copied().unwrap_or(0);
    assert!(
        2 * ok > with_events,
        "{ok} of {with_events} files with events round-tripped"
    );
}

/// Text → items → protobuf → items → text → items, and the events and
/// time zones of the first text equal those of the last by meaning.
fn round_trip(text: &str, items: &[CalendarItem]) -> Result<(), String> {
    let mut written = String::new();
    for item in items {
        let decoded: CalendarItem =
            proto::decode(&proto::encode(item)).map_err(|e| e.to_string())?;
        if &decoded != item {
            return Err("protobuf round trip changed the item".into());
        }
        let out = calendar_item_to_ical(&decoded);
        let again =
            calendar_items_from_ical(&out, 1).map_err(|e| format!("output refused: {e}"))?;
        if again != [decoded] {
            return Err(format!("items differ after writing:\n{out}"));
        }
        written.push_str(&out);
    }
    let (before, before_zones) = meaning(text).ok_or("test reader cannot read the input")?;
    let (after, after_zones) = meaning(&written).ok_or("test reader cannot read the output")?;
    if before != after {
        return Err(format!("events differ:\n{before:#?}\n{after:#?}"));
    }
    if before_zones != after_zones {
        return Err("time zones differ".into());
    }
    Ok(())
}

/// The VEVENTs of a text, and the VTIMEZONEs they refer to (first per TZID).
fn meaning(text: &str) -> Option<(Vec<Comp>, Vec<Comp>)> {
    let members = ics::members(&ics::components(text)?);
    let mut events: Vec<Comp> = members
        .iter()
        .filter(|c| c.name == "VEVENT")
        .cloned()
        .collect();
    events.sort();
    let wanted: Vec<String> = events.iter().flat_map(Comp::tzids).collect();
    let mut zones: Vec<Comp> = Vec::new();
    for zone in members.iter().filter(|c| c.name == "VTIMEZONE") {
        let tzid = zone.value("TZID").unwrap_or_default();
        let first = !zones.iter().any(|z| z.value("TZID") == Some(tzid));
        if first && wanted.iter().any(|w| w == tzid) {
            zones.push(zone.clone());
        }
    }
    zones.sort();
    Some((events, zones))
}
