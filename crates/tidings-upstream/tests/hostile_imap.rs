//! The gateway against an upstream that does what no real server the
//! other tests start does (a scripted server on loopback): a message
//! larger than the mirror keeps, a session that fails every time.

mod support;

use std::time::Duration;
use support::account::{ALICE, alice, bounded, collection, device_view, store_at};
use support::fake_imap::{FakeImap, Mail, Misbehave, options, plain};
use tidings_upstream::Account;

/// The preview of the mail with `subject` in `collection`.
fn preview(store: &tidings_upstream::SharedStore, collection: u64, subject: &str) -> String {
    use tidings::proto::item;
    use tidings::store::ItemStore;
    let store = store.lock().expect("store");
    let limits = tidings::compress::InflateLimits::default();
    for (_, packed, _) in store.items(collection).expect("items") {
        let bytes = tidings::compress::unpack(&packed, &limits).expect("unpack");
        let item: tidings::proto::Item = tidings::proto::decode(&bytes).expect("decode");
        if let Some(item::Kind::Mail(m)) = item.kind
            && m.headers.as_ref().is_some_and(|h| h.subject == subject)
        {
            return m.preview;
        }
    }
    panic!("no mail with subject {subject}");
}

#[tokio::test]
async fn a_message_too_large_to_mirror_is_a_stub_and_the_folder_goes_on() {
    bounded(async {
        let huge = Mail {
            huge: Some(600 << 20),
            ..plain(2, "Scanned archive")
        };
        let upstream = FakeImap::start(
            vec![plain(1, "Budget"), huge, plain(3, "Road works")],
            Misbehave::No,
        )
        .await;
        let dir = tempfile::tempdir().expect("dir");
        let store = store_at(&dir.path().join("store.db"));
        let mut account = Account::open(&upstream.endpoint(), &alice(), ALICE, store.clone(), 2048)
            .await
            .expect("open");
        // Fetching it whole would wait out READ_TIMEOUT (60 s) at every sync.
        tokio::time::timeout(Duration::from_secs(20), account.sync_all())
            .await
            .expect("the sync does not wait for the huge message")
            .expect("sync");
        let inbox = collection(&store, "INBOX").expect("INBOX");
        let view = device_view(&store, inbox);
        let subjects: Vec<&str> = view.keys().map(String::as_str).collect();
        assert_eq!(subjects, ["Budget", "Road works", "Scanned archive"]);
        let stub = preview(&store, inbox, "Scanned archive");
        assert!(stub.contains("larger than the 64 MiB"), "{stub}");
        // New mail still arrives, and the stub is not fetched again.
        upstream.deliver(plain(4, "Snow clearing"));
        account.sync_all().await.expect("second sync");
        let view = device_view(&store, inbox);
        assert!(view.contains_key("Snow clearing"), "{view:?}");
        assert_eq!(view.len(), 4);
        let header_fetches = upstream
            .commands()
            .iter()
            .filter(|c| c.contains("HEADER.FIELDS"))
            .count();
        assert_eq!(header_fetches, 1);
    })
    .await;
}

#[tokio::test]
async fn an_account_that_never_gets_going_backs_off() {
    bounded(async {
        // Logins succeed; the folder list fails every time.
        let upstream = FakeImap::start(Vec::new(), Misbehave::FailList).await;
        let dir = tempfile::tempdir().expect("dir");
        let store = store_at(&dir.path().join("store.db"));
        let options = options(&upstream);
        let (stop, shutdown) = tokio::sync::watch::channel(false);
        let (_handle, task) = tidings_upstream::gateway::spawn(options, store, shutdown);
        // Attempts at 0, 1, 3, 7 s with backoff; every second without.
        tokio::time::sleep(Duration::from_secs(6)).await;
        let lists = upstream
            .commands()
            .iter()
            .filter(|c| c.starts_with("LIST"))
            .count();
        assert!((2..=4).contains(&lists), "{lists} attempts in 6 s");
        stop.send(true).expect("stop");
        task.await.expect("stopped");
    })
    .await;
}

#[tokio::test]
async fn a_message_larger_than_its_announced_size_is_mirrored_within_the_bound() {
    bounded(async {
        // A full run of small mails, one understated by 34 MiB (within the
        // bound) and one by 600 MiB (beyond it, and beyond what the IMAP
        // client reads in one answer).
        let mut mails: Vec<Mail> = (1..=30)
            .map(|uid| plain(uid, &format!("Note {uid}")))
            .collect();
        mails.push(Mail {
            huge: Some(34 << 20),
            announced: Some(900),
            ..plain(31, "Site plan")
        });
        mails.push(Mail {
            huge: Some(600 << 20),
            announced: Some(900),
            ..plain(32, "Scanned archive")
        });
        let upstream = FakeImap::start(mails, Misbehave::No).await;
        let dir = tempfile::tempdir().expect("dir");
        let store = store_at(&dir.path().join("store.db"));
        let mut account = Account::open(&upstream.endpoint(), &alice(), ALICE, store.clone(), 2048)
            .await
            .expect("open");
        tokio::time::timeout(Duration::from_secs(40), account.sync_all())
            .await
            .expect("the sync does not wait for the understated message")
            .expect("sync");
        let inbox = collection(&store, "INBOX").expect("INBOX");
        let view = device_view(&store, inbox);
        assert_eq!(view.len(), 32, "{:?}", view.keys());
        assert!(preview(&store, inbox, "Scanned archive").contains("larger than the 64 MiB"));
        assert!(!preview(&store, inbox, "Site plan").contains("larger than"));
        // No message was asked for beyond the bound.
        let body_fetches: Vec<String> = upstream
            .commands()
            .into_iter()
            .filter(|c| c.contains("BODY.PEEK[]"))
            .collect();
        for fetch in &body_fetches {
            let cap: u64 = fetch
                .split_once("BODY.PEEK[]<0.")
                .and_then(|(_, rest)| rest.split_once('>'))
                .and_then(|(n, _)| n.parse().ok())
                .unwrap_or_else(|| panic!("not partial: {fetch}"));
            assert!(cap <= (64 << 20) + 1, "{fetch}");
        }
        // Nothing is fetched again.
        account.sync_all().await.expect("second sync");
        let again = upstream
            .commands()
            .iter()
            .filter(|c| c.contains("BODY.PEEK["))
            .count();
        assert_eq!(again, body_fetches.len() + 1, "{:?}", upstream.commands());
    })
    .await;
}

#[tokio::test]
async fn a_size_of_4_gib_or_more_makes_a_stub_not_a_protocol_error() {
    bounded(async {
        let huge = Mail {
            announced: Some(5 << 30),
            ..plain(2, "Disk image")
        };
        let mails = vec![plain(1, "Budget"), huge, plain(3, "Road works")];
        let upstream = FakeImap::start(mails, Misbehave::No).await;
        let dir = tempfile::tempdir().expect("dir");
        let store = store_at(&dir.path().join("store.db"));
        let mut account = Account::open(&upstream.endpoint(), &alice(), ALICE, store.clone(), 2048)
            .await
            .expect("open");
        account.sync_all().await.expect("sync");
        let inbox = collection(&store, "INBOX").expect("INBOX");
        let view = device_view(&store, inbox);
        assert_eq!(view.len(), 3, "{:?}", view.keys());
        let stub = preview(&store, inbox, "Disk image");
        assert!(stub.contains("larger than the 64 MiB"), "{stub}");
    })
    .await;
}
