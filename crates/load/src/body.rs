//! Where a response body ends: Content-Length, chunked, or the close.
//!
//! Chunked bodies are not decoded, only followed byte by byte through their
//! framing (data runs are skipped in one step), so the raw byte count is
//! what ab reports and nothing is copied. The framing around the data is
//! bounded as a head is: a chunk extension or the trailer section longer
//! than [`MAX_FRAMING`] is a malformed response, so a server cannot keep a
//! response going with lines that are never data (the request's timeout
//! bounds everything else).

use crate::record::ErrorKind;

/// The longest chunk extension (per size line) and trailer section (per
/// body) accepted, as for a head: 64 KiB.
pub(crate) const MAX_FRAMING: u32 = 64 * 1024;

/// The framing of the body being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Body {
    /// This many bytes remain.
    Length(u64),
    /// Chunked transfer coding, at this point of its framing.
    Chunked(Chunk),
    /// Everything until the server closes the connection.
    Close,
}

/// Position inside a chunked body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Chunk {
    /// Reading the hex size; `digits` seen so far.
    Size { size: u64, digits: u8 },
    /// Skipping a chunk extension up to the end of the line; `seen` bytes
    /// of it so far.
    Extension { size: u64, seen: u32 },
    /// Saw CR after the size line; expecting LF.
    SizeLf { size: u64 },
    /// Inside chunk data; this many bytes remain.
    Data(u64),
    /// After chunk data; expecting CR.
    DataCr,
    /// After chunk data and CR; expecting LF.
    DataLf,
    /// At the start of a trailer line (or the final empty line), after
    /// `seen` bytes of trailers.
    TrailerStart { seen: u32 },
    /// Inside a trailer line, after `seen` bytes of trailers.
    Trailer { seen: u32 },
    /// Saw CR of the final empty line; expecting LF.
    FinalLf,
}

impl Body {
    /// A chunked body about to read its first size line.
    pub(crate) fn chunked() -> Body {
        Body::Chunked(Chunk::Size { size: 0, digits: 0 })
    }

    /// Consumes body bytes from `data`. Returns how many belong to this
    /// body and whether the body is complete.
    pub(crate) fn feed(&mut self, data: &[u8]) -> Result<(usize, bool), ErrorKind> {
        match self {
            Body::Length(left) => {
                let take = data.len().min(usize::try_from(*left).unwrap_or(usize::MAX));
                *left -= take as u64;
                Ok((take, *left == 0))
            }
            Body::Close => Ok((data.len(), false)),
            Body::Chunked(chunk) => chunk.feed(data),
        }
    }
}

impl Chunk {
    fn feed(&mut self, data: &[u8]) -> Result<(usize, bool), ErrorKind> {
        let mut i = 0;
        while i < data.len() {
            if let Chunk::Data(left) = self {
                let take = (data.len() - i).min(usize::try_from(*left).unwrap_or(usize::MAX));
                *left -= take as u64;
                i += take;
                if *left == 0 {
                    *self = Chunk::DataCr;
                }
                continue;
            }
            let b = data[i];
            i += 1;
            *self = match (*self, b) {
                (Chunk::Size { size, digits }, _) if b.is_ascii_hexdigit() => {
                    let digit = u64::from(hex(b));
                    if digits >= 15 {
                        return Err(ErrorKind::Malformed);
                    }
                    Chunk::Size {
                        size: size * 16 + digit,
                        digits: digits + 1,
                    }
                }
                (Chunk::Size { digits: 0, .. }, _) => return Err(ErrorKind::Malformed),
                (Chunk::Size { size, .. }, b';' | b' ' | b'\t') => {
                    Chunk::Extension { size, seen: 1 }
                }
                (Chunk::Size { size, .. } | Chunk::Extension { size, .. }, b'\r') => {
                    Chunk::SizeLf { size }
                }
                (Chunk::Extension { size, seen }, _) => Chunk::Extension {
                    size,
                    seen: framing(seen)?,
                },
                (Chunk::Size { size, .. } | Chunk::SizeLf { size }, b'\n') => end_of_size(size),
                (Chunk::DataCr, b'\r') => Chunk::DataLf,
                (Chunk::DataCr | Chunk::DataLf, b'\n') => Chunk::Size { size: 0, digits: 0 },
                (Chunk::TrailerStart { .. }, b'\r') => Chunk::FinalLf,
                (Chunk::TrailerStart { .. } | Chunk::FinalLf, b'\n') => return Ok((i, true)),
                (Chunk::Trailer { seen }, b'\n') => Chunk::TrailerStart {
                    seen: framing(seen)?,
                },
                (Chunk::TrailerStart { seen } | Chunk::Trailer { seen }, _) => Chunk::Trailer {
                    seen: framing(seen)?,
                },
                _ => return Err(ErrorKind::Malformed),
            };
        }
        Ok((i, false))
    }
}

/// One more byte of extension or trailers after `seen`: malformed past
/// [`MAX_FRAMING`].
fn framing(seen: u32) -> Result<u32, ErrorKind> {
    if seen >= MAX_FRAMING {
        return Err(ErrorKind::Malformed);
    }
    Ok(seen + 1)
}

/// After a size line: data follows, or the trailers after the last chunk.
fn end_of_size(size: u64) -> Chunk {
    if size == 0 {
        Chunk::TrailerStart { seen: 0 }
    } else {
        Chunk::Data(size)
    }
}

/// The value of an ASCII hex digit.
fn hex(b: u8) -> u8 {
    match b {
        b'0'..=b'9' => b - b'0',
        b'a'..=b'f' => b - b'a' + 10,
        _ => b - b'A' + 10,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_stops_at_the_end() {
        let mut b = Body::Length(3);
        assert_eq!(b.feed(b"ab"), Ok((2, false)));
        assert_eq!(b.feed(b"cdef"), Ok((1, true)));
    }

    #[test]
    fn chunked_byte_by_byte_and_whole() {
        let wire = b"a\r\n0123456789\r\nA;ext\r\n0123456789\r\n0\r\n\r\nNEXT";
        let end = wire.len() - 4;
        let mut b = Body::chunked();
        assert_eq!(b.feed(wire), Ok((end, true)));
        let mut b = Body::chunked();
        for (i, byte) in wire[..end].iter().enumerate() {
            let (used, done) = b.feed(std::slice::from_ref(byte)).unwrap();
            assert_eq!((used, done), (1, i == end - 1));
        }
    }

    #[test]
    fn extensions_and_trailers_stop_at_64_kib() {
        let max = MAX_FRAMING as usize;
        // Exactly at the cap: accepted.
        let mut at_cap = b"1;".to_vec();
        at_cap.extend(std::iter::repeat_n(b'e', max - 1));
        at_cap.extend_from_slice(b"\r\nx\r\n0\r\nT: ");
        at_cap.extend(std::iter::repeat_n(b't', max - 5));
        at_cap.extend_from_slice(b"\r\n\r\n");
        assert_eq!(Body::chunked().feed(&at_cap), Ok((at_cap.len(), true)));
        // One byte more of either: malformed, wherever the reads split.
        let mut long_ext = b"1;".to_vec();
        long_ext.extend(std::iter::repeat_n(b'e', max));
        let mut long_trailers = b"0\r\n".to_vec();
        for _ in 0..=max / 8 {
            long_trailers.extend_from_slice(b"T: abc\r\n");
        }
        for wire in [long_ext, long_trailers] {
            for step in [1, 4096, wire.len()] {
                let mut b = Body::chunked();
                // The first read that ends the body, well or badly.
                let ended = wire
                    .chunks(step)
                    .map(|piece| b.feed(piece))
                    .find(|r| !matches!(r, Ok((_, false))));
                assert_eq!(ended, Some(Err(ErrorKind::Malformed)), "step {step}");
            }
        }
    }

    #[test]
    fn chunked_rejects_garbage() {
        assert!(Body::chunked().feed(b"\r\n").is_err());
        assert!(Body::chunked().feed(b"1\r\nxY").is_err());
        assert!(Body::chunked().feed(b"1234567890abcdef0\r\n").is_err());
    }
}
