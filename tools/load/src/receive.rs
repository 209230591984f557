//! `creditgate-load receive --listen ADDR`: a webhook receiver for
//! measurements. It answers every `POST` with `200` and counts it, and
//! answers `GET` with `{"deliveries":N}`, so that a script can tell how
//! many changes a watch delivered while checks were measured
//! (`tools/latency-under-webhooks`). One thread per connection: the server
//! opens one connection per delivery.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(clap::Args)]
pub struct ReceiveArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:18095")]
    listen: String,
}

pub fn receive(args: &ReceiveArgs) -> anyhow::Result<()> {
    let listener = TcpListener::bind(&args.listen)?;
    eprintln!("receiving on http://{}", listener.local_addr()?);
    let count = Arc::new(AtomicU64::new(0));
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let count = count.clone();
        std::thread::spawn(move || {
            let _ = answer(stream, &count);
        });
    }
    Ok(())
}

/// Reads requests on one connection and answers each.
fn answer(stream: TcpStream, count: &AtomicU64) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let post = line.starts_with("POST ");
        let mut length = 0usize;
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h)? == 0 {
                return Ok(());
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((name, value)) = h.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
        let answer = if post {
            count.fetch_add(1, Ordering::Relaxed);
            String::new()
        } else {
            format!("{{\"deliveries\":{}}}", count.load(Ordering::Relaxed))
        };
        // One write: a head and body in pieces would wait on the client's
        // delayed acknowledgement (Nagle), 40 ms a delivery.
        let response = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{answer}",
            answer.len()
        );
        reader.get_mut().write_all(response.as_bytes())?;
    }
}
