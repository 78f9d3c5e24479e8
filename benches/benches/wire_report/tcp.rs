//! TCP/IP overhead (issue 20), counted rather than assumed for Tidings: the
//! same sessions carried over a real TCP connection on loopback with
//! Ethernet's segment size (MSS 1460, 1448 B of payload with timestamps),
//! and every segment both ways, data and pure ACKs, read from the kernel
//! (`TCP_INFO` on the device's socket, which sends or receives each one).
//! The peers, which are not run, get the same rule as a model
//! (`peers::transport::sequence`); the model is also applied to Tidings'
//! own messages here, so the report shows how well it predicts the count.

use crate::figures::updated;
use crate::link::{Link, Mailbox};
use serde_json::{Value, json};
use socket2::{Domain, Socket, Type};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;
use tidings::proto::{CalendarItem, MailItem};
use tidings::session::DEFAULT_ACK_DELAY_MS;
use tidings::store::ItemStore;
use tidings_benches::peers::transport::{Dir, HEADERS_PER_SEGMENT, sequence};

/// Ethernet's MTU less the IPv4 and TCP headers.
const MSS: u32 = 1460;
/// Longer than Linux's delayed-ACK timer (40 ms at least): waited after
/// each change so that its ACKs are counted with it.
const ACK_DELAY: Duration = Duration::from_millis(60);
/// Changes of each kind carried over TCP (the first ones of each figure).
const SAMPLE: usize = 50;

/// One TCP connection, both ends in this process.
struct Tcp {
    device: TcpStream,
    server: TcpStream,
    buf: Vec<u8>,
}

impl Tcp {
    fn connect() -> std::io::Result<Self> {
        let listener = Socket::new(Domain::IPV4, Type::STREAM, None)?;
        listener.set_tcp_mss(MSS)?;
        listener.bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())?;
        listener.listen(1)?;
        let addr = listener.local_addr()?;
        let device = Socket::new(Domain::IPV4, Type::STREAM, None)?;
        device.set_tcp_mss(MSS)?;
        device.connect(&addr)?;
        let (server, _) = listener.accept()?;
        let (device, server): (TcpStream, TcpStream) = (device.into(), server.into());
        // As the reference server and the example clients run.
        device.set_nodelay(true)?;
        server.set_nodelay(true)?;
        std::thread::sleep(ACK_DELAY);
        Ok(Self {
            device,
            server,
            buf: Vec::new(),
        })
    }

    /// Segments both ways so far, and the device's sending MSS.
    fn segments(&self) -> (u64, u32) {
        let info = tcp_info(&self.device);
        (
            u64::from(info.tcpi_segs_in) + u64::from(info.tcpi_segs_out),
            info.tcpi_snd_mss,
        )
    }

    /// Carries what either session has to send, in order, until both are
    /// quiet; returns each write's direction and size.
    fn carry(&mut self, link: &mut Link, now: u64) -> Vec<(Dir, usize)> {
        let mut messages = Vec::new();
        loop {
            let mut moved = false;
            while let Some(bytes) = link.server.poll_transmit() {
                self.server.write_all(&bytes).expect("loopback write");
                self.buf.resize(bytes.len(), 0);
                self.device
                    .read_exact(&mut self.buf)
                    .expect("loopback read");
                link.client
                    .handle_bytes(now, &self.buf)
                    .expect("device reads");
                messages.push((Dir::Down, bytes.len()));
                moved = true;
            }
            while let Some(bytes) = link.client.poll_transmit() {
                self.device.write_all(&bytes).expect("loopback write");
                self.buf.resize(bytes.len(), 0);
                self.server
                    .read_exact(&mut self.buf)
                    .expect("loopback read");
                link.server
                    .handle_bytes(now, &self.buf, &mut link.mailbox.store)
                    .expect("server reads");
                messages.push((Dir::Up, bytes.len()));
                moved = true;
            }
            if !moved {
                return messages;
            }
        }
    }
}

/// `getsockopt(TCP_INFO)`: the kernel's counters for one connection.
#[allow(unsafe_code)]
fn tcp_info(stream: &TcpStream) -> libc::tcp_info {
    use std::os::fd::AsRawFd;
    // SAFETY: tcp_info is plain integers, so all-zero is a valid value; the
    // pointer and length describe that one writable struct, and the file
    // descriptor is open for as long as `stream` is borrowed.
    let mut info: libc::tcp_info = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::tcp_info>() as libc::socklen_t;
    let rc = unsafe {
        libc::getsockopt(
            stream.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            (&raw mut info).cast(),
            &mut len,
        )
    };
    assert_eq!(rc, 0, "TCP_INFO: {}", std::io::Error::last_os_error());
    info
}

/// Segments counted and modelled over some changes.
#[derive(Default)]
struct Count {
    changes: usize,
    counted: u64,
    modelled: usize,
}

impl Count {
    fn json(&self) -> Value {
        let n = self.changes.max(1) as f64;
        json!({
            "changes": self.changes,
            "segments": self.counted as f64 / n,
            "modelled": self.modelled as f64 / n,
            "bytes": self.counted as f64 / n * HEADERS_PER_SEGMENT as f64,
        })
    }
}

/// A connected device whose later changes cross real TCP.
struct Run {
    link: Link,
    tcp: Tcp,
    now: u64,
    mss: u32,
}

impl Run {
    /// `change` made to the store (or the timers), then carried; its
    /// segments once the ACKs have gone.
    fn measure(&mut self, count: &mut Count, changes: usize, change: impl FnOnce(&mut Link, u64)) {
        self.now += 1_000;
        let (before, _) = self.tcp.segments();
        change(&mut self.link, self.now);
        let messages = self.tcp.carry(&mut self.link, self.now);
        std::thread::sleep(ACK_DELAY);
        // The device acknowledges a live push after its delay (sync.md §3
        // rule 8): by then TCP has acknowledged the push on its own, so the
        // acknowledgement is a message apart, counted with its change.
        let acked = self.now + u64::from(DEFAULT_ACK_DELAY_MS);
        self.link.client.handle_timeout(acked).expect("alive");
        let delayed = self.tcp.carry(&mut self.link, acked);
        if !delayed.is_empty() {
            std::thread::sleep(ACK_DELAY);
        }
        let (after, mss) = self.tcp.segments();
        self.mss = mss;
        count.changes += changes;
        count.counted += after - before;
        count.modelled += sequence(&messages).segments + sequence(&delayed).segments;
    }

    fn push(link: &mut Link, now: u64) {
        link.server
            .push_changes(now, &link.mailbox.store)
            .expect("push");
    }
}

/// Each figure's segments per change, by the wire report's figure id;
/// `None` where TCP cannot be opened here.
pub(crate) fn figures(messages: &[Vec<u8>], events: &[CalendarItem]) -> Option<Value> {
    let (link, _) = Mailbox::new().enroll(11);
    let tcp = Tcp::connect().ok()?;
    let mut run = Run {
        link,
        tcp,
        now: 1_000,
        mss: 0,
    };
    let inbox = run.link.mailbox.inbox;
    let mut out = serde_json::Map::new();

    let mut count = Count::default();
    let mut mails: Vec<MailItem> = Vec::new();
    for raw in messages.iter().take(SAMPLE) {
        run.measure(&mut count, 1, |link, now| {
            mails.push(link.mailbox.deliver(raw));
            Run::push(link, now);
        });
    }
    out.insert("new_mail".into(), count.json());

    let mut count = Count::default();
    for mail in &mails {
        run.measure(&mut count, 1, |link, now| {
            link.mailbox
                .store
                .set_flags(inbox, mail.id, 1)
                .expect("live");
            Run::push(link, now);
        });
    }
    out.insert("flag_change".into(), count.json());

    let mut count = Count::default();
    let mut batch = Vec::new();
    run.measure(&mut count, SAMPLE, |link, now| {
        batch = messages
            .iter()
            .cycle()
            .take(SAMPLE)
            .map(|raw| link.mailbox.deliver(raw))
            .collect();
        Run::push(link, now);
    });
    out.insert("new_mail_batch".into(), count.json());

    let mut count = Count::default();
    run.measure(&mut count, SAMPLE, |link, now| {
        for mail in &batch {
            link.mailbox
                .store
                .set_flags(inbox, mail.id, 1)
                .expect("live");
        }
        Run::push(link, now);
    });
    out.insert("flag_change_batch".into(), count.json());

    let mut count = Count::default();
    let mut stored = Vec::new();
    for event in events.iter().take(SAMPLE) {
        run.measure(&mut count, 1, |link, now| {
            stored.push(link.mailbox.put_event(event.clone(), None));
            Run::push(link, now);
        });
    }
    out.insert("new_event".into(), count.json());

    let mut count = Count::default();
    for item in &stored {
        run.measure(&mut count, 1, |link, now| {
            link.mailbox.put_event(updated(item), Some(item.id));
            Run::push(link, now);
        });
    }
    out.insert("calendar_change".into(), count.json());

    let mut count = Count::default();
    for _ in 0..5 {
        run.now += tidings::session::Timers::default().keepalive_ms;
        run.measure(&mut count, 1, |link, now| {
            link.client.handle_timeout(now).expect("alive");
            link.server.handle_timeout(now).expect("alive");
        });
    }
    out.insert("keepalive".into(), count.json());

    // The pages of an initial sync: 1,000 mails pushed to a device that is
    // connected and caught up.
    let mut count = Count::default();
    run.measure(&mut count, 1000, |link, now| {
        for raw in messages.iter().cycle().take(1000) {
            link.mailbox.deliver(raw);
        }
        Run::push(link, now);
    });
    out.insert("initial_sync".into(), count.json());

    out.insert("snd_mss".into(), json!(run.mss));
    Some(Value::Object(out))
}
