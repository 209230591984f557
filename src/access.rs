//! API keys: who may ask what, and what they see.
//!
//! A key is a bearer token `cgk_<id>_<secret>` given once, when it is made
//! (`creditgate keys create`). The keys file keeps, per key, only the
//! SHA-256 of the token, beside what the key may do:
//!
//! * a **department** (the airline, the court, the registry) it speaks for;
//! * **roles**: `query` (check, search, subjects and entries, the change
//!   feed, execution feedback), `screen` (bulk screening), `publish`
//!   (subjects, entries and their lifecycle, for its named **authorities**
//!   only), `operator` (statistics, audit, metrics), `admin` (everything);
//! * for a query key, optionally the **actions** it may ask about (an
//!   airline: `flight` and `rail_premium`);
//! * whether it sees **personal data**: without it, identity numbers come
//!   back masked (`360102********1234`) and persons' names as `张*`.
//!
//! The file is JSON, rewritten whole on every change (temporary file,
//! fsync, rename), so a server reloading it never reads half a file. A
//! revoked key stays in the file with its revocation time, so the audit
//! trail can still name it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// What a key may do.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Checks, searches, subject and entry reads, the feed, feedback.
    Query,
    /// Bulk screening.
    Screen,
    /// Publishing and the lifecycle, for the key's authorities.
    Publish,
    /// Statistics, audit and metrics.
    Operator,
    /// Everything, personal data included.
    Admin,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 5] = [
        Role::Query,
        Role::Screen,
        Role::Publish,
        Role::Operator,
        Role::Admin,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Query => "query",
            Role::Screen => "screen",
            Role::Publish => "publish",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }

    /// The role with this name.
    pub fn parse(name: &str) -> Result<Role, String> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == name.trim())
            .ok_or_else(|| {
                format!(
                    "unknown role {name:?}; the roles are query, screen, publish, operator and admin"
                )
            })
    }
}

/// One key as the file keeps it. A field the file misspells is refused
/// when the file is read, not ignored (a misspelt `daily_quota` would
/// otherwise leave a key unlimited).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Key {
    /// The public part of the token (`cgk_<id>_…`), which names the key in
    /// the audit.
    pub id: String,
    /// `sha256:` and the hex SHA-256 of the whole token.
    pub hash: String,
    /// The department the key speaks for.
    pub department: String,
    /// What it may do.
    pub roles: Vec<Role>,
    /// Actions a query key may ask about; empty: all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<String>,
    /// Deciding departments a publish key writes for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authorities: Vec<String>,
    /// Sees identity numbers and persons' names unmasked.
    #[serde(default)]
    pub personal: bool,
    /// Requests a second, sustained (a token bucket); none: unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_per_second: Option<u32>,
    /// Requests admitted at once after a quiet spell (default: one second's
    /// worth).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burst: Option<u32>,
    /// Requests a day (China Standard Time); none: unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daily_quota: Option<u64>,
    /// When it was made, milliseconds since the Unix epoch.
    pub created_ms: u64,
    /// When it was revoked, if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_ms: Option<u64>,
}

impl Key {
    /// Whether the key holds `role` (an admin holds every role).
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&Role::Admin) || self.roles.contains(&role)
    }

    /// Whether the key may ask about `action`.
    pub fn may_ask(&self, action: &str) -> bool {
        self.actions.is_empty()
            || self.roles.contains(&Role::Admin)
            || self.actions.iter().any(|a| a == action)
    }

    /// Whether the key may write for `authority`.
    pub fn may_publish_for(&self, authority: &str) -> bool {
        self.roles.contains(&Role::Admin)
            || (self.roles.contains(&Role::Publish)
                && self.authorities.iter().any(|a| a == authority))
    }

    /// Whether the key sees personal data unmasked.
    pub fn sees_personal(&self) -> bool {
        self.personal || self.roles.contains(&Role::Admin)
    }

    /// Its rate limits.
    pub fn limits(&self) -> crate::rate::Limits {
        crate::rate::Limits {
            per_second: self.rate_per_second,
            burst: self.burst,
            daily: self.daily_quota,
        }
    }
}

/// The keys file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeysFile {
    /// Layout version of the file.
    pub version: u32,
    /// Every key made, revoked ones included.
    pub keys: Vec<Key>,
}

/// The layout version this build reads and writes.
const KEYS_VERSION: u32 = 1;

/// Why the keys file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KeysError {
    /// Reading or writing it failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// What failed.
        source: std::io::Error,
    },
    /// Its content is not a keys file.
    #[error("{path}: not a creditgate keys file: {detail}")]
    Format {
        /// The file.
        path: String,
        /// What is wrong.
        detail: String,
    },
    /// A request the file cannot satisfy (unknown key, bad role…).
    #[error("{0}")]
    Invalid(String),
}

/// What a new key may do, as `creditgate keys create` is asked.
#[derive(Clone, Debug, Default)]
pub struct NewKey {
    /// The department.
    pub department: String,
    /// Its roles.
    pub roles: Vec<Role>,
    /// Actions (query keys); empty: all.
    pub actions: Vec<String>,
    /// Authorities (publish keys).
    pub authorities: Vec<String>,
    /// Sees personal data.
    pub personal: bool,
    /// Rate limits.
    pub limits: crate::rate::Limits,
}

/// Refuses limits of zero: a key that may make no request is revoked, not
/// limited.
fn check_limits(limits: &crate::rate::Limits) -> Result<(), KeysError> {
    if limits.per_second == Some(0) || limits.burst == Some(0) || limits.daily == Some(0) {
        return Err(KeysError::Invalid(
            "a rate, burst or daily quota is at least 1 (a key that may make no request is revoked)"
                .into(),
        ));
    }
    if limits.burst.is_some() && limits.per_second.is_none() {
        return Err(KeysError::Invalid("a burst needs a rate per second".into()));
    }
    Ok(())
}

/// The hex SHA-256 of a token, as the file keeps it.
pub fn token_hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256:");
    out.push_str(&crate::hex::encode(&digest));
    out
}

/// `n` random bytes from the operating system.
pub(crate) fn random_bytes(n: usize) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut out = vec![0; n];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut out)?;
    Ok(out)
}

/// The key id a token names: `cgk_<id>_<secret>` → `<id>`.
pub fn token_id(token: &str) -> Option<&str> {
    let rest = token.strip_prefix("cgk_")?;
    let (id, secret) = rest.split_once('_')?;
    (!id.is_empty() && !secret.is_empty()).then_some(id)
}

impl KeysFile {
    /// Reads the file at `path`; a missing file is an empty one.
    pub fn load(path: &Path) -> Result<KeysFile, KeysError> {
        let display = path.display().to_string();
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(KeysFile {
                    version: KEYS_VERSION,
                    keys: Vec::new(),
                });
            }
            Err(source) => {
                return Err(KeysError::Io {
                    path: display,
                    source,
                });
            }
        };
        KeysFile::parse(&text, &display)
    }

    /// Reads a keys file's text (`display` names it in errors).
    pub fn parse(text: &str, display: &str) -> Result<KeysFile, KeysError> {
        let display = display.to_string();
        let file: KeysFile = serde_json::from_str(text).map_err(|e| KeysError::Format {
            path: display.clone(),
            detail: e.to_string(),
        })?;
        if file.version != KEYS_VERSION {
            return Err(KeysError::Format {
                path: display,
                detail: format!(
                    "version {}; this build reads version {KEYS_VERSION}",
                    file.version
                ),
            });
        }
        Ok(file)
    }

    /// Writes the file to `path` atomically (temporary file, fsync, rename).
    pub fn save(&self, path: &Path) -> Result<(), KeysError> {
        let io = |source| KeysError::Io {
            path: path.display().to_string(),
            source,
        };
        let tmp: PathBuf = path.with_extension("tmp");
        let mut f = std::fs::File::create(&tmp).map_err(io)?;
        let text = serde_json::to_string_pretty(self).expect("keys always encode");
        f.write_all(text.as_bytes()).map_err(io)?;
        f.write_all(b"\n").map_err(io)?;
        f.sync_all().map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)?;
        Ok(())
    }

    /// Makes a key; returns it and its token, which is not kept anywhere.
    pub fn create(&mut self, new: NewKey, now_ms: u64) -> Result<(Key, String), KeysError> {
        let department = new.department.trim().to_string();
        if department.is_empty() {
            return Err(KeysError::Invalid("a key needs a department".into()));
        }
        if new.roles.is_empty() {
            return Err(KeysError::Invalid(
                "a key needs at least one role (query, screen, publish, operator, admin)".into(),
            ));
        }
        if new.roles.contains(&Role::Publish) && new.authorities.is_empty() {
            return Err(KeysError::Invalid(
                "a publish key needs the authorities it publishes for (--authority)".into(),
            ));
        }
        check_limits(&new.limits)?;
        let random = random_bytes(38).map_err(|source| KeysError::Io {
            path: "/dev/urandom".into(),
            source,
        })?;
        let id = crate::hex::encode(&random[..6]);
        let token = format!("cgk_{id}_{}", crate::hex::encode(&random[6..]));
        let key = Key {
            id,
            hash: token_hash(&token),
            department,
            roles: new.roles,
            actions: new.actions,
            authorities: new.authorities,
            personal: new.personal,
            rate_per_second: new.limits.per_second,
            burst: new.limits.burst,
            daily_quota: new.limits.daily,
            created_ms: now_ms,
            revoked_ms: None,
        };
        self.keys.push(key.clone());
        Ok((key, token))
    }

    /// Sets the limits of the key with this id (replacing the ones it had).
    pub fn set_limits(&mut self, id: &str, limits: crate::rate::Limits) -> Result<&Key, KeysError> {
        check_limits(&limits)?;
        let key = self
            .keys
            .iter_mut()
            .find(|k| k.id == id)
            .ok_or_else(|| KeysError::Invalid(format!("no key {id:?} in the file")))?;
        key.rate_per_second = limits.per_second;
        key.burst = limits.burst;
        key.daily_quota = limits.daily;
        Ok(key)
    }

    /// Revokes the key with this id.
    pub fn revoke(&mut self, id: &str, now_ms: u64) -> Result<&Key, KeysError> {
        let key = self
            .keys
            .iter_mut()
            .find(|k| k.id == id)
            .ok_or_else(|| KeysError::Invalid(format!("no key {id:?} in the file")))?;
        if key.revoked_ms.is_some() {
            return Err(KeysError::Invalid(format!("key {id} is already revoked")));
        }
        key.revoked_ms = Some(now_ms);
        Ok(key)
    }
}

/// Why a request's credentials are refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization: Bearer …` header (401).
    #[error("this server requires an API key: send \"Authorization: Bearer <token>\"")]
    Missing,
    /// A header that is not a creditgate bearer token (401).
    #[error("the Authorization header is not \"Bearer cgk_…\"")]
    Malformed,
    /// A token no key has (401).
    #[error("the API key is not known")]
    Unknown,
    /// A revoked key (401).
    #[error("the API key {0} was revoked")]
    Revoked(String),
}

/// A key a server accepted, with its limiter.
#[derive(Clone, Debug)]
pub struct Holder {
    /// The key.
    pub key: Arc<Key>,
    /// Its rate limits' state (kept across reloads of the file).
    pub limiter: Arc<crate::rate::Limiter>,
}

/// The keys a server accepts, by id.
#[derive(Debug, Default)]
pub struct Keyring {
    keys: std::collections::HashMap<String, Holder>,
}

impl Keyring {
    /// The keys of `file`.
    pub fn new(file: &KeysFile) -> Keyring {
        Keyring::reloaded(file, &Keyring::default())
    }

    /// The keys of `file`, re-read while serving: a key already in
    /// `previous` keeps its limiter (what it used of its quota today, its
    /// bucket), with the limits the file now sets.
    pub fn reloaded(file: &KeysFile, previous: &Keyring) -> Keyring {
        Keyring {
            keys: file
                .keys
                .iter()
                .map(|k| {
                    let limiter = previous
                        .keys
                        .get(&k.id)
                        .map_or_else(Arc::default, |h| h.limiter.clone());
                    let holder = Holder {
                        key: Arc::new(k.clone()),
                        limiter,
                    };
                    (k.id.clone(), holder)
                })
                .collect(),
        }
    }

    /// The key with this id, revoked or not.
    pub fn key(&self, id: &str) -> Option<&Arc<Key>> {
        self.keys.get(id).map(|h| &h.key)
    }

    /// The key an `Authorization` header value presents.
    pub fn authenticate(&self, header: Option<&[u8]>) -> Result<&Holder, AuthError> {
        let header = header.ok_or(AuthError::Missing)?;
        let text = std::str::from_utf8(header)
            .map_err(|_| AuthError::Malformed)?
            .trim();
        let token = match text.split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
            _ => return Err(AuthError::Malformed),
        };
        let id = token_id(token).ok_or(AuthError::Malformed)?;
        let holder = self.keys.get(id).ok_or(AuthError::Unknown)?;
        let key = &holder.key;
        if !same(token_hash(token).as_bytes(), key.hash.as_bytes()) {
            return Err(AuthError::Unknown);
        }
        if key.revoked_ms.is_some() {
            return Err(AuthError::Revoked(key.id.clone()));
        }
        Ok(holder)
    }
}

/// The key id an `Authorization` header presents, whether or not the key
/// exists (for the audit of a refused call).
pub fn presented_key_id(header: Option<&[u8]>) -> Option<&str> {
    let text = std::str::from_utf8(header?).ok()?.trim();
    let (scheme, token) = text.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token_id(token.trim()))
        .flatten()
}

/// Equal bytes, compared in time that does not depend on where they differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The characters of an 18-character identity number that masking hides:
/// the birth date, between the division code and the last four. A key that
/// sees personal data masked may not test them either (search filters,
/// masked ids in screening).
pub const MASKED_ID_CHARS: std::ops::Range<usize> = crate::id::HIDDEN_CHARS;

/// An identity number masked as public lists print it: the division code
/// and the last four characters kept (`360102********1234`).
pub fn mask_id(id: &str) -> String {
    let mut bytes = id.as_bytes().to_vec();
    if bytes.len() == 18 && id.is_ascii() {
        mask_id_in_place(&mut bytes);
        String::from_utf8(bytes).unwrap_or_default()
    } else {
        "*".repeat(id.chars().count())
    }
}

/// [`mask_id`] in place, for answers written without serde: `id` is the
/// 18 ASCII characters of an identity number.
pub fn mask_id_in_place(id: &mut [u8]) {
    if id.len() == 18 {
        id[MASKED_ID_CHARS].fill(b'*');
    }
}

/// Masks the identity number a check answer written without serde starts
/// with (`{"id":"360102199003031234",…`), in place: the only personal datum
/// in such an answer (a `via` names organizations).
pub fn mask_answer_id(answer: &mut [u8]) {
    const HEAD: &[u8] = b"{\"id\":\"";
    if answer.starts_with(HEAD) && answer.len() >= HEAD.len() + 18 {
        mask_id_in_place(&mut answer[HEAD.len()..HEAD.len() + 18]);
    }
}

/// A person's name masked: the first character kept (`张*`, `欧阳**`
/// becomes `欧**`).
pub fn mask_name(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => {
            let mut out = first.to_string();
            out.extend(chars.map(|_| '*'));
            out
        }
        None => String::new(),
    }
}

/// Whether `text` is a (valid) resident identity number.
fn is_person_id(text: &str) -> bool {
    crate::id::SubjectKey::parse(text).is_ok_and(|k| k.kind() == crate::id::SubjectKind::Person)
}

/// Fields that hold a subject's identifier.
const ID_FIELDS: [&str; 3] = ["id", "subject_id", "person_id"];
/// Fields that hold a subject's name.
const NAME_FIELDS: [&str; 2] = ["name", "matched_name"];

/// Masks the personal data in an answer, wherever it is: every identifier
/// field (`id`, `subject_id`) holding an identity number, and in an object
/// that describes a person (such an identifier, or `"kind":"person"`) its
/// `name`, `matched_name` and `aliases`. Organizations' codes and names
/// are public and stay.
pub fn mask_json(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Array(items) => items.iter_mut().for_each(mask_json),
        Value::Object(map) => {
            let mut person = map.get("kind").and_then(Value::as_str) == Some("person");
            for field in ID_FIELDS {
                if let Some(Value::String(id)) = map.get_mut(field)
                    && is_person_id(id)
                {
                    *id = mask_id(id);
                    person = true;
                }
            }
            if person {
                for field in NAME_FIELDS {
                    if let Some(Value::String(name)) = map.get_mut(field) {
                        *name = mask_name(name);
                    }
                }
                if let Some(Value::Array(aliases)) = map.get_mut("aliases") {
                    for a in aliases {
                        if let Value::String(name) = a {
                            *name = mask_name(name);
                        }
                    }
                }
            }
            for (_, v) in map.iter_mut() {
                if v.is_array() || v.is_object() {
                    mask_json(v);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_key(file: &mut KeysFile, roles: Vec<Role>) -> (Key, String) {
        file.create(
            NewKey {
                department: "东方航空".into(),
                roles,
                actions: vec!["flight".into()],
                authorities: vec!["南昌市中级人民法院".into()],
                personal: false,
                limits: crate::rate::Limits::default(),
            },
            1,
        )
        .unwrap()
    }

    #[test]
    fn tokens_authenticate_by_hash_and_revocation_holds() {
        let mut file = KeysFile::default();
        let (key, token) = sample_key(&mut file, vec![Role::Query]);
        assert!(token.starts_with(&format!("cgk_{}_", key.id)));
        assert_eq!(key.hash, token_hash(&token));
        assert!(!serde_json::to_string(&file).unwrap().contains(&token[10..]));
        let ring = Keyring::new(&file);
        let header = format!("Bearer {token}");
        assert_eq!(
            ring.authenticate(Some(header.as_bytes())).unwrap().key.id,
            key.id
        );
        assert_eq!(ring.authenticate(None).unwrap_err(), AuthError::Missing);
        assert_eq!(
            ring.authenticate(Some(b"Basic abc")).unwrap_err(),
            AuthError::Malformed
        );
        let forged = format!("Bearer cgk_{}_{}", key.id, "0".repeat(64));
        assert_eq!(
            ring.authenticate(Some(forged.as_bytes())).unwrap_err(),
            AuthError::Unknown
        );
        file.revoke(&key.id, 2).unwrap();
        assert!(file.revoke(&key.id, 3).is_err());
        let ring = Keyring::new(&file);
        assert_eq!(
            ring.authenticate(Some(header.as_bytes())).unwrap_err(),
            AuthError::Revoked(key.id.clone())
        );
        assert_eq!(
            presented_key_id(Some(header.as_bytes())),
            Some(key.id.as_str())
        );
        assert_eq!(presented_key_id(Some(b"Bearer nonsense")), None);
    }

    #[test]
    fn limits_are_kept_in_the_file_and_limiters_across_reloads() {
        let mut file = KeysFile::default();
        let (key, token) = sample_key(&mut file, vec![Role::Query]);
        let limits = crate::rate::Limits {
            per_second: Some(5),
            burst: None,
            daily: Some(100),
        };
        file.set_limits(&key.id, limits).unwrap();
        let text = serde_json::to_string(&file).unwrap();
        assert!(text.contains("\"rate_per_second\":5") && text.contains("\"daily_quota\":100"));
        let ring = Keyring::new(&file);
        let header = format!("Bearer {token}");
        let held = ring.authenticate(Some(header.as_bytes())).unwrap();
        assert_eq!(held.key.limits(), limits);
        let now = crate::date::epoch_ms();
        held.limiter.take_from_quota(100, 7, now).unwrap();
        let again = Keyring::reloaded(&file, &ring);
        let held = again.authenticate(Some(header.as_bytes())).unwrap();
        assert_eq!(held.limiter.used_today(now), 7);
        assert!(
            file.set_limits(
                &key.id,
                crate::rate::Limits {
                    daily: Some(0),
                    ..limits
                }
            )
            .is_err()
        );
    }

    #[test]
    fn a_misspelt_field_in_the_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.json");
        let mut file = KeysFile::default();
        sample_key(&mut file, vec![Role::Query]);
        let text = serde_json::to_string(&file)
            .unwrap()
            .replace("\"personal\"", "\"daily_qouta\":10,\"personal\"");
        std::fs::write(&path, text).unwrap();
        let e = KeysFile::load(&path).unwrap_err().to_string();
        assert!(e.contains("daily_qouta"), "{e}");
    }

    #[test]
    fn roles_actions_and_authorities() {
        let mut file = KeysFile::default();
        let (query, _) = sample_key(&mut file, vec![Role::Query]);
        assert!(query.has(Role::Query) && !query.has(Role::Screen));
        assert!(query.may_ask("flight") && !query.may_ask("real_estate"));
        assert!(!query.may_publish_for("南昌市中级人民法院"));
        let (publish, _) = sample_key(&mut file, vec![Role::Publish]);
        assert!(publish.may_publish_for("南昌市中级人民法院"));
        assert!(!publish.may_publish_for("江西省高级人民法院"));
        let (admin, _) = sample_key(&mut file, vec![Role::Admin]);
        assert!(admin.has(Role::Operator) && admin.may_ask("exit") && admin.sees_personal());
        assert!(
            file.create(
                NewKey {
                    department: "x".into(),
                    roles: vec![Role::Publish],
                    ..NewKey::default()
                },
                1
            )
            .is_err()
        );
    }

    #[test]
    fn the_file_round_trips_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.json");
        assert!(KeysFile::load(&path).unwrap().keys.is_empty());
        let mut file = KeysFile::load(&path).unwrap();
        sample_key(&mut file, vec![Role::Operator]);
        file.save(&path).unwrap();
        assert_eq!(KeysFile::load(&path).unwrap(), file);
        std::fs::write(&path, "{\"version\":9,\"keys\":[]}").unwrap();
        assert!(
            KeysFile::load(&path)
                .unwrap_err()
                .to_string()
                .contains("version 9")
        );
    }

    #[test]
    fn answers_are_masked_where_they_name_persons() {
        let mut v = serde_json::json!({
            "id": "91360100705500005G", "name": "江西华远科技有限公司",
            "persons": [{"id": "11010519491231002X", "role": "legal_rep"}],
            "results": [{"id": "11010519491231002X", "name": "张伟", "matched_name": "张伟", "kind": "person"}],
            "subject": {"kind": "person", "name": "李娜", "aliases": ["李小娜"]},
            "entry": {"subject_id": "11010519491231002X", "authority": "法院"}
        });
        mask_json(&mut v);
        assert_eq!(v["id"], "91360100705500005G");
        assert_eq!(v["name"], "江西华远科技有限公司");
        assert_eq!(v["persons"][0]["id"], "110105********002X");
        assert_eq!(v["results"][0]["name"], "张*");
        assert_eq!(v["results"][0]["matched_name"], "张*");
        assert_eq!(v["subject"]["name"], "李*");
        assert_eq!(v["subject"]["aliases"][0], "李**");
        assert_eq!(v["entry"]["subject_id"], "110105********002X");
        assert_eq!(v["entry"]["authority"], "法院");
    }

    #[test]
    fn masks() {
        assert_eq!(mask_id("36010219880101123X"), "360102********123X");
        assert_eq!(mask_name("张伟"), "张*");
        assert_eq!(mask_name("欧阳娜娜"), "欧***");
    }
}
