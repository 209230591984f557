//! A watch's callback: its URL, the check that it reaches a public
//! address, and one signed POST to it.
//!
//! A callback is `http://` or `https://`, a host and an optional port and
//! path; user names in the URL and fragments are refused. Every delivery
//! resolves the host once and refuses the POST unless every address is
//! public ([`is_public`]): loopback, private (RFC 1918, unique-local),
//! link-local, carrier-grade NAT, multicast, documentation and
//! unspecified ranges, and IPv4 inside IPv6, are refused. The connection
//! then goes to the checked address, never to the name again, so that a
//! name re-bound to a private address between check and connect (DNS
//! rebinding) reaches nothing it should not. `serve
//! --allow-private-webhooks` lifts the check, for receivers inside the
//! operator's network and for tests.
//!
//! A watch keeps its connection to the receiver alive between POSTs (no
//! TCP or TLS handshake per change) and opens a new one, resolving and
//! checking the host again, when the receiver closed it, after a failure,
//! or after 30 s unused: 5 s to connect (and for TLS to shake hands), 10 s
//! for the request to go out and the whole answer to come back. A 2xx answer acknowledges the change;
//! anything else, a redirect included (redirects are never followed), is
//! a failure that delivery retries. https verifies the receiver's
//! certificate against the system's roots.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::Request;
use hyper::client::conn::http1::SendRequest;
use hyper::header::{CONTENT_TYPE, HOST, HeaderValue, USER_AGENT};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls;

/// Time to resolve the host, connect and shake hands.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Time for the request to go out and the answer's head to come back.
pub const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest callback URL.
pub const MAX_URL_BYTES: usize = 2048;

/// A parsed callback URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Callback {
    /// `https`.
    pub https: bool,
    /// The host, without brackets for IPv6.
    pub host: String,
    /// The port.
    pub port: u16,
    /// The path and query sent in the request line.
    pub path: String,
    /// The `Host` header.
    authority: String,
}

impl Callback {
    /// Parses and checks a callback URL; the error says what is wrong.
    pub fn parse(url: &str) -> Result<Callback, String> {
        if url.len() > MAX_URL_BYTES {
            return Err(format!("is longer than {MAX_URL_BYTES} bytes"));
        }
        let uri: hyper::Uri = url
            .parse()
            .map_err(|e| format!("{url:?} is not a URL: {e}"))?;
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            Some(other) => return Err(format!("scheme {other:?}: use http or https")),
            None => return Err(format!("{url:?} has no scheme: use http:// or https://")),
        };
        let authority = uri
            .authority()
            .ok_or_else(|| format!("{url:?} has no host"))?;
        if authority.as_str().contains('@') {
            return Err("must not carry a user name or password".into());
        }
        if url.contains('#') {
            return Err("must not have a fragment (#…)".into());
        }
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        if host.is_empty() {
            return Err(format!("{url:?} has no host"));
        }
        let port = authority.port_u16().unwrap_or(if https { 443 } else { 80 });
        let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_string();
        Ok(Callback {
            https,
            host,
            port,
            path: if path.is_empty() { "/".into() } else { path },
            authority: authority.as_str().to_string(),
        })
    }

    /// The host's addresses, each checked unless `allow_private`; an
    /// address that is not public refuses the whole callback.
    pub async fn resolve(&self, allow_private: bool) -> Result<Vec<SocketAddr>, String> {
        let addrs: Vec<SocketAddr> = match self.host.parse::<IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, self.port)],
            Err(_) => {
                let lookup = tokio::net::lookup_host((self.host.as_str(), self.port));
                match tokio::time::timeout(CONNECT_TIMEOUT, lookup).await {
                    Ok(Ok(found)) => found.collect(),
                    Ok(Err(e)) => return Err(format!("{} does not resolve: {e}", self.host)),
                    Err(_) => {
                        return Err(format!(
                            "{} did not resolve within {} s",
                            self.host,
                            CONNECT_TIMEOUT.as_secs()
                        ));
                    }
                }
            }
        };
        if addrs.is_empty() {
            return Err(format!("{} resolves to no address", self.host));
        }
        if !allow_private && let Some(bad) = addrs.iter().find(|a| !is_public(a.ip())) {
            return Err(format!(
                "{} resolves to {}, which is not a public address; callbacks to loopback, private and link-local addresses are refused unless the server runs with --allow-private-webhooks",
                self.host,
                bad.ip()
            ));
        }
        Ok(addrs)
    }
}

/// Whether `ip` is a public unicast address a callback may reach.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || a == 0
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || (a == 100 && (64..128).contains(&b)) // carrier-grade NAT
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2) // documentation
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || (a == 198 && b == 51 && c == 100)
        || (a == 203 && b == 0 && c == 113)
        || ip.is_multicast()
        || a >= 240) // reserved and broadcast
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    // NAT64 (64:ff9b::/96) reaches the IPv4 address in its low bits.
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
        return is_public_v4(Ipv4Addr::new(
            (s[6] >> 8) as u8,
            s[6] as u8,
            (s[7] >> 8) as u8,
            s[7] as u8,
        ));
    }
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00 // unique local
        || (s[0] & 0xffc0) == 0xfe80 // link local
        || (s[0] & 0xffc0) == 0xfec0 // site local (deprecated)
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || s[0..6] == [0, 0, 0, 0, 0, 0]) // IPv4-compatible, deprecated
}

/// TLS for https callbacks, against the system's roots (built once).
pub fn tls() -> TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    let found = rustls_native_certs::load_native_certs();
    let (added, _ignored) = roots.add_parsable_certificates(found.certs);
    if added == 0 {
        tracing::warn!(
            "no system root certificates found: https callbacks will fail to verify their receivers"
        );
    }
    // ring, as async-nats already builds it: aws-lc-rs (the provider with
    // post-quantum key exchange) would add a second C library to the build.
    #[allow(deprecated)]
    let provider = rustls::crypto::ring::default_provider();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(provider))
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    TlsConnector::from(Arc::new(config))
}

/// How long a kept-alive connection to a receiver may sit unused before
/// it is closed rather than used again.
pub const IDLE_CLOSE: Duration = Duration::from_secs(30);
/// Most bytes of an answer's body read (and dropped) so that its
/// connection can carry the next POST; a longer body closes it.
const MAX_ANSWER_BYTES: usize = 64 << 10;

/// An open HTTP/1.1 connection to a receiver, kept alive between POSTs of
/// one watch: no TCP (or TLS) handshake per change.
pub struct Link {
    sender: SendRequest<Full<Bytes>>,
    driver: tokio::task::JoinHandle<()>,
    used: Instant,
}

impl Drop for Link {
    fn drop(&mut self) {
        self.driver.abort();
    }
}

/// Opens a connection to the first of `addrs` that answers (TLS for an
/// https callback).
async fn connect(
    callback: &Callback,
    addrs: &[SocketAddr],
    tls: &TlsConnector,
) -> Result<Link, String> {
    let mut last = String::new();
    for addr in addrs {
        let stream = match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(e)) => {
                last = format!("connecting to {addr}: {e}");
                continue;
            }
            Err(_) => {
                last = format!(
                    "connecting to {addr}: no answer within {} s",
                    CONNECT_TIMEOUT.as_secs()
                );
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        if !callback.https {
            return handshake(stream).await;
        }
        let name = rustls::pki_types::ServerName::try_from(callback.host.clone())
            .map_err(|e| format!("{}: not a TLS server name: {e}", callback.host))?;
        return match tokio::time::timeout(CONNECT_TIMEOUT, tls.connect(name, stream)).await {
            Ok(Ok(stream)) => handshake(stream).await,
            Ok(Err(e)) => Err(format!("TLS with {addr} failed: {e}")),
            Err(_) => Err(format!(
                "TLS with {addr} did not complete within {} s",
                CONNECT_TIMEOUT.as_secs()
            )),
        };
    }
    Err(last)
}

async fn handshake<S>(stream: S) -> Result<Link, String>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("HTTP handshake: {e}"))?;
    let driver = tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(Link {
        sender,
        driver,
        used: Instant::now(),
    })
}

/// POSTs `body` with `headers` to the callback, over `link` when it is
/// open and fresh, else over a new connection to the callback's host,
/// resolved and checked now ([`Callback::resolve`]); `Ok` when the answer
/// is 2xx, otherwise what went wrong. A kept-alive connection the receiver
/// closed meanwhile is replaced at once, not counted as a failure.
pub async fn post(
    callback: &Callback,
    link: &mut Option<Link>,
    allow_private: bool,
    tls: &TlsConnector,
    body: Bytes,
    headers: &[(&'static str, String)],
) -> Result<u16, String> {
    if link
        .as_ref()
        .is_some_and(|l| l.sender.is_closed() || l.used.elapsed() > IDLE_CLOSE)
    {
        *link = None;
    }
    let mut reused = link.is_some();
    loop {
        let open = match link {
            Some(open) => open,
            None => {
                let addrs = callback.resolve(allow_private).await?;
                link.insert(connect(callback, &addrs, tls).await?)
            }
        };
        match exchange(callback, open, body.clone(), headers).await {
            Ok(status) => {
                open.used = Instant::now();
                return answered(status);
            }
            Err((e, sent)) => {
                *link = None;
                // The receiver closed a kept-alive connection before this
                // request reached it: try once on a new one.
                if reused && !sent {
                    reused = false;
                    continue;
                }
                return Err(e);
            }
        }
    }
}

fn answered(status: hyper::StatusCode) -> Result<u16, String> {
    if status.is_success() {
        Ok(status.as_u16())
    } else if status.is_redirection() {
        Err(format!(
            "answered {status} (redirects are not followed; point the callback at the final URL)"
        ))
    } else {
        Err(format!("answered {status}"))
    }
}

/// One request and its answer on `link`, within [`EXCHANGE_TIMEOUT`]; an
/// error says whether the request may have reached the receiver.
async fn exchange(
    callback: &Callback,
    link: &mut Link,
    body: Bytes,
    headers: &[(&'static str, String)],
) -> Result<hyper::StatusCode, (String, bool)> {
    let mut req = Request::post(callback.path.as_str())
        .body(Full::new(body))
        .map_err(|e| (format!("building the request: {e}"), false))?;
    let h = req.headers_mut();
    h.insert(
        HOST,
        HeaderValue::from_str(&callback.authority).map_err(|e| (e.to_string(), false))?,
    );
    h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    h.insert(
        USER_AGENT,
        HeaderValue::from_static(concat!("creditgate/", env!("CARGO_PKG_VERSION"))),
    );
    for (name, value) in headers {
        h.insert(
            *name,
            HeaderValue::from_str(value).map_err(|e| (e.to_string(), false))?,
        );
    }
    let work = async {
        link.sender
            .ready()
            .await
            .map_err(|e| (format!("the connection closed: {e}"), false))?;
        let res = link.sender.send_request(req).await.map_err(|e| {
            // Closed before anything was written: the request never left.
            let sent = !(e.is_canceled() || e.is_closed());
            (format!("the request failed: {e}"), sent)
        })?;
        let status = res.status();
        // Read the answer's body so the connection can carry the next one.
        Limited::new(res.into_body(), MAX_ANSWER_BYTES)
            .collect()
            .await
            .map_err(|e| (format!("reading the answer: {e}"), true))?;
        Ok(status)
    };
    tokio::time::timeout(EXCHANGE_TIMEOUT, work)
        .await
        .map_err(|_| {
            (
                format!("no answer within {} s", EXCHANGE_TIMEOUT.as_secs()),
                true,
            )
        })?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callback_urls_are_parsed_and_checked() {
        let c = Callback::parse("https://hooks.example.cn/credit?dept=7").unwrap();
        assert_eq!(
            (c.https, c.host.as_str(), c.port, c.path.as_str()),
            (true, "hooks.example.cn", 443, "/credit?dept=7")
        );
        let c = Callback::parse("http://[2001:4860::8888]:8080").unwrap();
        assert_eq!(
            (c.host.as_str(), c.port, c.path.as_str()),
            ("2001:4860::8888", 8080, "/")
        );
        for bad in [
            "ftp://example.com/",
            "example.com/hook",
            "http://user:pw@example.com/",
            "http://example.com/#x",
            "not a url",
        ] {
            assert!(Callback::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn only_public_addresses_pass() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fc00::1",
            "fd12::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
            "2001:db8::1",
            "ff02::1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in [
            "8.8.8.8",
            "202.96.134.133",
            "2400:3200::1",
            "::ffff:8.8.8.8",
        ] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    #[tokio::test]
    async fn a_private_callback_is_refused_unless_allowed() {
        let c = Callback::parse("http://127.0.0.1:9/hook").unwrap();
        let refused = c.resolve(false).await.unwrap_err();
        assert!(refused.contains("--allow-private-webhooks"), "{refused}");
        assert_eq!(c.resolve(true).await.unwrap().len(), 1);
        let c = Callback::parse("http://localhost:9/hook").unwrap();
        assert!(c.resolve(false).await.is_err());
    }
}
