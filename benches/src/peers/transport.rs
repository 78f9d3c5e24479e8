//! What the peers' messages cost on the wire around their bodies: HTTP/2
//! frames inside TLS 1.3 records, on a connection that is already open and
//! warm (HPACK dynamic table filled by earlier requests).
//!
//! Every constant here is an assumption, stated in `docs/performance.md`, and
//! each is chosen in the peers' favour: HTTP/2 rather than HTTP/1.1 (whose
//! headers alone are 200-600 B a message), TLS 1.3 rather than 1.2 (29 B a
//! record), one TLS record per message. TCP/IP is counted apart: the bytes
//! leave it out, and [`Wire::segments`] models the segments (data and pure
//! ACKs) with one rule for every protocol ([`sequence`]).

/// TLS 1.3 AES-GCM record overhead: 5 B header, 1 B inner content type,
/// 16 B tag (RFC 8446 section 5.2).
pub const TLS_RECORD_OVERHEAD: usize = 5 + 1 + 16;
/// Largest TLS plaintext record (RFC 8446 section 5.1).
pub const TLS_MAX_RECORD: usize = 16_384;
/// HTTP/2 frame header (RFC 9113 section 4.1).
pub const H2_FRAME_HEADER: usize = 9;
/// Default largest HTTP/2 frame payload (SETTINGS_MAX_FRAME_SIZE).
pub const H2_MAX_FRAME: usize = 16_384;
/// HPACK block of a repeated POST on a warm connection: `:method`,
/// `:scheme`, `:path`, `:authority`, authorization, content-type,
/// user-agent and protocol headers all indexed (1-2 B each), content-length
/// as a literal with an indexed name.
pub const H2_REQUEST_HEADER_BLOCK: usize = 20;
/// HPACK block of a response: `:status`, content-type and content-encoding
/// indexed, content-length and `date` as literals with indexed names (the
/// date changes every second, so it is never fully indexed).
pub const H2_RESPONSE_HEADER_BLOCK: usize = 35;

/// Bytes of `plaintext` bytes once sealed into TLS 1.3 records.
pub fn tls(plaintext: usize) -> usize {
    plaintext + plaintext.div_ceil(TLS_MAX_RECORD).max(1) * TLS_RECORD_OVERHEAD
}

/// An HTTP/2 message: a HEADERS frame, then the body in DATA frames.
pub fn h2_message(header_block: usize, body: usize) -> usize {
    H2_FRAME_HEADER + header_block + body.div_ceil(H2_MAX_FRAME) * H2_FRAME_HEADER + body
}

/// Payload of one TCP segment on Ethernet (MSS 1460, less the 12-byte
/// timestamps option Linux sends on every segment).
pub const SEGMENT_PAYLOAD: usize = 1448;
/// IPv4 and TCP headers of one segment, timestamps option included.
pub const HEADERS_PER_SEGMENT: usize = 20 + 20 + 12;

/// Bytes that cross the wire in each direction, and the TCP segments that
/// carry them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Wire {
    /// Device to server.
    pub up: usize,
    /// Server to device.
    pub down: usize,
    /// TCP segments both ways, data and pure ACKs, as [`sequence`] models
    /// them (0 where not modelled).
    pub segments: usize,
}

/// Which way a message goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dir {
    /// Device to server.
    Up,
    /// Server to device.
    Down,
}

/// Messages sent one after another on one connection (sizes on the wire):
/// their bytes, and their segments under one rule for every protocol. Each
/// message takes ⌈size / 1448⌉ data segments; the receiver acknowledges
/// every second one and the last (delayed ACKs), and that last ACK rides
/// on the next message when it goes the other way at once (a reply), so it
/// costs no segment of its own.
pub fn sequence(messages: &[(Dir, usize)]) -> Wire {
    let mut wire = Wire::default();
    for (n, &(dir, size)) in messages.iter().enumerate() {
        match dir {
            Dir::Up => wire.up += size,
            Dir::Down => wire.down += size,
        }
        let data = size.div_ceil(SEGMENT_PAYLOAD).max(1);
        let mut acks = data.div_ceil(2);
        if messages.get(n + 1).is_some_and(|&(next, _)| next != dir) {
            acks -= 1;
        }
        wire.segments += data + acks;
    }
    wire
}

impl Wire {
    /// Both directions.
    pub fn total(self) -> usize {
        self.up + self.down
    }
}

impl std::ops::Add for Wire {
    type Output = Wire;
    fn add(self, other: Wire) -> Wire {
        Wire {
            up: self.up + other.up,
            down: self.down + other.down,
            segments: self.segments + other.segments,
        }
    }
}

impl std::ops::AddAssign for Wire {
    fn add_assign(&mut self, other: Wire) {
        *self = *self + other;
    }
}

impl std::iter::Sum for Wire {
    fn sum<I: Iterator<Item = Wire>>(iter: I) -> Wire {
        iter.fold(Wire::default(), |a, b| a + b)
    }
}

/// An HTTP/2 request with a body of `body` bytes, over TLS 1.3: its size
/// on the wire, going up.
pub fn request_message(body: usize) -> (Dir, usize) {
    (Dir::Up, tls(h2_message(H2_REQUEST_HEADER_BLOCK, body)))
}

/// An HTTP/2 response, over TLS 1.3, going down.
pub fn response_message(body: usize) -> (Dir, usize) {
    (Dir::Down, tls(h2_message(H2_RESPONSE_HEADER_BLOCK, body)))
}

/// More bytes of a response that is already open (a server-sent event):
/// one DATA frame in one TLS record, going down.
pub fn stream_message(bytes: usize) -> (Dir, usize) {
    (Dir::Down, tls(H2_FRAME_HEADER + bytes))
}

/// One HTTP/2 request and its response, over TLS 1.3.
pub fn exchange(request_body: usize, response_body: usize) -> Wire {
    sequence(&[
        request_message(request_body),
        response_message(response_body),
    ])
}

/// The request half alone (a long poll whose answer comes later).
pub fn request(body: usize) -> Wire {
    sequence(&[request_message(body)])
}

/// The response half alone.
pub fn response(body: usize) -> Wire {
    sequence(&[response_message(body)])
}

/// More bytes of a response that is already open (a server-sent event).
pub fn stream_data(bytes: usize) -> Wire {
    sequence(&[stream_message(bytes)])
}

/// `body` gzip-compressed (RFC 1952, level 6 as most HTTP servers use),
/// or as is when that is shorter: a fair server compresses only when it pays.
pub fn gzip_if_smaller(body: &[u8]) -> usize {
    gzip(body).len().min(body.len())
}

/// `body` gzip-compressed at level 6.
pub fn gzip(body: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
    encoder.write_all(body).expect("writing to a Vec");
    encoder.finish().expect("writing to a Vec")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_and_frames_are_counted_per_16_kib() {
        assert_eq!(tls(0), 22);
        assert_eq!(tls(100), 122);
        assert_eq!(tls(16_384), 16_384 + 22);
        assert_eq!(tls(16_385), 16_385 + 44);
        assert_eq!(h2_message(20, 0), 29);
        assert_eq!(h2_message(20, 1), 39);
        assert_eq!(h2_message(20, 40_000), 9 + 20 + 3 * 9 + 40_000);
    }

    #[test]
    fn an_exchange_counts_both_halves() {
        let e = exchange(100, 1000);
        assert_eq!(e.up, 22 + 9 + 20 + 9 + 100);
        assert_eq!(e.down, 22 + 9 + 35 + 9 + 1000);
        let halves = request(100) + response(1000);
        assert_eq!((halves.up, halves.down), (e.up, e.down));
        assert_eq!(stream_data(50).down, 22 + 9 + 50);
    }

    #[test]
    fn segments_follow_delayed_acks_and_replies_carry_the_last_ack() {
        // Request and response: the response carries the request's ACK;
        // the response's own ACK is a segment of its own.
        assert_eq!(exchange(100, 1000).segments, 3);
        // Alone, a message's ACK is a segment of its own.
        assert_eq!(request(100).segments, 2);
        // 4,000 bytes take three segments and two ACKs.
        assert_eq!(sequence(&[(Dir::Down, 4000)]).segments, 5);
        // Down, up, down: only the last needs a pure ACK.
        let three = [(Dir::Down, 100), (Dir::Up, 100), (Dir::Down, 100)];
        assert_eq!(sequence(&three).segments, 4);
        // Two messages the same way: no reply carries the first one's ACK.
        assert_eq!(sequence(&[(Dir::Down, 10), (Dir::Down, 10)]).segments, 4);
    }

    #[test]
    fn gzip_is_used_only_when_it_pays() {
        assert_eq!(gzip_if_smaller(b"ok"), 2);
        let text = "the quick brown fox ".repeat(100);
        let n = gzip_if_smaller(text.as_bytes());
        assert!(n < 100, "{n}");
        let mut out = Vec::new();
        use std::io::Read;
        flate2::read::GzDecoder::new(&gzip(text.as_bytes())[..])
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, text.as_bytes());
    }
}
