//! The decoder against hdrhistogram's own serializer and deserializer,
//! and against forged lengths, deflate bombs and garbage counts.

use super::*;
use hdrhistogram::serialization::{Serializer, V2DeflateSerializer, V2Serializer};
use hdrhistogram::Histogram;

fn encoded(h: &Histogram<u64>, compressed: bool) -> String {
    let mut bytes = Vec::new();
    if compressed {
        V2DeflateSerializer::new().serialize(h, &mut bytes).unwrap();
    } else {
        V2Serializer::new().serialize(h, &mut bytes).unwrap();
    }
    STANDARD.encode(bytes)
}

/// What the decoder gives, added into a histogram as merge does.
fn through(decoder: &mut Decoder, text: &str, like: &Histogram<u64>) -> Histogram<u64> {
    let mut h = Histogram::new_from(like);
    h.auto(true);
    let d = decoder.decode(text).expect("decodes");
    for &(value, count) in d.counts {
        h.record_n(value, count).unwrap();
    }
    assert_eq!(d.total, h.len());
    h
}

/// Compact facts of a histogram, for a readable failure.
fn facts(h: &Histogram<u64>) -> (u64, u64, u64, Vec<(u64, u64)>) {
    let bins = h
        .iter_recorded()
        .map(|v| (v.value_iterated_to(), v.count_at_value()))
        .collect();
    (h.len(), h.min_nz(), h.max(), bins)
}

#[test]
fn same_histograms_as_hdrhistogram_s_deserializer_for_every_shape() {
    let mut decoder = Decoder::default();
    let shapes = [
        (1, 3_600_000_000, 3),
        (1, 2, 0),
        (1000, u64::MAX, 2),
        (1, u64::MAX, 5),
        (3, 1 << 40, 4),
    ];
    for (low, high, sigfig) in shapes {
        let mut h = Histogram::<u64>::new_with_bounds(low, high, sigfig).unwrap();
        // Up to 2^62: in the top bucket of u64 hdrhistogram's max()
        // saturates differently by a unit (2^64 - 1 or - 2), a range no
        // log of µs or ns reaches.
        let top = (high - 1).min(1 << 62);
        let values = [0u64, 1, 7, 999, 1000, 123_456, 3_600_000_000, top / 2, top];
        for (i, v) in values.iter().enumerate() {
            h.saturating_record_n((*v).min(high), i as u64 + 1);
        }
        for compressed in [true, false] {
            let text = encoded(&h, compressed);
            let theirs: Histogram<u64> = hdrhistogram::serialization::Deserializer::new()
                .deserialize(&mut STANDARD.decode(&text).unwrap().as_slice())
                .unwrap();
            let ours = through(&mut decoder, &text, &h);
            assert_eq!(
                facts(&ours),
                facts(&theirs),
                "{low} {high} {sigfig} {compressed}"
            );
            assert!(ours == theirs, "{low} {high} {sigfig} {compressed}");
        }
    }
    // An empty interval decodes to nothing.
    let empty = Histogram::<u64>::new(3).unwrap();
    assert_eq!(decoder.decode(&encoded(&empty, true)).unwrap().total, 0);
}

#[test]
fn layout_matches_hdrhistogram() {
    for (low, high, sigfig) in [
        (1, 3_600_000_000, 3),
        (1, u64::MAX, 5),
        (1 << 20, u64::MAX, 0),
    ] {
        let h = Histogram::<u64>::new_with_bounds(low, high, sigfig).unwrap();
        let shape = Shape::new(low, high, sigfig.into()).unwrap();
        assert_eq!(shape.counts_len, h.distinct_values());
        for i in [0, 1, shape.counts_len / 2, shape.counts_len - 1] {
            let v = shape.value_for(i);
            assert_eq!(h.lowest_equivalent(v), v, "{i}");
        }
    }
}

#[test]
fn lengths_are_checked_before_anything_is_allocated() {
    let mut h = Histogram::<u64>::new(3).unwrap();
    h.record(5).unwrap();
    let mut raw = STANDARD.decode(encoded(&h, false)).unwrap();
    // An uncompressed header claiming 4 GB.
    raw[4..8].copy_from_slice(&u32::MAX.to_be_bytes());
    let err = Decoder::default()
        .decode(&STANDARD.encode(&raw))
        .unwrap_err();
    assert!(matches!(err, DecodeError::PayloadTooLarge { .. }), "{err}");
    // A compressed length that is not the bytes present.
    let mut raw = STANDARD.decode(encoded(&h, true)).unwrap();
    raw[4..8].copy_from_slice(&1000u32.to_be_bytes());
    let err = Decoder::default()
        .decode(&STANDARD.encode(&raw))
        .unwrap_err();
    assert!(matches!(err, DecodeError::CompressedLength { .. }), "{err}");
}

#[test]
fn inflating_stops_one_byte_past_the_claimed_payload() {
    // A header claiming 10 payload bytes, then 16 MiB of zeros: a
    // deflate bomb the inflater must not follow.
    let mut v2 = STANDARD
        .decode(encoded(&Histogram::<u64>::new(3).unwrap(), false))
        .unwrap();
    v2.truncate(HEADER_LEN);
    v2[4..8].copy_from_slice(&10u32.to_be_bytes());
    v2.resize(HEADER_LEN + (16 << 20), 0);
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut z, &v2).unwrap();
    let compressed = z.finish().unwrap();
    let mut raw = V2_COMPRESSED_COOKIE.to_be_bytes().to_vec();
    raw.extend((compressed.len() as u32).to_be_bytes());
    raw.extend(compressed);
    let mut decoder = Decoder::default();
    let err = decoder.decode(&STANDARD.encode(raw)).unwrap_err();
    assert!(
        matches!(
            err,
            DecodeError::PayloadLength {
                claimed: 10,
                actual: 11
            }
        ),
        "{err}"
    );
    assert!(
        decoder.inflated.len() <= HEADER_LEN + 11,
        "{}",
        decoder.inflated.len()
    );
}

/// Zig-zag LEB128, as the V2 encoder writes a number.
fn number(n: i64) -> Vec<u8> {
    let mut v = ((n << 1) ^ (n >> 63)) as u64;
    let mut out = Vec::new();
    while out.len() < 8 && v >= 0x80 {
        out.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
    out
}

#[test]
fn garbage_counts_are_refused() {
    let shape = Shape::new(1, 2048, 3).unwrap();
    let mut out = Vec::new();
    let mut check = |numbers: &[i64]| {
        let payload: Vec<u8> = numbers.iter().flat_map(|&n| number(n)).collect();
        counts(&payload, shape, &mut out)
    };
    assert_eq!(check(&[3, -5, 2]).unwrap(), 5);
    let end = shape.counts_len as i64;
    assert!(matches!(check(&[-end, 1]), Err(DecodeError::PastRange)));
    assert!(matches!(
        check(&[i64::MIN, i64::MIN]),
        Err(DecodeError::PastRange)
    ));
    assert!(matches!(check(&[i64::MAX]), Err(DecodeError::Saturated)));
    assert!(matches!(
        check(&[1 << 52, 1 << 52, 1]),
        Err(DecodeError::Saturated)
    ));
    assert!(matches!(
        counts(&[0x80], shape, &mut Vec::new()),
        Err(DecodeError::Varint)
    ));
}
