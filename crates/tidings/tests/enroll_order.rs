//! An enrollment session before its `Hello` (sync.md §5.4): a message the
//! device sends, but not yet, is `UnexpectedMessage` (609); a `Close` ends
//! the session without an answer. An outside implementer got
//! `InvalidState` (600), a code the spec never puts on the wire, even for
//! a `Close`.

mod town;

use tidings::compress::{pad, unpad};
use tidings::crypto::{Opened, StaticKeypair, Transport, XkInitiator};
use tidings::frame::{FrameDecoder, FrameEncoder};
use tidings::proto::{self, Envelope, envelope::Body};
use tidings::session::{HANDSHAKE_XK, ServerSession};
use town::*;

/// `body` framed by `encoder` (the first frame of a connection carries
/// the version byte).
fn frame(encoder: &mut FrameEncoder, body: &[u8]) -> Vec<u8> {
    let mut wire = Vec::new();
    encoder.encode(body, &mut wire).expect("frame");
    wire
}

/// A raw device's end of one connection.
struct Device {
    transport: Transport,
    /// Reads the server's frames (the first carried the version byte).
    decoder: FrameDecoder,
}

/// Enrolls a raw device over XK and sends `before` right after message 3,
/// in the same bytes, with no `Hello`. Returns the server session, the
/// device and whether `handle_bytes` went on.
fn enroll_then(town: &mut Town, before: Body) -> (ServerSession, Device, bool) {
    let code = town.activation(town.chief, 3);
    let device = StaticKeypair::from_secret_bytes([3; 32]);
    let mut first = vec![HANDSHAKE_XK];
    let started = XkInitiator::new(&device, town.server_public(), [4; 32])
        .start(&mut first)
        .expect("message 1");
    let mut server = town.server_session(5, 1_000);
    let mut encoder = FrameEncoder::new();
    server
        .handle_bytes(1_000, &frame(&mut encoder, &first), &mut town.store)
        .expect("message 1 read");
    let reply = server.poll_transmit().expect("message 2");
    let mut decoder = FrameDecoder::new();
    let reply = decoder
        .decode(&mut &reply[..])
        .expect("frame")
        .expect("whole");
    let enroll = proto::encode(&proto::Enroll {
        activation_code: code,
        device_name: "raw".into(),
        platform: String::new(),
    });
    let mut last = Vec::new();
    let mut transport = started
        .finish(&reply, &enroll, &mut last)
        .expect("message 3");
    let mut bytes = frame(&mut encoder, &last);
    let mut padded = Vec::new();
    pad(
        &proto::encode(&Envelope { body: Some(before) }),
        &mut padded,
    );
    let mut sealed = Vec::new();
    transport.seal(&padded, &mut sealed).expect("sealed");
    bytes.extend(frame(&mut encoder, &sealed));
    let handled = server.handle_bytes(1_000, &bytes, &mut town.store).is_ok();
    (server, Device { transport, decoder }, handled)
}

/// The bodies the server sent, opened.
fn told(server: &mut ServerSession, device: &mut Device) -> Vec<Body> {
    let mut bodies = Vec::new();
    while let Some(bytes) = server.poll_transmit() {
        let mut rest = &bytes[..];
        while let Some(sealed) = device.decoder.decode(&mut rest).expect("frame") {
            let mut plain = Vec::new();
            if let Ok(Opened::Payload) = device.transport.open(&sealed, &mut plain) {
                let envelope: Envelope =
                    proto::decode(unpad(&plain).expect("padded")).expect("envelope");
                bodies.extend(envelope.body);
            }
        }
    }
    bodies
}

#[test]
fn a_message_before_the_hello_of_an_enrollment_is_unexpected() {
    let mut town = Town::new();
    let ack = Body::Ack(proto::Ack::default());
    let (mut server, mut device, handled) = enroll_then(&mut town, ack);
    assert!(!handled, "the session ends");
    assert!(server.is_closed());
    let bodies = told(&mut server, &mut device);
    assert!(
        matches!(bodies.first(), Some(Body::Enrolled(_))),
        "{bodies:?}"
    );
    assert!(
        matches!(bodies.get(1), Some(Body::Error(e)) if e.code == 609),
        "{bodies:?}"
    );
}

#[test]
fn a_close_before_the_hello_of_an_enrollment_is_not_answered() {
    let mut town = Town::new();
    let close = Body::Close(proto::Close::default());
    let (mut server, mut device, handled) = enroll_then(&mut town, close);
    assert!(handled, "a clean end");
    assert!(server.is_closed());
    let bodies = told(&mut server, &mut device);
    assert!(
        matches!(bodies.as_slice(), [Body::Enrolled(_)]),
        "{bodies:?}"
    );
}
