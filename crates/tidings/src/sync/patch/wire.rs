//! Protobuf encodings read as what they are on the wire: a sequence of
//! fields, each a tag and a value. Patches are computed and applied at this
//! level, so the core needs no reflection over its schema.

use crate::error::{Error, ErrorKind, Result};
use prost::encoding::{decode_varint, encode_varint};

/// One field of an encoding: its number, the whole record (tag and value)
/// and, for a length-delimited value, the value's bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Field<'a> {
    pub(super) number: u32,
    pub(super) record: &'a [u8],
    pub(super) payload: Option<&'a [u8]>,
}

impl Field<'_> {
    /// Whether the value is length-delimited (a string, bytes, a message or
    /// a packed list), not a number.
    pub(super) fn is_len(&self) -> bool {
        self.payload.is_some()
    }
}

fn malformed() -> Error {
    Error::new(ErrorKind::ProtoDecode, "malformed protobuf in a patch")
}

/// The fields of `bytes`, in order. Groups (wire types 3 and 4, which no
/// Tidings message uses) and field number 0 are refused.
pub(super) fn fields(bytes: &[u8]) -> Result<Vec<Field<'_>>> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let start = rest;
        let tag = decode_varint(&mut rest).map_err(|_| malformed())?;
        let number = u32::try_from(tag >> 3).map_err(|_| malformed())?;
        if number == 0 {
            return Err(malformed());
        }
        let mut payload = None;
        let value_len = match tag & 7 {
            0 => {
                decode_varint(&mut rest).map_err(|_| malformed())?;
                0
            }
            1 => 8,
            2 => {
                let len = decode_varint(&mut rest).map_err(|_| malformed())?;
                let len = usize::try_from(len).map_err(|_| malformed())?;
                payload = Some(rest.get(..len).ok_or_else(malformed)?);
                len
            }
            5 => 4,
            _ => return Err(malformed()),
        };
        rest = rest.get(value_len..).ok_or_else(malformed)?;
        let used = start.len() - rest.len();
        out.push(Field {
            number,
            record: start.get(..used).ok_or_else(malformed)?,
            payload,
        });
    }
    Ok(out)
}

/// Appends a length-delimited record of field `number` holding `payload`.
pub(super) fn put_len_delimited(out: &mut Vec<u8>, number: u32, payload: &[u8]) {
    encode_varint((u64::from(number) << 3) | 2, out);
    encode_varint(payload.len() as u64, out);
    out.extend_from_slice(payload);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_wire_type_is_read_with_its_bounds() {
        // 1: varint 150; 2: "hi"; 3: fixed64; 4: fixed32.
        let bytes = [
            0x08, 0x96, 0x01, 0x12, 0x02, b'h', b'i', 0x19, 1, 2, 3, 4, 5, 6, 7, 8, 0x25, 1, 2, 3,
            4,
        ];
        let read = fields(&bytes).expect("fields");
        let numbers: Vec<u32> = read.iter().map(|f| f.number).collect();
        assert_eq!(numbers, [1, 2, 3, 4]);
        assert_eq!(read[1].payload, Some(&b"hi"[..]));
        assert_eq!(read[2].record.len(), 9);
        let joined: Vec<u8> = read.iter().flat_map(|f| f.record.to_vec()).collect();
        assert_eq!(joined, bytes);
    }

    #[test]
    fn truncated_groups_and_field_zero_are_refused() {
        for bad in [
            &[0x12, 0x05, b'a'][..],
            &[0x19, 1, 2],
            &[0x0b],
            &[0x00, 0x01],
            &[0x08],
        ] {
            assert_eq!(
                fields(bad).map_err(|e| e.kind()),
                Err(ErrorKind::ProtoDecode),
                "{bad:?}"
            );
        }
    }
}
