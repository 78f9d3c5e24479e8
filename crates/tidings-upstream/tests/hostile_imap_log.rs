//! What the gateway logs when an upstream's answer is too large: a test
//! binary of its own, since tracing caches whether a log line is wanted
//! per call site, across threads: another test of the same binary hitting
//! the line first, with no subscriber, hid it from this test's subscriber
//! at random (once in CI, once on a loaded machine).

mod support;

use std::time::Duration;
use support::account::{ALICE, bounded, store_at};
use support::fake_imap::{FakeImap, Misbehave, options, plain};

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
        // Until the mirror has hit the bound and said so, at most 20 s (a
        // fixed 1.5 s was too short on a loaded machine).
        let said = || {
            let text = logged.0.lock().expect("log");
            String::from_utf8_lossy(&text).contains("upstream mirror interrupted")
        };
        for _ in 0..400 {
            if said() {
                break;
            }
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
