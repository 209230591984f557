//! The store's layout on disk: its column families, the keys in each, the
//! meta keys, the format version and the options every family is opened
//! with.
//!
//! Column families (keys are [`SubjectKey::to_bytes`], 12 bytes, unless noted):
//!
//! | family | key | value |
//! |---|---|---|
//! | `meta` | `format`, `next_seq`, `expiry_swept` | store format version, next change sequence, last day swept for expiries |
//! | `subjects` | subject | name, aliases, linked persons and roles |
//! | `entries` | entry id (UTF-8) | the entry, its category as a *code*, its lifecycle notes |
//! | `subject_entries` | subject + entry id | empty: the subject's entries |
//! | `person_orgs` | person + org + role byte | empty: where a person holds a role |
//! | `changes` | sequence (u64 big-endian) | what changed, when, and the entry after it |
//! | `history` | subject + sequence | the change, filed under its subject |
//! | `expiries` | `expires_at` (i32 big-endian, sign flipped) + entry id | empty: when each entry's term ends |
//! | `feedback` | entry id + `0x00` + recorded time + counter | an implementing department's execution feedback |
//! | `disclosures` | disclosure id (UTF-8) | a 双公示 disclosure, its timeliness and repair |
//! | `subject_disclosures` | subject + disclosure id | empty: the counterpart's disclosures |
//! | `disclosure_dates` | decision day (as `expiries`) + disclosure id | empty: disclosures by decision date |
//! | `entry_disclosures` | entry id + `0x00` + disclosure id | empty: the penalties linked to a black-list entry |
//! | `disclosure_tallies` | authority (UTF-8) | disclosures published and late, per kind |
//!
//! Node-local families ([`LOCAL_FAMILIES`]): what this node did, not what
//! the platform holds. They are neither replicated nor in the digest or a
//! replica's snapshot.
//!
//! | family | key | value |
//! |---|---|---|
//! | `watches` | `r` + watch id; `c` + watch id | a watch (its key, filter, callback, secret); its delivered sequence (u64 BE) |
//! | `watch_subjects` | watch id + `0x00` + subject | empty: the subjects a watch names |
//! | `watch_dead` | watch id + `0x00` + sequence (u64 BE) | a change whose delivery failed for good |
//! | `decisions` | decision id (UTF-8) | a decision that demands feedback, and the feedback |
//!
//! An organization's persons are in its `subjects` value; `person_orgs` is
//! the reverse direction, so a `via` lookup is one prefix scan.

use rocksdb::{BlockBasedOptions, Cache, Options};

use super::StoreError;
use crate::id::SubjectKey;

/// The on-disk layout version this build writes; version 1 is upgraded at
/// open.
pub const FORMAT_VERSION: u32 = 2;

pub(super) const CF_META: &str = "meta";
pub(super) const CF_SUBJECTS: &str = "subjects";
pub(super) const CF_ENTRIES: &str = "entries";
pub(super) const CF_SUBJECT_ENTRIES: &str = "subject_entries";
pub(super) const CF_PERSON_ORGS: &str = "person_orgs";
pub(super) const CF_CHANGES: &str = "changes";
pub(super) const CF_HISTORY: &str = "history";
pub(super) const CF_EXPIRIES: &str = "expiries";
pub(super) const CF_FEEDBACK: &str = "feedback";
pub(super) const CF_DISCLOSURES: &str = "disclosures";
pub(super) const CF_SUBJECT_DISCLOSURES: &str = "subject_disclosures";
pub(super) const CF_DISCLOSURE_DATES: &str = "disclosure_dates";
pub(super) const CF_ENTRY_DISCLOSURES: &str = "entry_disclosures";
pub(super) const CF_DISCLOSURE_TALLIES: &str = "disclosure_tallies";
pub(super) const FAMILIES: [&str; 14] = [
    CF_META,
    CF_SUBJECTS,
    CF_ENTRIES,
    CF_SUBJECT_ENTRIES,
    CF_PERSON_ORGS,
    CF_CHANGES,
    CF_HISTORY,
    CF_EXPIRIES,
    CF_FEEDBACK,
    CF_DISCLOSURES,
    CF_SUBJECT_DISCLOSURES,
    CF_DISCLOSURE_DATES,
    CF_ENTRY_DISCLOSURES,
    CF_DISCLOSURE_TALLIES,
];
pub(super) const CF_WATCHES: &str = "watches";
pub(super) const CF_WATCH_SUBJECTS: &str = "watch_subjects";
pub(super) const CF_WATCH_DEAD: &str = "watch_dead";
pub(super) const CF_DECISIONS: &str = "decisions";
/// The node-local families, opened beside [`FAMILIES`].
pub(super) const LOCAL_FAMILIES: [&str; 4] =
    [CF_WATCHES, CF_WATCH_SUBJECTS, CF_WATCH_DEAD, CF_DECISIONS];
pub(super) const KEY_FORMAT: &[u8] = b"format";
pub(super) const KEY_NEXT_SEQ: &[u8] = b"next_seq";
/// The last day whose lapsed entries have been logged (`i32` days, LE).
pub(super) const KEY_EXPIRY_SWEPT: &[u8] = b"expiry_swept";
pub(super) const KEY_LEN: usize = SubjectKey::LEN;
/// The replicated log's position of the last batch the store holds (`u64`,
/// BE; absent: 0, none).
pub(super) const KEY_STREAM_POS: &[u8] = b"stream_pos";

/// Options of every column family; also used to write SST files for bulk
/// ingestion, so that ingested files are built like flushed ones.
pub(super) fn family_options(cache: Option<&Cache>) -> Options {
    let mut table = BlockBasedOptions::default();
    if let Some(cache) = cache {
        table.set_block_cache(cache);
    }
    table.set_bloom_filter(10.0, false);
    // Partitioned index and filters: a bulk import writes SST files of up to
    // 256 MB, whose whole filter (12 MB per 10M keys) would not fit a cache
    // shard and was re-read from disk on every lookup (7 s to open a 10M
    // store). Partitions are cached a few KB at a time; the top level is pinned.
    table.set_index_type(rocksdb::BlockBasedIndexType::TwoLevelIndexSearch);
    table.set_partition_filters(true);
    table.set_pin_top_level_index_and_filter(true);
    table.set_cache_index_and_filter_blocks(true);
    table.set_pin_l0_filter_and_index_blocks_in_cache(true);
    let mut cf = Options::default();
    cf.set_block_based_table_factory(&table);
    cf.set_compression_type(rocksdb::DBCompressionType::Lz4);
    cf.set_write_buffer_size(64 << 20);
    cf
}

/// RocksDB info logs kept in a store (the current one and older ones),
/// however often the server restarts.
pub const KEPT_INFO_LOGS: usize = 5;

/// The block cache shared by every family, beside room for the entries
/// (`entries_cache_bytes`): the index and filter partitions and the
/// blocks of the other families. A flagged check whose blocks are not in
/// the cache waits for the disk ([`super::Reach`]). 256 MB keeps a server at 10^8
/// subjects within 4 GB of anonymous memory while it screens files with
/// names (4.21 GB with 512 MB, which screened such files 10% faster);
/// `serve --block-cache-mib` sets it.
pub const BLOCK_CACHE_BYTES: usize = 256 << 20;

/// Entries files above this size are not given room in the block cache:
/// their flagged checks read through it like any other family.
pub(super) const ENTRIES_CACHED_AT_MOST: u64 = 2 << 30;

/// The room the block cache adds for an entries family of `files` bytes
/// of LZ4 files: twice that, blocks being cached uncompressed. Flagged
/// checks read entries drawn over every flagged subject, so all of them are
/// hot: at 10^8 subjects the entries (416 MB of files) did not fit the
/// 512 MB cache, half of the flagged checks went to disk readers, and check
/// p99 (1% of checks are flagged) rose to 1–46 ms.
pub(super) fn entries_cache_bytes(files: u64) -> usize {
    if files > ENTRIES_CACHED_AT_MOST {
        0
    } else {
        2 * files as usize
    }
}

pub(super) fn key_from(bytes: &[u8], what: &'static str) -> Result<SubjectKey, StoreError> {
    // `ok_or_else`: formatting the error for every key read cost a scan of
    // 10^7 subjects seconds.
    SubjectKey::from_bytes(bytes).ok_or_else(|| StoreError::Corrupt {
        what,
        detail: format!("bad subject key {bytes:02x?}"),
    })
}

/// The `expiries` key of an entry ending on `day`: the day with its sign bit
/// flipped, big-endian (so keys sort by date), then the entry id. The
/// `disclosure_dates` keys are made the same way.
pub(super) fn expiry_key(day: i32, entry_id: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(4 + entry_id.len());
    k.extend_from_slice(&day_key(day));
    k.extend_from_slice(entry_id.as_bytes());
    k
}

/// A day as a key prefix that sorts by date: its sign bit flipped,
/// big-endian.
pub(super) fn day_key(day: i32) -> [u8; 4] {
    ((day as u32) ^ 0x8000_0000).to_be_bytes()
}

pub(super) fn entry_id_from(bytes: &[u8]) -> Result<&str, StoreError> {
    std::str::from_utf8(bytes).map_err(|_| StoreError::Corrupt {
        what: "entry id",
        detail: "not UTF-8".into(),
    })
}

pub(super) fn subject_entry_key(subject: &[u8; KEY_LEN], entry_id: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(KEY_LEN + entry_id.len());
    k.extend_from_slice(subject);
    k.extend_from_slice(entry_id.as_bytes());
    k
}

pub(super) fn person_org_key(
    person: &[u8; KEY_LEN],
    org: &[u8; KEY_LEN],
    role: u8,
) -> [u8; 2 * KEY_LEN + 1] {
    let mut k = [0u8; 2 * KEY_LEN + 1];
    k[..KEY_LEN].copy_from_slice(person);
    k[KEY_LEN..2 * KEY_LEN].copy_from_slice(org);
    k[2 * KEY_LEN] = role;
    k
}

pub(super) fn history_key(subject: &[u8; KEY_LEN], seq: u64) -> [u8; KEY_LEN + 8] {
    let mut k = [0u8; KEY_LEN + 8];
    k[..KEY_LEN].copy_from_slice(subject);
    k[KEY_LEN..].copy_from_slice(&seq.to_be_bytes());
    k
}
