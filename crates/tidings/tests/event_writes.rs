//! What the server takes as an event a device writes, and where (sync.md
//! §6): events only into calendars, mail operations only on mail folders,
//! and an event that other readers can read (a UID shared by the master
//! and its overrides, kept across edits; readable times).

mod town;

use tidings::ErrorKind;
use tidings::proto::{
    CalendarItem, CalendarTime, CreateEvent, DeleteEvent, ReplyMail, SetFlags, UpdateEvent,
    operation::Kind, operation_result::Outcome,
};
use tidings::session::{ClientSession, ServerSession};
use tidings::store::ItemStore;
use town::*;

/// The outcome of `kind`, submitted as `op` by the chief's device.
fn run(
    town: &mut Town,
    (device, server): (&mut ClientSession, &mut ServerSession),
    op: u8,
    kind: Kind,
) -> Outcome {
    device.submit(3_000, [op; 16], kind).expect("queued");
    pump(device, server, &mut town.store, 3_000);
    outcomes(device).pop().expect("an answer")
}

fn refused_with(outcome: &Outcome, kind: ErrorKind) -> bool {
    matches!(outcome, Outcome::Error(e) if e.code == u32::from(kind.code()))
}

fn at(value: &str) -> Option<CalendarTime> {
    Some(CalendarTime {
        value: value.into(),
        ..CalendarTime::default()
    })
}

#[test]
fn events_go_only_into_calendars_and_mail_operations_only_on_mail() {
    let mut town = Town::new();
    let (mut device, mut server) = enroll(&mut town, CHIEF, 7, 1_000);
    let (inbox, calendar) = (town.chief_inbox, town.chief_calendar);
    let event = meeting(0, inbox, "m-1@town.example", "Planning", &[]);
    let into_inbox = Kind::CreateEvent(CreateEvent {
        calendar_id: inbox,
        item: Some(event.clone()),
    });
    let before = town.store.items(inbox).expect("inbox").len();
    let outcome = run(&mut town, (&mut device, &mut server), 1, into_inbox);
    assert!(
        refused_with(&outcome, ErrorKind::InvalidArgument),
        "{outcome:?}"
    );
    assert_eq!(town.store.items(inbox).expect("inbox").len(), before);

    // Into the calendar it goes; then mail operations on it are refused.
    let into_calendar = Kind::CreateEvent(CreateEvent {
        calendar_id: calendar,
        item: Some(event),
    });
    let Outcome::Done(done) = run(&mut town, (&mut device, &mut server), 2, into_calendar) else {
        panic!("the event is created in the calendar");
    };
    let flag = Kind::SetFlags(SetFlags {
        collection_id: calendar,
        item_ids: vec![done.item_id],
        set: 1,
        clear: 0,
    });
    let outcome = run(&mut town, (&mut device, &mut server), 3, flag);
    assert!(
        refused_with(&outcome, ErrorKind::InvalidArgument),
        "{outcome:?}"
    );
    assert_eq!(town.flags(calendar, done.item_id), Some(0));
    let reply = Kind::ReplyMail(ReplyMail {
        collection_id: calendar,
        item_id: done.item_id,
        reply_all: false,
        mail: None,
    });
    let outcome = run(&mut town, (&mut device, &mut server), 4, reply);
    assert!(
        refused_with(&outcome, ErrorKind::InvalidArgument),
        "{outcome:?}"
    );

    // An event operation naming a mail folder is refused too.
    let mail_id = town.store.items(inbox).expect("inbox")[0].0;
    let delete = Kind::DeleteEvent(DeleteEvent {
        calendar_id: inbox,
        item_id: mail_id,
        expected_version: 1,
    });
    let outcome = run(&mut town, (&mut device, &mut server), 5, delete);
    assert!(
        refused_with(&outcome, ErrorKind::InvalidArgument),
        "{outcome:?}"
    );
    assert!(town.store.item(inbox, mail_id).expect("read").is_some());
}

#[test]
fn an_event_no_reader_could_read_is_refused_and_nothing_is_stored() {
    let mut town = Town::new();
    let (mut device, mut server) = enroll(&mut town, CHIEF, 7, 1_000);
    let calendar = town.chief_calendar;
    let good = meeting(0, calendar, "s-1@town.example", "Surgery", &[]);
    let master = good.master.clone().expect("master");
    let mut instance = master.clone();
    instance.recurrence_id = at("20261210T090000");
    let broken: Vec<(&str, CalendarItem)> = vec![
        ("empty", CalendarItem::default()),
        ("no UID", {
            let mut e = good.clone();
            e.master.as_mut().expect("master").uid.clear();
            e
        }),
        ("no DTSTART", {
            let mut e = good.clone();
            e.master.as_mut().expect("master").start = None;
            e
        }),
        ("an unreadable DTSTART", {
            let mut e = good.clone();
            e.master.as_mut().expect("master").start = at("garbage");
            e
        }),
        ("an unreadable RRULE", {
            let mut e = good.clone();
            e.master.as_mut().expect("master").rrule = "FREQ=SOMETIMES".into();
            e
        }),
        ("an override of another UID", {
            let mut e = good.clone();
            let mut other = instance.clone();
            other.uid = "zzz".into();
            e.overrides.push(other);
            e
        }),
        ("an override without RECURRENCE-ID", {
            let mut e = good.clone();
            e.overrides.push(master.clone());
            e
        }),
        (
            "a master with a RECURRENCE-ID",
            CalendarItem {
                master: Some(instance.clone()),
                ..good.clone()
            },
        ),
    ];
    let before = town.store.items(calendar).expect("calendar").len();
    for (n, (what, item)) in broken.into_iter().enumerate() {
        let create = Kind::CreateEvent(CreateEvent {
            calendar_id: calendar,
            item: Some(item),
        });
        let outcome = run(&mut town, (&mut device, &mut server), 10 + n as u8, create);
        assert!(
            refused_with(&outcome, ErrorKind::InvalidArgument),
            "{what}: {outcome:?}"
        );
    }
    assert_eq!(town.store.items(calendar).expect("calendar").len(), before);

    // A series with an overridden instance is taken; an edit keeps its UID.
    let series = CalendarItem {
        overrides: vec![instance],
        ..good
    };
    let create = Kind::CreateEvent(CreateEvent {
        calendar_id: calendar,
        item: Some(series.clone()),
    });
    let Outcome::Done(done) = run(&mut town, (&mut device, &mut server), 30, create) else {
        panic!("a well-formed series is created");
    };
    let mut renamed = series;
    renamed.id = done.item_id;
    for e in renamed.master.iter_mut().chain(&mut renamed.overrides) {
        e.uid = "other@town.example".into();
    }
    let update = Kind::UpdateEvent(UpdateEvent {
        calendar_id: calendar,
        item: Some(renamed),
        expected_version: 1,
    });
    let outcome = run(&mut town, (&mut device, &mut server), 31, update);
    assert!(
        refused_with(&outcome, ErrorKind::InvalidArgument),
        "{outcome:?}"
    );
    let kept = event(&device, calendar, done.item_id);
    assert_eq!(kept.master.expect("master").uid, "s-1@town.example");
    assert_eq!(kept.version, 1);
}
