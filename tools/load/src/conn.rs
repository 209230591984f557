//! HTTP/1.1 spoken by hand: a request's bytes, an answer's framing, and a
//! blocking keep-alive connection built on them.
//!
//! The load tool sends one request at a time per connection and reads one
//! answer, which needs no client library, and costs a few microseconds of
//! the tool's CPU per request instead of the tens a general client spends
//! (on a machine where the tool shares the server's cores, that is CPU
//! taken from the server being measured). The writes use [`Conn`]; the
//! fixed-rate checks (`fixed.rs`) write and read their sockets themselves
//! with the same two functions.

use std::io::{Read, Write};
use std::net::TcpStream;

use anyhow::Context;

/// Appends a request to `out`; a `Content-Length` and JSON content type
/// when there is a body.
pub fn request_into(out: &mut Vec<u8>, method: &str, path: &str, host: &str, body: &str) {
    request_with_auth(out, method, path, host, None, body);
}

/// [`request_into`] with an `Authorization: Bearer` header when a token is
/// given.
pub fn request_with_auth(
    out: &mut Vec<u8>,
    method: &str,
    path: &str,
    host: &str,
    token: Option<&str>,
    body: &str,
) {
    out.extend_from_slice(method.as_bytes());
    out.push(b' ');
    out.extend_from_slice(path.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\nHost: ");
    out.extend_from_slice(host.as_bytes());
    out.extend_from_slice(b"\r\n");
    if let Some(token) = token {
        out.extend_from_slice(b"Authorization: Bearer ");
        out.extend_from_slice(token.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if !body.is_empty() {
        out.extend_from_slice(b"Content-Type: application/json\r\nContent-Length: ");
        out.extend_from_slice(body.len().to_string().as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body.as_bytes());
}

/// The status and total length of the answer at the start of `buf`, once
/// it is all there (its head and `Content-Length` bytes of body).
pub fn complete_answer(buf: &[u8]) -> anyhow::Result<Option<(u16, usize)>> {
    let Some(head_end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Ok(None);
    };
    let head = std::str::from_utf8(&buf[..head_end]).context("answer head is not UTF-8")?;
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .with_context(|| format!("bad status line in {head:?}"))?;
    let mut length = 0usize;
    for line in lines {
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().context("bad content-length")?;
        }
    }
    let total = head_end + 4 + length;
    Ok((buf.len() >= total).then_some((status, total)))
}

/// One keep-alive connection on a blocking socket.
/// `text` percent-encoded for a query string (every byte but the
/// unreserved ones).
pub fn query_encoded(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub struct Conn {
    stream: TcpStream,
    request: Vec<u8>,
    buf: Vec<u8>,
}

impl Conn {
    pub fn open(addr: &str) -> anyhow::Result<Conn> {
        let stream =
            TcpStream::connect(addr).with_context(|| format!("cannot connect to {addr}"))?;
        stream.set_nodelay(true)?;
        Ok(Conn {
            stream,
            request: Vec::with_capacity(512),
            buf: Vec::with_capacity(16 << 10),
        })
    }

    /// Sends one request, with one extra header line if given (`Name:
    /// value`), and reads its answer: its status, the whole answer shown
    /// to `read` before it is discarded.
    pub fn exchange(
        &mut self,
        method: &str,
        path: &str,
        header: Option<&str>,
        body: &str,
        read: impl FnOnce(&[u8]),
    ) -> anyhow::Result<u16> {
        self.request.clear();
        request_into(&mut self.request, method, path, "load", body);
        if let Some(header) = header {
            // Before the blank line that ends the head.
            let at = self
                .request
                .windows(4)
                .position(|w| w == b"\r\n\r\n")
                .map_or(self.request.len(), |i| i + 2);
            let line = format!("{header}\r\n");
            self.request.splice(at..at, line.bytes());
        }
        self.stream.write_all(&self.request)?;
        loop {
            if let Some((status, len)) = complete_answer(&self.buf)? {
                read(&self.buf[..len]);
                self.buf.drain(..len);
                return Ok(status);
            }
            let filled = self.buf.len();
            self.buf.resize(filled + (16 << 10), 0);
            let n = self.stream.read(&mut self.buf[filled..]);
            self.buf.truncate(filled + *n.as_ref().unwrap_or(&0));
            if n? == 0 {
                anyhow::bail!("connection closed before the whole answer");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{complete_answer, request_into};

    #[test]
    fn an_answer_is_complete_when_its_body_is_in() {
        let whole = b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\ndate: x\r\n\r\nhello";
        assert_eq!(complete_answer(whole).unwrap(), Some((200, whole.len())));
        assert_eq!(complete_answer(&whole[..whole.len() - 1]).unwrap(), None);
        assert_eq!(complete_answer(&whole[..10]).unwrap(), None);
        let no_body = b"HTTP/1.1 404 Not Found\r\n\r\n";
        assert_eq!(
            complete_answer(no_body).unwrap(),
            Some((404, no_body.len()))
        );
        assert!(complete_answer(b"garbage\r\n\r\n").is_err());
    }

    #[test]
    fn requests_carry_a_length_only_with_a_body() {
        let mut out = Vec::new();
        request_into(&mut out, "GET", "/v1/check?id=x", "h:1", "");
        assert_eq!(out, b"GET /v1/check?id=x HTTP/1.1\r\nHost: h:1\r\n\r\n");
        out.clear();
        request_into(&mut out, "PUT", "/v1/entries/e", "h", "{}");
        assert_eq!(
            out,
            b"PUT /v1/entries/e HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
        );
    }
}
