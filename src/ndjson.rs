//! Reading NDJSON safely: numbered lines, bounded length, honest errors.
//!
//! Import, validation and screening all read files of one JSON object per
//! line that come from other departments' systems. [`LineReader`] hands out
//! each line with its 1-based number and never lets one line take unbounded
//! memory: a line longer than the limit is reported (and skipped to its end),
//! as is a line that is not UTF-8. A UTF-8 byte-order mark on the first line
//! and `\r\n` endings are accepted. Blank lines are not records and are
//! skipped, but still counted so later line numbers match an editor's.

use std::io::{self, BufRead};

/// Default longest line accepted: 1 MiB.
pub const DEFAULT_MAX_LINE: usize = 1 << 20;

/// Why a line could not be read as text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LineError {
    /// Longer than the limit.
    #[error("line is longer than {max} bytes")]
    TooLong {
        /// The limit.
        max: usize,
    },
    /// Not valid UTF-8.
    #[error("not valid UTF-8 (first bad byte at column {column})")]
    NotUtf8 {
        /// 1-based byte column of the first invalid byte.
        column: usize,
    },
}

/// Numbered, bounded lines from a reader.
pub struct LineReader<R> {
    inner: R,
    buf: Vec<u8>,
    line_no: u64,
    max: usize,
    bytes_read: u64,
}

impl<R: BufRead> LineReader<R> {
    /// Reads lines of at most `max` bytes from `inner`.
    pub fn new(inner: R, max: usize) -> LineReader<R> {
        LineReader {
            inner,
            buf: Vec::new(),
            line_no: 0,
            max,
            bytes_read: 0,
        }
    }

    /// The raw bytes of the line last returned (after a byte-order mark,
    /// with its line ending); empty after a line over the limit.
    pub fn last_line(&self) -> &[u8] {
        let bom = if self.line_no == 1 && self.buf.starts_with(b"\xEF\xBB\xBF") {
            3
        } else {
            0
        };
        &self.buf[bom..]
    }

    /// Bytes consumed so far.
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read
    }

    /// The next non-blank line with its number, `Ok(None)` at the end. An I/O
    /// error is the outer error; a bad line is the inner one, and reading can
    /// go on after it.
    pub fn next_line(&mut self) -> io::Result<Option<(u64, Result<&str, LineError>)>> {
        let (start, end) = loop {
            self.buf.clear();
            self.line_no += 1;
            let (len, too_long) = self.read_bounded()?;
            if len == 0 {
                return Ok(None);
            }
            if too_long {
                return Ok(Some((
                    self.line_no,
                    Err(LineError::TooLong { max: self.max }),
                )));
            }
            let start = if self.line_no == 1 && self.buf.starts_with(b"\xEF\xBB\xBF") {
                3
            } else {
                0
            };
            let mut end = self.buf.len();
            while end > start && matches!(self.buf[end - 1], b'\n' | b'\r') {
                end -= 1;
            }
            if !self.buf[start..end].iter().all(u8::is_ascii_whitespace) {
                break (start, end);
            }
        };
        let line = std::str::from_utf8(&self.buf[start..end]).map_err(|e| LineError::NotUtf8 {
            column: e.valid_up_to() + 1,
        });
        Ok(Some((self.line_no, line)))
    }

    /// Reads one line into `buf`, keeping at most `max + 2` bytes (room for
    /// `\r\n`) and discarding the rest. Returns the bytes consumed and whether
    /// the line was over the limit.
    fn read_bounded(&mut self) -> io::Result<(usize, bool)> {
        let mut consumed = 0;
        let mut too_long = false;
        loop {
            let available = match self.inner.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if available.is_empty() {
                break;
            }
            let (chunk, done) = match available.iter().position(|&b| b == b'\n') {
                Some(i) => (&available[..=i], true),
                None => (available, false),
            };
            let n = chunk.len();
            if !too_long {
                let room = (self.max + 2).saturating_sub(self.buf.len());
                if n > room {
                    too_long = true;
                    self.buf.clear();
                } else {
                    self.buf.extend_from_slice(chunk);
                }
            }
            self.inner.consume(n);
            consumed += n;
            if done {
                break;
            }
        }
        self.bytes_read += consumed as u64;
        if !too_long {
            let content = self
                .buf
                .iter()
                .rev()
                .skip_while(|b| **b == b'\n' || **b == b'\r')
                .count();
            too_long = content > self.max;
        }
        Ok((consumed, too_long))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bom_crlf_and_blank_lines_keep_the_line_numbers() {
        let mut r = LineReader::new(&b"\xEF\xBB\xBF{\"a\":1}\r\n\n{\"b\":2}"[..], 1024);
        let mut next = || {
            r.next_line()
                .unwrap()
                .map(|(n, l)| (n, l.unwrap().to_string()))
        };
        assert_eq!(next(), Some((1, "{\"a\":1}".into())));
        assert_eq!(next(), Some((3, "{\"b\":2}".into())));
        assert!(next().is_none());
    }

    fn all(input: &[u8], max: usize) -> Vec<(u64, Result<String, LineError>)> {
        let mut r = LineReader::new(input, max);
        let mut out = Vec::new();
        while let Some((n, line)) = r.next_line().unwrap() {
            out.push((n, line.map(str::to_string)));
        }
        out
    }

    #[test]
    fn numbers_lines_and_skips_blank_ones() {
        let got = all(b"a\n\n  \r\nb\r\nc", 10);
        assert_eq!(
            got,
            vec![
                (1, Ok("a".into())),
                (4, Ok("b".into())),
                (5, Ok("c".into()))
            ]
        );
    }

    #[test]
    fn long_lines_are_reported_and_reading_goes_on() {
        let got = all(b"12345\n1234567890123\nok\n", 5);
        assert_eq!(
            got,
            vec![
                (1, Ok("12345".into())),
                (2, Err(LineError::TooLong { max: 5 })),
                (3, Ok("ok".into()))
            ]
        );
    }

    #[test]
    fn invalid_utf8_names_the_column() {
        let got = all(b"ab\xff\nok", 10);
        assert_eq!(got[0], (1, Err(LineError::NotUtf8 { column: 3 })));
        assert_eq!(got[1], (2, Ok("ok".into())));
    }

    #[test]
    fn bom_only_on_first_line() {
        let got = all(b"\xEF\xBB\xBFx\n\xEF\xBB\xBFy", 10);
        assert_eq!(got[0], (1, Ok("x".into())));
        assert_eq!(got[1], (2, Ok("\u{feff}y".into())));
    }

    #[test]
    fn tiny_buffer_reads_across_chunk_boundaries() {
        let data = b"first line\nsecond line that is long\nthird\n";
        let reader = io::BufReader::with_capacity(3, &data[..]);
        let mut r = LineReader::new(reader, 15);
        let mut got = Vec::new();
        while let Some((n, line)) = r.next_line().unwrap() {
            got.push((n, line.map(str::to_string)));
        }
        assert_eq!(
            got,
            vec![
                (1, Ok("first line".into())),
                (2, Err(LineError::TooLong { max: 15 })),
                (3, Ok("third".into()))
            ]
        );
        assert_eq!(r.bytes_read(), data.len() as u64);
    }
}
