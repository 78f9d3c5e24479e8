//! A principal whose collection list outgrew the Welcome (one message):
//! every device of it is locked out, and the operator reads in the log
//! which principal and how many collections, at the warning level (a
//! handshake's failures are otherwise only debug lines, since strangers
//! cause most of them).

mod common;

use common::{LIMIT, Town};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tidings::proto::CollectionKind;
use tidings::session::ClientEvent;
use tidings_server::client::Connection;
use tidings_server::{admin, seed};

/// What the server logs, kept for the test to read.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Log {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log").extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Log {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("log")).into_owned()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_principal_whose_list_outgrew_the_welcome_is_named_in_the_log() {
    // The only test of this binary: the subscriber is the process's.
    let log = Log::default();
    let writer = log.clone();
    tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::WARN)
        .init();
    let town = Town::new().await;
    let chief = {
        let mut store = town.admin();
        let chief = admin::principal(&store, seed::CHIEF).expect("chief").id;
        // A folder flood, one folder per plus-address.
        for n in 0..2_000 {
            let name = format!("Inbox/plus-addressed-{n:05}-{}", "x".repeat(24));
            store
                .add_collection(chief, CollectionKind::Mail, &name)
                .expect("collection");
        }
        chief
    };
    // The handshake completes; the Welcome that answers its Hello cannot
    // be sent, and the server closes the session.
    let mut device = Connection::enroll(&town.activation(seed::CHIEF), "tablet")
        .await
        .expect("connect");
    let welcomed = tokio::time::timeout(LIMIT, async {
        while let Ok(Some(event)) = device.next_event().await {
            if matches!(event, ClientEvent::Connected { .. }) {
                return true;
            }
        }
        false
    })
    .await
    .expect("the server ends the session");
    assert!(!welcomed, "a Welcome that cannot be sent");
    let wanted = "does not fit the Welcome";
    for _ in 0..100 {
        if log.text().contains(wanted) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let text = log.text();
    let line = text
        .lines()
        .find(|l| l.contains(wanted))
        .unwrap_or_else(|| panic!("no line with {wanted:?} in:\n{text}"));
    assert!(line.contains(&format!("principal_id={chief}")), "{line}");
    assert!(line.contains("collections=2"), "{line}");
    assert!(line.contains("WARN"), "{line}");
}
