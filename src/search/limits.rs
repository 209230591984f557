//! Every cap and score weight of the name search, named in one place.
//!
//! The caps bound the work of one query and of the index's delta. The
//! weights are chosen so that 0.8 separates "this is the company, typed
//! another way" from "a company whose name is alike" (see [`super::score`]
//! for how they combine): an exact core is 1, every other way of reading
//! the core scores below 0.8 on its own, and the factors for region, legal
//! form and branch take away a little when one side leaves a part out and
//! more when the parts differ. Changing one changes the search quality set's
//! scores (`cargo test --release -p creditgate-gen`): measure before and
//! after.

// ---- Caps ----

/// Above this many changed subjects, opening rebuilds the segment instead of
/// holding them in a delta.
pub const MAX_DELTA: usize = 200_000;
/// Most names read for one core (a core shared by thousands of names is a
/// weak clue; the first ones are enough to rank).
pub const CAP_PER_CORE: usize = 2_000;
/// Most cores taken for a name typed in part.
pub const CAP_PREFIX: usize = 200;
/// Most candidate names scored for one query.
pub const CAP_CANDIDATES: usize = 20_000;
/// Results when no limit is given.
pub const DEFAULT_LIMIT: usize = 10;
/// The largest limit accepted.
pub const MAX_LIMIT: usize = 100;
/// The longest query, in characters after normalization. Names are far
/// shorter; the bound keeps a query's work (deletion keys) small.
pub const MAX_QUERY_CHARS: usize = 100;

// ---- The core's score ----

/// The query's core is the name's.
pub const CORE_EQUAL: f64 = 1.0;
/// Typed in pinyin, and the name's core reads so.
pub const PINYIN_TYPED: f64 = 0.9;
/// Typed in characters that sound as the name's (a homophone).
pub const HOMOPHONE: f64 = 0.79;
/// A typo (one or two edits): `TYPO_BASE + TYPO_SPAN × (1 − edits /
/// length)`, so at most 0.77.
pub const TYPO_BASE: f64 = 0.55;
/// See [`TYPO_BASE`].
pub const TYPO_SPAN: f64 = 0.25;
/// A typo in pinyin typed: `PINYIN_TYPO_BASE + TYPO_SPAN × (1 − edits /
/// length)`.
pub const PINYIN_TYPO_BASE: f64 = 0.5;
/// The least a core found through a typo is assumed able to score when the
/// search decides whether typo candidates can still reach the results.
pub const TYPO_BOUND_FLOOR: f64 = 0.75;
/// A name typed in part: `PREFIX_BASE + PREFIX_SPAN × typed / length`,
/// below a typo of the same length (the query does not say how the name
/// goes on).
pub const PREFIX_BASE: f64 = 0.5;
/// See [`PREFIX_BASE`].
pub const PREFIX_SPAN: f64 = 0.2;
/// Fewest characters of a core typed in part that are looked up as a
/// prefix.
pub const PREFIX_MIN_CHARS: usize = 3;
/// Fewest letters of pinyin typed in part that are looked up as a prefix.
pub const PREFIX_MIN_PINYIN: usize = 6;

// ---- Factors for the other parts ----

/// The name has a region the query leaves out.
pub const REGION_NAME_ONLY: f64 = 0.97;
/// The query has a region the name leaves out.
pub const REGION_QUERY_ONLY: f64 = 0.96;
/// The regions share one but not all.
pub const REGION_SHARED: f64 = 0.99;
/// A county and the city of the same name (南昌县, 南昌).
pub const REGION_COUNTY: f64 = 0.97;
/// The regions differ.
pub const REGION_OTHER: f64 = 0.7;
/// One side names a legal form, the other none.
pub const FORM_ONE_SIDE: f64 = 0.96;
/// 公司 against a kind of company (有限, 股份, 集团).
pub const FORM_COMPANY_KIND: f64 = 0.95;
/// Two kinds of company.
pub const FORM_COMPANY_KINDS: f64 = 0.88;
/// Two kinds of partnership.
pub const FORM_PARTNERSHIPS: f64 = 0.9;
/// Legal forms of different families.
pub const FORM_OTHER: f64 = 0.8;
/// The name is a branch the query does not name.
pub const BRANCH_NAME_ONLY: f64 = 0.9;
/// The query names a branch the name is not.
pub const BRANCH_QUERY_ONLY: f64 = 0.85;
/// Different branches.
pub const BRANCH_OTHER: f64 = 0.8;

// ---- Former names and ties ----

/// A former name whose text is the query's: before any other name's
/// variant, after the current name typed exactly.
pub const ALIAS_EXACT: f64 = 0.995;
/// A former name otherwise: a little less sure than the current one.
pub const ALIAS_FACTOR: f64 = 0.97;
/// Among names alike in their parts, the whole text breaks the tie:
/// `score × (TIE_BASE + TIE_SPAN × likeness)`, below the exact texts.
pub const TIE_BASE: f64 = 0.98;
/// See [`TIE_BASE`].
pub const TIE_SPAN: f64 = 0.01;
