//! A proptest strategy for valid calendar items: values the iCalendar
//! mapping must carry through a round trip unchanged.
//!
//! "Valid" means what the parser would produce: modelled fields hold values
//! they can tell from absence, parameters beside them are set only when the
//! property is, verbatim parts never use a modelled name, and time zones are
//! exactly those the events refer to.

use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use tidings::proto::{
    Address, Alarm, Attendee, CalendarEvent, CalendarItem, CalendarTime, RawProperty, TimeZone,
};

/// TEXT with everything that needs escaping, and non-ASCII (no CR: TEXT has none).
fn text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 ,;:\\\\\"\n\t'^éß日本😀\u{a0}-]{1,40}"
}

/// Text or nothing.
fn maybe_text() -> impl Strategy<Value = String> {
    prop_oneof![Just(String::new()), text()]
}

/// A verbatim parameter list; none of the names the model reads.
fn params() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("LANGUAGE=de".to_owned()),
        Just("ALTREP=\"cid:part1.0001@example.org\"".to_owned()),
        Just("X-A=\"q;u:o,te\";X-B=1,2,\"3\"".to_owned()),
        "X-[A-Z]{1,8}=[a-zA-Z0-9 ./-]{0,12}",
    ]
}

/// The value of `field` and its parameters, parameters only with a value.
fn with_params(value: impl Strategy<Value = String>) -> impl Strategy<Value = (String, String)> {
    (value, params()).prop_map(|(v, p)| match v.is_empty() {
        true => (v, String::new()),
        false => (v, p),
    })
}

fn date() -> impl Strategy<Value = String> {
    (1900u32..2100, 1u32..=12, 1u32..=28).prop_map(|(y, m, d)| format!("{y:04}{m:02}{d:02}"))
}

fn date_time(utc: bool) -> impl Strategy<Value = String> {
    (date(), 0u32..24, 0u32..60, 0u32..60).prop_map(move |(d, h, m, s)| {
        format!("{d}T{h:02}{m:02}{s:02}{}", if utc { "Z" } else { "" })
    })
}

fn tzid() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("Europe/Berlin".to_owned()),
        Just("Tokyo Standard Time".to_owned()),
        Just("Zone, with; specials: \"q\" ^n".to_owned()),
        Just("Zürich (Ünïcode)".to_owned()),
    ]
}

/// DATE (all-day), UTC, floating or local with a TZID; `periods` adds PERIODs.
fn time(periods: bool) -> impl Strategy<Value = CalendarTime> {
    let value = prop_oneof![
        date().prop_map(|v| (v, String::new())),
        date_time(true).prop_map(|v| (v, String::new())),
        date_time(false).prop_map(|v| (v, String::new())),
        (date_time(false), tzid()),
    ];
    let period = (
        date_time(true),
        prop_oneof![date_time(true), Just("PT1H30M".to_owned())],
    )
        .prop_map(|(start, end)| (format!("{start}/{end}"), String::new()));
    let value = match periods {
        true => prop_oneof![3 => value, 1 => period].boxed(),
        false => value.boxed(),
    };
    let params = prop_oneof![Just(String::new()), Just("X-ORIGINAL=1".to_owned())];
    (value, params).prop_map(|((value, tzid), params)| CalendarTime {
        value,
        tzid,
        params,
    })
}

fn email() -> impl Strategy<Value = String> {
    "[a-z0-9.]{1,10}@[a-zé]{1,8}\\.example"
}

fn attendee() -> impl Strategy<Value = Attendee> {
    let other = prop_oneof![
        Just(String::new()),
        Just("CUTYPE=ROOM".to_owned()),
        Just("RSVP=FALSE".to_owned()),
        Just("DELEGATED-TO=\"mailto:a@example.org\",\"mailto:b@example.org\"".to_owned()),
        Just("PARTSTAT=IN-PROCESS".to_owned()),
    ];
    // CalendarServer's form: a URN, the address in an EMAIL parameter.
    let urn = option::of("urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}");
    (
        maybe_text(),
        email(),
        0i32..=5,
        0i32..=4,
        any::<bool>(),
        other,
        urn,
    )
        .prop_map(|(name, email, status, role, rsvp, other, urn)| {
            let (uri, other_params) = match urn {
                None => (String::new(), other),
                Some(urn) => {
                    let with_email = format!("EMAIL=\"{email}\"");
                    let params = [other, with_email].into_iter().filter(|p| !p.is_empty());
                    (urn, params.collect::<Vec<_>>().join(";"))
                }
            };
            Attendee {
                address: Some(Address { name, email }),
                status,
                role,
                rsvp,
                other_params,
                uri,
            }
        })
}

/// A verbatim property whose name the model never reads.
fn raw() -> impl Strategy<Value = RawProperty> {
    let name = prop_oneof![
        Just("CLASS".to_owned()),
        Just("CATEGORIES".to_owned()),
        Just("URL".to_owned()),
        Just("x-lower-case".to_owned()),
        "X-[A-Z0-9-]{1,12}",
    ];
    let value = "[a-zA-Z0-9 ,;:\\\\\"'=/.éß日😀-]{0,30}";
    (name, params(), value).prop_map(|(name, params, value)| RawProperty {
        name,
        params,
        value,
    })
}

/// A verbatim sub-component, as the parser keeps one.
fn component() -> impl Strategy<Value = String> {
    "[a-zA-Z ]{1,20}".prop_map(|name| {
        format!("BEGIN:VLOCATION\r\nUID:loc-1\r\nNAME:{name}\r\nEND:VLOCATION\r\n")
    })
}

fn alarm() -> impl Strategy<Value = Alarm> {
    let action = prop_oneof![
        Just(String::new()),
        Just("DISPLAY".to_owned()),
        Just("AUDIO".to_owned())
    ];
    let trigger = prop_oneof![
        Just((String::new(), String::new())),
        Just(("-PT15M".to_owned(), String::new())),
        Just(("PT0S".to_owned(), "RELATED=END".to_owned())),
        Just(("19970317T133000Z".to_owned(), "VALUE=DATE-TIME".to_owned())),
    ];
    let components = vec(component(), 0..2);
    (action, trigger, maybe_text(), vec(raw(), 0..3), components).prop_map(
        |(action, (trigger, trigger_params), description, other, components)| Alarm {
            action,
            trigger,
            trigger_params,
            description,
            other,
            components,
        },
    )
}

/// One event; the UID and RECURRENCE-ID are set by the item.
fn event() -> impl Strategy<Value = CalendarEvent> {
    let texts = (
        with_params(maybe_text()),
        with_params(maybe_text()),
        with_params(maybe_text()),
    );
    let times = (
        time(false),
        option::of(time(false)),
        vec(time(false), 0..4),
        vec(time(true), 0..4),
    );
    let recurrence = (
        with_params(prop_oneof![
            Just(String::new()),
            Just("FREQ=WEEKLY;BYDAY=MO,WE".to_owned()),
            Just("FREQ=DAILY;COUNT=5".to_owned())
        ]),
        prop_oneof![
            Just(String::new()),
            Just("PT1H".to_owned()),
            Just("P1D".to_owned()),
            Just("P2W".to_owned())
        ],
    );
    let organizer = option::of((maybe_text(), email(), params()));
    let people = (organizer, vec(attendee(), 0..4));
    let misc = (
        0i32..=2,
        any::<u32>(),
        prop_oneof![
            Just(String::new()),
            Just("CONFIRMED".to_owned()),
            Just("CANCELLED".to_owned())
        ],
        prop_oneof![Just(String::new()), date_time(true)],
    );
    let rest = (vec(alarm(), 0..3), vec(raw(), 0..5), vec(component(), 0..2));
    (texts, times, recurrence, people, misc, rest).prop_map(
        |(texts, times, recurrence, people, misc, rest)| {
            let (
                (summary, summary_params),
                (location, location_params),
                (description, description_params),
            ) = texts;
            let (start, end, exdates, rdates) = times;
            let (organizer, attendees) = people;
            let (organizer, organizer_params) = match organizer {
                Some((name, email, params)) => (Some(Address { name, email }), params),
                None => (None, String::new()),
            };
            let (transparency, sequence, status, dtstamp) = misc;
            CalendarEvent {
                summary,
                summary_params,
                location,
                location_params,
                description,
                description_params,
                start: Some(start),
                end,
                exdates,
                rdates,
                rrule: recurrence.0.0,
                rrule_params: recurrence.0.1,
                duration: recurrence.1,
                organizer,
                organizer_params,
                attendees,
                transparency,
                sequence,
                status,
                dtstamp,
                alarms: rest.0,
                other: rest.1,
                components: rest.2,
                ..CalendarEvent::default()
            }
        },
    )
}

/// A valid item of calendar `calendar_id`: a master and/or overrides.
pub fn calendar_item(calendar_id: u64) -> impl Strategy<Value = CalendarItem> {
    let uid = "[a-zA-Z0-9@.,;:_-]{1,30}";
    let overrides = vec((event(), time(false)), 0..3);
    (uid, option::of(event()), overrides)
        .prop_filter("an item has at least one event", |(_, m, o)| {
            m.is_some() || !o.is_empty()
        })
        .prop_map(move |(uid, master, overrides)| {
            let master = master.map(|m| CalendarEvent {
                uid: uid.clone(),
                ..m
            });
            let overrides = overrides.into_iter().map(|(event, rid)| CalendarEvent {
                uid: uid.clone(),
                recurrence_id: Some(CalendarTime {
                    params: String::new(),
                    ..rid
                }),
                ..event
            });
            let mut item = CalendarItem {
                calendar_id,
                master,
                overrides: overrides.collect(),
                ..CalendarItem::default()
            };
            item.timezones = zones_for(&item);
            item
        })
}

/// A VTIMEZONE for each TZID the item's times use, in order of first use.
fn zones_for(item: &CalendarItem) -> Vec<TimeZone> {
    let mut tzids: Vec<String> = Vec::new();
    for event in item.master.iter().chain(&item.overrides) {
        let single = [&event.start, &event.end, &event.recurrence_id]
            .into_iter()
            .flatten();
        for time in single.chain(&event.exdates).chain(&event.rdates) {
            if !time.tzid.is_empty() && !tzids.contains(&time.tzid) {
                tzids.push(time.tzid.clone());
            }
        }
    }
    tzids
        .into_iter()
        .map(|tzid| TimeZone {
            vtimezone: format!(
                "BEGIN:VTIMEZONE\r\nTZID:{}\r\nBEGIN:STANDARD\r\nDTSTART:16010101T030000\r\n\
                 TZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n",
                escape(&tzid)
            ),
            tzid,
        })
        .collect()
}

fn escape(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        match c {
            '\\' | ';' | ',' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}
