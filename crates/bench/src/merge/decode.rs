//! One interval's histogram as an interval log stores it (HdrHistogram's V2
//! encoding, deflate-compressed, base64), decoded without trusting it and
//! without allocating per interval.
//!
//! The `hdrhistogram` crate's deserializer sizes its buffer from the payload
//! length the header claims (a 261-byte line claiming 4 GB made it allocate
//! 4 GB) and builds a new histogram per interval. Here every length is
//! checked against the bytes actually present and against what a histogram
//! of the header's range can need, the inflater writes into a buffer capped
//! at that size, and the counts come back as `(value, count)` pairs in
//! buffers reused from one interval to the next, for the caller to add into
//! its own histogram. The index-to-value mapping is HdrHistogram's own.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use flate2::{Decompress, FlushDecompress, Status};

/// The cookie of an uncompressed V2 histogram (8-byte counts).
const V2_COOKIE: u32 = 0x1c84_9313;
/// The cookie of a deflate-compressed V2 histogram.
const V2_COMPRESSED_COOKIE: u32 = 0x1c84_9314;
/// Cookie, payload length, normalizing offset, digits, low, high, ratio.
const HEADER_LEN: usize = 40;
/// No interval's encoded counts may exceed this, whatever its header says.
pub const MAX_PAYLOAD: usize = 16 << 20;
/// A count takes at most 9 bytes (LEB128, 64 bits in 9 bytes).
const MAX_VARINT: usize = 9;

/// Why an interval's histogram was refused.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// Not base64.
    #[error("bad base64: {0}")]
    Base64(#[from] base64::DecodeError),
    /// Not a V2 histogram.
    #[error("not an HdrHistogram V2 histogram (cookie {0:#010x})")]
    Cookie(u32),
    /// Shorter than its header.
    #[error("{0} bytes, shorter than a histogram header")]
    Short(usize),
    /// The compressed length field disagrees with the bytes present.
    #[error("claims {claimed} compressed bytes but holds {actual}")]
    CompressedLength {
        /// From the header.
        claimed: u64,
        /// Present on the line.
        actual: usize,
    },
    /// The payload length claimed is more than the histogram could need.
    #[error("claims a {claimed}-byte payload where its value range needs at most {limit} bytes")]
    PayloadTooLarge {
        /// From the header.
        claimed: u64,
        /// The most its counts can take (and never above 16 MiB).
        limit: usize,
    },
    /// The payload present is not the length claimed.
    #[error("claims a {claimed}-byte payload but holds {actual} bytes")]
    PayloadLength {
        /// From the header.
        claimed: usize,
        /// Present (decompressed), up to one byte past the claim.
        actual: usize,
    },
    /// The deflate stream is corrupt.
    #[error("corrupt compressed data: {0}")]
    Inflate(#[from] flate2::DecompressError),
    /// Header fields this format or HdrHistogram does not allow.
    #[error("unsupported histogram parameters: {0}")]
    Parameters(&'static str),
    /// The counts end inside a number.
    #[error("its counts end in the middle of a number")]
    Varint,
    /// A count beyond the value range of the header.
    #[error("holds counts past the end of its value range")]
    PastRange,
    /// The counts add up to more than [`crate::merge::MAX_VALUES`].
    #[error("its counts add up to more than 2^53 values")]
    Saturated,
}

/// The value range of a histogram: HdrHistogram's bucket layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Shape {
    unit_magnitude: u32,
    sub_bucket_half_magnitude: u32,
    sub_bucket_half: u64,
    counts_len: usize,
}

impl Shape {
    /// The layout `Histogram::new_with_bounds(low, high, sigfig)` would have.
    fn new(low: u64, high: u64, sigfig: u32) -> Result<Shape, DecodeError> {
        if !(1..=u64::MAX / 2).contains(&low) || high < 2 * low {
            return Err(DecodeError::Parameters(
                "lowest value 0, or highest below twice it",
            ));
        }
        if sigfig > 5 {
            return Err(DecodeError::Parameters("more than 5 significant digits"));
        }
        let largest = 2 * 10u64.pow(sigfig);
        // ceil(log2(largest)), largest >= 2.
        let sub_bucket_magnitude = 64 - (largest - 1).leading_zeros();
        let unit_magnitude = 63 - low.leading_zeros();
        if unit_magnitude + sub_bucket_magnitude > 63 {
            return Err(DecodeError::Parameters(
                "lowest value too high for the precision",
            ));
        }
        let sub_bucket_count = 1u64 << sub_bucket_magnitude;
        let mut smallest_untrackable = sub_bucket_count << unit_magnitude;
        let mut buckets = 1u64;
        while smallest_untrackable <= high {
            if smallest_untrackable > u64::MAX / 2 {
                buckets += 1;
                break;
            }
            smallest_untrackable <<= 1;
            buckets += 1;
        }
        let sub_bucket_half = sub_bucket_count / 2;
        Ok(Shape {
            unit_magnitude,
            sub_bucket_half_magnitude: sub_bucket_magnitude - 1,
            sub_bucket_half,
            // At most 48 × 2^17: fits any usize we run on.
            counts_len: ((buckets + 1) * sub_bucket_half) as usize,
        })
    }

    /// The lowest value counted at `index` (`index < counts_len`).
    fn value_for(&self, index: usize) -> u64 {
        let index = index as u64;
        let mut bucket = (index >> self.sub_bucket_half_magnitude) as i64 - 1;
        let mut sub_bucket = (index & (self.sub_bucket_half - 1)) + self.sub_bucket_half;
        if bucket < 0 {
            sub_bucket -= self.sub_bucket_half;
            bucket = 0;
        }
        sub_bucket << (bucket as u32 + self.unit_magnitude)
    }
}

/// An interval's counts: `(value, count)` for each non-zero bucket, by
/// rising value, and their sum.
#[derive(Debug)]
pub struct Decoded<'a> {
    /// Non-zero buckets: the lowest value of the bucket and its count.
    pub counts: &'a [(u64, u64)],
    /// The sum of the counts (at most 2^53).
    pub total: u64,
}

/// Decodes interval histograms one after another, reusing its buffers.
pub struct Decoder {
    raw: Vec<u8>,
    inflated: Vec<u8>,
    inflater: Decompress,
    counts: Vec<(u64, u64)>,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder {
            raw: Vec::new(),
            inflated: Vec::new(),
            inflater: Decompress::new(true),
            counts: Vec::new(),
        }
    }
}

impl Decoder {
    /// Decodes the base64 text of one interval's histogram.
    pub fn decode(&mut self, base64: &str) -> Result<Decoded<'_>, DecodeError> {
        self.raw.clear();
        STANDARD.decode_vec(base64.trim_end(), &mut self.raw)?;
        let raw = &self.raw[..];
        if raw.len() < 8 {
            return Err(DecodeError::Short(raw.len()));
        }
        let v2 = match be_u32(raw, 0) {
            V2_COOKIE => raw,
            V2_COMPRESSED_COOKIE => {
                let claimed = u64::from(be_u32(raw, 4));
                let actual = raw.len() - 8;
                if claimed != actual as u64 {
                    return Err(DecodeError::CompressedLength { claimed, actual });
                }
                let n = inflate(&mut self.inflater, &raw[8..], &mut self.inflated)?;
                &self.inflated[..n]
            }
            other => return Err(DecodeError::Cookie(other)),
        };
        let (shape, payload_len) = header(v2)?;
        let payload = &v2[HEADER_LEN..];
        if payload.len() != payload_len {
            return Err(DecodeError::PayloadLength {
                claimed: payload_len,
                actual: payload.len(),
            });
        }
        let total = counts(payload, shape, &mut self.counts)?;
        Ok(Decoded {
            counts: &self.counts,
            total,
        })
    }
}

fn be_u32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn be_u64(b: &[u8], at: usize) -> u64 {
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&b[at..at + 8]);
    u64::from_be_bytes(bytes)
}

/// The most payload bytes a histogram of `shape` can hold.
fn payload_limit(shape: Shape) -> usize {
    shape.counts_len.saturating_mul(MAX_VARINT).min(MAX_PAYLOAD)
}

/// Checks an uncompressed V2 header: its shape and claimed payload length.
fn header(v2: &[u8]) -> Result<(Shape, usize), DecodeError> {
    if v2.len() < HEADER_LEN {
        return Err(DecodeError::Short(v2.len()));
    }
    let cookie = be_u32(v2, 0);
    if cookie != V2_COOKIE {
        return Err(DecodeError::Cookie(cookie));
    }
    if be_u32(v2, 8) != 0 {
        return Err(DecodeError::Parameters("a normalizing index offset"));
    }
    if f64::from_bits(be_u64(v2, 32)) != 1.0 {
        return Err(DecodeError::Parameters(
            "an integer-to-double ratio other than 1",
        ));
    }
    let shape = Shape::new(be_u64(v2, 16), be_u64(v2, 24), be_u32(v2, 12))?;
    let claimed = u64::from(be_u32(v2, 4));
    let limit = payload_limit(shape);
    if claimed > limit as u64 {
        return Err(DecodeError::PayloadTooLarge { claimed, limit });
    }
    Ok((shape, claimed as usize))
}

/// Inflates a zlib stream into `out` (reused), first the header, then no
/// more than the payload it claims plus one byte (to see a longer one).
/// Returns the bytes written.
fn inflate(
    inflater: &mut Decompress,
    input: &[u8],
    out: &mut Vec<u8>,
) -> Result<usize, DecodeError> {
    inflater.reset(true);
    let mut filled = inflate_upto(inflater, input, out, 0, HEADER_LEN)?;
    if filled < HEADER_LEN {
        return Err(DecodeError::Short(filled));
    }
    let (_, payload_len) = header(&out[..HEADER_LEN])?;
    filled = inflate_upto(inflater, input, out, filled, HEADER_LEN + payload_len + 1)?;
    Ok(filled)
}

/// Inflates until `out` holds `limit` bytes or the stream ends; `out` only
/// grows (its old bytes are overwritten, never zeroed again).
fn inflate_upto(
    inflater: &mut Decompress,
    input: &[u8],
    out: &mut Vec<u8>,
    mut filled: usize,
    limit: usize,
) -> Result<usize, DecodeError> {
    if out.len() < limit {
        out.resize(limit, 0);
    }
    while filled < limit {
        let (read, wrote) = (inflater.total_in(), inflater.total_out());
        let status = inflater.decompress(
            &input[read as usize..],
            &mut out[filled..limit],
            FlushDecompress::None,
        )?;
        let written = (inflater.total_out() - wrote) as usize;
        filled += written;
        let stuck = written == 0 && inflater.total_in() == read;
        if matches!(status, Status::StreamEnd | Status::BufError) || stuck {
            break;
        }
    }
    Ok(filled)
}

/// Reads the zig-zag LEB128 counts into `(value, count)` pairs; negative
/// numbers are runs of empty buckets. Returns the sum of the counts.
fn counts(payload: &[u8], shape: Shape, out: &mut Vec<(u64, u64)>) -> Result<u64, DecodeError> {
    out.clear();
    let (mut at, mut index, mut total) = (0usize, 0usize, 0u64);
    while at < payload.len() {
        let (raw, used) = varint(&payload[at..]).ok_or(DecodeError::Varint)?;
        at += used;
        let n = ((raw >> 1) as i64) ^ -((raw & 1) as i64);
        if n < 0 {
            let zeros = usize::try_from(n.unsigned_abs()).map_err(|_| DecodeError::PastRange)?;
            index = index.checked_add(zeros).ok_or(DecodeError::PastRange)?;
            continue;
        }
        if n > 0 {
            if index >= shape.counts_len {
                return Err(DecodeError::PastRange);
            }
            total = total
                .checked_add(n as u64)
                .filter(|&t| t <= crate::merge::MAX_VALUES)
                .ok_or(DecodeError::Saturated)?;
            out.push((shape.value_for(index), n as u64));
        }
        index += 1;
    }
    Ok(total)
}

/// One LEB128-64b9B number: 7 bits a byte for 8 bytes, then a whole 9th
/// byte. `None` if `b` ends first.
fn varint(b: &[u8]) -> Option<(u64, usize)> {
    let mut value = 0u64;
    for i in 0..MAX_VARINT {
        let byte = *b.get(i)?;
        if i == MAX_VARINT - 1 {
            return Some((value | u64::from(byte) << 56, MAX_VARINT));
        }
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

#[cfg(test)]
mod tests;
