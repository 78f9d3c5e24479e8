//! Sessions: the sans-IO state machines that tie every layer together.
//!
//! A [`ClientSession`] runs on the device, a [`ServerSession`] on the server,
//! one per connection. Both take bytes and time in and give bytes, events and
//! deadlines out; neither owns a socket or a clock.
//!
//! Calling order, on either side:
//!
//! 1. create the session ([`ClientSession::enroll`], [`ClientSession::resume`]
//!    or [`ServerSession::new`]);
//! 2. send everything `poll_transmit` returns, in order;
//! 3. when bytes arrive, `handle_bytes(now, bytes)`; then drain `poll_event`
//!    and `poll_transmit` again;
//! 4. when the time `poll_timeout` returned has passed, `handle_timeout(now)`;
//! 5. on the server, after any change to a collection (an operation's
//!    [`ServerEvent::CollectionChanged`], or new mail arriving),
//!    [`ServerSession::push_changes`] on every session of a principal who may
//!    see it: that is live push.
//!
//! The first frame from the device is `version || kind || Noise message`,
//! where kind is [`HANDSHAKE_IK`] (reconnect) or [`HANDSHAKE_XK`] (enrollment);
//! see `docs/spec/sync.md` for the whole exchange.

// Every value these modules read from saved state or the wire is handled
// with checked or saturating arithmetic: an overflow is a typed error or a
// bound, never a panic (issue 14).
#[deny(clippy::arithmetic_side_effects)]
mod acks;
mod channel;
#[deny(clippy::arithmetic_side_effects)]
mod client;
mod dh_cache;
mod enroll;
mod fanout;
mod follow;
mod id_map;
mod loopback;
#[deny(clippy::arithmetic_side_effects)]
mod ops;
mod pacing;
mod payload;
mod preview;
#[deny(clippy::arithmetic_side_effects)]
mod server;
#[deny(clippy::arithmetic_side_effects)]
mod state;
mod uploads;

pub use channel::Timers;
pub use client::{ClientConfig, ClientEvent, ClientSession, DEFAULT_ACK_DELAY_MS, FEATURES};
pub use dh_cache::SharedDhCache;
pub use enroll::{MAX_DEVICE_NAME_BYTES, MAX_ENROLL_CODE_BYTES, MAX_PLATFORM_BYTES};
pub use fanout::PreparedPage;
pub use loopback::pump;
pub use ops::{
    MAX_ANSWERED_EVENT_BYTES, MAX_ITEMS_PER_OPERATION, MAX_OPERATION_ITEM_BYTES, MAX_RANGE_BYTES,
    MAX_RECIPIENTS, MAX_RESPONSE_COMMENT_BYTES, MAX_SEARCH_COLLECTIONS, MAX_SEARCH_QUERY_BYTES,
    MAX_SEND_STORED_BYTES, MailTransport, Original, Outgoing, Relation,
};
pub use pacing::CatchUpPacing;
pub use payload::ActivationPayload;
pub use server::{
    MAX_HELLO_AHEAD_MS, MAX_HELLO_CURSORS, MAX_REFETCH_IDS, SERVER_FEATURES, ServerConfig,
    ServerEvent, ServerSession, WithoutStore,
};
pub use state::ClientState;
pub use uploads::{
    MAX_UPLOAD_BYTES, MAX_UPLOAD_PART_BYTES, MAX_UPLOADS_PER_DEVICE, UPLOAD_IDLE_MS,
    discard_idle_uploads,
};

/// First byte of the first frame's body (after the version): a reconnect.
pub const HANDSHAKE_IK: u8 = 1;
/// First byte of the first frame's body (after the version): an enrollment.
pub const HANDSHAKE_XK: u8 = 2;
