//! The route table: every route the server answers, in one place.
//!
//! A row names a path template, the methods it takes, the role a key needs,
//! the largest body it reads, the label its requests are counted under and
//! the endpoint that answers it. Everything else is derived from the
//! table: routing ([`find`]), the `405` with its `Allow` header, the `404`
//! that lists the routes, the role check, the body limit the server
//! enforces before the handler runs, and the metrics labels. A new route
//! is one row here and one arm in the dispatcher ([`super::api`]); a test
//! checks that every endpoint has a row and that no two rows overlap.

use hyper::Method;

use super::metrics::Route;
use crate::access::Role;

/// A set of methods. `GET` always comes with `HEAD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Methods(u8);

impl Methods {
    /// `GET` and `HEAD`.
    pub(super) const READ: Methods = Methods(0b0011);
    /// `PUT`.
    pub(super) const PUT: Methods = Methods(0b0100);
    /// `POST`.
    pub(super) const POST: Methods = Methods(0b1000);
    /// `DELETE`.
    pub(super) const DELETE: Methods = Methods(0b1_0000);

    /// Each method with its bit, in the order an `Allow` header lists them.
    const NAMES: [(Method, u8); 5] = [
        (Method::GET, 0b0001),
        (Method::HEAD, 0b0010),
        (Method::PUT, 0b0100),
        (Method::POST, 0b1000),
        (Method::DELETE, 0b1_0000),
    ];

    fn contains(self, method: &Method) -> bool {
        Self::NAMES
            .iter()
            .any(|(m, bit)| m == method && self.0 & bit != 0)
    }

    fn union(self, other: Methods) -> Methods {
        Methods(self.0 | other.0)
    }

    /// The methods as an `Allow` header lists them: `GET, HEAD, PUT`.
    pub(super) fn allow(self) -> String {
        Self::NAMES
            .iter()
            .filter(|(_, bit)| self.0 & bit != 0)
            .map(|(m, _)| m.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The largest body a route reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum BodyLimit {
    /// The server's ([`super::Limits::max_body_bytes`]): routes that read no
    /// body.
    Server,
    /// A write's ([`super::lifecycle::MAX_WRITE_BODY`]).
    Write,
    /// A screening upload's ([`super::screen::ScreenLimits::max_body_bytes`]).
    Upload,
}

/// What answers a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Endpoint {
    /// A check ([`super::reads`]).
    Check,
    /// A name search ([`super::reads`]).
    Search,
    /// A subject's decisions ([`super::reads`]).
    Subject,
    /// A screening ([`super::screen`]).
    Screen,
    /// The change feed ([`super::feed`]).
    Changes,
    /// Statistics and the audit log ([`super::oversight`]).
    Oversight,
    /// Publishing and the lifecycle ([`super::lifecycle`]).
    Lifecycle(Lifecycle),
    /// Liveness ([`super::reads`]).
    Healthz,
    /// The OpenAPI document ([`super::openapi`]).
    OpenApi,
    /// Prometheus metrics ([`super::reads`]).
    Metrics,
    /// The store's digest, to compare nodes ([`super::reads`]).
    Digest,
    /// A snapshot to bootstrap a replica from ([`super::reads`]).
    Snapshot,
    /// 双公示 disclosures ([`super::disclosures`]).
    Disclosures(Disclosures),
    /// The measures catalog ([`super::reads`]).
    Catalog,
    /// Who the caller is, for the console ([`super::reads`]).
    WhoAmI,
    /// Watches ([`super::watches`]).
    Watches(Watches),
    /// Decisions that demand feedback ([`super::decisions`]).
    Decisions(Decisions),
}

/// The routes [`super::watches`] answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Watches {
    /// Creating one.
    Create,
    /// The caller's watches.
    List,
    /// One watch and its delivery.
    Get,
    /// Deleting one.
    Delete,
    /// Its changes.
    Changes,
    /// Its dead letters.
    DeadLetters,
    /// Draining its dead letters.
    Drain,
    /// Adding and removing its subjects.
    Subjects,
}

/// The routes [`super::decisions`] answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Decisions {
    /// One decision and its feedback.
    Get,
    /// Reporting its feedback.
    Feedback,
}

/// The routes [`super::disclosures`] answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Disclosures {
    /// The public query.
    List,
    /// One disclosure.
    Get,
    /// Publishing one.
    Put,
    /// A penalty's credit repair.
    Repair,
}

impl Endpoint {
    /// Whether it writes (a read replica refuses it).
    pub(super) fn writes(self) -> bool {
        matches!(
            self,
            Endpoint::Lifecycle(
                Lifecycle::PutSubject | Lifecycle::PutEntry | Lifecycle::Step | Lifecycle::Feedback
            ) | Endpoint::Disclosures(Disclosures::Put | Disclosures::Repair)
                // Watches live on the node that delivers them. A decision's
                // feedback is kept where the decision was made, a replica
                // included: not a write of the platform's data.
                | Endpoint::Watches(
                    Watches::Create | Watches::Delete | Watches::Drain | Watches::Subjects
                )
        )
    }

    /// Whether a route open to anyone still reads the key a request
    /// presents, to show its holder more (the public disclosures: a
    /// publishing department sees its own past their window).
    pub(super) fn reads_optional_key(self) -> bool {
        matches!(
            self,
            Endpoint::Disclosures(Disclosures::List | Disclosures::Get) | Endpoint::WhoAmI
        )
    }
}

/// The routes [`super::lifecycle`] answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Lifecycle {
    /// An entry with its history.
    Entry,
    /// Publishing a subject.
    PutSubject,
    /// Publishing an entry.
    PutEntry,
    /// An entry's lifecycle step.
    Step,
    /// Execution feedback.
    Feedback,
}

/// One route.
#[derive(Debug)]
pub(super) struct Row {
    /// The path; a `{name}` segment matches any one segment.
    pub(super) path: &'static str,
    /// The methods it takes.
    pub(super) methods: Methods,
    /// The role a key needs; `None`: anyone, without a key.
    pub(super) role: Option<Role>,
    /// The largest body it reads.
    pub(super) body: BodyLimit,
    /// The label its requests are counted under.
    pub(super) metric: Route,
    /// What answers it.
    pub(super) endpoint: Endpoint,
}

const fn row(
    path: &'static str,
    methods: Methods,
    role: Option<Role>,
    body: BodyLimit,
    metric: Route,
    endpoint: Endpoint,
) -> Row {
    Row {
        path,
        methods,
        role,
        body,
        metric,
        endpoint,
    }
}

use BodyLimit::{Server, Upload, Write};
use Methods as M;
use Role::{Operator, Publish, Query, Screen};

/// Every route (SPEC §6), in the order the `404` lists them.
#[rustfmt::skip]
pub(super) static ROUTES: [Row; 33] = [
    row("/v1/check",                     M::READ, Some(Query),    Server, Route::Check,     Endpoint::Check),
    row("/v1/search",                    M::READ, Some(Query),    Server, Route::Search,    Endpoint::Search),
    row("/v1/screen",                    M::POST, Some(Screen),   Upload, Route::Screen,    Endpoint::Screen),
    row("/v1/subjects/{id}",             M::READ, Some(Query),    Server, Route::Subject,   Endpoint::Subject),
    row("/v1/subjects/{id}",             M::PUT,  Some(Publish),  Write,  Route::Write,     Endpoint::Lifecycle(Lifecycle::PutSubject)),
    row("/v1/entries/{entry_id}",        M::READ, Some(Query),    Server, Route::Entry,     Endpoint::Lifecycle(Lifecycle::Entry)),
    row("/v1/entries/{entry_id}",        M::PUT,  Some(Publish),  Write,  Route::Write,     Endpoint::Lifecycle(Lifecycle::PutEntry)),
    row("/v1/entries/{entry_id}/{step}", M::POST, Some(Publish),  Write,  Route::Write,     Endpoint::Lifecycle(Lifecycle::Step)),
    row("/v1/changes",                   M::READ, Some(Query),    Server, Route::Changes,   Endpoint::Changes),
    row("/v1/feedback",                  M::POST, Some(Query),    Write,  Route::Write,     Endpoint::Lifecycle(Lifecycle::Feedback)),
    row("/v1/stats",                     M::READ, Some(Operator), Server, Route::Oversight, Endpoint::Oversight),
    row("/v1/audit",                     M::READ, Some(Operator), Server, Route::Oversight, Endpoint::Oversight),
    row("/healthz",                      M::READ, None,           Server, Route::Healthz,   Endpoint::Healthz),
    row("/openapi.json",                 M::READ, None,           Server, Route::OpenApi,   Endpoint::OpenApi),
    row("/metrics",                      M::READ, Some(Operator), Server, Route::Metrics,   Endpoint::Metrics),
    row("/v1/digest",                    M::READ, Some(Operator), Server, Route::Oversight, Endpoint::Digest),
    row("/v1/snapshot",                  M::POST, Some(Operator), Write,  Route::Oversight, Endpoint::Snapshot),
    // Appended: the audit keeps a route by its place in this table.
    row("/v1/disclosures",               M::READ, None,           Server, Route::Disclosures, Endpoint::Disclosures(Disclosures::List)),
    row("/v1/disclosures/{id}",          M::READ, None,           Server, Route::Disclosures, Endpoint::Disclosures(Disclosures::Get)),
    row("/v1/disclosures/{id}",          M::PUT,  Some(Publish),  Write,  Route::Write,       Endpoint::Disclosures(Disclosures::Put)),
    row("/v1/disclosures/{id}/repair",   M::POST, Some(Publish),  Write,  Route::Write,       Endpoint::Disclosures(Disclosures::Repair)),
    row("/v1/catalog",                   M::READ, None,           Server, Route::Catalog,     Endpoint::Catalog),
    row("/v1/whoami",                    M::READ, None,           Server, Route::WhoAmI,      Endpoint::WhoAmI),
    row("/v1/watches",                   M::POST, Some(Query),    Upload, Route::Watches,     Endpoint::Watches(Watches::Create)),
    row("/v1/watches",                   M::READ, Some(Query),    Server, Route::Watches,     Endpoint::Watches(Watches::List)),
    row("/v1/watches/{id}",              M::READ, Some(Query),    Server, Route::Watches,     Endpoint::Watches(Watches::Get)),
    row("/v1/watches/{id}",              M::DELETE, Some(Query),  Server, Route::Watches,     Endpoint::Watches(Watches::Delete)),
    row("/v1/watches/{id}/changes",      M::READ, Some(Query),    Server, Route::Watches,     Endpoint::Watches(Watches::Changes)),
    row("/v1/watches/{id}/dead-letters", M::READ, Some(Query),    Server, Route::Watches,     Endpoint::Watches(Watches::DeadLetters)),
    row("/v1/watches/{id}/dead-letters", M::DELETE, Some(Query),  Server, Route::Watches,     Endpoint::Watches(Watches::Drain)),
    row("/v1/watches/{id}/subjects",     M::POST, Some(Query),    Upload, Route::Watches,     Endpoint::Watches(Watches::Subjects)),
    row("/v1/decisions/{decision_id}",   M::READ, Some(Query),    Server, Route::Decisions,   Endpoint::Decisions(Decisions::Get)),
    row("/v1/decisions/{decision_id}/feedback", M::POST, Some(Query), Write, Route::Decisions, Endpoint::Decisions(Decisions::Feedback)),
];

/// The segments a template's `{name}`s matched, in order.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) struct Params<'p> {
    values: [&'p str; 2],
    len: usize,
}

impl<'p> Params<'p> {
    /// The `i`th matched segment, still percent-encoded; `""` past the end.
    pub(super) fn get(&self, i: usize) -> &'p str {
        if i < self.len { self.values[i] } else { "" }
    }
}

/// Matches `path` against `template`.
fn matches<'p>(template: &str, path: &'p str) -> Option<Params<'p>> {
    let mut params = Params::default();
    if !template.contains('{') {
        // Most routes, `/v1/check` first among them: one comparison.
        return (template == path).then_some(params);
    }
    let mut want = template.split('/');
    let mut have = path.split('/');
    loop {
        match (want.next(), have.next()) {
            (None, None) => return Some(params),
            (Some(w), Some(h)) if w.starts_with('{') => {
                *params.values.get_mut(params.len)? = h;
                params.len += 1;
            }
            (Some(w), Some(h)) if w == h => {}
            _ => return None,
        }
    }
}

/// Where a request goes.
#[derive(Debug)]
pub(super) enum Routed<'p> {
    /// The route, with its path parameters.
    Route(&'static Row, Params<'p>),
    /// The path exists but not with this method: `405`.
    NotAllowed {
        /// The methods the path takes.
        allow: Methods,
        /// The label the refusal is counted under.
        metric: Route,
    },
    /// No route has this path: `404`.
    NotFound,
}

/// Routes `method path`.
pub(super) fn find<'p>(method: &Method, path: &'p str) -> Routed<'p> {
    let mut allow: Option<(Methods, Route)> = None;
    for row in &ROUTES {
        let Some(params) = matches(row.path, path) else {
            continue;
        };
        if row.methods.contains(method) {
            return Routed::Route(row, params);
        }
        allow = Some(match allow {
            None => (row.methods, row.metric),
            Some((methods, metric)) => (methods.union(row.methods), metric),
        });
    }
    match allow {
        Some((allow, metric)) => Routed::NotAllowed { allow, metric },
        None => Routed::NotFound,
    }
}

/// A row's place in [`ROUTES`]: the route number the audit keeps.
pub(super) fn number(row: &Row) -> Option<u8> {
    ROUTES
        .iter()
        .position(|r| std::ptr::eq(r, row))
        .map(|i| i as u8)
}

/// The path template of the route numbered `number`.
pub(super) fn path_of(number: u8) -> Option<&'static str> {
    ROUTES.get(usize::from(number)).map(|r| r.path)
}

/// The paths the server answers, for a `404`'s message.
pub(super) fn listing() -> String {
    let mut paths: Vec<&str> = Vec::new();
    for row in &ROUTES {
        if !paths.contains(&row.path) {
            paths.push(row.path);
        }
    }
    paths.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(method: Method, path: &str) -> Option<(Endpoint, Vec<&str>)> {
        match find(&method, path) {
            Routed::Route(row, p) => Some((row.endpoint, (0..p.len).map(|i| p.get(i)).collect())),
            _ => None,
        }
    }

    #[test]
    fn paths_and_methods_reach_their_endpoints() {
        assert_eq!(
            route(Method::GET, "/v1/check"),
            Some((Endpoint::Check, vec![]))
        );
        assert_eq!(
            route(Method::HEAD, "/healthz"),
            Some((Endpoint::Healthz, vec![]))
        );
        assert_eq!(
            route(Method::GET, "/v1/subjects/3601"),
            Some((Endpoint::Subject, vec!["3601"]))
        );
        assert_eq!(
            route(Method::PUT, "/v1/subjects/3601"),
            Some((Endpoint::Lifecycle(Lifecycle::PutSubject), vec!["3601"]))
        );
        assert_eq!(
            route(Method::POST, "/v1/entries/E-1/repair"),
            Some((Endpoint::Lifecycle(Lifecycle::Step), vec!["E-1", "repair"]))
        );
        assert_eq!(
            route(Method::GET, "/v1/subjects/"),
            Some((Endpoint::Subject, vec![""]))
        );
        for path in [
            "/",
            "/v1",
            "/v1/check/",
            "/v1/subjects/a/b",
            "/v1/entries/a/b/c",
            "/v2/check",
        ] {
            assert!(
                matches!(find(&Method::GET, path), Routed::NotFound),
                "{path}"
            );
        }
    }

    #[test]
    fn a_wrong_method_is_told_what_the_path_takes() {
        let allow = |method: Method, path: &str| match find(&method, path) {
            Routed::NotAllowed { allow, metric } => Some((allow.allow(), metric)),
            _ => None,
        };
        assert_eq!(
            allow(Method::POST, "/v1/check"),
            Some(("GET, HEAD".into(), Route::Check))
        );
        assert_eq!(
            allow(Method::DELETE, "/v1/entries/E-1"),
            Some(("GET, HEAD, PUT".into(), Route::Entry))
        );
        assert_eq!(
            allow(Method::GET, "/v1/entries/E-1/objection"),
            Some(("POST".into(), Route::Write))
        );
        assert_eq!(
            allow(Method::GET, "/v1/screen"),
            Some(("POST".into(), Route::Screen))
        );
    }

    #[test]
    fn a_replica_refuses_watches_but_takes_a_decisions_feedback() {
        for w in [
            Watches::Create,
            Watches::Delete,
            Watches::Drain,
            Watches::Subjects,
        ] {
            assert!(Endpoint::Watches(w).writes(), "{w:?}");
        }
        for w in [
            Watches::List,
            Watches::Get,
            Watches::Changes,
            Watches::DeadLetters,
        ] {
            assert!(!Endpoint::Watches(w).writes(), "{w:?}");
        }
        assert!(!Endpoint::Decisions(Decisions::Feedback).writes());
        assert!(Endpoint::Lifecycle(Lifecycle::Feedback).writes());
    }

    #[test]
    fn the_table_is_consistent() {
        for (i, a) in ROUTES.iter().enumerate() {
            assert!(a.path.starts_with('/'), "{}", a.path);
            for b in &ROUTES[i + 1..] {
                assert!(
                    a.path != b.path || a.methods.0 & b.methods.0 == 0,
                    "{} is routed twice for one method",
                    a.path
                );
            }
            // A route that reads a body is not a read or a delete.
            assert_eq!(
                a.body == Server,
                a.methods == M::READ || a.methods == M::DELETE,
                "{}",
                a.path
            );
        }
        for endpoint in [
            Endpoint::Check,
            Endpoint::Search,
            Endpoint::Subject,
            Endpoint::Screen,
            Endpoint::Changes,
            Endpoint::Oversight,
            Endpoint::Lifecycle(Lifecycle::Entry),
            Endpoint::Lifecycle(Lifecycle::PutSubject),
            Endpoint::Lifecycle(Lifecycle::PutEntry),
            Endpoint::Lifecycle(Lifecycle::Step),
            Endpoint::Lifecycle(Lifecycle::Feedback),
            Endpoint::Healthz,
            Endpoint::OpenApi,
            Endpoint::Metrics,
            Endpoint::Digest,
            Endpoint::Snapshot,
            Endpoint::Watches(Watches::Create),
            Endpoint::Watches(Watches::List),
            Endpoint::Watches(Watches::Get),
            Endpoint::Watches(Watches::Delete),
            Endpoint::Watches(Watches::Changes),
            Endpoint::Watches(Watches::DeadLetters),
            Endpoint::Watches(Watches::Drain),
            Endpoint::Watches(Watches::Subjects),
            Endpoint::Decisions(Decisions::Get),
            Endpoint::Decisions(Decisions::Feedback),
        ] {
            assert!(
                ROUTES.iter().any(|r| r.endpoint == endpoint),
                "{endpoint:?}"
            );
        }
        assert!(listing().contains("/v1/entries/{entry_id}/{step}"));
    }
}
