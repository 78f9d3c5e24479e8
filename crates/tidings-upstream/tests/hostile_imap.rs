//! The gateway against an upstream that does what no real server the
//! other tests start does (a scripted server on loopback): a message
//! larger than the mirror keeps, a session that fails every time.

mod support;

use std::time::Duration;
use support::account::{ALICE, alice, bounded, collection, device_view, mail, store_at};
use support::fake_imap::{FakeImap, Mail, Misbehave};
use tidings_upstream::{Account, AccountOptions};

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

fn plain(uid: u32, subject: &str) -> Mail {
    Mail {
        uid,
        raw: mail(subject),
        huge: None,
        announced: None,
    }
}

fn options(upstream: &FakeImap) -> AccountOptions {
    AccountOptions {
        endpoint: upstream.endpoint(),
        credentials: alice(),
        principal: ALICE.to_string(),
        preview_bytes: 2048,
        poll: Duration::from_secs(300),
        dovecot_push: false,
    }
}

/// What the gateway logs, kept for a test to read.
#[derive(Clone, Default)]
struct Log(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Log {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log").extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn an_answer_too_large_is_logged_with_account_folder_and_what() {
    let log = Log::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::WARN)
        .finish();
    // This test's runtime has one thread: the mirror's task logs here.
    let _default = tracing::subscriber::set_default(subscriber);
    let logged = log.clone();
    bounded(async {
        let upstream = FakeImap::start(vec![plain(1, "Budget")], Misbehave::HugeListing).await;
        let dir = tempfile::tempdir().expect("dir");
        let store = store_at(&dir.path().join("store.db"));
        let (stop, shutdown) = tokio::sync::watch::channel(false);
        let (_handle, task) = tidings_upstream::gateway::spawn(options(&upstream), store, shutdown);
        // Until the mirror has hit the bound and said so (a fixed wait was
        // too short on a loaded machine); `bounded` ends a test that hangs.
        let said = || {
            let text = logged.0.lock().expect("log");
            String::from_utf8_lossy(&text).contains("upstream mirror interrupted")
        };
        while !said() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        stop.send(true).expect("stop");
        task.await.expect("stopped");
    })
    .await;
    let text = String::from_utf8_lossy(&log.0.lock().expect("log")).into_owned();
    let line = |needle: &str| {
        text.lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no line with {needle:?} in:\n{text}"))
            .to_owned()
    };
    let cause = line("512 MiB");
    assert!(cause.contains(ALICE) && cause.contains("INBOX"), "{cause}");
    let interrupted = line("upstream mirror interrupted");
    assert!(interrupted.contains(ALICE), "{interrupted}");
    assert!(
        interrupted.contains("larger than the IMAP client keeps"),
        "{interrupted}"
    );
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
