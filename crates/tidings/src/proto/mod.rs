//! The protobuf schema, generated from `proto/tidings/v1/*.proto` by prost.
//!
//! The `.proto` files are the source of truth for every language; their
//! comments are the documentation of these types. Rules for evolving them are
//! in `docs/spec/wire-format.md` (never reuse a field number, never change a
//! field's type, add fields rather than change meanings).

#[allow(missing_docs, clippy::all, clippy::pedantic, unreachable_pub)]
mod generated {
    include!(concat!(env!("OUT_DIR"), "/tidings.v1.rs"));
}

pub use generated::*;

use crate::error::{Error, ErrorKind, Result};
use prost::Message;

/// Decodes one message of type `M`, mapping failure to [`ErrorKind::ProtoDecode`].
///
/// Decoding is bounded by the input: prost allocates at most in proportion to
/// the bytes given, and nests at most 100 messages deep.
pub fn decode<M: Message + Default>(bytes: &[u8]) -> Result<M> {
    M::decode(bytes).map_err(|_| Error::new(ErrorKind::ProtoDecode, "invalid protobuf"))
}

/// Encodes `message` into a new buffer of exactly its size.
pub fn encode<M: Message>(message: &M) -> Vec<u8> {
    message.encode_to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use arbitrary::{Arbitrary, Unstructured};
    use proptest::prelude::*;

    fn arbitrary_envelope(seed: &[u8]) -> Option<Envelope> {
        Envelope::arbitrary(&mut Unstructured::new(seed)).ok()
    }

    proptest! {
        #[test]
        fn envelope_round_trips(seed in proptest::collection::vec(any::<u8>(), 0..2048)) {
            if let Some(envelope) = arbitrary_envelope(&seed) {
                let bytes = encode(&envelope);
                prop_assert_eq!(bytes.len(), envelope.encoded_len());
                prop_assert_eq!(decode::<Envelope>(&bytes).ok(), Some(envelope));
            }
        }

        #[test]
        fn item_round_trips(seed in proptest::collection::vec(any::<u8>(), 0..4096)) {
            if let Ok(item) = Item::arbitrary(&mut Unstructured::new(&seed)) {
                prop_assert_eq!(decode::<Item>(&encode(&item)).ok(), Some(item));
            }
        }

        #[test]
        fn message_patch_round_trips(seed in proptest::collection::vec(any::<u8>(), 0..2048)) {
            if let Ok(patch) = MessagePatch::arbitrary(&mut Unstructured::new(&seed)) {
                prop_assert_eq!(decode::<MessagePatch>(&encode(&patch)).ok(), Some(patch));
            }
        }

        #[test]
        fn decode_of_any_bytes_is_an_error_or_canonical(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            if let Ok(envelope) = decode::<Envelope>(&bytes) {
                let again = encode(&envelope);
                prop_assert_eq!(decode::<Envelope>(&again).ok(), Some(envelope));
            }
        }
    }

    #[test]
    fn garbage_is_a_typed_error() {
        let err = decode::<Envelope>(&[0xff, 0xff, 0xff]).err();
        assert_eq!(err.map(|e| e.kind()), Some(ErrorKind::ProtoDecode));
    }
}
