//! Raw inflate, bounded on its output while it runs.

use super::Dictionary;
use crate::error::{Error, ErrorKind, Result};
use flate2::{Decompress, FlushDecompress, Status};

/// Limits on what inflating may produce.
///
/// An item's output may not exceed `max_output` bytes, nor `max_ratio` times
/// its compressed size once it is larger than `ratio_floor`. The caps are
/// enforced on the output while inflating: a decompression bomb is stopped
/// after at most the allowed number of bytes, with no more memory than that.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InflateLimits {
    /// Absolute cap on one item's inflated size, in bytes.
    pub max_output: usize,
    /// Cap on inflated size divided by compressed size.
    pub max_ratio: usize,
    /// Outputs up to this size are allowed whatever their ratio (small items
    /// compress well without being bombs).
    pub ratio_floor: usize,
}

impl Default for InflateLimits {
    /// 4 MiB per item, at most 128:1 above 64 KiB. Real mail and calendar
    /// items compress 2–10:1; deflate itself cannot exceed about 1032:1.
    fn default() -> Self {
        Self {
            max_output: 4 << 20,
            max_ratio: 128,
            ratio_floor: 64 << 10,
        }
    }
}

impl InflateLimits {
    /// The most bytes `compressed_len` input bytes may inflate to.
    pub fn allowed_output(&self, compressed_len: usize) -> usize {
        compressed_len
            .saturating_mul(self.max_ratio)
            .max(self.ratio_floor)
            .min(self.max_output)
    }
}

/// Inflates the raw deflate stream `compressed`, which must produce exactly
/// `expected_len` bytes and end there.
///
/// `expected_len` is checked against `limits` before anything is allocated;
/// inflating stops with [`ErrorKind::InflateLimit`] as soon as the stream
/// tries to write one byte more than `expected_len`.
pub fn inflate(
    compressed: &[u8],
    dictionary: Option<Dictionary>,
    expected_len: usize,
    limits: &InflateLimits,
) -> Result<Vec<u8>> {
    if expected_len > limits.allowed_output(compressed.len()) {
        return Err(Error::new(
            ErrorKind::InflateLimit,
            "declared size exceeds the inflate limits",
        ));
    }
    let mut inflater = Decompress::new(false);
    if let Some(dictionary) = dictionary {
        inflater
            .set_dictionary(dictionary.bytes())
            .map_err(|_| corrupt("dictionary rejected"))?;
    }
    // One spare byte lets us see a stream that runs past its declared end.
    let mut out = vec![0u8; expected_len + 1];
    loop {
        let read = total(inflater.total_in())?;
        let written = total(inflater.total_out())?;
        let (Some(input), Some(output)) = (compressed.get(read..), out.get_mut(written..)) else {
            return Err(corrupt("inflater overran its buffers"));
        };
        let status = inflater
            .decompress(input, output, FlushDecompress::Finish)
            .map_err(|_| corrupt("invalid deflate data"))?;
        let written = total(inflater.total_out())?;
        if written > expected_len {
            return Err(Error::new(
                ErrorKind::InflateLimit,
                "stream inflates past its declared size",
            ));
        }
        match status {
            Status::StreamEnd => break,
            Status::Ok => continue,
            Status::BufError => return Err(corrupt("stream is truncated")),
        }
    }
    if total(inflater.total_in())? != compressed.len() {
        return Err(corrupt("bytes after the end of the stream"));
    }
    out.truncate(total(inflater.total_out())?);
    if out.len() != expected_len {
        return Err(corrupt("stream is shorter than its declared size"));
    }
    Ok(out)
}

fn total(count: u64) -> Result<usize> {
    usize::try_from(count).map_err(|_| corrupt("size overflows"))
}

fn corrupt(reason: &'static str) -> Error {
    Error::new(ErrorKind::InflateCorrupt, reason)
}
