//! Frames: reassembly from any split, limits, versions, and failure modes.

use proptest::prelude::*;
use tidings::ErrorKind;
use tidings::frame::{FrameDecoder, FrameEncoder, MAX_BODY_LEN, PROTOCOL_VERSION, encode_refusal};

fn encode_all(bodies: &[Vec<u8>]) -> Vec<u8> {
    let mut encoder = FrameEncoder::new();
    let mut stream = Vec::new();
    for body in bodies {
        encoder
            .encode(body, &mut stream)
            .expect("body fits in a frame");
    }
    stream
}

/// Decodes `chunks` in order, checking the one-partial-frame bound throughout.
fn decode_chunks<'a>(
    chunks: impl IntoIterator<Item = &'a [u8]>,
) -> Result<Vec<Vec<u8>>, tidings::Error> {
    let mut decoder = FrameDecoder::new();
    let mut frames = Vec::new();
    for chunk in chunks {
        let mut rest = chunk;
        while let Some(frame) = decoder.decode(&mut rest)? {
            frames.push(frame);
        }
        assert!(
            rest.is_empty(),
            "decode returns None only when the input is used up"
        );
        assert!(decoder.buffered_len() <= 2 + MAX_BODY_LEN);
    }
    decoder.finish()?;
    Ok(frames)
}

fn sample_bodies() -> Vec<Vec<u8>> {
    vec![
        b"first".to_vec(),
        Vec::new(),
        vec![0xAB; 300],
        b"x".to_vec(),
        vec![7; 70],
    ]
}

#[test]
fn reassembles_from_every_split_point() {
    let bodies = sample_bodies();
    let stream = encode_all(&bodies);
    for split in 0..=stream.len() {
        let (a, b) = stream.split_at(split);
        assert_eq!(
            decode_chunks([a, b]).as_ref(),
            Ok(&bodies),
            "split at {split}"
        );
    }
}

#[test]
fn reassembles_one_byte_at_a_time() {
    let bodies = sample_bodies();
    let stream = encode_all(&bodies);
    assert_eq!(decode_chunks(stream.chunks(1)), Ok(bodies));
}

#[test]
fn holds_at_most_one_partial_frame_when_given_many() {
    let bodies: Vec<Vec<u8>> = (0..50u8).map(|i| vec![i; 1000]).collect();
    let stream = encode_all(&bodies);
    let mut decoder = FrameDecoder::new();
    let mut rest = &stream[..stream.len() - 10];
    let mut seen = 0;
    while let Some(frame) = decoder.decode(&mut rest).expect("valid stream") {
        assert_eq!(frame, bodies[seen]);
        seen += 1;
        // The rest of the input stays with the caller, not in the decoder.
        assert_eq!(decoder.buffered_len(), 0);
    }
    assert_eq!(seen, 49);
    assert_eq!(decoder.buffered_len(), 2 + 1000 - 10);
    assert_eq!(
        decoder.finish().map_err(|e| e.kind()),
        Err(ErrorKind::FrameTruncated)
    );
}

#[test]
fn the_first_frame_carries_the_version_and_later_ones_do_not() {
    let stream = encode_all(&[b"ab".to_vec(), b"cd".to_vec()]);
    assert_eq!(
        stream,
        [0, 3, PROTOCOL_VERSION, b'a', b'b', 0, 2, b'c', b'd']
    );
}

#[test]
fn unknown_version_is_refused_and_the_refusal_is_understood() {
    let mut decoder = FrameDecoder::new();
    let mut input: &[u8] = &[0, 3, 9, 1, 2];
    let err = decoder
        .decode(&mut input)
        .expect_err("version 9 is unknown");
    assert_eq!(err, tidings::Error::UnknownVersion(9));
    assert_eq!(err.code(), 102);

    let mut refusal = Vec::new();
    encode_refusal(&mut refusal);
    let mut decoder = FrameDecoder::new();
    let err = decoder
        .decode(&mut refusal.as_slice())
        .expect_err("a refusal is an error");
    assert_eq!(
        err,
        tidings::Error::VersionRefused {
            supported: PROTOCOL_VERSION
        }
    );
}

#[test]
fn an_empty_first_frame_is_malformed() {
    let err = FrameDecoder::new()
        .decode(&mut &[0u8, 0][..])
        .expect_err("no version byte");
    assert_eq!(err.kind(), ErrorKind::FrameMalformed);
}

#[test]
fn oversize_is_refused_before_buffering_and_the_decoder_stays_failed() {
    let mut decoder = FrameDecoder::with_max_body(100);
    let mut input: &[u8] = &[0, 101, 1];
    let err = decoder.decode(&mut input).expect_err("101 > 100");
    assert_eq!(err, tidings::Error::FrameTooLarge { len: 101, max: 100 });
    assert_eq!(decoder.buffered_len(), 0);
    let again = decoder
        .decode(&mut &[0u8, 1, 1][..])
        .expect_err("failed decoders stay failed");
    assert_eq!(again, err);
}

#[test]
fn encoder_refuses_a_body_past_the_noise_limit_and_writes_nothing() {
    let mut out = Vec::new();
    let mut encoder = FrameEncoder::new();
    let err = encoder
        .encode(&vec![0; MAX_BODY_LEN], &mut out)
        .expect_err("version byte makes it 65,536");
    assert_eq!(err.kind(), ErrorKind::FrameTooLarge);
    assert!(out.is_empty());
    encoder
        .encode(&vec![0; MAX_BODY_LEN - 1], &mut out)
        .expect("fits");
    encoder
        .encode(&vec![0; MAX_BODY_LEN], &mut out)
        .expect("later frames have no version byte");
}

proptest! {
    #[test]
    fn round_trips_under_any_chunking(
        bodies in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..600), 0..12),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..20),
    ) {
        let stream = encode_all(&bodies);
        let mut points: Vec<usize> = cuts.iter().map(|c| c.index(stream.len() + 1)).collect();
        points.sort_unstable();
        let mut chunks = Vec::new();
        let mut start = 0;
        for p in points.into_iter().chain([stream.len()]) {
            chunks.push(&stream[start..p]);
            start = p;
        }
        prop_assert_eq!(decode_chunks(chunks), Ok(bodies));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2000), max in 0usize..70_000) {
        let mut decoder = FrameDecoder::with_max_body(max);
        let mut rest = bytes.as_slice();
        while let Ok(Some(_)) = decoder.decode(&mut rest) {}
        prop_assert!(decoder.buffered_len() <= 2 + max.min(MAX_BODY_LEN));
    }
}
