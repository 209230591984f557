//! Every error a response can carry, in one table: its code (the
//! `error.code` of the SPEC §6 body), its HTTP status and what it means.
//!
//! Handlers name a [`Code`]; the status follows from it, so a code cannot
//! be sent with two statuses, and the README's list of codes is checked
//! against [`Code::ALL`] by a test. A 5xx is the server's own failure: its
//! cause goes to the log ([`Code::logged`]) and the client gets a message
//! that says so, never the store's or the system's own text.

use hyper::StatusCode;

use super::{Reply, error_reply};
use crate::audit::RefusedFor;

/// An error code.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Code {
    /// 400: an identifier that is not a valid USCC or identity number.
    InvalidId,
    /// 400: an action the catalog does not declare.
    UnknownAction,
    /// 400: a date that is not `YYYY-MM-DD`, or one out of range.
    InvalidDate,
    /// 400: a required parameter absent or empty.
    MissingParameter,
    /// 400: a parameter the route does not take.
    UnknownParameter,
    /// 400: a query string that cannot be read (encoding, repetition).
    BadQuery,
    /// 400: a parameter whose value is not what the route expects.
    InvalidParameter,
    /// 400: a request body that is not the JSON the route expects.
    InvalidBody,
    /// 400: a request body that broke off or could not be read.
    BadBody,
    /// 400: a request header whose value cannot be used.
    InvalidHeader,
    /// 400: a screening file whose header line cannot be read.
    BadHeader,
    /// 400: a screening upload that broke off or could not be read.
    UploadFailed,
    /// 401: no API key, or one that is unknown or revoked.
    Unauthorized,
    /// 403: a key without the role, action or authority the request needs.
    Forbidden,
    /// 404: no such route.
    NotFound,
    /// 404: no record of the subject.
    UnknownSubject,
    /// 404: no such entry.
    UnknownEntry,
    /// 404: no such disclosure (or none the caller may see).
    UnknownDisclosure,
    /// 404: the audit log was turned off (`serve --no-audit`).
    AuditOff,
    /// 405: the route exists, not with this method (see `Allow`).
    MethodNotAllowed,
    /// 408: the request body did not arrive in time.
    BodyTimeout,
    /// 409: the write conflicts with the entry's state (a lifecycle step
    /// it cannot take).
    Conflict,
    /// 413: the request body is larger than the route accepts.
    PayloadTooLarge,
    /// 500: the server failed while answering; logged.
    Internal,
    /// 500: the store failed; logged.
    StoreError,
    /// 500: the audit log could not be read; logged.
    AuditError,
    /// 500: a screening upload could not be stored; logged.
    SpoolFailed,
    /// 503: screenings at their limit; try again later.
    Busy,
    /// 421: a read replica; writes go to the primary, which the message names.
    NotPrimary,
    /// 503: the replicated log cannot take the write now; reads go on.
    ReplicationUnavailable,
    /// 503: a read asked for a change sequence this replica has not applied
    /// within the wait.
    NotCaughtUp,
    /// 404: the server makes no snapshots (started without `--snapshot-dir`).
    SnapshotOff,
    /// 429: the key is over its requests a second (see `Retry-After`).
    RateLimited,
    /// 429: the key has used its daily quota (see `Retry-After`).
    QuotaExhausted,
    /// 431: the request head is larger than the server reads.
    HeadersTooLarge,
    /// 414: the request line is longer than the server reads.
    UriTooLong,
    /// 400: a request that is not HTTP/1.1 the server can read (request
    /// line, header syntax).
    MalformedRequest,
    /// No watch with this id is visible to the caller.
    UnknownWatch,
    /// No decision with this id is visible to the caller.
    UnknownDecision,
}

impl Code {
    /// Every code, in the order of the table.
    pub const ALL: [Code; 39] = [
        Code::InvalidId,
        Code::UnknownAction,
        Code::InvalidDate,
        Code::MissingParameter,
        Code::UnknownParameter,
        Code::BadQuery,
        Code::InvalidParameter,
        Code::InvalidBody,
        Code::BadBody,
        Code::InvalidHeader,
        Code::BadHeader,
        Code::UploadFailed,
        Code::Unauthorized,
        Code::Forbidden,
        Code::NotFound,
        Code::UnknownSubject,
        Code::UnknownEntry,
        Code::AuditOff,
        Code::MethodNotAllowed,
        Code::BodyTimeout,
        Code::Conflict,
        Code::PayloadTooLarge,
        Code::Internal,
        Code::StoreError,
        Code::AuditError,
        Code::SpoolFailed,
        Code::Busy,
        Code::NotPrimary,
        Code::ReplicationUnavailable,
        Code::NotCaughtUp,
        Code::SnapshotOff,
        Code::RateLimited,
        Code::QuotaExhausted,
        Code::HeadersTooLarge,
        Code::UriTooLong,
        Code::MalformedRequest,
        Code::UnknownDisclosure,
        Code::UnknownWatch,
        Code::UnknownDecision,
    ];

    /// The table: the code's name and HTTP status.
    const fn row(self) -> (&'static str, StatusCode) {
        match self {
            Code::InvalidId => ("invalid_id", StatusCode::BAD_REQUEST),
            Code::UnknownAction => ("unknown_action", StatusCode::BAD_REQUEST),
            Code::InvalidDate => ("invalid_date", StatusCode::BAD_REQUEST),
            Code::MissingParameter => ("missing_parameter", StatusCode::BAD_REQUEST),
            Code::UnknownParameter => ("unknown_parameter", StatusCode::BAD_REQUEST),
            Code::BadQuery => ("bad_query", StatusCode::BAD_REQUEST),
            Code::InvalidParameter => ("invalid_parameter", StatusCode::BAD_REQUEST),
            Code::InvalidBody => ("invalid_body", StatusCode::BAD_REQUEST),
            Code::BadBody => ("bad_body", StatusCode::BAD_REQUEST),
            Code::InvalidHeader => ("invalid_header", StatusCode::BAD_REQUEST),
            Code::BadHeader => ("bad_header", StatusCode::BAD_REQUEST),
            Code::UploadFailed => ("upload_failed", StatusCode::BAD_REQUEST),
            Code::Unauthorized => ("unauthorized", StatusCode::UNAUTHORIZED),
            Code::Forbidden => ("forbidden", StatusCode::FORBIDDEN),
            Code::NotFound => ("not_found", StatusCode::NOT_FOUND),
            Code::UnknownSubject => ("unknown_subject", StatusCode::NOT_FOUND),
            Code::UnknownEntry => ("unknown_entry", StatusCode::NOT_FOUND),
            Code::AuditOff => ("audit_off", StatusCode::NOT_FOUND),
            Code::MethodNotAllowed => ("method_not_allowed", StatusCode::METHOD_NOT_ALLOWED),
            Code::BodyTimeout => ("body_timeout", StatusCode::REQUEST_TIMEOUT),
            Code::Conflict => ("conflict", StatusCode::CONFLICT),
            Code::PayloadTooLarge => ("payload_too_large", StatusCode::PAYLOAD_TOO_LARGE),
            Code::Internal => ("internal", StatusCode::INTERNAL_SERVER_ERROR),
            Code::StoreError => ("store_error", StatusCode::INTERNAL_SERVER_ERROR),
            Code::AuditError => ("audit_error", StatusCode::INTERNAL_SERVER_ERROR),
            Code::SpoolFailed => ("spool_failed", StatusCode::INTERNAL_SERVER_ERROR),
            Code::Busy => ("busy", StatusCode::SERVICE_UNAVAILABLE),
            Code::NotPrimary => ("not_primary", StatusCode::MISDIRECTED_REQUEST),
            Code::ReplicationUnavailable => {
                ("replication_unavailable", StatusCode::SERVICE_UNAVAILABLE)
            }
            Code::NotCaughtUp => ("not_caught_up", StatusCode::SERVICE_UNAVAILABLE),
            Code::SnapshotOff => ("snapshot_off", StatusCode::NOT_FOUND),
            Code::RateLimited => ("rate_limited", StatusCode::TOO_MANY_REQUESTS),
            Code::QuotaExhausted => ("quota_exhausted", StatusCode::TOO_MANY_REQUESTS),
            Code::HeadersTooLarge => (
                "headers_too_large",
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            ),
            Code::UriTooLong => ("uri_too_long", StatusCode::URI_TOO_LONG),
            Code::MalformedRequest => ("malformed_request", StatusCode::BAD_REQUEST),
            Code::UnknownDisclosure => ("unknown_disclosure", StatusCode::NOT_FOUND),
            Code::UnknownWatch => ("unknown_watch", StatusCode::NOT_FOUND),
            Code::UnknownDecision => ("unknown_decision", StatusCode::NOT_FOUND),
        }
    }

    /// The code as the body names it.
    pub const fn name(self) -> &'static str {
        self.row().0
    }

    /// The HTTP status it is sent with.
    pub const fn status(self) -> StatusCode {
        self.row().1
    }

    /// For a 5xx: logs `cause` (what failed, in the system's own words)
    /// and gives the message the client gets, which says only `what`
    /// failed and that it was logged.
    pub fn logged(self, what: &str, cause: &dyn std::fmt::Display) -> String {
        tracing::error!("{what} failed ({}): {cause}", self.name());
        format!("{what} failed; the cause has been logged")
    }
}

/// A refused request: its code (which sets the status), message and, for
/// a refusal of the caller's credentials, rights or rate, the reason the
/// audit records.
pub(super) struct Refusal(
    pub(super) Code,
    pub(super) String,
    pub(super) Option<RefusedFor>,
);

impl Refusal {
    /// A refusal with `code` (its status from [`Code`]) and `message`.
    pub(super) fn new(code: Code, message: impl Into<String>) -> Refusal {
        Refusal(code, message.into(), None)
    }

    /// The same refusal, audited as refused for `reason` (401, 403, 429).
    pub(super) fn audited(mut self, reason: RefusedFor) -> Refusal {
        self.2 = Some(reason);
        self
    }

    /// The error reply.
    pub(super) fn reply(self) -> Reply {
        error_reply(self.0, &self.1)
    }
}

/// A handler's answer, or why it refuses.
pub(super) type Answer = Result<Reply, Refusal>;

/// The 500 for work (`what`) that panicked; the panic itself is on stderr.
pub(super) fn internal(what: &str) -> Refusal {
    Refusal::new(Code::Internal, format!("{what} failed; it has been logged"))
}

/// The 500 for a failing store: the cause is logged, not sent.
pub(super) fn store_failed(e: crate::store::StoreError) -> Refusal {
    if let crate::store::StoreError::Replication(why) = e {
        return Refusal::new(Code::ReplicationUnavailable, why);
    }
    let code = Code::StoreError;
    Refusal::new(code, code.logged("the store", &e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_one_name_and_an_error_status() {
        let mut names: Vec<&str> = Code::ALL.iter().map(|c| c.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Code::ALL.len());
        for code in Code::ALL {
            assert!(code.status().is_client_error() || code.status().is_server_error());
            assert!(
                code.name()
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'_')
            );
        }
    }

    /// The README lists every code with its status, and nothing else.
    #[test]
    fn the_readme_lists_the_table() {
        let readme = include_str!("../../README.md");
        let start = readme
            .find("<!-- error codes -->")
            .expect("README marks its error list");
        let end = readme
            .find("<!-- end of error codes -->")
            .expect("and its end");
        let listed = &readme[start..end];
        for code in Code::ALL {
            let row = format!("| `{}` | {} |", code.name(), code.status().as_u16());
            assert!(listed.contains(&row), "README lacks {row}");
        }
        let rows = listed
            .lines()
            .filter(|l| l.trim_start().starts_with("| `"))
            .count();
        assert_eq!(
            rows,
            Code::ALL.len(),
            "README lists codes the table does not have"
        );
    }
}
