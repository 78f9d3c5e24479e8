//! Shared helpers of the benchmarks: real input that the project did not
//! write, and encoders of the peer protocols Tidings is compared with.

pub mod corpus;
pub mod mail_corpus;
pub mod peers;

use std::path::PathBuf;
use std::process::Command;

/// The directory of CPython's email test messages (`test/test_email/data`),
/// found through the machine's `python3`.
pub fn cpython_email_dir() -> Option<PathBuf> {
    let out = Command::new("python3")
        .args([
            "-c",
            "import os, test.test_email as t; print(os.path.join(os.path.dirname(t.__file__), 'data'))",
        ])
        .output()
        .ok()?;
    let dir = PathBuf::from(String::from_utf8(out.stdout).ok()?.trim());
    dir.is_dir().then_some(dir)
}

/// Every `msg_*.txt` message in CPython's email test data that the server
/// takes as mail, sorted by name. The data holds a file that does not start
/// with a header field, which delivery refuses by name: it would stop any
/// bench that delivers every message, and no protocol would carry it.
pub fn cpython_messages() -> Vec<(String, Vec<u8>)> {
    let Some(dir) = cpython_email_dir() else {
        return Vec::new();
    };
    let mut messages: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            (name.starts_with("msg_") && name.ends_with(".txt"))
                .then(|| Some((name, std::fs::read(entry.path()).ok()?)))?
        })
        .filter(|(_, raw): &(String, Vec<u8>)| {
            let options = tidings::sync::mail::MailItemOptions::default();
            tidings::sync::mail::mail_item_from_message(raw, &options).is_ok()
        })
        .collect();
    messages.sort();
    messages
}

/// Bytes of text a new mail carries as its preview (DESIGN §5: ~2 KB).
pub const PREVIEW_BYTES: usize = 2048;

/// A mail item as a device first receives it (headers and a 2 KB preview),
/// from a real RFC 5322 message. Measurement only: not the core's converter.
pub fn mail_item(id: u64, raw: &[u8]) -> Option<tidings::proto::MailItem> {
    use mail_parser::{Address, MessageParser};
    use tidings::proto;
    let message = MessageParser::default().parse(raw)?;
    let addresses = |a: Option<&Address<'_>>| -> Vec<proto::Address> {
        a.into_iter()
            .flat_map(|a| a.iter())
            .map(|a| proto::Address {
                name: a.name().unwrap_or_default().to_string(),
                email: a.address().unwrap_or_default().to_string(),
            })
            .collect()
    };
    let text = message
        .body_text(0)
        .or_else(|| message.body_html(0))
        .unwrap_or_default();
    let mut cut = text.len().min(PREVIEW_BYTES);
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    Some(proto::MailItem {
        id,
        folder_id: 1,
        headers: Some(proto::MailHeaders {
            from: addresses(message.from()),
            to: addresses(message.to()),
            cc: addresses(message.cc()),
            subject: message.subject().unwrap_or_default().to_string(),
            date: message.date().map_or(0, |d| d.to_timestamp()),
            message_id: message.message_id().unwrap_or_default().to_string(),
            ..Default::default()
        }),
        preview: text[..cut].to_string(),
        preview_truncated: cut < text.len(),
        size: raw.len() as u64,
        ..Default::default()
    })
}

/// The mail every mail figure is measured on: the real-body corpus
/// ([`mail_corpus`]), as raw messages. Panics with what to run when it is
/// not installed.
pub fn mail_messages() -> Vec<(String, Vec<u8>)> {
    let messages = mail_corpus::real_body_messages();
    assert!(
        !messages.is_empty(),
        "the real-body mail corpus is needed: `cargo xtask bench` installs it \
         (target/test-data/spam-assassin, or set TIDINGS_MAIL_CORPUS)"
    );
    messages
}

/// Every message of [`mail_messages`] that parses, as encoded `Item`
/// protobufs.
pub fn real_items() -> Vec<Vec<u8>> {
    use tidings::proto::{self, Item, item};
    mail_messages()
        .iter()
        .enumerate()
        .filter_map(|(i, (_, raw))| mail_item(i as u64 + 1, raw))
        .map(|mail| {
            proto::encode(&Item {
                kind: Some(item::Kind::Mail(mail)),
            })
        })
        .collect()
}

/// IK handshake fixtures shared by the crypto benches: the same keys,
/// prologue and payloads for Tidings and for snow.
pub mod ik {
    use tidings::crypto::{
        HandshakePattern, IkInitiator, IkResponder, StaticKeypair, StaticStaticCache, Transport,
    };

    /// The device's static secret.
    pub const DEVICE: [u8; 32] = [0x11; 32];
    /// The server's static secret.
    pub const SERVER: [u8; 32] = [0x22; 32];
    /// The device's ephemeral secret.
    pub const DEVICE_E: [u8; 32] = [0x33; 32];
    /// The server's ephemeral secret.
    pub const SERVER_E: [u8; 32] = [0x44; 32];

    /// Both sides of one IK handshake, from an initiator that is ready to write;
    /// the server looks the device up in `cache` (its static-static DH
    /// cache, as `ServerSession` does) if given.
    pub fn tidings_ik(
        initiator: IkInitiator,
        server: &StaticKeypair,
        cache: Option<&mut StaticStaticCache>,
    ) -> (Transport, Transport) {
        let (mut hello, mut response, mut payload) = (Vec::new(), Vec::new(), Vec::new());
        let sent = initiator.write_hello(b"resume", &mut hello).unwrap();
        let server_side = IkResponder::new(server, SERVER_E)
            .read_hello_with(&hello, |device| cache.and_then(|c| c.get(device)))
            .unwrap()
            .accept(Some(6), b"ok", &mut response)
            .unwrap();
        let device_side = sent.read_response(&response, &mut payload).unwrap();
        (device_side, server_side)
    }

    /// The device's first IK message (hello) for the responder-only benches:
    /// identical bytes for Tidings and snow, since both use the same keys,
    /// prologue and payload.
    pub fn hello(device: &StaticKeypair, server_public: [u8; 32]) -> Vec<u8> {
        let mut hello = Vec::new();
        IkInitiator::new(device, server_public, DEVICE_E, 7)
            .write_hello(b"resume", &mut hello)
            .unwrap();
        hello
    }

    /// The server's half of an IK handshake in Tidings: read the hello,
    /// accept, write the response.
    pub fn tidings_responder(
        server: &StaticKeypair,
        hello: &[u8],
        response: &mut Vec<u8>,
    ) -> Transport {
        response.clear();
        IkResponder::new(server, SERVER_E)
            .read_hello(hello)
            .unwrap()
            .accept(Some(6), b"ok", response)
            .unwrap()
    }

    /// [`tidings_responder`] as a server with a static-static DH cache runs
    /// it (what `ServerSession` does): the device's value is looked up in
    /// `cache` once its key is decrypted.
    pub fn tidings_responder_cached(
        server: &StaticKeypair,
        hello: &[u8],
        response: &mut Vec<u8>,
        cache: &mut StaticStaticCache,
    ) -> Transport {
        response.clear();
        IkResponder::new(server, SERVER_E)
            .read_hello_with(hello, |device| cache.get(device))
            .unwrap()
            .accept(Some(6), b"ok", response)
            .unwrap()
    }

    /// A server's cache holding `devices` devices, the benches' device among
    /// them, so a lookup costs what it costs on a full server.
    pub fn full_cache(server: &StaticKeypair, devices: usize) -> StaticStaticCache {
        let mut cache = StaticStaticCache::new(devices);
        for n in 1..devices as u64 {
            let mut secret = [0x5e; 32];
            secret[..8].copy_from_slice(&n.to_be_bytes());
            let peer = StaticKeypair::from_secret_bytes(secret).public_key();
            cache.insert(server, &peer).unwrap();
        }
        let device = StaticKeypair::from_secret_bytes(DEVICE).public_key();
        cache.insert(server, &device).unwrap();
        cache
    }

    /// The server's half of the same IK handshake in snow.
    pub fn snow_responder(prologue: &[u8], hello: &[u8]) -> snow::TransportState {
        let params: snow::params::NoiseParams =
            HandshakePattern::Ik.protocol_name().parse().unwrap();
        let mut resp = snow::Builder::new(params)
            .local_private_key(&SERVER)
            .prologue(prologue)
            .fixed_ephemeral_key_for_testing_only(&SERVER_E)
            .build_responder()
            .unwrap();
        let (mut a, mut b) = ([0u8; 256], [0u8; 256]);
        resp.read_message(hello, &mut b).unwrap();
        resp.write_message(b"ok", &mut a).unwrap();
        resp.into_transport_mode().unwrap()
    }

    /// The same IK handshake with snow, the reference implementation.
    pub fn snow_ik(
        prologue: &[u8],
        server_public: &[u8; 32],
    ) -> (snow::TransportState, snow::TransportState) {
        let params: snow::params::NoiseParams =
            HandshakePattern::Ik.protocol_name().parse().unwrap();
        let mut init = snow::Builder::new(params.clone())
            .local_private_key(&DEVICE)
            .remote_public_key(server_public)
            .prologue(prologue)
            .fixed_ephemeral_key_for_testing_only(&DEVICE_E)
            .build_initiator()
            .unwrap();
        let mut resp = snow::Builder::new(params)
            .local_private_key(&SERVER)
            .prologue(prologue)
            .fixed_ephemeral_key_for_testing_only(&SERVER_E)
            .build_responder()
            .unwrap();
        let (mut a, mut b) = ([0u8; 256], [0u8; 256]);
        let len = init
            .write_message(b"\0\0\0\0\0\0\0\x07resume", &mut a)
            .unwrap();
        resp.read_message(&a[..len], &mut b).unwrap();
        let len = resp.write_message(b"ok", &mut a).unwrap();
        init.read_message(&a[..len], &mut b).unwrap();
        (
            init.into_transport_mode().unwrap(),
            resp.into_transport_mode().unwrap(),
        )
    }
}
