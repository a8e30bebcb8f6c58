//! Reading a file the user names within bounds: `speedup plot a=/dev/zero`
//! must fail in a moment with a message, not read until memory runs out.
//! Text formats are read line by line with a cap on each line and on the
//! whole ([`Lines`]); a document read whole (JSON) with a cap on its size
//! ([`read_text`]). Any file that can be read is accepted, pipes included
//! (`<(...)`): no size is needed in advance, so none is asked of `stat`.

use std::io::{self, BufRead, Read};

/// Why bounded input could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BoundError {
    /// The operating system's error.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// A line is longer than the cap.
    #[error("line {line} is longer than {max} bytes")]
    LineTooLong {
        /// 1-based line number.
        line: usize,
        /// The cap, in bytes.
        max: usize,
    },
    /// The input is longer than the cap.
    #[error("longer than {max} bytes (line {line})")]
    TooBig {
        /// The line where the cap was passed.
        line: usize,
        /// The cap, in bytes.
        max: u64,
    },
    /// The text is not UTF-8.
    #[error("line {line} is not UTF-8 text")]
    NotText {
        /// The first line that is not.
        line: usize,
    },
}

/// Lines of `reader`, each at most `max_line` bytes (without its `\n`), all
/// together at most `max_total`.
#[derive(Debug)]
pub struct Lines<R> {
    reader: R,
    max_line: usize,
    max_total: u64,
    total: u64,
    number: usize,
    line: Vec<u8>,
}

impl<R: BufRead> Lines<R> {
    /// Reads `reader` within the two caps.
    pub fn new(reader: R, max_line: usize, max_total: u64) -> Lines<R> {
        Lines {
            reader,
            max_line,
            max_total,
            total: 0,
            number: 0,
            line: Vec::new(),
        }
    }

    /// How many lines were read so far.
    pub fn count(&self) -> usize {
        self.number
    }

    /// The next line's 1-based number and text without its `\n` (a `\r`
    /// before it is kept), or `None` at the end of the input. Never holds
    /// more than `max_line` bytes.
    pub fn next_line(&mut self) -> Result<Option<(usize, &str)>, BoundError> {
        self.line.clear();
        let mut started = false;
        loop {
            let buf = match self.reader.fill_buf() {
                Ok(buf) => buf,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            };
            if buf.is_empty() {
                if !started {
                    return Ok(None);
                }
                break;
            }
            if !started {
                started = true;
                self.number += 1;
            }
            let newline = buf.iter().position(|&b| b == b'\n');
            let (content, used) = match newline {
                Some(at) => (at, at + 1),
                None => (buf.len(), buf.len()),
            };
            if self.line.len() + content > self.max_line {
                return Err(BoundError::LineTooLong {
                    line: self.number,
                    max: self.max_line,
                });
            }
            self.total += used as u64;
            if self.total > self.max_total {
                return Err(BoundError::TooBig {
                    line: self.number,
                    max: self.max_total,
                });
            }
            self.line.extend_from_slice(&buf[..content]);
            self.reader.consume(used);
            if newline.is_some() {
                break;
            }
        }
        match std::str::from_utf8(&self.line) {
            Ok(text) => Ok(Some((self.number, text))),
            Err(_) => Err(BoundError::NotText { line: self.number }),
        }
    }
}

/// The whole of `reader` as UTF-8 text, refused past `max` bytes.
pub fn read_text(reader: impl Read, max: u64) -> Result<String, BoundError> {
    let mut bytes = Vec::new();
    reader.take(max + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(BoundError::TooBig {
            line: bytes.iter().filter(|&&b| b == b'\n').count() + 1,
            max,
        });
    }
    String::from_utf8(bytes).map_err(|e| BoundError::NotText {
        line: e.as_bytes()[..e.utf8_error().valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(text: &[u8], max_line: usize, max_total: u64) -> Result<Vec<String>, BoundError> {
        let mut lines = Lines::new(io::BufReader::with_capacity(3, text), max_line, max_total);
        let mut out = Vec::new();
        while let Some((number, line)) = lines.next_line()? {
            assert_eq!(number, out.len() + 1);
            out.push(line.to_owned());
        }
        Ok(out)
    }

    #[test]
    fn lines_split_across_buffers() {
        assert_eq!(
            all(b"ab\ncdef\n\ngh", 4, 100).unwrap(),
            ["ab", "cdef", "", "gh"]
        );
        assert_eq!(all(b"", 4, 100).unwrap(), Vec::<String>::new());
        assert_eq!(all(b"a\r\n", 4, 100).unwrap(), ["a\r"]);
    }

    #[test]
    fn caps_hold() {
        assert!(matches!(
            all(b"ab\ncdefg\n", 4, 100),
            Err(BoundError::LineTooLong { line: 2, max: 4 })
        ));
        assert!(matches!(
            all(b"ab\ncd\nef\n", 4, 7),
            Err(BoundError::TooBig { line: 3, max: 7 })
        ));
        assert!(matches!(
            all(&[0; 100_000], 1024, 1 << 20),
            Err(BoundError::LineTooLong { line: 1, .. })
        ));
    }

    #[test]
    fn text_is_read_whole_up_to_the_cap() {
        assert_eq!(read_text(&b"{}\n"[..], 3).unwrap(), "{}\n");
        assert!(matches!(
            read_text(io::repeat(0), 10),
            Err(BoundError::TooBig { max: 10, .. })
        ));
        assert!(matches!(
            read_text(&b"{\n\xff"[..], 10),
            Err(BoundError::NotText { line: 2 })
        ));
        assert!(matches!(
            all(b"a\n\xff\n", 4, 100),
            Err(BoundError::NotText { line: 2 })
        ));
    }
}
