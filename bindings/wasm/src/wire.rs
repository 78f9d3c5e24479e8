//! TEST SUPPORT ONLY (feature `loopback-server`): the core's wire layers,
//! exposed so the JS tests can check `docs/test-vectors/wire.json` against
//! the very code the package runs. Never in the npm package.

use crate::error::Thrown;
use crate::types::ByteList;
use tidings::compress::{InflateLimits, PackOptions, pack, pad, unpack, unpad};
use tidings::frame::{FrameDecoder, FrameEncoder};
use tidings::proto::{self, Envelope};
use wasm_bindgen::prelude::*;

/// TEST SUPPORT: a byte stream's frame bodies.
#[wasm_bindgen(js_name = testDecodeFrames)]
pub fn test_decode_frames(stream: &[u8]) -> Result<ByteList, Thrown> {
    let mut decoder = FrameDecoder::new();
    let mut rest = stream;
    let bodies = js_sys::Array::new();
    while let Some(body) = decoder.decode(&mut rest)? {
        bodies.push(&js_sys::Uint8Array::from(body.as_slice()));
    }
    decoder.finish()?;
    Ok(bodies.unchecked_into())
}

/// TEST SUPPORT: the byte stream of `bodies`, as one direction sends it.
#[wasm_bindgen(js_name = testEncodeFrames)]
pub fn test_encode_frames(bodies: ByteList) -> Result<Vec<u8>, Thrown> {
    let mut encoder = FrameEncoder::new();
    let mut stream = Vec::new();
    for body in js_sys::Array::from(&bodies).iter() {
        let body = body
            .dyn_into::<js_sys::Uint8Array>()
            .map_err(|_| Thrown::invalid("bodies must be Uint8Arrays"))?;
        encoder.encode(&body.to_vec(), &mut stream)?;
    }
    Ok(stream)
}

/// TEST SUPPORT: a body padded as it is before sealing.
#[wasm_bindgen(js_name = testPad)]
pub fn test_pad(body: &[u8]) -> Vec<u8> {
    let mut padded = Vec::new();
    pad(body, &mut padded);
    padded
}

/// TEST SUPPORT: the body inside a padded payload.
#[wasm_bindgen(js_name = testUnpad)]
pub fn test_unpad(padded: &[u8]) -> Result<Vec<u8>, Thrown> {
    Ok(unpad(padded)?.to_vec())
}

/// TEST SUPPORT: an item packed (with the preset dictionary or without).
#[wasm_bindgen(js_name = testPack)]
pub fn test_pack(item: &[u8], dictionary: bool) -> Vec<u8> {
    let mut options = PackOptions::default();
    if !dictionary {
        options.dictionary = None;
    }
    pack(item, &options)
}

/// TEST SUPPORT: a packed item unpacked, within the default limits.
#[wasm_bindgen(js_name = testUnpack)]
pub fn test_unpack(packed: &[u8]) -> Result<Vec<u8>, Thrown> {
    Ok(unpack(packed, &InflateLimits::default())?)
}

/// TEST SUPPORT: which body an encoded `Envelope` carries ("" for a
/// keepalive), from its protobuf oneof.
#[wasm_bindgen(js_name = testEnvelopeBody)]
pub fn test_envelope_body(envelope: &[u8]) -> Result<String, Thrown> {
    let envelope: Envelope = proto::decode(envelope)?;
    Ok(envelope
        .body
        .map(|body| {
            let name = format!("{body:?}");
            name.split('(').next().unwrap_or_default().to_string()
        })
        .unwrap_or_default())
}
