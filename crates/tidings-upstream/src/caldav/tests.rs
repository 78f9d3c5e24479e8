use crate::config::Config;
use std::time::Duration;
use tidings::ErrorKind;

const IMAP: &str = r#"
secrets = "secrets.toml"
[imap]
host = "127.0.0.1"
port = 1143
security = "plain"
"#;

fn with_caldav(section: &str) -> String {
    format!("{IMAP}\n{section}")
}

#[test]
fn caldav_section_with_its_own_passwords() {
    let text = with_caldav(
        r#"[caldav]
url = "https://cal.example.org/dav/"
interval_seconds = 30
[[caldav.account]]
principal = "mayor@example.org"
login = "mayor"
calendars = ["/chief/shared/"]
"#,
    );
    let secrets = "[passwords]\nmayor = \"imap\"\n[caldav_passwords]\nmayor = \"dav\"\n";
    let config = Config::from_strs(&text, secrets).expect("config");
    let caldav = config.caldav.expect("caldav section");
    assert_eq!(caldav.interval, Duration::from_secs(30));
    assert_eq!(caldav.server.url.host(), Some("cal.example.org"));
    let account = &caldav.accounts[0];
    assert_eq!(account.principal, "mayor@example.org");
    assert_eq!(account.password.expose(), "dav");
    assert_eq!(account.calendars, vec!["/chief/shared/".to_string()]);
    assert_eq!(format!("{:?}", account.password), "Secret(…)");
}

#[test]
fn caldav_falls_back_to_the_mail_password_and_default_interval() {
    let text = with_caldav(
        "[caldav]\nurl = \"https://cal.example.org/\"\n[[caldav.account]]\nprincipal = \"a@example.org\"\nlogin = \"a\"\n",
    );
    let config = Config::from_strs(&text, "[passwords]\na = \"pw\"\n").expect("config");
    let caldav = config.caldav.expect("caldav");
    assert_eq!(caldav.accounts[0].password.expose(), "pw");
    assert_eq!(
        caldav.interval,
        Duration::from_secs(super::config::DEFAULT_INTERVAL_SECONDS)
    );
}

#[test]
fn caldav_plain_http_only_on_loopback() {
    for (url, ok) in [
        ("http://127.0.0.1:5232/", true),
        ("http://localhost:5232/", true),
        ("http://[::1]:5232/", true),
        ("http://cal.example.org/", false),
        ("ftp://cal.example.org/", false),
        ("not a url", false),
    ] {
        let text = with_caldav(&format!("[caldav]\nurl = \"{url}\"\n"));
        match Config::from_strs(&text, "") {
            Ok(_) => assert!(ok, "{url} accepted"),
            Err(e) => {
                assert!(!ok, "{url} refused");
                assert_eq!(e.kind(), ErrorKind::UpstreamConfig);
            }
        }
    }
}

#[test]
fn caldav_account_without_password_is_refused() {
    let text = with_caldav(
        "[caldav]\nurl = \"https://cal.example.org/\"\n[[caldav.account]]\nprincipal = \"a@example.org\"\nlogin = \"a\"\n",
    );
    let err = Config::from_strs(&text, "").expect_err("no password");
    assert_eq!(err.kind(), ErrorKind::UpstreamConfig);
}

#[test]
fn no_caldav_section_no_calendars() {
    assert!(
        Config::from_strs(IMAP, "")
            .expect("config")
            .caldav
            .is_none()
    );
}

/// A CalDAV client of a server on loopback that answers every request with
/// `head`, then `body` bytes of its body, then holds the connection open
/// without ending the body.
async fn never_ending(head: &'static str, body: usize, chunked: bool) -> super::client::Client {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = [0u8; 4096];
                let _ = socket.read(&mut request).await;
                let _ = socket.write_all(head.as_bytes()).await;
                let chunk = vec![b'x'; 64 << 10];
                for _ in 0..body.div_ceil(chunk.len()) {
                    let framed = match chunked {
                        true => {
                            [format!("{:x}\r\n", chunk.len()).as_bytes(), &chunk, b"\r\n"].concat()
                        }
                        false => chunk.clone(),
                    };
                    if socket.write_all(&framed).await.is_err() {
                        return;
                    }
                }
                // Never ends the body: only the gateway's bounds end this.
                let _ = socket.read(&mut request).await;
                tokio::time::sleep(Duration::from_secs(600)).await;
            });
        }
    });
    let server = super::config::Server {
        url: format!("http://{addr}/").parse().expect("url"),
        ca_file: None,
    };
    super::client::Client::new(&server, "u", &crate::config::Secret::new("p")).expect("client")
}

#[tokio::test]
async fn a_caldav_body_that_never_ends_is_cut_at_the_bound() {
    use super::http::MAX_RESPONSE_BYTES;
    // More than the bound, then nothing and no end: without the bound the
    // gateway would keep it all and wait out the request's deadline.
    let head = "HTTP/1.1 207 Multi-Status\r\nContent-Type: application/xml\r\n\
                Transfer-Encoding: chunked\r\n\r\n";
    let client = never_ending(head, (MAX_RESPONSE_BYTES + (8 << 20)) as usize, true).await;
    let answer = tokio::time::timeout(Duration::from_secs(30), client.sync("/cal/", None))
        .await
        .expect("cut within the bound, not at the request deadline");
    assert_eq!(
        answer.expect_err("cut").kind(),
        ErrorKind::UpstreamUnavailable
    );
    // The body's bytes and the header lines.
    let received = client.traffic().received;
    assert!(
        received <= MAX_RESPONSE_BYTES + 4096,
        "kept {received} bytes"
    );
}

#[tokio::test]
async fn a_caldav_body_announced_huge_is_refused_before_it_is_read() {
    let head = "HTTP/1.1 207 Multi-Status\r\nContent-Type: application/xml\r\n\
                Content-Length: 1000000000000\r\n\r\n";
    let client = never_ending(head, 1 << 20, false).await;
    let answer = tokio::time::timeout(Duration::from_secs(30), client.sync("/cal/", None))
        .await
        .expect("refused at once, not at the request deadline");
    assert_eq!(
        answer.expect_err("refused").kind(),
        ErrorKind::UpstreamUnavailable
    );
    let received = client.traffic().received;
    assert!(received < 4096, "read {received} bytes of it");
}

/// A CalDAV client of a server on loopback that answers every request
/// with `answer` and closes.
async fn answering(answer: String) -> super::client::Client {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let answer = answer.clone();
            tokio::spawn(async move {
                let mut request = [0u8; 65536];
                let _ = socket.read(&mut request).await;
                let _ = socket.write_all(answer.as_bytes()).await;
            });
        }
    });
    let server = super::config::Server {
        url: format!("http://{addr}/").parse().expect("url"),
        ca_file: None,
    };
    super::client::Client::new(&server, "u", &crate::config::Secret::new("p")).expect("client")
}

/// Xandikos refuses a create whose UID another resource holds with 207
/// and an inner 412: read as written, the device was told `Done` and its
/// event vanished at the next sync.
#[tokio::test]
async fn a_put_answered_multi_status_is_refused_not_written() {
    let body = "<?xml version=\"1.0\"?><ns0:multistatus xmlns:ns0=\"DAV:\" \
                xmlns:ns1=\"urn:ietf:params:xml:ns:caldav\"><ns0:response>\
                <ns0:href>/cal/new.ics</ns0:href><ns0:status>HTTP/1.1 412 Precondition Failed\
                </ns0:status><ns0:error><ns1:no-uid-conflict/></ns0:error></ns0:response>\
                </ns0:multistatus>";
    let answer = format!(
        "HTTP/1.1 207 Multi-Status\r\nContent-Type: application/xml\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let client = answering(answer).await;
    let ics = "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n".to_owned();
    let created = client.create("/cal/new.ics", ics.clone()).await;
    assert_eq!(
        created.expect_err("refused").kind(),
        ErrorKind::UpstreamRefused
    );
    let updated = client.update("/cal/new.ics", ics, "\"1\"").await;
    assert_eq!(
        updated.expect_err("refused").kind(),
        ErrorKind::UpstreamRefused
    );
}
