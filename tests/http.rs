//! A minimal HTTP/1.1 client over a std `TcpStream` and a handle on a
//! running `creditgate serve`, for the server tests. Raw sockets let the
//! tests send what real clients should not: oversized heads, half requests,
//! idle connections.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A parsed response.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(&self.body)))
    }

    /// The `error.code` of an error body.
    pub fn error_code(&self) -> String {
        self.json()["error"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("no error code in {:?}", self.json()))
            .to_string()
    }
}

/// One keep-alive connection.
pub struct Conn {
    reader: BufReader<TcpStream>,
}

impl Conn {
    pub fn open(addr: SocketAddr) -> Conn {
        let stream = TcpStream::connect(addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        stream.set_nodelay(true).unwrap();
        Conn {
            reader: BufReader::new(stream),
        }
    }

    pub fn send_raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.reader.get_mut().write_all(bytes)
    }

    /// Sends `GET path` and reads the answer.
    pub fn get(&mut self, path: &str) -> Resp {
        self.request("GET", path, &[])
    }

    pub fn request(&mut self, method: &str, path: &str, extra_headers: &[&str]) -> Resp {
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: test\r\n");
        for h in extra_headers {
            head.push_str(h);
            head.push_str("\r\n");
        }
        head.push_str("\r\n");
        self.send_raw(head.as_bytes()).expect("send");
        self.read_response().expect("a response")
    }

    /// Sends `POST path` with the whole `body` (as clients that read only
    /// after sending do), then reads the answer.
    pub fn post(&mut self, path: &str, extra_headers: &[&str], body: &[u8]) -> Resp {
        self.send("POST", path, extra_headers, body)
    }

    /// Sends `method path` with the whole `body`, then reads the answer.
    pub fn send(&mut self, method: &str, path: &str, extra_headers: &[&str], body: &[u8]) -> Resp {
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: test\r\nContent-Length: {}\r\n",
            body.len()
        );
        for h in extra_headers {
            head.push_str(h);
            head.push_str("\r\n");
        }
        head.push_str("\r\n");
        self.send_raw(head.as_bytes()).expect("send");
        self.send_raw(body).expect("send the body");
        self.read_response().expect("a response")
    }

    /// Reads one response; `Err` when the connection is closed first.
    pub fn read_response(&mut self) -> std::io::Result<Resp> {
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let status: u16 = line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("bad status line {line:?}"));
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            if self.reader.read_line(&mut h)? == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            let (n, v) = h.split_once(':').expect("a header");
            headers.push((n.trim().to_string(), v.trim().to_string()));
        }
        let chunked = headers.iter().any(|(n, v)| {
            n.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
        });
        let body = if chunked {
            self.read_chunks()?
        } else {
            let len: usize = headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
                .map(|(_, v)| v.parse().expect("a length"))
                .unwrap_or(0);
            let mut body = vec![0; len];
            self.reader.read_exact(&mut body)?;
            body
        };
        Ok(Resp {
            status,
            headers,
            body,
        })
    }

    /// Every byte until the server closes the connection.
    pub fn read_until_closed(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        let _ = self.reader.read_to_end(&mut out);
        out
    }

    /// A chunked body, to its last chunk; `Err` when cut off before it.
    fn read_chunks(&mut self) -> std::io::Result<Vec<u8>> {
        let mut body = Vec::new();
        loop {
            let mut size = String::new();
            if self.reader.read_line(&mut size)? == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            let size = usize::from_str_radix(size.trim().split(';').next().unwrap(), 16)
                .unwrap_or_else(|_| panic!("bad chunk size {size:?}"));
            let start = body.len();
            body.resize(start + size, 0);
            self.reader.read_exact(&mut body[start..])?;
            let mut crlf = [0u8; 2];
            self.reader.read_exact(&mut crlf)?;
            if size == 0 {
                return Ok(body);
            }
        }
    }

    /// Whether the server closes the connection within `wait` (EOF or a
    /// reset; a time-out or unexpected bytes mean it did not).
    pub fn closed_within(&mut self, wait: Duration) -> bool {
        self.reader.get_ref().set_read_timeout(Some(wait)).unwrap();
        let mut buf = [0u8; 1];
        match self.reader.read(&mut buf) {
            Ok(0) => true,
            Ok(_) => false,
            Err(e) => !matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ),
        }
    }
}

/// `method path` with a JSON body on a fresh connection.
pub fn send_json(addr: SocketAddr, method: &str, path: &str, body: &serde_json::Value) -> Resp {
    Conn::open(addr).send(
        method,
        path,
        &["Content-Type: application/json"],
        body.to_string().as_bytes(),
    )
}

/// `GET path` on a fresh connection.
pub fn get(addr: SocketAddr, path: &str) -> Resp {
    Conn::open(addr).get(path)
}

/// A running `creditgate serve`, killed when dropped.
pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    pub stderr: BufReader<std::process::ChildStderr>,
    /// What it wrote to standard error before it listened.
    pub startup: String,
}

impl Server {
    /// Starts `creditgate serve` on an ephemeral port with `args` and waits
    /// until it listens.
    pub fn start(dir: &Path, args: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_creditgate"))
            .arg("serve")
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("creditgate serve starts");
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut seen = String::new();
        let addr = loop {
            let mut line = String::new();
            if stderr.read_line(&mut line).unwrap() == 0 {
                panic!("the server exited before listening: {seen}");
            }
            seen.push_str(&line);
            if let Some(rest) = line.split("listening on http://").nth(1) {
                let addr = rest.split_whitespace().next().unwrap();
                break addr.parse().expect("an address");
            }
        };
        Server {
            child,
            addr,
            stderr,
            startup: seen,
        }
    }

    /// Waits for a line of standard error (since it started) containing
    /// `text`, and returns it.
    pub fn said(&mut self, text: &str) -> String {
        if let Some(line) = self.startup.lines().find(|l| l.contains(text)) {
            return line.to_string();
        }
        loop {
            let mut line = String::new();
            if self.stderr.read_line(&mut line).unwrap() == 0 {
                panic!("the server exited without saying {text:?}");
            }
            if line.contains(text) {
                return line;
            }
        }
    }

    /// Sends SIGTERM.
    pub fn terminate(&self) {
        let ok = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs")
            .success();
        assert!(ok, "kill -TERM failed");
    }

    /// Waits for the process to exit (at most `limit`); its exit code and
    /// the rest of its standard error.
    pub fn wait(mut self, limit: Duration) -> (Option<i32>, String) {
        let deadline = std::time::Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                let mut rest = String::new();
                let _ = self.stderr.read_to_string(&mut rest);
                return (status.code(), rest);
            }
            if std::time::Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("the server did not exit within {limit:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The value of the unlabelled series `name` in `/metrics`.
pub fn metric(addr: SocketAddr, name: &str) -> f64 {
    let res = get(addr, "/metrics");
    assert_eq!(res.status, 200);
    let text = String::from_utf8(res.body).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("{name} is not in /metrics"))
        .parse()
        .unwrap()
}
