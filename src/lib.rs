//! # creditgate
//!
//! The query and matching engine of a provincial public credit platform
//! (Jiangxi's 赣府字〔2016〕101号 plan): it answers *may this subject do this,
//! today?* from the red and black lists and the joint incentive and punishment
//! measures that apply to each list category.
//!
//! The layers, bottom up (a module uses only modules above it in this
//! list; `tests/layers.rs` checks that no two top-level modules import
//! each other):
//!
//! * [`date`]: calendar dates as four-byte day numbers;
//! * [`id`]: identifiers parsed once into compact [`SubjectKey`]s;
//! * `hex`, `merge`, `ndjson` (internal): hexadecimal, the k-way merge of
//!   sorted runs, NDJSON line reading with line numbers;
//! * [`priority`]: background threads yielding the CPU to requests;
//! * `vocab` (re-exported by [`model`]): list kinds and persons' roles;
//! * [`catalog`]: the measures catalog loaded from `data/catalog.toml`;
//! * [`calendar`]: the working-day calendar of `data/calendar.toml`, for
//!   the 7-working-day rule of 双公示;
//! * [`model`]: subjects and list entries, their NDJSON records and
//!   validation, entry statuses and the kinds of change;
//! * [`decide`](mod@decide): the decision rule, a pure function over the above;
//! * [`disclosure`]: 双公示 licensing and penalty decisions, their
//!   timeliness, publication windows and repair;
//! * [`lifecycle`]: objection, outcome, repair and revocation as rules;
//! * [`rate`]: per-key rate limits (a token bucket and a daily quota);
//! * [`access`]: API keys, roles and masking of personal data;
//! * [`audit`]: the record of who asked what, off the hot path;
//! * [`store`]: RocksDB, the durable source of truth; it knows no rules and
//!   takes them from its callers as closures;
//! * [`import`]: streaming, parallel bulk import into the store;
//! * [`sample`]: the bundled sample data as a store;
//! * [`search`]: finding subjects by name;
//! * [`index`]: in-memory indexes over the store (the hot-path status index);
//! * [`engine`]: check and show, answering in the shapes of SPEC §6;
//! * [`backup`]: consistent copies of a store while it serves, asked
//!   over the store's control socket;
//! * [`replication`]: the primary's replicated log and the read replicas
//!   that follow it, over NATS JetStream;
//! * [`screen`]: bulk screening of files of rows;
//! * [`watch`]: watches of subjects, their changes and the signed webhooks
//!   that deliver them;
//! * [`server`]: the HTTP service;
//! * `fuzzing` (hidden): one entry point per parser of outside input, for
//!   `tools/fuzz` and the corpora's replay.
//!
//! The types most users need are re-exported here: [`Engine`] over a
//! [`Store`] and a [`Catalog`], asked with a [`SubjectKey`] and a [`Date`],
//! answering a [`CheckAnswer`] whose [`Verdict`] comes from [`decide()`].
//! The modules stay public for the binary, the tools and the benchmarks;
//! what is internal to a layer is `pub(crate)` or private.
//!
//! ```
//! use creditgate::{catalog::Catalog, date::Date, model::parse_entry_line};
//! use creditgate::decide::{decide, SubjectView, Verdict};
//!
//! let catalog = Catalog::bundled();
//! let entry = parse_entry_line(r#"{"entry_id":"JXFY-2019-000123","subject_id":"91360100705500005G",
//!     "list":"black","category":"dishonest_debtor","authority":"江西省高级人民法院",
//!     "basis":"(2019)赣01执123号","decided_at":"2019-03-01","expires_at":"2024-03-01"}"#, &catalog).unwrap();
//! let entries = [entry];
//! let view = SubjectView { known: true, entries: &entries, roles: &[] };
//! let flight = catalog.action_by_code("flight").unwrap();
//! let at: Date = "2020-06-01".parse().unwrap();
//! assert_eq!(decide(&catalog, &view, flight, at).verdict, Verdict::Deny);
//! let later: Date = "2024-03-01".parse().unwrap();
//! assert_eq!(decide(&catalog, &view, flight, later).verdict, Verdict::Allow);
//! ```
#![warn(missing_docs)]

pub use catalog::{ActionId, Catalog};
pub use date::Date;
pub use decide::{Decision, Verdict, decide};
pub use engine::{CheckAnswer, Engine, SubjectAnswer};
pub use id::{IdError, SubjectKey, SubjectKind};
pub use model::{Entry, Subject};
pub use store::{Store, StoreError};

pub mod access;
pub mod audit;
pub mod backup;
pub mod calendar;
pub mod catalog;
pub mod date;
pub mod decide;
pub mod disclosure;
pub mod engine;
#[doc(hidden)]
pub mod fuzzing;
pub(crate) mod hex;
pub mod id;
pub mod import;
pub mod index;
pub mod lifecycle;
pub(crate) mod merge;
pub mod model;
pub(crate) mod ndjson;
pub mod priority;
pub mod rate;
pub mod replication;
pub mod sample;
pub mod screen;
pub mod search;
pub mod server;
pub mod store;
mod vocab;
pub mod watch;
