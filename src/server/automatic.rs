//! The responses hyper writes by itself, given the SPEC §6 error body.
//!
//! A request hyper cannot parse never reaches a handler: hyper answers it
//! itself (400 for a broken request line or header, 414 for an overlong
//! request line, 431 for a head over the limit) with an empty body, then
//! closes the connection. Clients are promised `{"error":{"code","message"}}`
//! on every error, so the connection's writes pass through
//! [`JsonErrors`], which recognizes such a response (one of those statuses,
//! no `Content-Type`: every response of the server's own has one) and
//! writes it again with the body. Every other write goes through as it is;
//! the check costs a comparison of the first bytes.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::errors::Code;

/// A connection whose automatic error responses get the JSON body.
pub(super) struct JsonErrors<S> {
    inner: S,
    /// The largest request head read, for the 431's message.
    max_header_bytes: usize,
    /// A rewritten response being written: its bytes, how many are out,
    /// and how many of the caller's bytes it stands for.
    pending: Option<(Vec<u8>, usize, usize)>,
}

impl<S> JsonErrors<S> {
    pub(super) fn new(inner: S, max_header_bytes: usize) -> JsonErrors<S> {
        JsonErrors {
            inner,
            max_header_bytes,
            pending: None,
        }
    }
}

/// The head hyper wrote for one of its own error responses, and its code,
/// if `buf` starts with one.
fn automatic(buf: &[u8]) -> Option<(usize, Code)> {
    let rest = buf
        .strip_prefix(b"HTTP/1.1 ")
        .or_else(|| buf.strip_prefix(b"HTTP/1.0 "))?;
    let code = match rest.get(..4)? {
        b"400 " => Code::MalformedRequest,
        b"414 " => Code::UriTooLong,
        b"431 " => Code::HeadersTooLarge,
        _ => return None,
    };
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = &buf[..end];
    let has_content_type = head
        .split(|&b| b == b'\n')
        .any(|line| line.len() >= 13 && line[..13].eq_ignore_ascii_case(b"content-type:"));
    (!has_content_type).then_some((end, code))
}

impl<S> JsonErrors<S> {
    /// The response hyper's `head` stands for, with the error body.
    fn rewritten(&self, head: &[u8], code: Code) -> Vec<u8> {
        let message = match code {
            Code::HeadersTooLarge => format!(
                "the request head (request line and headers) is larger than the {} bytes this server reads",
                self.max_header_bytes
            ),
            Code::UriTooLong => "the request line is longer than this server reads".to_string(),
            _ => "the request is not HTTP/1.1 this server can read (request line or header syntax)"
                .to_string(),
        };
        let body = serde_json::to_vec(
            &serde_json::json!({"error": {"code": code.name(), "message": message}}),
        )
        .unwrap_or_default();
        let status_line_end = head
            .windows(2)
            .position(|w| w == b"\r\n")
            .unwrap_or(head.len());
        let mut out = Vec::with_capacity(head.len() + body.len() + 96);
        out.extend_from_slice(&head[..status_line_end]);
        out.extend_from_slice(b"\r\ncontent-type: application/json; charset=utf-8");
        out.extend_from_slice(format!("\r\ncontent-length: {}", body.len()).as_bytes());
        out.extend_from_slice(b"\r\nconnection: close");
        // hyper's own headers but the length (replaced) and `connection`.
        for line in head[status_line_end..].split(|&b| b == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let name_is =
                |n: &[u8]| line.len() > n.len() && line[..n.len()].eq_ignore_ascii_case(n);
            if line.is_empty() || name_is(b"content-length:") || name_is(b"connection:") {
                continue;
            }
            out.extend_from_slice(b"\r\n");
            out.extend_from_slice(line);
        }
        out.extend_from_slice(b"\r\n\r\n");
        out.extend_from_slice(&body);
        out
    }
}

impl<S: AsyncWrite + Unpin> JsonErrors<S> {
    /// Writes out the pending rewritten response; then reports the bytes
    /// of hyper's it stands for as written.
    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let Some((bytes, written, stands_for)) = &mut self.pending else {
            return Poll::Ready(Ok(0));
        };
        while *written < bytes.len() {
            match Pin::new(&mut self.inner).poll_write(cx, &bytes[*written..]) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => *written += n,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        let n = *stands_for;
        self.pending = None;
        Poll::Ready(Ok(n))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for JsonErrors<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.pending.is_none()
            && let Some((end, code)) = automatic(buf)
        {
            this.pending = Some((this.rewritten(&buf[..end], code), 0, end));
        }
        if this.pending.is_some() {
            return this.poll_pending(cx);
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if let Some(first) = bufs.iter().find(|b| !b.is_empty())
            && (this.pending.is_some() || automatic(first).is_some())
        {
            return Pin::new(this).poll_write(cx, first);
        }
        Pin::new(&mut this.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for JsonErrors<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_hyper_s_own_error_heads_are_recognized() {
        let hyper_431 = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\ndate: Sat, 05 Dec 2026 03:00:00 GMT\r\n\r\n";
        assert_eq!(
            automatic(hyper_431),
            Some((hyper_431.len(), Code::HeadersTooLarge))
        );
        let ours = b"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json; charset=utf-8\r\ncontent-length: 50\r\n\r\n";
        assert_eq!(automatic(ours), None);
        assert_eq!(
            automatic(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"),
            None
        );
        assert_eq!(automatic(b"{\"error\":1}"), None);
        assert_eq!(
            automatic(b"HTTP/1.1 400 Bad Request\r\n"),
            None,
            "an incomplete head"
        );
    }

    #[tokio::test]
    async fn a_recognized_head_is_written_with_the_body_and_counted_as_written() {
        use tokio::io::AsyncWriteExt;
        let hyper_400 =
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\ndate: Sat, 05 Dec 2026 03:00:00 GMT\r\n\r\n";
        let mut w = JsonErrors::new(Vec::new(), 16384);
        w.write_all(hyper_400).await.unwrap();
        w.write_all(b"rest").await.unwrap();
        let text = String::from_utf8(w.inner).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{head}");
        assert!(head.contains("content-type: application/json"));
        assert!(head.contains("date: Sat, 05 Dec 2026"));
        assert_eq!(head.matches("content-length").count(), 1);
        let body = body.strip_suffix("rest").unwrap();
        assert!(head.contains(&format!("content-length: {}", body.len())));
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["error"]["code"], "malformed_request");
    }
}
