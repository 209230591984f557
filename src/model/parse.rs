//! Reading records from JSON: one import line or one write body into a
//! [`SubjectRecord`] or an [`EntryRecord`], each error naming its field;
//! fields a record does not have refused ([`parse_record`], the HTTP
//! writes) or left out and counted ([`parse_record_leaving_out`], the
//! importer).

use serde::Deserialize;

use super::{
    Entry, EntryRecord, PersonLinkRecord, Problem, RecordError, Subject, SubjectRecord, field_error,
};
use crate::catalog::Catalog;
use crate::date::Date;

/// Reads one JSON line into a record, naming the field of a type error.
pub fn parse_record<'de, T: Deserialize<'de>>(line: &'de str) -> Result<T, RecordError> {
    // Most lines are good: read them without tracking the path, which cost
    // a seventh of the parse, and read a bad one again to name its field.
    if let Ok(value) = serde_json::from_str(line) {
        return Ok(value);
    }
    let mut de = serde_json::Deserializer::from_str(line);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| json_error(e, "line"))?;
    de.end()
        .map_err(|e| field_error("line", Problem::Json(e.to_string())))?;
    Ok(value)
}

/// The fields a record has, to leave out the others
/// ([`parse_record_leaving_out`]).
pub trait RecordFields {
    /// Its fields.
    const FIELDS: &'static [&'static str];

    /// Removes from `map` (the record as JSON) the fields the record does
    /// not have, at any depth; appends their paths to `left_out`.
    fn leave_out_unknown(
        map: &mut serde_json::Map<String, serde_json::Value>,
        left_out: &mut Vec<String>,
    ) {
        retain_fields(map, Self::FIELDS, left_out);
    }
}

/// Removes from `map` the fields not in `fields`; appends their names to
/// `left_out`.
fn retain_fields(
    map: &mut serde_json::Map<String, serde_json::Value>,
    fields: &[&str],
    left_out: &mut Vec<String>,
) {
    map.retain(|k, _| {
        let known = fields.contains(&k.as_str());
        if !known {
            left_out.push(k.clone());
        }
        known
    });
}

impl RecordFields for EntryRecord {
    const FIELDS: &'static [&'static str] = &[
        "entry_id",
        "subject_id",
        "list",
        "category",
        "authority",
        "basis",
        "decided_at",
        "effective_from",
        "expires_at",
        "status",
    ];
}

impl RecordFields for PersonLinkRecord {
    const FIELDS: &'static [&'static str] = &["id", "role"];
}

impl RecordFields for SubjectRecord {
    const FIELDS: &'static [&'static str] = &["id", "kind", "name", "aliases", "persons"];

    fn leave_out_unknown(
        map: &mut serde_json::Map<String, serde_json::Value>,
        left_out: &mut Vec<String>,
    ) {
        retain_fields(map, Self::FIELDS, left_out);
        if let Some(serde_json::Value::Array(persons)) = map.get_mut("persons") {
            for (i, p) in persons.iter_mut().enumerate() {
                if let serde_json::Value::Object(link) = p {
                    let mut inner = Vec::new();
                    PersonLinkRecord::leave_out_unknown(link, &mut inner);
                    left_out.extend(inner.into_iter().map(|f| format!("persons[{i}].{f}")));
                }
            }
        }
    }
}

/// Reads one JSON line into a record as [`parse_record`] does, but leaves
/// out fields the record does not have (an import's extra columns) instead
/// of refusing the line; returns their paths with the record, for the
/// import's summary to count. A good line costs what it costs
/// [`parse_record`]: only one that fails is read again.
pub fn parse_record_leaving_out<T>(line: &str) -> Result<(T, Vec<String>), RecordError>
where
    T: serde::de::DeserializeOwned + RecordFields,
{
    let first = match parse_record::<T>(line) {
        Ok(record) => return Ok((record, Vec::new())),
        Err(e) => e,
    };
    // A line naming a field twice stays refused: reading it as a map would
    // keep one of the two silently.
    let duplicate = matches!(&first.problem, Problem::Json(m) if m.starts_with("duplicate field"));
    let Ok(serde_json::Value::Object(mut map)) = serde_json::from_str(line) else {
        return Err(first);
    };
    if duplicate {
        return Err(first);
    }
    let mut left_out = Vec::new();
    T::leave_out_unknown(&mut map, &mut left_out);
    if left_out.is_empty() {
        return Err(first);
    }
    let record = serde_path_to_error::deserialize(serde_json::Value::Object(map))
        .map_err(|e| json_error(e, "line"))?;
    Ok((record, left_out))
}

/// A JSON error naming its field: the path where it occurred, or, for a
/// field missing, unknown or given twice (reported at the object's own
/// path), the field itself under that path. `whole` names the top level.
pub fn json_error<E: std::fmt::Display>(
    e: serde_path_to_error::Error<E>,
    whole: &str,
) -> RecordError {
    let path = e.path().to_string();
    let message = e.into_inner().to_string();
    let at = if path == "." || path == "?" {
        None
    } else {
        Some(path)
    };
    let named = ["missing field `", "unknown field `", "duplicate field `"]
        .iter()
        .find_map(|p| message.strip_prefix(p))
        .and_then(|rest| rest.split_once('`'))
        .map(|(field, _)| field.to_string());
    let field = match (at, named) {
        // An unknown field is reported at its own path.
        (Some(at), Some(f)) if at == f || at.ends_with(&format!(".{f}")) => at,
        (Some(at), Some(f)) => format!("{at}.{f}"),
        (None, Some(f)) => f,
        (Some(at), None) => at,
        (None, None) => whole.to_string(),
    };
    field_error(field, Problem::Json(message))
}

/// Parses and validates one line of `subjects.ndjson`.
pub fn parse_subject_line(line: &str) -> Result<Subject, RecordError> {
    parse_record::<SubjectRecord>(line)?.validate(Date::today())
}

/// Parses and validates one line of `entries.ndjson`.
pub fn parse_entry_line(line: &str, catalog: &Catalog) -> Result<Entry, RecordError> {
    parse_record::<EntryRecord>(line)?.validate(catalog, Date::today())
}
