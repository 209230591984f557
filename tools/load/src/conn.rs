//! One keep-alive HTTP/1.1 connection on a blocking socket, spoken to by
//! hand: the writes and the fixed-rate checks send one request at a time
//! and read one answer, which needs no client library, and costs a few
//! microseconds of the load tool's CPU per request instead of the tens a
//! general client spends (on a machine where the tool shares the server's
//! cores, that is CPU taken from the server being measured).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;

use anyhow::Context;

pub struct Conn {
    reader: BufReader<TcpStream>,
    request: Vec<u8>,
    line: String,
    body: Vec<u8>,
}

impl Conn {
    pub fn open(addr: &str) -> anyhow::Result<Conn> {
        let stream =
            TcpStream::connect(addr).with_context(|| format!("cannot connect to {addr}"))?;
        stream.set_nodelay(true)?;
        Ok(Conn {
            reader: BufReader::with_capacity(16 << 10, stream),
            request: Vec::with_capacity(512),
            line: String::new(),
            body: Vec::new(),
        })
    }

    /// Sends one request and reads its answer; the status (the body is
    /// read and discarded).
    pub fn send(&mut self, method: &str, path: &str, body: &str) -> anyhow::Result<u16> {
        self.request.clear();
        write!(self.request, "{method} {path} HTTP/1.1\r\nHost: load\r\n")?;
        if !body.is_empty() {
            write!(
                self.request,
                "Content-Type: application/json\r\nContent-Length: {}\r\n",
                body.len()
            )?;
        }
        self.request.extend_from_slice(b"\r\n");
        self.request.extend_from_slice(body.as_bytes());
        self.reader.get_mut().write_all(&self.request)?;
        self.line.clear();
        if self.reader.read_line(&mut self.line)? == 0 {
            anyhow::bail!("connection closed before the answer");
        }
        let status = self
            .line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .with_context(|| format!("bad status line {:?}", self.line))?;
        let mut length = 0usize;
        loop {
            self.line.clear();
            if self.reader.read_line(&mut self.line)? == 0 {
                anyhow::bail!("connection closed in the headers");
            }
            let h = self.line.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((n, v)) = h.split_once(':')
                && n.eq_ignore_ascii_case("content-length")
            {
                length = v.trim().parse()?;
            }
        }
        self.body.resize(length, 0);
        self.reader.read_exact(&mut self.body)?;
        Ok(status)
    }
}
