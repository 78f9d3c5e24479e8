//! Sizes of 4 GiB or more from the upstream. The IMAP parser (imap-proto)
//! reads `RFC822.SIZE` as a u32: a message of 4 GiB or more made its
//! listing a protocol error, and the folder's sync failed at every try.
//! This reader, under the parser, rewrites such a size in place (same
//! length, zero-padded) to `4294967295`, which the fetch takes as too large
//! to mirror (a stub). Literals are passed through untouched, their
//! lengths read as u64, so text inside a message is never rewritten.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The attribute whose value is clamped.
const SIZE: &[u8] = b"RFC822.SIZE ";
/// Bytes of a line held back at most before its end is seen (a longer line
/// is passed on but for this tail, where a size may be cut in two).
const LINE_HOLD: usize = 64 << 10;
const TAIL: usize = 64;
/// Bytes read from the connection at once.
const CHUNK: usize = 64 << 10;

/// A connection whose sizes of 4 GiB or more read as `u32::MAX`.
#[derive(Debug)]
pub struct ClampSizes<S> {
    inner: S,
    chunk: Vec<u8>,
    /// The line being read (outside literals), not yet passed on.
    line: Vec<u8>,
    /// Bytes ready for the reader, from `at`.
    ready: Vec<u8>,
    at: usize,
    /// Bytes left of the literal being passed through.
    literal: u64,
    eof: bool,
}

impl<S> ClampSizes<S> {
    /// Wraps `inner`.
    pub fn new(inner: S) -> ClampSizes<S> {
        ClampSizes {
            inner,
            chunk: vec![0; CHUNK],
            line: Vec::new(),
            ready: Vec::new(),
            at: 0,
            literal: 0,
            eof: false,
        }
    }

    fn feed(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            if self.literal > 0 {
                let n = usize::try_from(self.literal).map_or(data.len(), |l| l.min(data.len()));
                self.ready.extend_from_slice(&data[..n]);
                self.literal -= n as u64;
                data = &data[n..];
                continue;
            }
            match data.iter().position(|&b| b == b'\n') {
                Some(end) => {
                    self.line.extend_from_slice(&data[..=end]);
                    data = &data[end + 1..];
                    clamp(&mut self.line);
                    self.literal = literal_len(&self.line);
                    self.ready.append(&mut self.line);
                }
                None => {
                    self.line.extend_from_slice(data);
                    data = &[];
                    if self.line.len() > LINE_HOLD {
                        clamp(&mut self.line);
                        let keep = self.line.split_off(self.line.len() - TAIL);
                        self.ready.append(&mut self.line);
                        self.line = keep;
                    }
                }
            }
        }
    }
}

/// Rewrites in `line` each `RFC822.SIZE` whose digits (ended by another
/// byte) are beyond `u32::MAX` to `u32::MAX`, keeping the length.
fn clamp(line: &mut [u8]) {
    let mut from = 0;
    while let Some(found) = line[from..]
        .windows(SIZE.len())
        .position(|w| w.eq_ignore_ascii_case(SIZE))
    {
        let start = from + found + SIZE.len();
        let digits = line[start..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        let end = start + digits;
        from = end;
        if end >= line.len() || digits == 0 {
            continue;
        }
        let value = std::str::from_utf8(&line[start..end])
            .ok()
            .and_then(|s| s.parse::<u64>().ok());
        if value.is_none_or(|v| v > u64::from(u32::MAX)) {
            let max = u32::MAX.to_string();
            let pad = digits - max.len();
            line[start..start + pad].fill(b'0');
            line[start + pad..end].copy_from_slice(max.as_bytes());
        }
    }
}

/// The length of the literal that `line` announces at its end (`{n}`).
fn literal_len(line: &[u8]) -> u64 {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let Some(open) = line.strip_suffix(b"}") else {
        return 0;
    };
    let Some(brace) = open.iter().rposition(|&b| b == b'{') else {
        return 0;
    };
    let digits = &open[brace + 1..];
    let digits = digits.strip_suffix(b"+").unwrap_or(digits);
    std::str::from_utf8(digits)
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(0)
}

impl<S: AsyncRead + Unpin> AsyncRead for ClampSizes<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if this.at < this.ready.len() {
                let n = buf.remaining().min(this.ready.len() - this.at);
                buf.put_slice(&this.ready[this.at..this.at + n]);
                this.at += n;
                if this.at == this.ready.len() {
                    this.ready.clear();
                    this.at = 0;
                }
                return Poll::Ready(Ok(()));
            }
            if this.eof {
                if this.line.is_empty() {
                    return Poll::Ready(Ok(()));
                }
                this.ready.append(&mut this.line);
                continue;
            }
            let mut chunk = ReadBuf::new(&mut this.chunk);
            ready!(Pin::new(&mut this.inner).poll_read(cx, &mut chunk))?;
            let data = chunk.filled().to_vec();
            if data.is_empty() {
                this.eof = true;
            }
            this.feed(&data);
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for ClampSizes<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    async fn through(input: &[u8]) -> Vec<u8> {
        let mut reader = ClampSizes::new(input);
        let mut out = Vec::new();
        reader.read_to_end(&mut out).await.expect("read");
        out
    }

    #[tokio::test]
    async fn sizes_beyond_u32_are_clamped_in_place_and_literals_left_alone() {
        let input = b"* 1 FETCH (UID 1 RFC822.SIZE 5368709120 FLAGS ())\r\n\
            * 2 FETCH (UID 2 RFC822.SIZE 123456789012345678901234 BODY[] {29}\r\n\
            RFC822.SIZE 9999999999999\r\nab)\r\n\
            * 3 FETCH (UID 3 RFC822.SIZE 4294967295)\r\n";
        let out = through(input).await;
        assert_eq!(out.len(), input.len());
        let text = String::from_utf8(out).expect("ascii");
        assert!(text.contains("RFC822.SIZE 4294967295 FLAGS"), "{text}");
        assert!(
            text.contains("RFC822.SIZE 000000000000004294967295 BODY"),
            "{text}"
        );
        // Inside the literal: untouched.
        assert!(
            text.contains("\r\nRFC822.SIZE 9999999999999\r\nab)"),
            "{text}"
        );
        assert!(text.contains("UID 3 RFC822.SIZE 4294967295)"), "{text}");
    }

    #[tokio::test]
    async fn a_literal_of_4_gib_or_more_is_counted_as_u64() {
        assert_eq!(literal_len(b"* 1 FETCH (BODY[] {5368709120}\r\n"), 5 << 30);
        assert_eq!(literal_len(b"* 1 FETCH (UID 1)\r\n"), 0);
        let mut long = vec![b'a'; 200 << 10];
        long.extend_from_slice(b" RFC822.SIZE 5368709120)\r\n");
        let out = through(&long).await;
        assert!(out.ends_with(b" RFC822.SIZE 4294967295)\r\n"));
        assert_eq!(out.len(), long.len());
    }
}
