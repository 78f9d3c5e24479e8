//! Packed items: one flag byte, then the item's bytes, deflated when that pays.
//!
//! ```text
//! flags (1 byte)  bit 0     1 = deflated
//!                 bits 1-2  preset dictionary id (0 = none), only when deflated
//!                 bits 3-7  reserved, must be 0
//! if deflated:    varint(inflated length) || raw deflate (RFC 1951)
//! otherwise:      the item's bytes as they are
//! ```

use super::{Dictionary, InflateLimits, inflate};
use crate::error::{Error, ErrorKind, Result};
use flate2::{Compress, Compression, FlushCompress, Status};
use prost::encoding::{decode_varint, encode_varint};

const FLAG_DEFLATED: u8 = 0b0000_0001;
const DICTIONARY_SHIFT: u8 = 1;
const DICTIONARY_MASK: u8 = 0b0000_0110;
const RESERVED_MASK: u8 = 0b1111_1000;

/// How [`pack`] compresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PackOptions {
    /// Items shorter than this are stored as they are: a flag change gains
    /// nothing from deflate's block overhead.
    pub min_deflate_len: usize,
    /// Deflate level, 0–9.
    pub level: u32,
    /// The preset dictionary, if any.
    pub dictionary: Option<Dictionary>,
}

impl Default for PackOptions {
    fn default() -> Self {
        Self {
            min_deflate_len: 64,
            level: 6,
            dictionary: Some(Dictionary::V1),
        }
    }
}

/// Packs `item`, deflating it in a fresh context when it is long enough and
/// deflate makes it shorter; the first byte says which.
pub fn pack(item: &[u8], options: &PackOptions) -> Vec<u8> {
    if item.len() >= options.min_deflate_len {
        if let Some(packed) = deflate(item, options) {
            return packed;
        }
    }
    let mut out = Vec::with_capacity(1 + item.len());
    out.push(0);
    out.extend_from_slice(item);
    out
}

/// The item inside `packed`, inflated within `limits` when it was deflated.
pub fn unpack(packed: &[u8], limits: &InflateLimits) -> Result<Vec<u8>> {
    let (&flags, body) = packed
        .split_first()
        .ok_or_else(|| Error::new(ErrorKind::InflateCorrupt, "packed item is empty"))?;
    if flags & RESERVED_MASK != 0 {
        return Err(ErrorKind::UnknownPayloadFlags.into());
    }
    let dictionary_id = (flags & DICTIONARY_MASK) >> DICTIONARY_SHIFT;
    if flags & FLAG_DEFLATED == 0 {
        if dictionary_id != 0 {
            return Err(Error::new(
                ErrorKind::UnknownPayloadFlags,
                "dictionary named on a stored item",
            ));
        }
        return Ok(body.to_vec());
    }
    let dictionary = match dictionary_id {
        0 => None,
        id => Some(Dictionary::from_id(id)?),
    };
    let mut rest = body;
    let expected = decode_varint(&mut rest)
        .map_err(|_| Error::new(ErrorKind::InflateCorrupt, "bad inflated length"))?;
    let expected = usize::try_from(expected)
        .map_err(|_| Error::new(ErrorKind::InflateLimit, "inflated length overflows"))?;
    inflate(rest, dictionary, expected, limits)
}

/// Whether unpacking `packed` within `limits` is refused for its declared
/// size alone: a deflated item whose inflated length exceeds what `limits`
/// allow for its deflate stream. Reads only the header, inflates nothing; a
/// stored item, or one whose header does not parse, is not refused here
/// ([`unpack`] still checks everything else).
pub fn refused_by_limits(packed: &[u8], limits: &InflateLimits) -> bool {
    let Some((&flags, mut rest)) = packed.split_first() else {
        return false;
    };
    if flags & FLAG_DEFLATED == 0 {
        return false;
    }
    let Ok(expected) = decode_varint(&mut rest) else {
        return false;
    };
    usize::try_from(expected).map_or(true, |expected| {
        expected > limits.allowed_output(rest.len())
    })
}

/// Deflates `item` in a fresh context, or `None` when that would not save bytes.
fn deflate(item: &[u8], options: &PackOptions) -> Option<Vec<u8>> {
    let mut compressor = Compress::new(Compression::new(options.level.min(9)), false);
    let mut flags = FLAG_DEFLATED;
    if let Some(dictionary) = options.dictionary {
        compressor.set_dictionary(dictionary.bytes()).ok()?;
        flags |= dictionary.id() << DICTIONARY_SHIFT;
    }
    let mut out = Vec::with_capacity(item.len() + 8);
    out.push(flags);
    encode_varint(item.len() as u64, &mut out);
    let header = out.len();
    // Worth it only if the result is shorter than storing the item as it is.
    let budget = 1 + item.len();
    loop {
        let consumed = usize::try_from(compressor.total_in()).ok()?;
        out.reserve(budget.saturating_sub(out.len()).max(64));
        let status = compressor
            .compress_vec(item.get(consumed..)?, &mut out, FlushCompress::Finish)
            .ok()?;
        if out.len() >= budget {
            return None;
        }
        if status == Status::StreamEnd {
            break;
        }
    }
    (out.len() > header).then_some(out)
}
