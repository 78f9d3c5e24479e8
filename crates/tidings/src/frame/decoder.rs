//! Reading frames incrementally from arbitrary chunks of a byte stream.

use super::{HEADER_LEN, MAX_BODY_LEN, PROTOCOL_VERSION, REFUSAL_VERSION};
use crate::error::{Error, Result};

/// Splits an ordered byte stream into frame bodies.
///
/// Push chunks of any size (one byte at a time works) with [`decode`], which
/// takes from the chunk only what the next frame needs. The decoder holds at
/// most one partial frame (2 + `max_body` bytes), whatever the input. After any
/// error it stays failed: a framing error means the stream is out of step.
///
/// [`decode`]: FrameDecoder::decode
#[derive(Debug, Clone)]
pub struct FrameDecoder {
    /// Header and body bytes of the frame being collected.
    partial: Vec<u8>,
    max_body: usize,
    awaiting_version: bool,
    failed: Option<Error>,
}

impl Default for FrameDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl FrameDecoder {
    /// A decoder for a fresh connection: the first frame must carry our version.
    pub const fn new() -> Self {
        Self::with_max_body(MAX_BODY_LEN)
    }

    /// Like [`new`](Self::new), refusing bodies longer than `max_body` bytes
    /// (clamped to 65,535) before buffering any of them.
    pub const fn with_max_body(max_body: usize) -> Self {
        Self {
            partial: Vec::new(),
            max_body: if max_body < MAX_BODY_LEN {
                max_body
            } else {
                MAX_BODY_LEN
            },
            awaiting_version: true,
            failed: None,
        }
    }

    /// Bytes of a partial frame held between calls.
    pub fn buffered_len(&self) -> usize {
        self.partial.len()
    }

    /// Takes bytes from the front of `input` and returns the next whole frame
    /// body, if one is complete.
    ///
    /// Returns `Ok(None)` once `input` is used up without completing a frame;
    /// call it in a loop until then. On the first frame the version byte is
    /// checked and removed: an unknown version gives [`Error::UnknownVersion`],
    /// a peer's refusal gives [`Error::VersionRefused`].
    pub fn decode(&mut self, input: &mut &[u8]) -> Result<Option<Vec<u8>>> {
        if let Some(err) = &self.failed {
            return Err(err.clone());
        }
        let result = match self.next_body(input) {
            Ok(Some(body)) if self.awaiting_version => {
                self.awaiting_version = false;
                check_version(body).map(Some)
            }
            other => other,
        };
        result.map_err(|err| self.fail(err))
    }

    /// Confirms the stream ended on a frame boundary.
    pub fn finish(&self) -> Result<()> {
        if let Some(err) = &self.failed {
            return Err(err.clone());
        }
        match self.partial.len() {
            0 => Ok(()),
            buffered => Err(Error::FrameTruncated { buffered }),
        }
    }

    fn fail(&mut self, err: Error) -> Error {
        self.partial = Vec::new();
        self.failed = Some(err.clone());
        err
    }

    fn next_body(&mut self, input: &mut &[u8]) -> Result<Option<Vec<u8>>> {
        // Fast path: a whole frame in the input is copied once, never buffered.
        if self.partial.is_empty() {
            if let Some(len) = header_len(input) {
                let len = self.check_len(len)?;
                if let Some(body) = input.get(HEADER_LEN..HEADER_LEN + len) {
                    let body = body.to_vec();
                    *input = input.get(HEADER_LEN + len..).unwrap_or_default();
                    return Ok(Some(body));
                }
            }
        }
        if self.partial.len() < HEADER_LEN {
            let take = (HEADER_LEN - self.partial.len()).min(input.len());
            self.take_into_partial(input, take);
        }
        let Some(len) = header_len(&self.partial) else {
            return Ok(None);
        };
        let len = self.check_len(len)?;
        let missing = HEADER_LEN + len - self.partial.len();
        self.take_into_partial(input, missing.min(input.len()));
        if self.partial.len() < HEADER_LEN + len {
            return Ok(None);
        }
        let mut frame = core::mem::take(&mut self.partial);
        frame.drain(..HEADER_LEN);
        Ok(Some(frame))
    }

    fn take_into_partial(&mut self, input: &mut &[u8], n: usize) {
        let (head, rest) = input.split_at(n.min(input.len()));
        self.partial.extend_from_slice(head);
        *input = rest;
    }

    fn check_len(&self, len: usize) -> Result<usize> {
        if len > self.max_body {
            return Err(Error::FrameTooLarge {
                len,
                max: self.max_body,
            });
        }
        Ok(len)
    }
}

/// Checks and strips the version byte of the first frame.
fn check_version(mut body: Vec<u8>) -> Result<Vec<u8>> {
    match body.first().copied() {
        Some(PROTOCOL_VERSION) => {
            body.remove(0);
            Ok(body)
        }
        Some(REFUSAL_VERSION) => match body.get(1) {
            Some(&supported) => Err(Error::VersionRefused { supported }),
            None => Err(Error::FrameMalformed("refusal frame names no version")),
        },
        Some(other) => Err(Error::UnknownVersion(other)),
        None => Err(Error::FrameMalformed("first frame has no version byte")),
    }
}

/// The body length announced by a complete header at the front of `bytes`.
fn header_len(bytes: &[u8]) -> Option<usize> {
    match bytes {
        [hi, lo, ..] => Some(usize::from(u16::from_be_bytes([*hi, *lo]))),
        _ => None,
    }
}
