//! Events from an `.ics` file, each stored or refused alone (the core's
//! [`calendar_items_per_event`]), merged by UID with what the calendar holds.

use super::{BATCH, Refusal, Report, read, reason};
use crate::stores::ServerStore;
use bytes::Bytes;
use std::collections::{HashMap, HashSet};
use std::path::Path;
use tidings::Result;
use tidings::compress::unpack;
use tidings::proto::{self, CalendarEvent, CalendarItem, Item, item};
use tidings::sync::ical::calendar_items_per_event;
use tidings::sync::pack_item;

/// The UID that names an item: its master's, or its first override's.
fn uid(item: &CalendarItem) -> Option<&str> {
    let events = item.master.iter().chain(&item.overrides);
    events.map(|e| e.uid.as_str()).next()
}

/// The items a calendar holds, by UID.
fn present(store: &impl ServerStore, calendar: u64) -> Result<HashMap<String, CalendarItem>> {
    let mut present = HashMap::new();
    for (_, packed, _) in store.items(calendar)? {
        let decoded = unpack(&packed, &tidings::sync::STORED_ITEM_LIMITS)
            .and_then(|bytes| proto::decode::<Item>(&bytes));
        if let Ok(Item {
            kind: Some(item::Kind::Calendar(held)),
        }) = decoded
            && let Some(uid) = uid(&held)
        {
            present.insert(uid.to_owned(), held);
        }
    }
    Ok(present)
}

/// SEQUENCE, then DTSTAMP (UTC text, which orders as its time).
fn version(event: &CalendarEvent) -> (u32, &str) {
    (event.sequence, event.dtstamp.as_str())
}

/// Puts `new` in `slot` when it is not older; false when `slot` was later.
fn keep_latest(slot: &mut CalendarEvent, new: CalendarEvent) -> bool {
    let newer = version(&new) >= version(slot);
    if newer {
        *slot = new;
    }
    newer
}

/// `held` with the events of `new` that are not older than its own.
/// Returns whether something of `new` was older than what is held.
///
/// A newer series (its master's SEQUENCE, then DTSTAMP, above the held
/// master's) replaces the series as RFC 5546 §2.1.5 has it: a held
/// instance it does not carry goes, unless that instance is itself newer
/// (an update of one instance sent after the series). A withdrawn
/// exception otherwise stayed, and free/busy showed the old time.
fn merge(held: &mut CalendarItem, new: CalendarItem) -> bool {
    let mut older = false;
    let series = match (&held.master, &new.master) {
        (Some(held), Some(new)) if version(new) > version(held) => {
            Some((new.sequence, new.dtstamp.clone()))
        }
        _ => None,
    };
    if let Some(series) = &series {
        let carried: HashSet<Option<Instant>> = new.overrides.iter().map(instant).collect();
        let series = (series.0, series.1.as_str());
        held.overrides
            .retain(|o| carried.contains(&instant(o)) || version(o) > series);
    }
    for zone in new.timezones {
        match held.timezones.iter_mut().find(|z| z.tzid == zone.tzid) {
            Some(slot) => *slot = zone,
            None => held.timezones.push(zone),
        }
    }
    if let Some(master) = new.master {
        match held.master.as_mut() {
            Some(slot) => older |= !keep_latest(slot, master),
            None => held.master = Some(master),
        }
    }
    // Each held instance by its RECURRENCE-ID: a linear search per new
    // instance made 20,000 overrides onto 40,000 take 20 s in the write
    // transaction.
    let mut at: HashMap<Option<Instant>, usize> = held
        .overrides
        .iter()
        .enumerate()
        .map(|(index, o)| (instant(o), index))
        .collect();
    for instance in new.overrides {
        let key = instant(&instance);
        match at
            .get(&key)
            .and_then(|&index| held.overrides.get_mut(index))
        {
            Some(slot) => older |= !keep_latest(slot, instance),
            None => {
                at.insert(key, held.overrides.len());
                held.overrides.push(instance);
            }
        }
    }
    older
}

/// A RECURRENCE-ID as written (value, TZID, parameters): what tells one
/// instance from another.
type Instant = (String, String, String);

fn instant(event: &CalendarEvent) -> Option<Instant> {
    let id = event.recurrence_id.as_ref()?;
    Some((id.value.clone(), id.tzid.clone(), id.params.clone()))
}

/// iCalendar is UTF-8; exporters that write Windows-1252 still exist.
///
/// RFC 5545 §3.1 folds lines at 75 *octets*, so a fold may split a UTF-8
/// character: the raw file is then not UTF-8 although its unfolded lines
/// are. The charset is decided on the file with such folds mended, so one
/// split character does not turn every other event's text to mojibake.
/// Nor does one broken sequence in a UTF-8 file: text with more characters
/// that are whole UTF-8 sequences than bytes that are not is UTF-8 (the
/// broken ones read as U+FFFD); Windows-1252 text almost never forms a
/// multibyte UTF-8 sequence by chance.
fn text_of(bytes: &[u8]) -> Option<String> {
    if bytes.contains(&0) {
        return std::str::from_utf8(bytes).ok().map(str::to_owned);
    }
    let mended = mend_split_folds(bytes);
    let (mut whole, mut broken) = (0usize, 0usize);
    for chunk in mended.utf8_chunks() {
        whole += chunk.valid().chars().filter(|c| !c.is_ascii()).count();
        broken += chunk.invalid().len();
    }
    match broken == 0 || whole > broken {
        true => Some(String::from_utf8_lossy(&mended).into_owned()),
        false => Some(encoding_rs::WINDOWS_1252.decode(bytes).0.into_owned()),
    }
}

/// `bytes` with every fold (CRLF or LF, then a space or tab) that splits a
/// UTF-8 character moved after it: the continuation bytes (0x80–0xBF, at
/// most three) that follow the fold's white space go before its line break.
/// The unfolded text is the same and no line is added or removed, so line
/// numbers in refusals stay those of the file.
fn mend_split_folds(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let brk = match (b, bytes.get(i + 1)) {
            (b'\r', Some(b'\n')) => 2,
            (b'\n', _) => 1,
            _ => 0,
        };
        let folded = brk > 0 && matches!(bytes.get(i + brk), Some(b' ' | b'\t'));
        if !folded {
            out.push(b);
            i += 1;
            continue;
        }
        let after = i + brk + 1;
        let moved = bytes
            .get(after..)
            .unwrap_or_default()
            .iter()
            .take(3)
            .take_while(|&&c| (0x80..0xC0).contains(&c))
            .count();
        out.extend_from_slice(bytes.get(after..after + moved).unwrap_or_default());
        out.extend_from_slice(bytes.get(i..after).unwrap_or_default());
        i = after + moved;
    }
    out
}

/// Imports the events of an `.ics` file into `calendar`, each on its own:
/// a broken event is refused with its line and UID, the others are stored.
/// An event whose UID the calendar holds is merged with it, keeping the
/// later version of each instance by SEQUENCE, then DTSTAMP; importing a
/// file twice changes nothing.
///
/// # Errors
///
/// Only the store's: every problem with the input is in the report.
pub fn ics(store: &mut impl ServerStore, calendar: u64, path: &Path) -> Result<Report> {
    let mut report = Report::default();
    let source = path.display().to_string();
    if std::fs::metadata(path).is_ok_and(|m| m.is_dir()) {
        report.refuse(source, "a directory: name the .ics files in it one by one");
        return Ok(report);
    }
    let bytes = match read(path, super::MAX_IMPORT_MESSAGE_BYTES) {
        Ok(bytes) => bytes,
        Err(why) => {
            report.refuse(source, why);
            return Ok(report);
        }
    };
    let Some(text) = text_of(&bytes) else {
        report.refuse(source, "not iCalendar text: a binary file");
        return Ok(report);
    };
    let read = match calendar_items_per_event(&text, calendar) {
        Ok(read) => read,
        Err(e) => {
            report.refuse(source, reason(&e));
            return Ok(report);
        }
    };
    report.superseded += read.superseded;
    report.refused.extend(read.problems.iter().map(|p| Refusal {
        source: format!("{}:{}", path.display(), p.line),
        uid: p.uid.clone(),
        reason: reason(&p.error),
    }));
    if read.derived_uids > 0 {
        report.notes.push(format!(
            "{}: {} event(s) had no UID and were given one derived from their content",
            path.display(),
            read.derived_uids
        ));
    }
    if let Some(note) = dropped_note(path, &read.dropped_lines) {
        report.dropped_lines += read.dropped_lines.len();
        report.notes.push(note);
    }
    let mut present = present(store, calendar)?;
    for batch in read.items.chunks(BATCH) {
        // Merged and packed before the write: packing a stranger's
        // invitation of millions of values held every writer 0.7-1.5 s.
        let mut ready = Vec::with_capacity(batch.len());
        for new in batch {
            ready.extend(prepare_item(
                store,
                calendar,
                &mut present,
                new.clone(),
                &mut report,
            )?);
        }
        store.atomic(|s| {
            for (id, packed) in ready {
                s.upsert(calendar, Some(id), packed, 0)?;
            }
            Ok(())
        })?;
    }
    Ok(report)
}

/// Line numbers named in a note about dropped lines; the rest are counted.
const DROPPED_LINES_NAMED: usize = 10;

/// The note saying which lines of `path` were dropped, if any were.
fn dropped_note(path: &Path, lines: &[usize]) -> Option<String> {
    if lines.is_empty() {
        return None;
    }
    let mut named: Vec<String> = lines
        .iter()
        .take(DROPPED_LINES_NAMED)
        .map(ToString::to_string)
        .collect();
    if lines.len() > DROPPED_LINES_NAMED {
        named.push("…".to_owned());
    }
    Some(format!(
        "{}: {} malformed line(s) of X- or unknown properties dropped (lines {})",
        path.display(),
        lines.len(),
        named.join(", ")
    ))
}

/// What to store for `new`: merged by UID with what the calendar holds
/// (`present`, kept up to date), given an id if it holds none, and packed;
/// `None` when it changes nothing.
fn prepare_item(
    store: &mut impl ServerStore,
    calendar: u64,
    present: &mut HashMap<String, CalendarItem>,
    new: CalendarItem,
    report: &mut Report,
) -> Result<Option<(u64, Bytes)>> {
    let Some(key) = uid(&new).map(str::to_owned) else {
        return Ok(None);
    };
    let mut item = match present.get(&key) {
        Some(held) => {
            let mut merged = held.clone();
            let older = merge(&mut merged, new);
            if &merged == held {
                match older {
                    true => report.superseded += 1,
                    false => report.unchanged += 1,
                }
                return Ok(None);
            }
            merged.version = held.version.saturating_add(1);
            report.updated += 1;
            merged
        }
        None => {
            let mut fresh = new;
            fresh.id = store.allocate_id()?;
            fresh.version = 1;
            report.stored += 1;
            fresh
        }
    };
    item.calendar_id = calendar;
    let id = item.id;
    let packed = pack_item(item::Kind::Calendar(item.clone()));
    present.insert(key, item);
    Ok(Some((id, packed)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tidings::proto::CalendarTime;

    fn event(sequence: u32, stamp: &str, instance: Option<&str>, summary: &str) -> CalendarEvent {
        CalendarEvent {
            uid: "series".into(),
            summary: summary.into(),
            sequence,
            dtstamp: stamp.into(),
            recurrence_id: instance.map(|value| CalendarTime {
                value: value.into(),
                ..CalendarTime::default()
            }),
            ..CalendarEvent::default()
        }
    }

    fn summaries(item: &CalendarItem) -> Vec<&str> {
        item.overrides.iter().map(|o| o.summary.as_str()).collect()
    }

    #[test]
    fn a_newer_series_takes_away_the_instances_it_no_longer_has() {
        let mut held = CalendarItem {
            master: Some(event(0, "20261101T000000Z", None, "weekly")),
            overrides: vec![
                event(0, "20261101T000000Z", Some("20261110T090000Z"), "moved"),
                event(
                    2,
                    "20261103T000000Z",
                    Some("20261117T090000Z"),
                    "later update",
                ),
                event(0, "20261101T000000Z", Some("20261124T090000Z"), "kept"),
            ],
            ..CalendarItem::default()
        };
        let update = CalendarItem {
            master: Some(event(1, "20261102T000000Z", None, "weekly, new room")),
            overrides: vec![event(
                1,
                "20261102T000000Z",
                Some("20261124T090000Z"),
                "kept, new room",
            )],
            ..CalendarItem::default()
        };
        assert!(!merge(&mut held, update));
        assert_eq!(summaries(&held), ["later update", "kept, new room"]);

        // The same series again, or an older one, takes nothing away.
        let again = CalendarItem {
            master: Some(event(1, "20261102T000000Z", None, "weekly, new room")),
            ..CalendarItem::default()
        };
        merge(&mut held, again);
        assert_eq!(summaries(&held), ["later update", "kept, new room"]);
        // Nor does one instance sent alone.
        let one = CalendarItem {
            overrides: vec![event(
                3,
                "20261104T000000Z",
                Some("20261201T090000Z"),
                "one",
            )],
            ..CalendarItem::default()
        };
        merge(&mut held, one);
        assert_eq!(summaries(&held), ["later update", "kept, new room", "one"]);
    }
}
