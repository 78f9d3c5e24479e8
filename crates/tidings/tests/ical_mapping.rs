//! iCalendar to calendar items: what is modelled and what is kept verbatim.

mod items;

use items::cal::{items, master, time, vevent};
use tidings::proto::{AttendeeRole, ParticipationStatus, RawProperty, Transparency};
use tidings::sync::ical::{calendar_item_to_ical, calendar_items_from_ical};

#[test]
fn text_is_unescaped_and_its_parameters_kept() {
    let event = master(&vevent(
        "UID:1\r\nDTSTART:20261130T090000Z\r\n\
         SUMMARY;LANGUAGE=de:Haushalt\\, zweite Lesung\\; Raum 2\\nBitte \\\\ pünktlich\r\n\
         LOCATION:Rathaus\\, Saal 1\r\nDESCRIPTION:Line one\\NLine two\r\n",
    ));
    assert_eq!(
        event.summary,
        "Haushalt, zweite Lesung; Raum 2\nBitte \\ pünktlich"
    );
    assert_eq!(event.summary_params, "LANGUAGE=de");
    assert_eq!(event.location, "Rathaus, Saal 1");
    assert_eq!(event.description, "Line one\nLine two");
}

#[test]
fn all_day_utc_floating_and_zoned_times() {
    let event = master(&vevent(
        "UID:1\r\nDTSTART;VALUE=DATE:20261130\r\nDTEND;VALUE=DATE:20261201\r\n",
    ));
    assert_eq!(
        (event.start, event.end),
        (Some(time("20261130", "")), Some(time("20261201", "")))
    );
    let event = master(&vevent(
        "UID:1\r\nDTSTART:20261130T090000Z\r\nDURATION:PT1H30M\r\n",
    ));
    assert_eq!(
        (event.start, event.duration.as_str()),
        (Some(time("20261130T090000Z", "")), "PT1H30M")
    );
    let event = master(&vevent("UID:1\r\nDTSTART:20261130T090000\r\n"));
    assert_eq!(event.start, Some(time("20261130T090000", "")));
    let event = master(&vevent(
        "UID:1\r\nDTSTART;TZID=\"W. Europe Standard Time\":20261130T090000\r\n",
    ));
    assert_eq!(
        event.start,
        Some(time("20261130T090000", "W. Europe Standard Time"))
    );
}

#[test]
fn recurrence_rules_and_several_dates_per_line() {
    let event = master(&vevent(
        "UID:1\r\nDTSTART;TZID=Europe/Berlin:20261130T090000\r\nRRULE:FREQ=WEEKLY;BYDAY=MO,WE\r\n\
         EXDATE;TZID=Europe/Berlin:20261202T090000,20261207T090000\r\nEXDATE:20261214T080000Z\r\n\
         RDATE;VALUE=PERIOD:20261224T170000Z/PT2H,20261231T170000Z/20261231T200000Z\r\n\
         RDATE;VALUE=DATE:20270101\r\n",
    ));
    assert_eq!(event.rrule, "FREQ=WEEKLY;BYDAY=MO,WE");
    let exdates = [
        time("20261202T090000", "Europe/Berlin"),
        time("20261207T090000", "Europe/Berlin"),
        time("20261214T080000Z", ""),
    ];
    assert_eq!(event.exdates, exdates);
    let rdates: Vec<&str> = event.rdates.iter().map(|t| t.value.as_str()).collect();
    assert_eq!(
        rdates,
        [
            "20261224T170000Z/PT2H",
            "20261231T170000Z/20261231T200000Z",
            "20270101"
        ]
    );
}

#[test]
fn overrides_join_their_master_and_may_stand_alone() {
    let text = "BEGIN:VCALENDAR\r\n\
        BEGIN:VEVENT\r\nUID:a\r\nRECURRENCE-ID;RANGE=THISANDFUTURE:20261207T090000Z\r\nDTSTART:20261207T100000Z\r\nEND:VEVENT\r\n\
        BEGIN:VEVENT\r\nUID:b\r\nRECURRENCE-ID:20261208T090000Z\r\nDTSTART:20261208T100000Z\r\nEND:VEVENT\r\n\
        BEGIN:VEVENT\r\nUID:a\r\nDTSTART:20261130T090000Z\r\nRRULE:FREQ=WEEKLY\r\nEND:VEVENT\r\n\
        END:VCALENDAR\r\n";
    let items = items(text);
    assert_eq!(items.len(), 2);
    let (a, b) = (&items[0], &items[1]);
    assert_eq!(
        a.master.as_ref().map(|m| m.rrule.as_str()),
        Some("FREQ=WEEKLY")
    );
    let rid = a.overrides[0].recurrence_id.as_ref().unwrap();
    assert_eq!(
        (rid.value.as_str(), rid.params.as_str()),
        ("20261207T090000Z", "RANGE=THISANDFUTURE")
    );
    // An invitation to one instance only: no master.
    assert_eq!((b.master.is_none(), b.overrides.len()), (true, 1));
    assert!(
        items
            .iter()
            .all(|i| i.calendar_id == 3 && i.id == 0 && i.version == 0)
    );
}

#[test]
fn organizer_and_attendees() {
    let event = master(&vevent(
        "UID:1\r\nDTSTART:20261130T090000Z\r\n\
         ORGANIZER;CN=\"Mayor, The\";SENT-BY=\"mailto:cos@town.example\":MAILTO:mayor@town.example\r\n\
         ATTENDEE;CN=George Herman ^'Babe^' Ruth;PARTSTAT=accepted;ROLE=CHAIR;RSVP=TRUE;CUTYPE=INDIVIDUAL:mailto:babe@example.com\r\n\
         ATTENDEE;RSVP=FALSE;ROLE=OPT-PARTICIPANT;PARTSTAT=X-UNKNOWN:mailto:opt@example.com\r\n\
         ATTENDEE;CUTYPE=ROOM:urn:uuid:room-1\r\n",
    ));
    let organizer = event.organizer.unwrap();
    assert_eq!(
        (organizer.name.as_str(), organizer.email.as_str()),
        ("Mayor, The", "mayor@town.example")
    );
    assert_eq!(
        event.organizer_params,
        "SENT-BY=\"mailto:cos@town.example\""
    );
    let [babe, optional] = event.attendees.as_slice() else {
        panic!("{:?}", event.attendees)
    };
    assert_eq!(
        babe.address.as_ref().unwrap().name,
        "George Herman \"Babe\" Ruth"
    );
    assert_eq!(
        (babe.status(), babe.role(), babe.rsvp),
        (ParticipationStatus::Accepted, AttendeeRole::Chair, true)
    );
    assert_eq!(babe.other_params, "CUTYPE=INDIVIDUAL");
    // RSVP=FALSE and an unknown PARTSTAT cannot be told from absence: verbatim.
    assert_eq!(
        (optional.status(), optional.role(), optional.rsvp),
        (
            ParticipationStatus::Unspecified,
            AttendeeRole::Optional,
            false
        )
    );
    assert_eq!(optional.other_params, "RSVP=FALSE;PARTSTAT=X-UNKNOWN");
    assert!(babe.uri.is_empty() && event.organizer_uri.is_empty());
    // Not a mailto: address, and no EMAIL to show: kept whole.
    let room = RawProperty {
        name: "ATTENDEE".into(),
        params: "CUTYPE=ROOM".into(),
        value: "urn:uuid:room-1".into(),
    };
    assert_eq!(event.other, [room]);
}

/// CalendarServer names every user it knows by a URN, with the address
/// in an EMAIL parameter: shown, answered and written back as it came.
#[test]
fn a_user_named_by_a_urn_has_the_address_of_its_email_parameter() {
    let text = vevent(
        "UID:1\r\nDTSTART:20261130T090000Z\r\n\
         ORGANIZER;CN=Mayor;EMAIL=mayor@town.example:urn:x-uid:0A1B\r\n\
         ATTENDEE;CN=Cos;CUTYPE=INDIVIDUAL;EMAIL=\"cos@town.example\";PARTSTAT=NEEDS-ACTION;\
         RSVP=TRUE:urn:uuid:9C2D\r\n",
    );
    let event = master(&text);
    let organizer = event.organizer.as_ref().unwrap();
    assert_eq!(organizer.email, "mayor@town.example");
    assert_eq!(event.organizer_uri, "urn:x-uid:0A1B");
    assert_eq!(event.organizer_params, "EMAIL=mayor@town.example");
    let [cos] = event.attendees.as_slice() else {
        panic!("{:?}", event.attendees)
    };
    assert_eq!(cos.address.as_ref().unwrap().email, "cos@town.example");
    assert_eq!(cos.uri, "urn:uuid:9C2D");
    assert_eq!(cos.status(), ParticipationStatus::NeedsAction);
    assert_eq!(
        cos.other_params,
        "CUTYPE=INDIVIDUAL;EMAIL=\"cos@town.example\""
    );
    assert!(event.other.is_empty(), "{:?}", event.other);
    let item = &items(&text)[0];
    let written = calendar_item_to_ical(item);
    assert!(written.contains(":urn:uuid:9C2D\r\n"), "{written}");
    assert!(!written.contains("mailto:cos"), "{written}");
    assert_eq!(
        calendar_items_from_ical(&written, item.calendar_id).unwrap(),
        std::slice::from_ref(item)
    );
}

#[test]
fn alarms_and_simple_properties() {
    let event = master(&vevent(
        "UID:1\r\nDTSTAMP:20261101T120000Z\r\nDTSTART:20261130T090000Z\r\nSEQUENCE:4\r\nSTATUS:TENTATIVE\r\nTRANSP:TRANSPARENT\r\n\
         BEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER;RELATED=END:-PT15M\r\nDESCRIPTION:Leave\\, now\r\nREPEAT:2\r\n\
         BEGIN:VLOCATION\r\nUID:l\r\nEND:VLOCATION\r\nEND:VALARM\r\n",
    ));
    assert_eq!(
        (
            event.dtstamp.as_str(),
            event.sequence,
            event.status.as_str()
        ),
        ("20261101T120000Z", 4, "TENTATIVE")
    );
    assert_eq!(event.transparency(), Transparency::Transparent);
    let alarm = &event.alarms[0];
    assert_eq!(
        (alarm.action.as_str(), alarm.trigger.as_str()),
        ("DISPLAY", "-PT15M")
    );
    assert_eq!(
        (alarm.trigger_params.as_str(), alarm.description.as_str()),
        ("RELATED=END", "Leave, now")
    );
    assert_eq!(
        alarm.other,
        [RawProperty {
            name: "REPEAT".into(),
            params: "".into(),
            value: "2".into()
        }]
    );
    assert_eq!(
        alarm.components,
        ["BEGIN:VLOCATION\r\nUID:l\r\nEND:VLOCATION\r\n"]
    );
}

#[test]
fn what_the_model_cannot_hold_is_kept_verbatim_in_order() {
    let event = master(&vevent(
        "UID:1\r\nDTSTART:20261130T090000Z\r\nX-MICROSOFT-CDO-BUSYSTATUS:BUSY\r\nSUMMARY:first\r\n\
         SUMMARY:second\r\nSEQUENCE:0\r\nCATEGORIES:a\\,b,c\r\nEXDATE:2026-12-01\r\n",
    ));
    let names: Vec<(&str, &str)> = event
        .other
        .iter()
        .map(|p| (p.name.as_str(), p.value.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            ("X-MICROSOFT-CDO-BUSYSTATUS", "BUSY"),
            ("SUMMARY", "second"),
            ("SEQUENCE", "0"),
            ("CATEGORIES", "a\\,b,c"),
            ("EXDATE", "2026-12-01")
        ]
    );
    assert_eq!(event.summary, "first");
}

#[test]
fn only_referenced_time_zones_are_kept_verbatim() {
    let zone = |tzid: &str| {
        format!(
            "BEGIN:VTIMEZONE\r\nTZID:{tzid}\r\nBEGIN:STANDARD\r\nDTSTART:16010101T030000\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n"
        )
    };
    let text = format!(
        "BEGIN:VCALENDAR\r\n{}{}BEGIN:VEVENT\r\nUID:1\r\nDTSTART;TZID=Used:20261130T090000\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        zone("Unused"),
        zone("Used")
    );
    let item = items(&text).remove(0);
    assert_eq!(item.timezones.len(), 1);
    assert_eq!(item.timezones[0].tzid, "Used");
    assert_eq!(item.timezones[0].vtimezone, zone("Used"));
}
