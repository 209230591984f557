//! `GET /openapi.json`: the OpenAPI 3.1 document integrators generate
//! clients from.
//!
//! The document (`openapi.json` beside this file, embedded at build time)
//! is written by hand, for its descriptions and examples, and held to the
//! code by the tests below: every route of the route table and no other,
//! each route's query parameters exactly as the route accepts them, the
//! error codes exactly as the code table has them, the role each route
//! needs (or that a public route reads a key presented), and the
//! lifecycle steps. Answers are checked against its schemas
//! by the contract tests (schemathesis, `tools/contract`), against a live
//! server.

use std::sync::OnceLock;

use bytes::Bytes;
use hyper::StatusCode;

use super::{Reply, json_reply};

/// The document, as written: for a server with keys.
const DOCUMENT: &[u8] = include_bytes!("openapi.json");

/// Answers `GET /openapi.json`. An open server (no `--keys`) says that no
/// route needs a key: the document describes the server that serves it.
pub(super) fn document(open: bool) -> Reply {
    static OPEN: OnceLock<Bytes> = OnceLock::new();
    let body = if open {
        OPEN.get_or_init(|| {
            let mut doc: serde_json::Value =
                serde_json::from_slice(DOCUMENT).expect("the document is JSON");
            doc["security"] = serde_json::json!([]);
            Bytes::from(serde_json::to_vec(&doc).expect("JSON encodes"))
        })
        .clone()
    } else {
        Bytes::from_static(DOCUMENT)
    };
    json_reply(StatusCode::OK, body)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use hyper::Method;
    use serde_json::Value;

    use super::DOCUMENT;
    use crate::server::errors::Code;
    use crate::server::routes::{Disclosures, Endpoint, Lifecycle, ROUTES, Routed, find};

    fn doc() -> Value {
        serde_json::from_slice(DOCUMENT).expect("the document is JSON")
    }

    /// The query parameters the route's endpoint accepts.
    fn accepted(endpoint: Endpoint, path: &str) -> Vec<&'static str> {
        use crate::server::routes::Watches;
        use crate::server::{disclosures, feed, lifecycle, oversight, reads, screen, watches};
        match endpoint {
            Endpoint::Disclosures(Disclosures::List) => disclosures::LIST_PARAMS.to_vec(),
            Endpoint::Check => reads::CHECK_PARAMS.to_vec(),
            Endpoint::Search => reads::SEARCH_PARAMS.to_vec(),
            Endpoint::Subject => reads::SUBJECT_PARAMS.to_vec(),
            Endpoint::Screen => screen::PARAMS.to_vec(),
            Endpoint::Changes => feed::PARAMS.to_vec(),
            Endpoint::Oversight if path == "/v1/stats" => oversight::STATS_PARAMS.to_vec(),
            Endpoint::Oversight => oversight::AUDIT_PARAMS.to_vec(),
            Endpoint::Lifecycle(Lifecycle::Entry) => lifecycle::ENTRY_PARAMS.to_vec(),
            Endpoint::Watches(Watches::Create) => watches::CREATE_PARAMS.to_vec(),
            Endpoint::Watches(Watches::Changes) => watches::CHANGES_PARAMS.to_vec(),
            Endpoint::Watches(Watches::DeadLetters) => watches::DEAD_PARAMS.to_vec(),
            Endpoint::Watches(Watches::Drain) => watches::DRAIN_PARAMS.to_vec(),
            _ => Vec::new(),
        }
    }

    /// Every (method, path template) the document describes.
    fn described(doc: &Value) -> Vec<(Method, String, Value)> {
        let mut out = Vec::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let method = method.to_uppercase().parse::<Method>().unwrap();
                out.push((method, path.clone(), op.clone()));
            }
        }
        out
    }

    /// A concrete path for a template (`{x}` becomes `x`).
    fn concrete(template: &str) -> String {
        template
            .split('/')
            .map(|s| if s.starts_with('{') { "x" } else { s })
            .collect::<Vec<_>>()
            .join("/")
    }

    #[test]
    fn every_route_is_described_and_nothing_else() {
        let doc = doc();
        assert_eq!(doc["openapi"], "3.1.0");
        let described = described(&doc);
        // Each described operation reaches a route, with the parameters
        // that route takes and the role it needs.
        for (method, path, op) in &described {
            let Routed::Route(row, _) = find(method, &concrete(path)) else {
                panic!("{method} {path} is described but not routed");
            };
            let mut want: Vec<&str> = accepted(row.endpoint, row.path);
            want.sort_unstable();
            let mut have: Vec<&str> = op["parameters"]
                .as_array()
                .map(|ps| {
                    ps.iter()
                        .filter(|p| p["in"] == "query")
                        .map(|p| p["name"].as_str().unwrap())
                        .collect()
                })
                .unwrap_or_default();
            have.sort_unstable();
            assert_eq!(have, want, "{method} {path}: query parameters");
            match row.role {
                // Public, but a key presented is read (and must be good).
                None if row.endpoint.reads_optional_key() => assert_eq!(
                    op["security"],
                    serde_json::json!([{}, {"apiKey": []}]),
                    "{path}"
                ),
                None => assert_eq!(op["security"], serde_json::json!([]), "{path}"),
                Some(role) => assert_eq!(op["x-role"], role.as_str(), "{method} {path}"),
            }
            if path.contains('{') {
                let names: BTreeSet<&str> = path
                    .split('/')
                    .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
                    .collect();
                let declared: BTreeSet<&str> = op["parameters"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|p| p["in"] == "path")
                    .map(|p| p["name"].as_str().unwrap())
                    .collect();
                assert_eq!(declared, names, "{method} {path}: path parameters");
            }
        }
        // Each route (its methods, HEAD aside; the lifecycle steps one
        // path each) is described.
        for row in &ROUTES {
            for method in [Method::GET, Method::PUT, Method::POST, Method::DELETE] {
                let Routed::Route(found, _) = find(&method, &concrete(row.path)) else {
                    continue;
                };
                if !std::ptr::eq(found, row) {
                    continue;
                }
                let templates: Vec<String> = if row.path.ends_with("{step}") {
                    ["objection", "outcome", "repair", "revoke"]
                        .iter()
                        .map(|s| row.path.replace("{step}", s))
                        .collect()
                } else {
                    vec![row.path.to_string()]
                };
                for t in templates {
                    assert!(
                        described.iter().any(|(m, p, _)| *m == method && *p == t),
                        "{method} {t} is routed but not described"
                    );
                }
            }
        }
    }

    #[test]
    fn the_error_codes_are_the_code_table() {
        let doc = doc();
        let listed: BTreeSet<&str> = doc["components"]["schemas"]["ErrorCode"]["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        let table: BTreeSet<&str> = Code::ALL.iter().map(|c| c.name()).collect();
        assert_eq!(listed, table);
        // And each status a code is sent with is a response somewhere.
        let statuses: BTreeSet<String> = described(&doc)
            .iter()
            .flat_map(|(_, _, op)| {
                op["responses"]
                    .as_object()
                    .unwrap()
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
            })
            .collect();
        for code in Code::ALL {
            let status = code.status().as_u16().to_string();
            // 404 for no such route, 405 and hyper's own 414 and 431 are
            // the server's for any path: described once in the info.
            if ["404", "405", "414", "431"].contains(&status.as_str()) {
                continue;
            }
            assert!(statuses.contains(&status), "{} ({status})", code.name());
        }
    }

    #[test]
    fn every_reference_resolves() {
        let doc = doc();
        let text = String::from_utf8(DOCUMENT.to_vec()).unwrap();
        for piece in text.split("\"$ref\": \"#/components/schemas/").skip(1) {
            let name = piece.split('"').next().unwrap();
            assert!(
                doc["components"]["schemas"].get(name).is_some(),
                "{name} is referenced but not defined"
            );
        }
    }
}
