//! The user's desktop calendar: a second, independent CalDAV client that
//! shares no code with the gateway (raw HTTP/1.1 over a socket, its own
//! small XML), so the tests see the upstream as any other client would.
#![allow(dead_code, unreachable_pub)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// One HTTP answer, with the bytes each way (for the cost comparison).
#[derive(Clone, Debug)]
pub struct Answer {
    /// Status code.
    pub status: u16,
    /// The ETag header, if any.
    pub etag: Option<String>,
    /// The body, as text.
    pub body: String,
    /// Bytes sent (request line, headers, body).
    pub sent: usize,
    /// Bytes received (status line, headers, body).
    pub received: usize,
}

/// A desktop logged in as one user.
pub struct CalDesk {
    addr: SocketAddr,
    authorization: String,
}

fn basic(user: &str, password: &str) -> String {
    // Base64 by hand: the desktop shares nothing with the gateway.
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let input = format!("{user}:{password}").into_bytes();
    let mut out = String::new();
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(TABLE[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    format!("Basic {out}")
}

fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(end) = body.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size_text = String::from_utf8_lossy(&body[..end]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("0").trim(), 16)
            .unwrap_or(0);
        if size == 0 {
            return out;
        }
        let start = end + 2;
        out.extend_from_slice(&body[start..(start + size).min(body.len())]);
        body = &body[(start + size + 2).min(body.len())..];
    }
}

impl CalDesk {
    /// A desktop for `user` on the server at `addr`.
    pub fn new(addr: SocketAddr, user: &str, password: &str) -> CalDesk {
        CalDesk {
            addr,
            authorization: basic(user, password),
        }
    }

    /// Sends one request on its own connection and reads the whole answer.
    pub fn send(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Answer {
        let mut stream = TcpStream::connect(self.addr).expect("connect to the CalDAV server");
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .expect("timeout");
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
            self.addr,
            self.authorization,
            body.len()
        );
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        request.push_str(body);
        stream.write_all(request.as_bytes()).expect("send");
        let mut raw = Vec::new();
        match stream.read_to_end(&mut raw) {
            Ok(_) => {}
            // A server may reset the connection just after its whole
            // answer (seen once from Radicale under a full test run): the
            // answer read before the reset is what counts.
            Err(e)
                if e.kind() == std::io::ErrorKind::ConnectionReset
                    && raw.windows(4).any(|w| w == b"\r\n\r\n") => {}
            Err(e) => panic!("read the answer: {e}"),
        }
        let split = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("an HTTP answer");
        let head = String::from_utf8_lossy(&raw[..split]).to_string();
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|s| s.parse().ok())
            .expect("a status line");
        let mut etag = None;
        let mut chunked = false;
        for line in lines {
            if let Some((name, value)) = line.split_once(':') {
                let value = value.trim();
                if name.eq_ignore_ascii_case("etag") {
                    etag = Some(value.to_string());
                }
                if name.eq_ignore_ascii_case("transfer-encoding") && value.contains("chunked") {
                    chunked = true;
                }
            }
        }
        let body_bytes = &raw[split + 4..];
        let body = if chunked {
            dechunk(body_bytes)
        } else {
            body_bytes.to_vec()
        };
        Answer {
            status,
            etag,
            body: String::from_utf8_lossy(&body).to_string(),
            sent: request.len(),
            received: raw.len(),
        }
    }

    /// Creates a calendar (MKCALENDAR, RFC 4791 §5.3.1) named `name`.
    pub fn mkcalendar(&self, path: &str, name: &str) -> Answer {
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\
             <C:mkcalendar xmlns:D=\"DAV:\" xmlns:C=\"urn:ietf:params:xml:ns:caldav\">\
             <D:set><D:prop><D:displayname>{name}</D:displayname></D:prop></D:set></C:mkcalendar>"
        );
        self.send(
            "MKCALENDAR",
            path,
            &[("Content-Type", "application/xml; charset=utf-8")],
            &body,
        )
    }

    /// PUTs an event, unconditionally or `If-Match`.
    pub fn put(&self, path: &str, ics: &str, if_match: Option<&str>) -> Answer {
        let mut headers = vec![("Content-Type", "text/calendar; charset=utf-8")];
        if let Some(etag) = if_match {
            headers.push(("If-Match", etag));
        }
        self.send("PUT", path, &headers, ics)
    }

    /// GETs a resource.
    pub fn get(&self, path: &str) -> Answer {
        self.send("GET", path, &[], "")
    }

    /// DELETEs a resource.
    pub fn delete(&self, path: &str) -> Answer {
        self.send("DELETE", path, &[], "")
    }

    /// A desktop's full poll of a calendar without sync tokens: PROPFIND
    /// for the ETags, then a calendar-query REPORT for every event. Returns
    /// (requests, bytes sent, bytes received).
    pub fn full_poll(&self, calendar: &str) -> (u64, u64, u64) {
        let propfind = self.send(
            "PROPFIND",
            calendar,
            &[
                ("Depth", "1"),
                ("Content-Type", "application/xml; charset=utf-8"),
            ],
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\
             <D:propfind xmlns:D=\"DAV:\"><D:prop><D:getetag/><D:getctag/></D:prop></D:propfind>",
        );
        assert_eq!(propfind.status, 207, "PROPFIND: {}", propfind.body);
        let report = self.send(
            "REPORT",
            calendar,
            &[("Depth", "1"), ("Content-Type", "application/xml; charset=utf-8")],
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\
             <C:calendar-query xmlns:D=\"DAV:\" xmlns:C=\"urn:ietf:params:xml:ns:caldav\">\
             <D:prop><D:getetag/><C:calendar-data/></D:prop>\
             <C:filter><C:comp-filter name=\"VCALENDAR\"><C:comp-filter name=\"VEVENT\"/></C:comp-filter></C:filter>\
             </C:calendar-query>",
        );
        assert_eq!(report.status, 207, "REPORT: {}", report.body);
        (
            2,
            (propfind.sent + report.sent) as u64,
            (propfind.received + report.received) as u64,
        )
    }
}

/// An event as a desktop writes it (SUMMARY escaped as RFC 5545 TEXT).
pub fn event(uid: &str, summary: &str, sequence: u32) -> String {
    let summary = summary
        .replace('\\', "\\\\")
        .replace(',', "\\,")
        .replace(';', "\\;");
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Desktop//Test//EN\r\nBEGIN:VEVENT\r\n\
         UID:{uid}\r\nDTSTAMP:20261201T090000Z\r\nDTSTART:20261210T090000Z\r\n\
         DTEND:20261210T100000Z\r\nSEQUENCE:{sequence}\r\nSUMMARY:{summary}\r\n\
         ORGANIZER;CN=Mayor:mailto:mayor@example.org\r\n\
         ATTENDEE;CN=Alice;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:alice@example.org\r\n\
         END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
}

/// The SUMMARY of an iCalendar text, unfolded and unescaped.
pub fn summary_of(ics: &str) -> Option<String> {
    let unfolded = ics.replace("\r\n ", "").replace("\n ", "");
    unfolded.lines().find_map(|l| {
        l.strip_prefix("SUMMARY:").map(|s| {
            s.trim_end()
                .replace("\\,", ",")
                .replace("\\;", ";")
                .replace("\\\\", "\\")
        })
    })
}
