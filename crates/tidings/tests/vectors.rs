//! The wire vectors in `docs/test-vectors/wire.json`: checked here, and by the
//! C and JS tests. Run with `TIDINGS_BLESS=1` to regenerate after a deliberate
//! wire change (and say so in the commit).

use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use tidings::compress::{InflateLimits, PackOptions, pack, pad, unpack, unpad};
use tidings::frame::{FrameDecoder, FrameEncoder};
use tidings::proto::{self, Envelope, envelope};

#[derive(Serialize, Deserialize, PartialEq, Debug)]
struct Vectors {
    about: String,
    frames: Vec<FrameVector>,
    padding: Vec<PaddingVector>,
    packed: Vec<PackedVector>,
    envelopes: Vec<EnvelopeVector>,
}

#[derive(Serialize, Deserialize, PartialEq, Debug)]
struct FrameVector {
    meaning: String,
    /// Frame bodies in order (hex), without the version byte.
    bodies: Vec<String>,
    /// The byte stream of one direction of a connection (hex).
    stream: String,
}

#[derive(Serialize, Deserialize, PartialEq, Debug)]
struct PaddingVector {
    meaning: String,
    body: String,
    padded: String,
}

#[derive(Serialize, Deserialize, PartialEq, Debug)]
struct PackedVector {
    meaning: String,
    item: String,
    /// What this implementation emits. Another deflater may emit different
    /// valid bytes; every implementation must unpack these to `item`.
    packed: String,
}

#[derive(Serialize, Deserialize, PartialEq, Debug)]
struct EnvelopeVector {
    meaning: String,
    /// The protobuf Envelope (hex).
    envelope: String,
    /// The same, padded: the plaintext that is sealed (hex).
    padded: String,
}

fn path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/test-vectors/wire.json")
}

fn frame_vector(meaning: &str, bodies: &[&[u8]]) -> FrameVector {
    let mut encoder = FrameEncoder::new();
    let mut stream = Vec::new();
    for body in bodies {
        encoder.encode(body, &mut stream).expect("small bodies");
    }
    FrameVector {
        meaning: meaning.into(),
        bodies: bodies.iter().map(hex::encode).collect(),
        stream: hex::encode(stream),
    }
}

fn padding_vector(meaning: &str, body: &[u8]) -> PaddingVector {
    let mut padded = Vec::new();
    pad(body, &mut padded);
    PaddingVector {
        meaning: meaning.into(),
        body: hex::encode(body),
        padded: hex::encode(padded),
    }
}

fn packed_vector(meaning: &str, item: &[u8], options: PackOptions) -> PackedVector {
    PackedVector {
        meaning: meaning.into(),
        item: hex::encode(item),
        packed: hex::encode(pack(item, &options)),
    }
}

fn envelope_vector(meaning: &str, body: Option<envelope::Body>) -> EnvelopeVector {
    let bytes = proto::encode(&Envelope { body });
    let mut padded = Vec::new();
    pad(&bytes, &mut padded);
    EnvelopeVector {
        meaning: meaning.into(),
        envelope: hex::encode(bytes),
        padded: hex::encode(padded),
    }
}

fn generate() -> Vectors {
    let text = "Dear councillors, the planning committee meets on Thursday at 18:00 in the Council Chamber. \
                Please find attached the agenda. Kind regards, Office of the Mayor";
    Vectors {
        about: "Tidings wire vectors: frames, padding, packed items and envelopes. \
                See docs/spec/wire-format.md. All byte strings are hex."
            .into(),
        frames: vec![
            frame_vector("one frame: version 1, then the body", &[b"hi"]),
            frame_vector(
                "three frames: only the first carries the version; an empty body is a valid frame",
                &[b"ab", b"", b"xyz"],
            ),
        ],
        padding: vec![
            padding_vector("empty body: varint 0, no padding", b""),
            padding_vector(
                "13 bytes + 1 length byte = 14, already a Padme length",
                &[0x11; 13],
            ),
            padding_vector("100 bytes + 1 = 101, padded to 104", &[0x22; 100]),
        ],
        packed: vec![
            packed_vector(
                "short item stored as is (flag 0x00)",
                b"\x08\x2a",
                PackOptions::default(),
            ),
            packed_vector(
                "text deflated without dictionary (flag 0x01)",
                text.as_bytes(),
                PackOptions {
                    dictionary: None,
                    ..PackOptions::default()
                },
            ),
            packed_vector(
                "text deflated with dictionary v1 (flag 0x03)",
                text.as_bytes(),
                PackOptions::default(),
            ),
        ],
        envelopes: vec![
            envelope_vector("keepalive: an envelope with no body, one padded byte", None),
            envelope_vector(
                "hello with one cursor (collection 7, epoch 1, modseq 300)",
                Some(envelope::Body::Hello(proto::Hello {
                    cursors: vec![proto::Cursor {
                        collection_id: 7,
                        epoch: 1,
                        modseq: 300,
                        ..Default::default()
                    }],
                    preview_bytes: 2048,
                    ..Default::default()
                })),
            ),
            envelope_vector(
                "delta continuing the session's previous page (from 0, advance 1: modseq 300 -> 301): item 1234 in collection 7 is now seen (flags 1)",
                Some(envelope::Body::Delta(proto::DeltaPage {
                    collection_id: 7,
                    advance: 1,
                    flag_changes: vec![proto::FlagChange { id: 1234, flags: 1 }],
                    ..Default::default()
                })),
            ),
            envelope_vector(
                "ack of collection 7 at epoch 1, modseq 301",
                Some(envelope::Body::Ack(proto::Ack {
                    cursors: vec![proto::Cursor {
                        collection_id: 7,
                        epoch: 1,
                        modseq: 301,
                        ..Default::default()
                    }],
                })),
            ),
        ],
    }
}

fn unhex(s: &str) -> Vec<u8> {
    hex::decode(s).expect("vector hex")
}

#[test]
fn vectors_are_current() {
    let fresh = generate();
    if std::env::var_os("TIDINGS_BLESS").is_some() {
        let text = serde_json::to_string_pretty(&fresh).expect("serialize") + "\n";
        std::fs::write(path(), text).expect("write vectors");
    }
    let stored: Vectors =
        serde_json::from_str(&std::fs::read_to_string(path()).expect("read vectors"))
            .expect("parse vectors");
    assert_eq!(
        stored, fresh,
        "wire vectors changed: rerun with TIDINGS_BLESS=1 if deliberate"
    );
}

#[test]
fn vectors_decode_to_their_meaning() {
    let stored: Vectors =
        serde_json::from_str(&std::fs::read_to_string(path()).expect("read vectors"))
            .expect("parse vectors");
    for v in &stored.frames {
        let mut decoder = FrameDecoder::new();
        let stream = unhex(&v.stream);
        let mut rest = stream.as_slice();
        let mut bodies = Vec::new();
        while let Some(body) = decoder.decode(&mut rest).expect("vector stream") {
            bodies.push(hex::encode(body));
        }
        assert_eq!(bodies, v.bodies, "{}", v.meaning);
    }
    for v in &stored.padding {
        assert_eq!(
            unpad(&unhex(&v.padded)).map(hex::encode),
            Ok(v.body.clone()),
            "{}",
            v.meaning
        );
    }
    for v in &stored.packed {
        assert_eq!(
            unpack(&unhex(&v.packed), &InflateLimits::default()).map(hex::encode),
            Ok(v.item.clone()),
            "{}",
            v.meaning
        );
    }
    for v in &stored.envelopes {
        let inner = unhex(&v.padded);
        let inner = unpad(&inner).expect("padded envelope");
        assert_eq!(hex::encode(inner), v.envelope, "{}", v.meaning);
        let envelope = proto::decode::<Envelope>(inner).expect("envelope");
        let keepalive = v.meaning.starts_with("keepalive");
        assert_eq!(envelope.body.is_none(), keepalive, "{}", v.meaning);
    }
}
