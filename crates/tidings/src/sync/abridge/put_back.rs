//! An edit of an abridged event (sync.md §3 rule 9): what abridging
//! dropped whole, the device never saw, so its edit keeps it.

use super::{STORED_ITEM_LIMITS, deliverable_whole, first_pass_that_fits};
use crate::compress::unpack;
use crate::proto::{self, CalendarEvent, CalendarItem, Item, RawProperty, item};

/// Puts back into `edited`, a device's edit of the abridged form of the
/// stored event `packed`, what abridging dropped whole from it: the
/// unmodelled properties and sub-components of its events, and its time
/// zones, too long for the pass (an inline image, a file as a binary
/// `ATTACH`). The device never saw them, so its edit keeps them (sync.md
/// §3 rule 9). False, with `edited` unchanged, unless the abridged form
/// left out nothing else: a cut text or a shortened list would be lost.
pub fn put_back_dropped(edited: &mut CalendarItem, packed: &[u8]) -> bool {
    let size = u64::try_from(packed.len()).unwrap_or(u64::MAX);
    let decoded =
        unpack(packed, &STORED_ITEM_LIMITS).and_then(|bytes| proto::decode::<Item>(&bytes));
    let Ok(Item {
        kind: Some(kind @ item::Kind::Calendar(_)),
    }) = decoded
    else {
        return false;
    };
    if deliverable_whole(packed) {
        return false;
    }
    let Some((caps, mark, _)) = first_pass_that_fits(&kind, size) else {
        return false;
    };
    let item::Kind::Calendar(whole) = kind else {
        return false;
    };
    if mark.cut_texts != 0 || mark.omitted_entries != mark.dropped_whole {
        return false;
    }
    // The complements of the `keep` rules of `Cutter::event` and
    // `Cutter::calendar`.
    let put_back = |into: &mut CalendarEvent, from: &CalendarEvent| {
        let long_property =
            |p: &&RawProperty| p.name.len() + p.params.len() + p.value.len() > caps.text;
        into.other
            .extend(from.other.iter().filter(long_property).cloned());
        let long_component = |c: &&String| c.len() > caps.long_text;
        into.components
            .extend(from.components.iter().filter(long_component).cloned());
    };
    if let (Some(into), Some(from)) = (&mut edited.master, &whole.master) {
        put_back(into, from);
    }
    // An override the device removed goes with what it held.
    for into in &mut edited.overrides {
        let same = |from: &&CalendarEvent| from.recurrence_id == into.recurrence_id;
        if let Some(from) = whole.overrides.iter().find(same) {
            put_back(into, from);
        }
    }
    for zone in &whole.timezones {
        let long = zone.tzid.len() + zone.vtimezone.len() > caps.long_text;
        if long && !edited.timezones.iter().any(|held| held.tzid == zone.tzid) {
            edited.timezones.push(zone.clone());
        }
    }
    edited.abridged = None;
    true
}

#[cfg(test)]
mod tests {
    use super::super::{abridge, pack_kind};
    use super::*;
    use crate::compress::InflateLimits;
    use crate::proto::{Attendee, CalendarTime, TimeZone};

    /// Text that deflate cannot shrink, so sizes are what they look like.
    fn noise(len: usize, seed: u64) -> String {
        let mut x = seed | 1;
        let letter = |x: u64| char::from(b'a' + (x % 26) as u8);
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                letter(x)
            })
            .collect()
    }

    fn property(name: &str, value: String) -> RawProperty {
        RawProperty {
            name: name.into(),
            params: String::new(),
            value,
        }
    }

    /// An Outlook-style invitation: an inline image on the series, a file
    /// on one instance, a zone too long for a page, and small properties.
    fn invitation() -> CalendarItem {
        let instance = CalendarTime {
            value: "20270105T090000".into(),
            tzid: "Town".into(),
            params: String::new(),
        };
        CalendarItem {
            id: 9,
            calendar_id: 3,
            version: 4,
            master: Some(CalendarEvent {
                uid: "series".into(),
                summary: "Council".into(),
                other: vec![
                    property("X-MICROSOFT-CDO-BUSYSTATUS", "BUSY".into()),
                    property("X-ALT-DESC", noise(40_000, 1)),
                    property("X-SMALL", "kept".into()),
                ],
                ..CalendarEvent::default()
            }),
            overrides: vec![CalendarEvent {
                uid: "series".into(),
                summary: "Council (budget)".into(),
                recurrence_id: Some(instance),
                other: vec![property("ATTACH", noise(40_000, 2))],
                ..CalendarEvent::default()
            }],
            timezones: vec![TimeZone {
                tzid: "Town".into(),
                vtimezone: noise(20_000, 3),
            }],
            ..CalendarItem::default()
        }
    }

    fn packed(event: &CalendarItem) -> Vec<u8> {
        pack_kind(Some(item::Kind::Calendar(event.clone())))
    }

    /// What a device holds of `whole`: its abridged form.
    fn held(whole: &CalendarItem) -> CalendarItem {
        assert!(!deliverable_whole(&packed(whole)), "too large for a page");
        let bytes = unpack(&abridge(&packed(whole)), &InflateLimits::default()).expect("unpacks");
        match proto::decode::<Item>(&bytes).expect("decodes").kind {
            Some(item::Kind::Calendar(event)) => event,
            other => panic!("not an event: {other:?}"),
        }
    }

    #[test]
    fn an_edit_keeps_what_was_dropped_whole_and_nothing_the_device_removed() {
        let whole = invitation();
        let mut edit = held(&whole);
        let mark = edit.abridged.expect("abridged");
        assert_eq!((mark.dropped_whole, mark.omitted_entries), (3, 3));
        assert_eq!(mark.cut_texts, 0);
        // The device renames the series and removes a property it saw.
        let master = edit.master.as_mut().expect("master");
        master.summary = "Council (moved)".into();
        master.other.retain(|p| p.name != "X-SMALL");
        assert!(put_back_dropped(&mut edit, &packed(&whole)));

        let mut expected = whole.clone();
        let master = expected.master.as_mut().expect("master");
        master.summary = "Council (moved)".into();
        master.other.retain(|p| p.name != "X-SMALL");
        assert_eq!(edit, expected);
    }

    #[test]
    fn an_override_the_device_removed_takes_its_file_with_it() {
        let whole = invitation();
        let mut edit = held(&whole);
        edit.overrides.clear();
        assert!(put_back_dropped(&mut edit, &packed(&whole)));
        assert!(edit.overrides.is_empty());
        let master = edit.master.expect("master");
        assert!(master.other.iter().any(|p| p.name == "X-ALT-DESC"));
        assert_eq!(edit.timezones, whole.timezones);
    }

    #[test]
    fn an_edit_of_a_cut_text_or_a_shortened_list_is_refused() {
        let mut cut = invitation();
        cut.master.as_mut().expect("master").description = noise(20_000, 4);
        let mut shortened = invitation();
        let attendee = Attendee::default();
        shortened.master.as_mut().expect("master").attendees = vec![attendee; 65];
        for whole in [cut, shortened] {
            let edit = held(&whole);
            let mut tried = edit.clone();
            assert!(!put_back_dropped(&mut tried, &packed(&whole)));
            assert_eq!(tried, edit, "unchanged when refused");
        }
    }

    #[test]
    fn an_item_that_is_whole_or_not_an_event_is_refused() {
        let small = CalendarItem {
            master: Some(CalendarEvent::default()),
            ..CalendarItem::default()
        };
        let mut edit = small.clone();
        assert!(!put_back_dropped(&mut edit, &packed(&small)));
        let mail = pack_kind(Some(item::Kind::Mail(proto::MailItem::default())));
        assert!(!put_back_dropped(&mut edit, &mail));
        assert!(!put_back_dropped(&mut edit, b"not packed"));
    }
}
