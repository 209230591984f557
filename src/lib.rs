//! # creditgate
//!
//! The query and matching engine of a provincial public credit platform
//! (Jiangxi's 赣府字〔2016〕101号 plan): it answers *may this subject do this,
//! today?* from the red and black lists and the joint incentive and punishment
//! measures that apply to each list category.
//!
//! The layers, bottom up:
//!
//! * [`id`]: identifiers parsed once into compact [`id::SubjectKey`]s;
//! * [`date`]: calendar dates as four-byte day numbers;
//! * [`model`]: subjects and list entries, their NDJSON records and validation;
//! * [`catalog`]: the measures catalog loaded from `data/catalog.toml`;
//! * [`decide`]: the decision rule, a pure function over the above;
//! * [`store`]: RocksDB, the durable source of truth;
//! * [`import`]: streaming, parallel bulk import into the store;
//! * [`index`]: in-memory indexes over the store (the hot-path status index);
//! * [`engine`]: check and show, answering in the shapes of SPEC §6;
//! * [`search`]: finding subjects by name;
//! * [`screen`]: bulk screening of files of rows;
//! * [`lifecycle`]: objection, outcome, repair and revocation as rules;
//! * [`access`]: API keys, roles and masking of personal data;
//! * [`audit`]: the record of who asked what, off the hot path;
//! * [`server`]: the HTTP service.
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

pub mod access;
pub mod audit;
pub mod catalog;
pub mod date;
pub mod decide;
pub mod engine;
pub mod hex;
pub mod id;
pub mod import;
pub mod index;
pub mod lifecycle;
pub mod merge;
pub mod model;
pub mod ndjson;
pub mod priority;
pub mod sample;
pub mod screen;
pub mod search;
pub mod server;
pub mod store;
pub mod vocab;
