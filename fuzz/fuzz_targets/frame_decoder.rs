//! Arbitrary bytes, cut into arbitrary chunks, into the frame decoder.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tidings::frame::{FrameDecoder, FrameEncoder};

fuzz_target!(|input: (u16, Vec<u8>, Vec<u8>)| {
    let (max_body, cuts, stream) = input;
    let max_body = usize::from(max_body);
    let mut decoder = FrameDecoder::with_max_body(max_body);
    let mut frames = Vec::new();
    let mut start: usize = 0;
    // Each cut byte is the length of the next chunk; the rest is one chunk.
    for len in cuts.iter().map(|&c| usize::from(c)).chain([usize::MAX]) {
        let end = start.saturating_add(len).min(stream.len());
        let mut chunk = &stream[start..end];
        loop {
            match decoder.decode(&mut chunk) {
                Ok(Some(frame)) => frames.push(frame),
                Ok(None) => break,
                Err(_) => return,
            }
        }
        assert!(decoder.buffered_len() <= 2 + max_body);
        start = end;
    }
    // Whatever decoded must encode back to the bytes it came from.
    if decoder.finish().is_ok() {
        let mut encoder = FrameEncoder::new();
        let mut again = Vec::new();
        for frame in &frames {
            encoder.encode(frame, &mut again).expect("decoded frames fit");
        }
        assert_eq!(again, stream);
    }
});
