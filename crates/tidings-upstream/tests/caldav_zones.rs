//! An event a phone made with a TZID and no VTIMEZONE goes upstream with
//! one VTIMEZONE per zone it names (an IANA zone, and a Windows zone name
//! as Outlook writes it), against a real Radicale and Xandikos: each
//! server takes it, and its times read back as the phone meant them.

#[path = "support/caldav_servers.rs"]
mod caldav_servers;
#[path = "support/caldesk.rs"]
mod caldesk;

use caldav_servers::{CalServer, Kind};
use caldesk::CalDesk;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tidings::proto::{CalendarItem, CalendarTime, item};
use tidings::store::ItemStore;
use tidings::sync::freebusy::busy_periods;
use tidings::sync::ical::calendar_items_from_ical;
use tidings::sync::pack_item;
use tidings_store_sqlite::{Durability, SqlitePool, SqliteStore};
use tidings_upstream::caldav::config::Server;
use tidings_upstream::caldav::device_writes::CalendarWriter;
use tidings_upstream::caldav::{CalAccount, CalDavAccount};
use tidings_upstream::config::Secret;
use tidings_upstream::device_writes::DeviceWrites;

const MAYOR: &str = "mayor@example.org";

/// A weekly council meeting at 09:00 in `tzid`, made on a phone: no
/// VTIMEZONE. It crosses the change to summer time.
fn made_on_a_phone(uid: &str, tzid: &str) -> CalendarItem {
    let text = format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Phone//EN\r\nBEGIN:VEVENT\r\n\
         UID:{uid}\r\nDTSTAMP:20261101T000000Z\r\n\
         DTSTART;TZID={tzid}:20261201T090000\r\nDTEND;TZID={tzid}:20261201T100000\r\n\
         RRULE:FREQ=WEEKLY;COUNT=30\r\nSUMMARY:Council\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    );
    let mut items = calendar_items_from_ical(&text, 0).expect("phone's event");
    assert!(items[0].timezones.is_empty(), "no definition on the phone");
    items.remove(0)
}

fn start(item: &CalendarItem) -> Option<&CalendarTime> {
    item.master.as_ref().and_then(|m| m.start.as_ref())
}

/// UTC starts of the event's instances on 2026-12-01 and 2027-04-06.
fn winter_and_summer(item: &CalendarItem) -> Vec<i64> {
    let day = |from: i64| {
        let periods = busy_periods(std::slice::from_ref(item), from, from + 86_400);
        periods.expect("expands")[0].start
    };
    vec![day(1_796_083_200), day(1_806_969_600)]
}

async fn goes_upstream_with_its_zones(kind: Kind) {
    let cal = CalServer::start(kind);
    let desk = CalDesk::new(cal.addr(), "mayor", &cal.password("mayor"));
    let base = cal.calendar_href("mayor");
    if kind == Kind::Radicale {
        assert_eq!(desk.mkcalendar(&base, "Mayor").status, 201);
    }
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("t.db");
    let mut store = SqliteStore::open(&db, Durability::Process).expect("store");
    let mayor = store.add_principal("Mayor", MAYOR).expect("principal");
    let server = Server {
        url: cal.url().parse().expect("url"),
        ca_file: None,
    };
    let account = CalDavAccount {
        principal: MAYOR.to_string(),
        login: "mayor".to_string(),
        password: Secret::new(cal.password("mayor")),
        calendars: Vec::new(),
        discover_shares: false,
    };
    let mirror = Arc::new(Mutex::new(
        SqliteStore::open(&db, Durability::Process).expect("mirror store"),
    ));
    let mut mirrored = CalAccount::open(&server, &account, mirror).expect("open");
    mirrored.sync_all().await.expect("sync");
    let calendar = mirrored.calendars().expect("calendars")[0].collection;
    let writer = CalendarWriter::new(&server, &account).expect("writer");
    let hook = DeviceWrites::new(HashMap::new(), tokio::runtime::Handle::current())
        .with_calendars(HashMap::from([(mayor, writer)]));
    let pool = Arc::new(SqlitePool::new(store).with_write_back(Arc::new(hook)));

    let zones = [
        ("berlin-1", "Europe/Berlin"),
        ("pacific-1", "Pacific Standard Time"),
    ];
    for (uid, tzid) in zones {
        let mut phone = made_on_a_phone(uid, tzid);
        let pool = pool.clone();
        let created = tokio::task::spawn_blocking(move || {
            let mut batch = pool.batch().expect("batch");
            let id = batch.allocate_id().expect("id");
            phone.id = id;
            phone.calendar_id = calendar;
            phone.version = 1;
            let packed = pack_item(item::Kind::Calendar(phone.clone()));
            batch
                .upsert(calendar, Some(id), packed, 0)
                .expect("created upstream");
            batch.finish().expect("commit");
            phone
        })
        .await
        .expect("batch");

        let on_server = desk.get(&format!("{base}{uid}.ics"));
        assert_eq!(on_server.status, 200, "{kind:?} {uid}");
        let body = on_server.body.replace("\r\n ", "");
        assert!(body.contains("BEGIN:VTIMEZONE"), "{kind:?}: {body}");
        assert!(
            body.contains(&format!("TZID:{tzid}\r\n")),
            "{kind:?}: {body}"
        );
        let upstream = calendar_items_from_ical(&body, calendar).expect("server's copy reads");
        assert_eq!(start(&upstream[0]), start(&created), "{kind:?}: {body}");
        assert_eq!(upstream[0].timezones.len(), 1, "{kind:?}: {body}");
        // The times the server's copy means, by its own VTIMEZONE.
        let expected = match tzid {
            // 09:00 CET is 08:00Z; 09:00 CEST 07:00Z.
            "Europe/Berlin" => vec![1_796_112_000, 1_806_994_800],
            // 09:00 PST is 17:00Z; 09:00 PDT 16:00Z.
            _ => vec![1_796_144_400, 1_807_027_200],
        };
        assert_eq!(
            winter_and_summer(&upstream[0]),
            expected,
            "{kind:?}: {body}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn radicale_takes_a_phone_event_with_its_zones_defined() {
    goes_upstream_with_its_zones(Kind::Radicale).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xandikos_takes_a_phone_event_with_its_zones_defined() {
    goes_upstream_with_its_zones(Kind::Xandikos).await;
}
