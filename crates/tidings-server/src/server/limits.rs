//! Every limit the server enforces outside the core's sessions, with its
//! default and its command-line flag (see `docs/server.md`).

use std::time::Duration;

/// Limits on strangers, on connections and on each device's share of the
/// store. Each field is a `tidings-server serve` flag of the same name.
#[derive(Clone, Debug, PartialEq, Eq, clap::Args)]
pub struct Limits {
    /// Seconds a new connection has to authenticate (IK hello or XK
    /// enrollment) before it is closed.
    #[arg(long, default_value_t = Limits::DEFAULT.handshake_timeout_secs)]
    pub handshake_timeout_secs: u64,
    /// Largest handshake frame (bytes) read before authentication; a frame
    /// claiming more is refused at once.
    #[arg(long, default_value_t = Limits::DEFAULT.max_handshake_bytes)]
    pub max_handshake_bytes: usize,
    /// Seconds an HTTP client has to send a request's headers.
    #[arg(long, default_value_t = Limits::DEFAULT.http_header_timeout_secs)]
    pub http_header_timeout_secs: u64,
    /// Connections not yet authenticated, over all sources. Beyond it, a
    /// new one from a source holding fewer than the source holding the
    /// most closes that source's oldest; any other is closed at once.
    #[arg(long, default_value_t = Limits::DEFAULT.max_unauthenticated)]
    pub max_unauthenticated: usize,
    /// Connections (TCP, HTTP and WebSocket) from one source address.
    #[arg(long, default_value_t = Limits::DEFAULT.max_connections_per_source)]
    pub max_connections_per_source: usize,
    /// Connections not yet authenticated from one source address.
    #[arg(long, default_value_t = Limits::DEFAULT.max_unauthenticated_per_source)]
    pub max_unauthenticated_per_source: usize,
    /// Enrollment (XK) attempts per second over all sources (bursts of
    /// twice as many).
    #[arg(long, default_value_t = Limits::DEFAULT.enroll_per_second)]
    pub enroll_per_second: u32,
    /// Enrollment attempts per minute from one source address (bursts of
    /// as many).
    #[arg(long, default_value_t = Limits::DEFAULT.enroll_per_minute_per_source)]
    pub enroll_per_minute_per_source: u32,
    /// Reconnects (IK hellos) per second from one source, bursts of ten
    /// seconds' worth; more are closed before the handshake.
    #[arg(long, default_value_t = Limits::DEFAULT.hellos_per_second_per_source)]
    pub hellos_per_second_per_source: u32,
    /// Milliseconds of store work each device may use per second (bursts
    /// of twice as much); a device over it waits before its next bytes
    /// are read.
    #[arg(long, default_value_t = Limits::DEFAULT.store_ms_per_second)]
    pub store_ms_per_second: u64,
    /// MiB of mail each device may send per hour, counted as what sending
    /// may store (the mail once for the sender and once per recipient),
    /// saved up to one hour's worth; a send beyond it is refused with 608
    /// and may be tried again later. Bounds the disk one device can fill.
    #[arg(long, default_value_t = Limits::DEFAULT.send_mib_per_hour)]
    pub send_mib_per_hour: u64,
    /// Store jobs (off the async threads) running at once.
    #[arg(long, default_value_t = Limits::DEFAULT.store_workers)]
    pub store_workers: usize,
    /// Seconds without sending after which a session sends a keepalive;
    /// devices are told it in their policy (`keepalive_seconds`) and do the
    /// same. `serve` puts it in the session settings (`Limits::timers`).
    #[arg(long, default_value_t = Limits::DEFAULT.keepalive_secs, value_parser = clap::value_parser!(u64).range(1..))]
    pub keepalive_secs: u64,
    /// Seconds without hearing from a device that sends keepalives after
    /// which its session is closed with `ErrorInfo` 605 (`Timeout`); at
    /// least twice the keepalive. A device that only listens (one-way
    /// keepalives, sync.md §5.4) is found gone within the same time by the
    /// transport (`TCP_USER_TIMEOUT`, idle timeout less keepalive).
    #[arg(long, default_value_t = Limits::DEFAULT.idle_timeout_secs, value_parser = clap::value_parser!(u64).range(1..))]
    pub idle_timeout_secs: u64,
    /// Messages the server seals under one key before it rekeys its sending
    /// direction (handshake.md §8); small values let an implementation see
    /// server-initiated rekeys. `serve` puts it in the session settings.
    #[arg(long, default_value_t = Limits::DEFAULT.rekey_after_messages, value_parser = clap::value_parser!(u64).range(1..))]
    pub rekey_after_messages: u64,
    /// Refuse one-way keepalives (sync.md §5.4): every device then sends
    /// its own, for a proxy or firewall between server and devices that
    /// closes connections on which the devices send nothing.
    #[arg(long)]
    pub two_way_keepalives: bool,
}

impl Limits {
    /// The defaults, as documented in `docs/server.md`.
    pub const DEFAULT: Self = Self {
        handshake_timeout_secs: 10,
        max_handshake_bytes: 16 << 10,
        http_header_timeout_secs: 10,
        max_unauthenticated: 4096,
        max_connections_per_source: 1024,
        max_unauthenticated_per_source: 64,
        enroll_per_second: 20,
        enroll_per_minute_per_source: 10,
        hellos_per_second_per_source: 200,
        store_ms_per_second: 250,
        send_mib_per_hour: 256,
        store_workers: 8,
        keepalive_secs: 240,
        idle_timeout_secs: 600,
        rekey_after_messages: 1 << 20,
        two_way_keepalives: false,
    };

    /// The core's session settings these limits set: timers, rekeying and
    /// which way keepalives may go.
    pub fn session(&self) -> tidings::session::ServerConfig {
        let mut features = tidings::session::SERVER_FEATURES;
        // One way needs TCP_USER_TIMEOUT to find a vanished device
        // (sync.md §5.4); without it every device sends its own.
        let bounded = cfg!(any(target_os = "linux", target_os = "android"));
        if self.two_way_keepalives || !bounded {
            features &= !(tidings::proto::Feature::OneWayKeepalive as u32);
        }
        tidings::session::ServerConfig {
            timers: self.timers(),
            rekey: tidings::crypto::RekeyPolicy::DEFAULT
                .with_max_messages(self.rekey_after_messages),
            features,
            ..tidings::session::ServerConfig::default()
        }
    }

    /// The session timers these limits set: the keepalive as given, the
    /// idle timeout at least twice it (so a device that keeps its rhythm
    /// is never cut off).
    pub fn timers(&self) -> tidings::session::Timers {
        let keepalive_ms = self.keepalive_secs.saturating_mul(1000);
        tidings::session::Timers {
            keepalive_ms,
            idle_timeout_ms: self
                .idle_timeout_secs
                .saturating_mul(1000)
                .max(keepalive_ms.saturating_mul(2)),
        }
    }

    pub(crate) fn handshake_timeout(&self) -> Duration {
        Duration::from_secs(self.handshake_timeout_secs)
    }

    pub(crate) fn http_header_timeout(&self) -> Duration {
        Duration::from_secs(self.http_header_timeout_secs)
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self::DEFAULT
    }
}
