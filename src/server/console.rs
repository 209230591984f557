//! The clerks' console (一站式查询) under `/console/`: a page of plain HTML,
//! CSS and one JavaScript module, compiled into the binary (nothing fetched
//! from elsewhere, no Node.js to build it), that draws every page from the
//! JSON API of the server that serves it.
//!
//! Every path under `/console` that is not an asset answers the same page:
//! the script reads the path (`/console/search?q=…`,
//! `/console/subjects/{id}?at=…`, `/console/entries/{id}`), so each page has
//! a link that can be shared. The console is not part of the API: it sits
//! outside the route table and needs no key to load (the key a clerk signs
//! in with is kept in the tab's `sessionStorage` and sent only as the API's
//! `Authorization` header).
//!
//! Every answer carries a Content-Security-Policy that allows scripts,
//! styles and requests from this origin only and no inline script, so a
//! name holding `<script>` that slipped past the script's text-only
//! rendering still could not run.

use bytes::Bytes;
use hyper::header::{
    ALLOW, CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, HeaderValue, REFERRER_POLICY,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use hyper::{Method, Response, StatusCode};

use super::errors::Code;
use super::{Body, Reply, error_reply};

/// The policy every console answer carries.
pub const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; \
frame-ancestors 'none'";

/// The page every console path answers.
const PAGE: &[u8] = include_bytes!("console/index.html");

/// The assets, by name under `/console/assets/`.
const ASSETS: [(&str, &str, &[u8]); 2] = [
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_bytes!("console/app.js"),
    ),
    (
        "style.css",
        "text/css; charset=utf-8",
        include_bytes!("console/style.css"),
    ),
];

/// Whether `path` is the console's.
pub(super) fn owns(path: &str) -> bool {
    path == "/console" || path.starts_with("/console/")
}

/// Answers a console path: the page, an asset, 404 for an unknown asset,
/// 405 for anything but `GET` and `HEAD`.
pub(super) fn answer(method: &Method, path: &str) -> Reply {
    if method != Method::GET && method != Method::HEAD {
        let mut res = error_reply(
            Code::MethodNotAllowed,
            &format!("{method} {path}: the console is read with GET"),
        );
        res.headers_mut()
            .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
        return res;
    }
    if let Some(name) = path.strip_prefix("/console/assets/") {
        return match ASSETS.iter().find(|(n, _, _)| *n == name) {
            Some((_, kind, bytes)) => reply(kind, bytes),
            None => error_reply(
                Code::NotFound,
                &format!(
                    "no console asset {name:?}; the assets are {}",
                    ASSETS.map(|(n, _, _)| n).join(", ")
                ),
            ),
        };
    }
    reply("text/html; charset=utf-8", PAGE)
}

fn reply(kind: &'static str, bytes: &'static [u8]) -> Reply {
    let mut res = Response::new(Body::full(Bytes::from_static(bytes)));
    *res.status_mut() = StatusCode::OK;
    let headers = res.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(kind));
    headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(POLICY));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    // Small, and a new build must be seen at once: revalidated each time.
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_runs_no_inline_script_and_loads_only_its_assets() {
        let page = std::str::from_utf8(PAGE).unwrap();
        // Every <script> has a src under /console/assets/ and no body.
        for (i, _) in page.match_indices("<script") {
            let tag = &page[i..page[i..].find("</script>").unwrap() + i];
            assert!(tag.contains("src=\"/console/assets/"), "{tag}");
            assert!(tag.ends_with('>'), "no inline body: {tag}");
        }
        // No inline handler attribute (onclick=…).
        for (i, _) in page.match_indices(" on") {
            let rest: String = page[i + 3..]
                .chars()
                .take_while(|c| c.is_ascii_alphabetic())
                .collect();
            assert!(
                !page[i + 3 + rest.len()..].starts_with('='),
                "inline handler at {i}"
            );
        }
        for (name, _, bytes) in ASSETS {
            let text = std::str::from_utf8(bytes).unwrap();
            assert!(
                !text.contains("innerHTML"),
                "{name} writes text, never markup"
            );
            // The SVG namespace is a name, not an address.
            let text = text.replace("http://www.w3.org/2000/svg", "");
            assert!(
                !text.contains("http://") && !text.contains("https://"),
                "{name} fetches nothing from elsewhere"
            );
        }
        for href in ["/console/assets/style.css", "/console/assets/app.js"] {
            assert!(page.contains(href));
        }
    }

    #[test]
    fn paths_answer_the_page_an_asset_or_a_refusal() {
        let kind = |r: &Reply| r.headers()[CONTENT_TYPE].to_str().unwrap().to_string();
        let page = answer(&Method::GET, "/console/subjects/91360100705500005G");
        assert_eq!(
            (page.status(), kind(&page).as_str()),
            (StatusCode::OK, "text/html; charset=utf-8")
        );
        assert_eq!(page.headers()[CONTENT_SECURITY_POLICY], POLICY);
        let js = answer(&Method::GET, "/console/assets/app.js");
        assert!(kind(&js).starts_with("text/javascript"));
        assert_eq!(
            answer(&Method::GET, "/console/assets/x.js").status(),
            StatusCode::NOT_FOUND
        );
        let post = answer(&Method::POST, "/console/search");
        assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert!(owns("/console") && owns("/console/") && !owns("/consoles"));
    }
}
