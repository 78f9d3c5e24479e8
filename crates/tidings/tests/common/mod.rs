//! Shared fixtures: fixed keys, the cacophony vector schema, snow builders,
//! and ready-made handshakes.
#![allow(dead_code, missing_docs, unreachable_pub)]

use serde::{Deserialize, Serialize};
use tidings::crypto::{
    HandshakePattern, IkInitiator, IkResponder, PROTOCOL_VERSION, StaticKeypair, Transport,
    XkInitiator, XkResponder, prologue,
};

/// 32 bytes counting up from `start`: fixed, obviously-not-random test keys.
pub fn counting(start: u8) -> [u8; 32] {
    core::array::from_fn(|i| start.wrapping_add(i as u8))
}

pub const DEVICE_STATIC: u8 = 0x00;
pub const DEVICE_EPHEMERAL: u8 = 0x20;
pub const SERVER_STATIC: u8 = 0x40;
pub const SERVER_EPHEMERAL: u8 = 0x60;

pub fn device_keys() -> StaticKeypair {
    StaticKeypair::from_secret_bytes(counting(DEVICE_STATIC))
}

pub fn server_keys() -> StaticKeypair {
    StaticKeypair::from_secret_bytes(counting(SERVER_STATIC))
}

pub fn tidings_prologue(pattern: HandshakePattern) -> Vec<u8> {
    prologue(PROTOCOL_VERSION, pattern)
}

/// A finished IK handshake: (device transport, server transport).
pub fn ik_pair() -> (Transport, Transport) {
    let (device, server) = (device_keys(), server_keys());
    let mut hello = Vec::new();
    let sent = IkInitiator::new(&device, server.public_key(), counting(DEVICE_EPHEMERAL), 1)
        .write_hello(b"hello", &mut hello)
        .unwrap();
    let mut response = Vec::new();
    let server_side = IkResponder::new(&server, counting(SERVER_EPHEMERAL))
        .read_hello(&hello)
        .unwrap()
        .accept(None, b"", &mut response)
        .unwrap();
    let device_side = sent.read_response(&response, &mut Vec::new()).unwrap();
    (device_side, server_side)
}

/// A finished XK enrollment: (device transport, server transport).
pub fn xk_pair() -> (Transport, Transport) {
    let (device, server) = (device_keys(), server_keys());
    let (mut m1, mut m2, mut m3) = (Vec::new(), Vec::new(), Vec::new());
    let started = XkInitiator::new(&device, server.public_key(), counting(DEVICE_EPHEMERAL))
        .start(&mut m1)
        .unwrap();
    let responded = XkResponder::new(&server, counting(SERVER_EPHEMERAL))
        .respond(&m1, &mut m2)
        .unwrap();
    let device_side = started.finish(&m2, b"123-456", &mut m3).unwrap();
    let server_side = responded.read_enrollment(&m3).unwrap().accept().unwrap();
    (device_side, server_side)
}

/// A cacophony-format vector file (the fields Tidings uses).
#[derive(Debug, Serialize, Deserialize)]
pub struct VectorFile {
    #[serde(rename = "_note", default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub vectors: Vec<Vector>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Vector {
    pub protocol_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tidings_description: Option<String>,
    pub init_prologue: String,
    pub init_static: String,
    pub init_ephemeral: String,
    pub init_remote_static: String,
    pub resp_prologue: String,
    pub resp_static: String,
    pub resp_ephemeral: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handshake_hash: Option<String>,
    pub messages: Vec<Message>,
    /// Tidings only: transport messages after both sides' rekey markers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tidings_after_rekey: Vec<DirectedMessage>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Message {
    pub payload: String,
    pub ciphertext: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct DirectedMessage {
    pub sender: String,
    pub payload: String,
    pub ciphertext: String,
}

pub fn unhex(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap()
}

pub fn key(s: &str) -> [u8; 32] {
    unhex(s).try_into().unwrap()
}

pub fn pattern_of(protocol_name: &str) -> HandshakePattern {
    match protocol_name {
        "Noise_IK_25519_AESGCM_SHA256" => HandshakePattern::Ik,
        "Noise_XK_25519_AESGCM_SHA256" => HandshakePattern::Xk,
        other => panic!("unexpected protocol {other}"),
    }
}

/// A snow builder with fixed keys; `remote` for the initiator only.
pub fn snow_handshake(
    pattern: HandshakePattern,
    initiator: bool,
    prologue: &[u8],
    local_secret: &[u8; 32],
    ephemeral: &[u8; 32],
    remote: Option<&[u8; 32]>,
) -> snow::HandshakeState {
    let params = pattern.protocol_name().parse().unwrap();
    let mut builder = snow::Builder::new(params)
        .local_private_key(local_secret)
        .prologue(prologue)
        .fixed_ephemeral_key_for_testing_only(ephemeral);
    if let Some(remote) = remote {
        builder = builder.remote_public_key(remote);
    }
    if initiator {
        builder.build_initiator()
    } else {
        builder.build_responder()
    }
    .unwrap()
}

/// snow's write_message into a fresh Vec.
pub fn snow_write(hs: &mut snow::HandshakeState, payload: &[u8]) -> Vec<u8> {
    let mut buf = vec![0u8; 65_535];
    let len = hs.write_message(payload, &mut buf).unwrap();
    buf.truncate(len);
    buf
}

pub fn snow_read(hs: &mut snow::HandshakeState, message: &[u8]) -> Vec<u8> {
    let mut buf = vec![0u8; 65_535];
    let len = hs.read_message(message, &mut buf).unwrap();
    buf.truncate(len);
    buf
}

pub fn snow_seal(ts: &mut snow::TransportState, payload: &[u8]) -> Vec<u8> {
    let mut buf = vec![0u8; 65_535];
    let len = ts.write_message(payload, &mut buf).unwrap();
    buf.truncate(len);
    buf
}

pub fn snow_open(ts: &mut snow::TransportState, message: &[u8]) -> Vec<u8> {
    let mut buf = vec![0u8; 65_535];
    let len = ts.read_message(message, &mut buf).unwrap();
    buf.truncate(len);
    buf
}
