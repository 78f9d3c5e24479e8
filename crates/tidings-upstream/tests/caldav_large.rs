//! A calendar resource larger than one answer the gateway keeps, on a real
//! Radicale: it is skipped (and not fetched again until its ETag changes),
//! and the rest of its calendar is mirrored.

#[path = "support/caldav_servers.rs"]
mod caldav_servers;
#[path = "support/caldesk.rs"]
mod caldesk;

use caldav_servers::{CalServer, Kind};
use caldesk::{CalDesk, event};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tidings::store::ItemStore;
use tidings_store_sqlite::SqliteStore;
use tidings_upstream::caldav::config::Server;
use tidings_upstream::caldav::{CalAccount, CalDavAccount};
use tidings_upstream::config::Secret;

const ALICE: &str = "alice@example.org";
const LIMIT: Duration = Duration::from_secs(180);

/// An event of more than 65 MiB: a long property, folded.
fn huge_event() -> String {
    let small = event("archive-1", "Archive", 0);
    let mut blob = String::from("X-BLOB:");
    let line = "a".repeat(73);
    for _ in 0..(65 << 20) / 76 + 1 {
        blob.push_str(&line);
        blob.push_str("\r\n ");
    }
    blob.push_str("end\r\n");
    small.replacen("END:VEVENT", &format!("{blob}END:VEVENT"), 1)
}

#[tokio::test]
async fn a_resource_over_the_bound_is_skipped_and_the_calendar_mirrored() {
    tokio::time::timeout(LIMIT, async {
        let cal = CalServer::start(Kind::Radicale);
        let desk = CalDesk::new(cal.addr(), "alice", &cal.password("alice"));
        let home = cal.calendar_href("alice");
        assert_eq!(desk.mkcalendar(&home, "Calendar").status, 201);
        let put = desk.put(
            &format!("{home}budget.ics"),
            &event("budget-1", "Budget", 0),
            None,
        );
        assert_eq!(put.status, 201, "{}", put.body);
        // Radicale takes longer to parse a PUT of this size than the
        // desktop waits: the file is put in its storage directly.
        let file = cal.radicale_calendar_dir("alice").join("archive.ics");
        std::fs::write(&file, huge_event()).expect("write the event");

        let mut store = SqliteStore::open_in_memory().expect("store");
        store.add_principal("Alice", ALICE).expect("principal");
        let store = Arc::new(Mutex::new(store));
        let server = Server {
            url: cal.url().parse().expect("url"),
            ca_file: None,
        };
        let account = CalDavAccount {
            principal: ALICE.to_string(),
            login: "alice".to_string(),
            password: Secret::new(cal.password("alice")),
            calendars: Vec::new(),
            discover_shares: false,
        };
        let mut mirror = CalAccount::open(&server, &account, store.clone()).expect("open");
        // Radicale reads a 65 MiB file for a minute on a loaded machine,
        // past the gateway's request deadline; the mirror then tries again
        // at its next poll, and so does this test, once (Radicale has
        // cached the file by then).
        if let Err(first) = mirror.sync_all().await {
            eprintln!("first sync failed ({first}); polling again");
            mirror.sync_all().await.expect("the calendar syncs");
        }
        let collection = mirror.calendars().expect("calendars")[0].collection;
        let count = |store: &tidings_upstream::SharedStore| {
            store
                .lock()
                .expect("store")
                .items(collection)
                .expect("items")
                .len()
        };
        assert_eq!(count(&store), 1);

        // Not fetched again while unchanged.
        let before = mirror.traffic().received;
        mirror.sync_calendars().await.expect("poll");
        let polled = mirror.traffic().received - before;
        assert!(polled < 1 << 20, "{polled} bytes for an unchanged calendar");

        // Changed to fit: mirrored.
        let put = desk.put(
            &format!("{home}archive.ics"),
            &event("archive-1", "Archive", 1),
            None,
        );
        assert!(put.status == 204 || put.status == 201, "{}", put.body);
        mirror.sync_calendars().await.expect("poll");
        assert_eq!(count(&store), 2);
    })
    .await
    .expect("test exceeded its time limit");
}
