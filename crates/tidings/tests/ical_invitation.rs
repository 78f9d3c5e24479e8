//! Answering invitations in real clients' items (`tests/invitations/`, as a
//! tester fetched them from CalDAV servers): one instance, the whole series,
//! and an invitation to a single instance.

use tidings::ErrorKind;
use tidings::proto::{CalendarEvent, CalendarItem, CalendarTime, ParticipationStatus};
use tidings::sync::ical::{calendar_item_to_ical, calendar_items_from_ical};
use tidings::sync::invitation::{Answered, answer, status_in};

/// Mondays 09:30 New York from 1 to 29 March 2027; 15 March moved to Tuesday
/// 16th, 22 March excluded, 29 March cancelled (an override without
/// attendees). The mayor has not answered.
const GOOGLE_WEEKLY: &str = include_str!("invitations/google_weekly.ics");
/// Apple's invitation to one instance of a series the mayor is not invited
/// to: an override and no master.
const INSTANCE_ONLY: &str = include_str!("invitations/instance_only.ics");

const MAYOR: &str = "Mayor@Town.example";
const NY: &str = "America/New_York";

fn read(text: &str) -> CalendarItem {
    let mut items = calendar_items_from_ical(text, 1).expect("a fixture that parses");
    assert_eq!(items.len(), 1);
    items.remove(0)
}

fn at(value: &str, tzid: &str) -> CalendarTime {
    CalendarTime {
        value: value.into(),
        tzid: tzid.into(),
        ..CalendarTime::default()
    }
}

fn status(event: &CalendarEvent) -> Option<ParticipationStatus> {
    status_in(event, MAYOR).map(|s| ParticipationStatus::try_from(s).expect("a known status"))
}

fn instance<'a>(item: &'a CalendarItem, value: &str) -> &'a CalendarEvent {
    item.overrides
        .iter()
        .find(|o| o.recurrence_id.as_ref().map(|r| r.value.as_str()) == Some(value))
        .unwrap_or_else(|| panic!("no override at {value}"))
}

fn master(item: &CalendarItem) -> &CalendarEvent {
    item.master.as_ref().expect("a master")
}

#[test]
fn declining_one_instance_overrides_only_that_instance() {
    let mut item = read(GOOGLE_WEEKLY);
    let before = item.clone();
    let answered = answer(
        &mut item,
        MAYOR,
        ParticipationStatus::Declined,
        Some(&at("20270308T093000", NY)),
    )
    .expect("an instance of the series");
    assert_eq!(answered, Answered::Instance(2));
    assert_eq!(item.overrides.len(), 3);
    let declined = instance(&item, "20270308T093000");
    assert_eq!(status(declined), Some(ParticipationStatus::Declined));
    assert_eq!(declined.recurrence_id, Some(at("20270308T093000", NY)));
    assert_eq!(declined.start, Some(at("20270308T093000", NY)));
    assert_eq!(declined.end, Some(at("20270308T100000", NY)));
    // The master's properties, less its recurrence.
    let m = master(&before);
    assert_eq!(declined.uid, m.uid);
    assert_eq!(declined.summary, m.summary);
    assert_eq!(declined.location, m.location);
    assert_eq!(declined.organizer, m.organizer);
    assert_eq!(declined.attendees.len(), m.attendees.len());
    assert!(declined.rrule.is_empty() && declined.exdates.is_empty());
    assert!(declined.other.iter().all(|p| p.name != "RRULE"));
    // Everything else keeps its answer.
    assert_eq!(item.master, before.master);
    assert_eq!(item.overrides[..2], before.overrides[..]);
    assert_eq!(
        status(master(&item)),
        Some(ParticipationStatus::NeedsAction)
    );

    // What a CalDAV server stores reads back the same.
    let again = read(&calendar_item_to_ical(&item));
    assert_eq!(
        status(instance(&again, "20270308T093000")),
        Some(ParticipationStatus::Declined)
    );
    assert_eq!(
        status(master(&again)),
        Some(ParticipationStatus::NeedsAction)
    );
}

#[test]
fn an_instance_named_in_utc_is_found_and_written_as_the_series_writes_it() {
    let mut item = read(GOOGLE_WEEKLY);
    // 1 March 09:30 EST is 14:30 UTC.
    answer(
        &mut item,
        MAYOR,
        ParticipationStatus::Tentative,
        Some(&at("20270301T143000Z", "")),
    )
    .expect("the same instant");
    let answered = instance(&item, "20270301T093000");
    assert_eq!(answered.recurrence_id, Some(at("20270301T093000", NY)));
    assert_eq!(status(answered), Some(ParticipationStatus::Tentative));
}

#[test]
fn answering_an_overridden_instance_changes_only_its_override() {
    let mut item = read(GOOGLE_WEEKLY);
    let before = item.clone();
    let answered = answer(
        &mut item,
        MAYOR,
        ParticipationStatus::Accepted,
        Some(&at("20270315T093000", NY)),
    )
    .expect("the moved instance");
    assert_eq!(answered, Answered::Instance(0));
    assert_eq!(item.overrides.len(), 2, "no second override");
    let moved = instance(&item, "20270315T093000");
    assert_eq!(status(moved), Some(ParticipationStatus::Accepted));
    assert_eq!(moved.start, Some(at("20270316T140000", NY)), "still moved");
    assert_eq!(item.master, before.master);
}

#[test]
fn accepting_the_series_answers_the_master_and_every_override_listing_the_owner() {
    let mut item = read(GOOGLE_WEEKLY);
    // Declined on purpose, then the whole series accepted: all of it is.
    answer(
        &mut item,
        MAYOR,
        ParticipationStatus::Declined,
        Some(&at("20270308T093000", NY)),
    )
    .expect("an instance");
    let answered = answer(&mut item, MAYOR, ParticipationStatus::Accepted, None)
        .expect("the owner is invited");
    assert_eq!(answered, Answered::Series);
    assert_eq!(status(master(&item)), Some(ParticipationStatus::Accepted));
    for rid in ["20270315T093000", "20270308T093000"] {
        assert_eq!(
            status(instance(&item, rid)),
            Some(ParticipationStatus::Accepted),
            "{rid}"
        );
    }
    // The cancelled instance lists nobody and gains no one.
    assert!(instance(&item, "20270329T093000").attendees.is_empty());
    // An empty recurrence_id is the whole series too.
    answer(
        &mut item,
        MAYOR,
        ParticipationStatus::Tentative,
        Some(&at("", "")),
    )
    .expect("the series");
    assert_eq!(status(master(&item)), Some(ParticipationStatus::Tentative));
}

#[test]
fn an_invitation_to_one_instance_alone_can_be_answered() {
    let mut item = read(INSTANCE_ONLY);
    assert!(item.master.is_none());
    assert_eq!(
        answer(&mut item, MAYOR, ParticipationStatus::Accepted, None),
        Ok(Answered::Series)
    );
    assert_eq!(
        status(&item.overrides[0]),
        Some(ParticipationStatus::Accepted)
    );
    let rid = at("20270204T100000", "Europe/Berlin");
    assert_eq!(
        answer(&mut item, MAYOR, ParticipationStatus::Declined, Some(&rid)),
        Ok(Answered::Instance(0))
    );
    assert_eq!(
        status(&item.overrides[0]),
        Some(ParticipationStatus::Declined)
    );
    // No master: no other instance can be made up.
    let other = at("20270211T100000", "Europe/Berlin");
    let refused = answer(
        &mut item,
        MAYOR,
        ParticipationStatus::Accepted,
        Some(&other),
    )
    .expect_err("not an instance anyone was invited to");
    assert_eq!(refused.kind(), ErrorKind::NotFound);
    assert_eq!(item.overrides.len(), 1);
}

#[test]
fn a_recurrence_id_that_is_no_instance_is_refused_and_changes_nothing() {
    let item = read(GOOGLE_WEEKLY);
    for (value, why) in [
        ("20270322T093000", "excluded by EXDATE"),
        ("20270309T093000", "a Tuesday"),
        ("20270301T100000", "the wrong time of day"),
        ("20270405T093000", "past UNTIL"),
        ("20270222T093000", "before DTSTART"),
    ] {
        let mut answered = item.clone();
        let refused = answer(
            &mut answered,
            MAYOR,
            ParticipationStatus::Declined,
            Some(&at(value, NY)),
        )
        .expect_err(why);
        assert_eq!(refused.kind(), ErrorKind::NotFound, "{why}: {refused}");
        assert_eq!(answered, item, "{why}: nothing changes");
    }
    let mut answered = item.clone();
    let malformed = answer(
        &mut answered,
        MAYOR,
        ParticipationStatus::Declined,
        Some(&at("next Monday", NY)),
    )
    .expect_err("not a date");
    assert_eq!(malformed.kind(), ErrorKind::InvalidData);
    assert_eq!(answered, item);
}

#[test]
fn a_single_event_has_no_instances_and_strangers_cannot_answer() {
    let mut single = read(GOOGLE_WEEKLY);
    single.overrides.clear();
    if let Some(m) = single.master.as_mut() {
        m.rrule.clear();
        m.exdates.clear();
    }
    let before = single.clone();
    let refused = answer(
        &mut single,
        MAYOR,
        ParticipationStatus::Declined,
        Some(&at("20270301T093000", NY)),
    )
    .expect_err("a single event has no instance to override");
    assert_eq!(refused.kind(), ErrorKind::NotFound);
    assert_eq!(single, before);

    let mut item = read(GOOGLE_WEEKLY);
    for rid in [None, Some(at("20270308T093000", NY))] {
        let refused = answer(
            &mut item,
            "stranger@town.example",
            ParticipationStatus::Accepted,
            rid.as_ref(),
        )
        .expect_err("not invited");
        assert_eq!(refused.kind(), ErrorKind::NotFound);
    }
    assert_eq!(item, read(GOOGLE_WEEKLY));
}
