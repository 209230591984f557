//! Screening input: how an uploaded file is encoded and laid out, and its
//! rows in batches.
//!
//! Files come from spreadsheets and other departments' systems, so the
//! reader accepts what they produce:
//!
//! * **encoding**: UTF-8 with or without a byte-order mark; UTF-16 when a
//!   byte-order mark says so (a spreadsheet's "Unicode text"); any other
//!   WHATWG label on request (`gbk`, `gb18030`, `big5`…), decoded with
//!   `encoding_rs`. A UTF-8 row that is not valid UTF-8 is an error naming
//!   the byte, with a hint to ask for GBK.
//! * **layout**: NDJSON (`{"ref","id","name"}` per line) or CSV with a
//!   header naming the columns `ref`, `id` and `name` in any order (also
//!   their usual Chinese headings: 序号, 证件号码, 统一社会信用代码, 名称,
//!   姓名…); other columns are ignored. Tab-separated when the header has
//!   tabs and no commas. Without a stated format, a first line starting
//!   with `{` means NDJSON.
//!
//! One CSV record is one line: a quoted field may hold commas and doubled
//! quotes but not a line break. A line break inside quotes would let one
//! unterminated quote swallow the rest of an upload into a single record;
//! as it is, every row is bounded ([`MAX_ROW_BYTES`]) and an unterminated
//! quote is an error for that line alone.

use std::borrow::Cow;
use std::io::{self, BufReader, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use encoding_rs::Encoding;
use serde::Deserialize;

use crate::ndjson::{LineError, LineReader};

/// The longest row accepted, in bytes (after decoding).
pub const MAX_ROW_BYTES: usize = 64 << 10;

/// Rows in one batch handed to a worker.
const BATCH_ROWS: usize = 1024;

/// Bytes of row text in one batch, at most (a batch closes at either bound).
const BATCH_BYTES: usize = 256 << 10;

/// How rows are laid out, in an upload or in an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// One JSON object per line (an answer ends with a summary object).
    Ndjson,
    /// Comma- (or, read, tab-) separated values with a header line (an
    /// answer ends with a summary record).
    Csv,
}

impl Format {
    /// Reads `ndjson` or `csv`.
    pub fn parse(text: &str) -> Result<Format, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "ndjson" | "jsonl" | "json" => Ok(Format::Ndjson),
            "csv" => Ok(Format::Csv),
            other => Err(format!("expected ndjson or csv, found {other:?}")),
        }
    }

    /// The media type of an answer in this layout.
    pub fn media_type(self) -> &'static str {
        match self {
            Format::Ndjson => "application/x-ndjson; charset=utf-8",
            Format::Csv => "text/csv; charset=utf-8",
        }
    }
}

/// Reads an encoding label (`utf-8`, `gbk`, `gb18030`, `big5`…).
pub fn parse_encoding(label: &str) -> Result<&'static Encoding, String> {
    Encoding::for_label(label.trim().as_bytes()).ok_or_else(|| {
        format!("unknown encoding {label:?}; expected a label such as utf-8, gbk or gb18030")
    })
}

/// Why an input cannot be screened at all (as opposed to one bad row).
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// The CSV header does not name a usable column.
    #[error("{0}")]
    Header(String),
    /// Reading failed.
    #[error("cannot read the input: {0}")]
    Io(#[from] io::Error),
}

/// Why one row cannot be screened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// Stable code: `bad_row`, `invalid_id`, `missing_field`…
    pub code: &'static str,
    /// What is wrong, naming the field.
    pub message: String,
}

impl RowError {
    pub(crate) fn new(code: &'static str, message: impl Into<String>) -> RowError {
        RowError {
            code,
            message: message.into(),
        }
    }
}

/// A row's `ref`, echoed as given: text, or a number in NDJSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ref<'a> {
    /// The text (a number's digits).
    pub text: Cow<'a, str>,
    /// Whether it was a JSON number.
    pub number: bool,
}

impl Ref<'_> {
    fn number(n: impl ToString) -> Ref<'static> {
        Ref {
            text: Cow::Owned(n.to_string()),
            number: true,
        }
    }
}

/// The fields of one row. Empty strings count as absent.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Fields<'a> {
    /// The caller's reference for the row.
    pub reference: Option<Ref<'a>>,
    /// An identifier, possibly masked.
    pub id: Option<Cow<'a, str>>,
    /// A name.
    pub name: Option<Cow<'a, str>>,
}

/// Where the CSV columns are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Columns {
    delimiter: u8,
    reference: Option<usize>,
    id: Option<usize>,
    name: Option<usize>,
}

/// NDJSON, or CSV with its columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layout {
    /// One JSON object per line.
    Ndjson,
    /// Separated values.
    Csv(Columns),
}

/// Headings accepted for each column, compared after trimming and lower-casing.
const REF_HEADINGS: &[&str] = &["ref", "reference", "序号", "编号", "参考号"];
const ID_HEADINGS: &[&str] = &[
    "id",
    "证件号码",
    "身份证号",
    "身份证号码",
    "统一社会信用代码",
    "信用代码",
    "证照号码",
];
const NAME_HEADINGS: &[&str] = &["name", "名称", "姓名", "企业名称", "单位名称", "主体名称"];

impl Columns {
    /// Reads a header line (`line_no` for messages).
    pub fn from_header(line: &str, line_no: u64) -> Result<Columns, String> {
        let delimiter = if line.contains('\t') && !line.contains(',') {
            b'\t'
        } else {
            b','
        };
        let mut fields = Vec::new();
        split_csv(line, delimiter, &mut fields)
            .map_err(|e| format!("CSV header (line {line_no}): {e}"))?;
        let mut columns = Columns {
            delimiter,
            reference: None,
            id: None,
            name: None,
        };
        for (i, heading) in fields.iter().enumerate() {
            let h = heading.trim().trim_start_matches('\u{feff}').to_lowercase();
            let slot = if REF_HEADINGS.contains(&h.as_str()) {
                &mut columns.reference
            } else if ID_HEADINGS.contains(&h.as_str()) {
                &mut columns.id
            } else if NAME_HEADINGS.contains(&h.as_str()) {
                &mut columns.name
            } else {
                continue;
            };
            if let Some(first) = slot.replace(i) {
                return Err(format!(
                    "CSV header (line {line_no}): columns {} ({:?}) and {} ({heading:?}) both name the same field",
                    first + 1,
                    fields[first],
                    i + 1
                ));
            }
        }
        if columns.id.is_none() && columns.name.is_none() {
            return Err(format!(
                "CSV header (line {line_no}) has no id or name column; found {:?}; expected the columns ref, id and name (or 序号, 证件号码/统一社会信用代码, 名称/姓名), in any order",
                fields
            ));
        }
        Ok(columns)
    }
}

impl Layout {
    /// The fields of the row `text`.
    pub fn fields<'a>(&self, text: &'a str) -> Result<Fields<'a>, RowError> {
        match self {
            Layout::Ndjson => ndjson_fields(text),
            Layout::Csv(columns) => csv_fields(text, columns),
        }
    }
}

/// An NDJSON row as it is read.
#[derive(Deserialize)]
struct JsonRow<'a> {
    #[serde(default, rename = "ref", borrow, deserialize_with = "reference")]
    reference: Option<Ref<'a>>,
    #[serde(default, borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    name: Option<Cow<'a, str>>,
}

/// A `ref` is a string or a number.
fn reference<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Ref<'de>>, D::Error> {
    struct Visitor;
    impl<'de> serde::de::Visitor<'de> for Visitor {
        type Value = Option<Ref<'de>>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a string or a number")
        }
        fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
            Ok(Some(Ref {
                text: Cow::Borrowed(v),
                number: false,
            }))
        }
        fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Some(Ref {
                text: Cow::Owned(v.to_string()),
                number: false,
            }))
        }
        fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Some(Ref::number(v)))
        }
        fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(Ref::number(v)))
        }
        fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
            Ok(Some(Ref::number(v)))
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
    }
    d.deserialize_any(Visitor)
}

fn present(field: Option<Cow<'_, str>>) -> Option<Cow<'_, str>> {
    field.filter(|f| !f.trim().is_empty())
}

fn ndjson_fields(text: &str) -> Result<Fields<'_>, RowError> {
    if !text.trim_start().starts_with('{') {
        return Err(RowError::new(
            "bad_row",
            "expected a JSON object {\"ref\",\"id\",\"name\"}",
        ));
    }
    let mut de = serde_json::Deserializer::from_str(text);
    let row: JsonRow<'_> = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let message = if path == "." {
            format!("not a valid row: {}", e.inner())
        } else {
            format!("field {path:?}: {}", e.inner())
        };
        RowError::new("bad_row", message)
    })?;
    de.end()
        .map_err(|e| RowError::new("bad_row", format!("not a valid row: {e}")))?;
    Ok(Fields {
        reference: row.reference.filter(|r| !r.text.is_empty()),
        id: present(row.id),
        name: present(row.name),
    })
}

fn csv_fields<'a>(text: &'a str, columns: &Columns) -> Result<Fields<'a>, RowError> {
    let mut fields = Vec::with_capacity(4);
    split_csv(text, columns.delimiter, &mut fields).map_err(|e| RowError::new("bad_row", e))?;
    let mut take = |i: Option<usize>| {
        i.and_then(|i| fields.get_mut(i))
            .map(std::mem::take)
            .and_then(|f| present(Some(f)))
    };
    Ok(Fields {
        reference: take(columns.reference).map(|text| Ref {
            text,
            number: false,
        }),
        id: take(columns.id),
        name: take(columns.name),
    })
}

/// Splits one CSV line into fields. A field in double quotes may hold the
/// delimiter and doubled quotes; a quote inside an unquoted field is kept
/// as a character, as spreadsheets read it.
pub fn split_csv<'a>(
    line: &'a str,
    delimiter: u8,
    out: &mut Vec<Cow<'a, str>>,
) -> Result<(), String> {
    let bytes = line.as_bytes();
    let mut i = 0;
    loop {
        let column = out.len() + 1;
        if bytes.get(i) == Some(&b'"') {
            // Quoted: up to the quote not followed by another.
            let start = i + 1;
            let mut j = start;
            let mut owned: Option<String> = None;
            loop {
                match bytes[j..].iter().position(|&b| b == b'"') {
                    None => {
                        return Err(format!(
                            "column {column}: the quoted field is not closed (a field cannot span lines)"
                        ));
                    }
                    Some(k) => {
                        let q = j + k;
                        if bytes.get(q + 1) == Some(&b'"') {
                            owned.get_or_insert_with(String::new).push_str(&line[j..=q]);
                            j = q + 2;
                            continue;
                        }
                        let field = match owned.take() {
                            Some(mut s) => {
                                s.push_str(&line[j..q]);
                                Cow::Owned(s)
                            }
                            None => Cow::Borrowed(&line[start..q]),
                        };
                        out.push(field);
                        i = q + 1;
                        break;
                    }
                }
            }
            match bytes.get(i) {
                None => return Ok(()),
                Some(&b) if b == delimiter => i += 1,
                Some(_) => {
                    return Err(format!(
                        "column {column}: text after the closing quote (expected the delimiter)"
                    ));
                }
            }
        } else {
            match bytes[i..].iter().position(|&b| b == delimiter) {
                Some(k) => {
                    out.push(Cow::Borrowed(&line[i..i + k]));
                    i += k + 1;
                }
                None => {
                    out.push(Cow::Borrowed(&line[i..]));
                    return Ok(());
                }
            }
        }
    }
}

/// Bytes of the raw input read so far, for progress.
#[derive(Clone, Default)]
pub struct BytesRead(Arc<AtomicU64>);

impl BytesRead {
    /// The count.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

struct Counting<R> {
    inner: R,
    count: BytesRead,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.0.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Decodes a byte stream in another encoding into UTF-8.
struct Decode<R> {
    inner: R,
    decoder: encoding_rs::Decoder,
    raw: Vec<u8>,
    out: Vec<u8>,
    at: usize,
    done: bool,
}

impl<R: Read> Read for Decode<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.at == self.out.len() {
            if self.done {
                return Ok(0);
            }
            let n = loop {
                match self.inner.read(&mut self.raw) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                }
            };
            let last = n == 0;
            let room = self.decoder.max_utf8_buffer_length(n).unwrap_or(n * 3 + 16);
            self.out.resize(room, 0);
            let (_, read, written, _) =
                self.decoder
                    .decode_to_utf8(&self.raw[..n], &mut self.out, last);
            debug_assert_eq!(read, n, "the output was sized for the whole input");
            self.out.truncate(written);
            self.at = 0;
            self.done = last;
        }
        let n = buf.len().min(self.out.len() - self.at);
        buf[..n].copy_from_slice(&self.out[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// A row as read: its line and text, or why it could not be read.
enum RawRow {
    Text { line: u64, start: u32, end: u32 },
    Bad { line: u64, error: RowError },
}

/// Consecutive rows for one worker.
pub struct Batch {
    /// Order of the batch in the input, from 0.
    pub seq: u64,
    /// The number of the batch's first row (1-based, header not counted).
    pub first_row: u64,
    text: String,
    rows: Vec<RawRow>,
}

/// One row of a batch.
pub struct Row<'a> {
    /// 1-based row number (blank lines and the CSV header not counted).
    pub row: u64,
    /// 1-based line number in the input.
    pub line: u64,
    /// Its fields, or why it has none.
    pub fields: Result<Fields<'a>, RowError>,
}

impl Batch {
    /// Rows in the batch.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether the batch has no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The rows, their fields read by `layout`.
    pub fn rows<'a>(&'a self, layout: &'a Layout) -> impl Iterator<Item = Row<'a>> + 'a {
        self.rows.iter().enumerate().map(move |(i, r)| {
            let row = self.first_row + i as u64;
            match r {
                RawRow::Text { line, start, end } => Row {
                    row,
                    line: *line,
                    fields: layout.fields(&self.text[*start as usize..*end as usize]),
                },
                RawRow::Bad { line, error } => Row {
                    row,
                    line: *line,
                    fields: Err(error.clone()),
                },
            }
        })
    }
}

type Lines = LineReader<BufReader<Box<dyn Read + Send>>>;

/// An opened input: its encoding found, its layout read, its rows to come.
pub struct Input {
    lines: Lines,
    layout: Layout,
    /// The encoding rows are decoded from (UTF-8: not decoded, checked).
    encoding: &'static Encoding,
    /// The first row, read while finding the layout.
    pending: Option<(u64, Result<String, LineError>)>,
    bytes: BytesRead,
    next_seq: u64,
    next_row: u64,
    /// A read error met after some rows of a batch: reported on the next
    /// call, once those rows are answered.
    failed: Option<io::Error>,
}

impl Input {
    /// Opens `raw`: a byte-order mark decides the encoding, else `encoding`
    /// (UTF-8 when `None`); `format` the layout, else the first line.
    pub fn open(
        raw: impl Read + Send + 'static,
        format: Option<Format>,
        encoding: Option<&'static Encoding>,
    ) -> Result<Input, InputError> {
        let bytes = BytesRead::default();
        let mut raw = Counting {
            inner: raw,
            count: bytes.clone(),
        };
        // Up to three bytes, for a byte-order mark.
        let mut head = [0u8; 3];
        let mut got = 0;
        while got < 3 {
            match raw.read(&mut head[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
        let raw = io::Cursor::new(head[..got].to_vec()).chain(raw);
        let (encoding, reader): (&'static Encoding, Box<dyn Read + Send>) =
            match Encoding::for_bom(&head[..got]) {
                // The line reader drops a UTF-8 mark itself.
                Some((enc, _)) if enc == encoding_rs::UTF_8 => (enc, Box::new(raw)),
                Some((enc, _)) => (enc, decoder(raw, enc.new_decoder_with_bom_removal())),
                None => match encoding {
                    Some(enc) if enc != encoding_rs::UTF_8 => {
                        (enc, decoder(raw, enc.new_decoder_without_bom_handling()))
                    }
                    _ => (encoding_rs::UTF_8, Box::new(raw)),
                },
            };
        let mut lines = LineReader::new(BufReader::with_capacity(64 << 10, reader), MAX_ROW_BYTES);
        let first = lines.next_line()?.map(|(n, l)| (n, l.map(str::to_string)));
        // Judged from the bytes: a first line that is not UTF-8 (GBK read
        // without saying so) still shows its brace.
        let looks_json = first.is_some()
            && lines
                .last_line()
                .iter()
                .find(|b| !b.is_ascii_whitespace())
                .is_some_and(|&b| b == b'{');
        if let (None, Some((n, Err(e @ LineError::TooLong { .. })))) = (format, &first) {
            return Err(InputError::Header(format!(
                "line {n}: {e}, so whether the input is NDJSON or CSV cannot be told from it; say format=ndjson or format=csv"
            )));
        }
        let format = format.unwrap_or_else(|| {
            if looks_json || first.is_none() {
                Format::Ndjson
            } else {
                Format::Csv
            }
        });
        let (layout, pending) = match format {
            Format::Ndjson => (Layout::Ndjson, first),
            Format::Csv => match &first {
                None => (
                    Layout::Csv(Columns {
                        delimiter: b',',
                        reference: None,
                        id: None,
                        name: None,
                    }),
                    None,
                ),
                Some((n, Ok(header))) => (
                    Layout::Csv(Columns::from_header(header, *n).map_err(InputError::Header)?),
                    None,
                ),
                Some((n, Err(e))) => {
                    return Err(InputError::Header(format!(
                        "CSV header (line {n}): {}",
                        line_error_message(e, encoding)
                    )));
                }
            },
        };
        Ok(Input {
            lines,
            layout,
            encoding,
            pending,
            bytes,
            next_seq: 0,
            next_row: 1,
            failed: None,
        })
    }

    /// How rows are laid out.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The encoding the input is read in.
    pub fn encoding(&self) -> &'static Encoding {
        self.encoding
    }

    /// A counter of the raw bytes read, for progress.
    pub fn bytes_read(&self) -> BytesRead {
        self.bytes.clone()
    }

    /// The next batch of rows, `None` at the end. When reading fails, the
    /// rows read before the failure come first, then the error.
    pub fn next_batch(&mut self) -> io::Result<Option<Batch>> {
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        let mut batch = Batch {
            seq: self.next_seq,
            first_row: self.next_row,
            text: String::new(),
            rows: Vec::with_capacity(BATCH_ROWS),
        };
        if let Some((line, text)) = self.pending.take() {
            push(&mut batch, line, text.as_deref(), self.encoding);
        }
        while batch.rows.len() < BATCH_ROWS && batch.text.len() < BATCH_BYTES {
            match self.lines.next_line() {
                Ok(Some((line, text))) => {
                    push(&mut batch, line, text.as_ref().map(|t| *t), self.encoding);
                }
                Ok(None) => break,
                Err(e) if batch.rows.is_empty() => return Err(e),
                Err(e) => {
                    self.failed = Some(e);
                    break;
                }
            }
        }
        if batch.rows.is_empty() {
            return Ok(None);
        }
        self.next_seq += 1;
        self.next_row += batch.rows.len() as u64;
        Ok(Some(batch))
    }
}

fn decoder(raw: impl Read + Send + 'static, decoder: encoding_rs::Decoder) -> Box<dyn Read + Send> {
    Box::new(Decode {
        inner: raw,
        decoder,
        raw: vec![0; 64 << 10],
        out: Vec::new(),
        at: 0,
        done: false,
    })
}

fn push(batch: &mut Batch, line: u64, text: Result<&str, &LineError>, encoding: &'static Encoding) {
    let row = match text {
        // Bytes the decoder could not read became U+FFFD.
        Ok(t) if encoding != encoding_rs::UTF_8 && t.contains('\u{FFFD}') => RawRow::Bad {
            line,
            error: RowError::new(
                "bad_encoding",
                format!(
                    "the line has bytes that are not valid {}; is the file in another encoding?",
                    encoding.name()
                ),
            ),
        },
        Ok(t) => {
            let start = batch.text.len() as u32;
            batch.text.push_str(t);
            RawRow::Text {
                line,
                start,
                end: batch.text.len() as u32,
            }
        }
        Err(e) => RawRow::Bad {
            line,
            error: RowError::new("bad_row", line_error_message(e, encoding)),
        },
    };
    batch.rows.push(row);
}

fn line_error_message(e: &LineError, encoding: &'static Encoding) -> String {
    match e {
        LineError::NotUtf8 { .. } if encoding == encoding_rs::UTF_8 => format!(
            "{e}; if the file is in GBK (as spreadsheets in China often save it), say so: encoding=gbk"
        ),
        e => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that hands out its bytes in the chunk sizes given, as a
    /// socket or a spooled upload may.
    struct Chunked {
        bytes: Vec<u8>,
        sizes: Vec<usize>,
        at: usize,
        turn: usize,
    }

    impl Read for Chunked {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let size = self.sizes[self.turn % self.sizes.len()].max(1);
            self.turn += 1;
            let n = size.min(buf.len()).min(self.bytes.len() - self.at);
            buf[..n].copy_from_slice(&self.bytes[self.at..self.at + n]);
            self.at += n;
            Ok(n)
        }
    }

    proptest::proptest! {
        /// Differential (issue #20): the streaming decoder, fed random
        /// bytes in random chunks (a GBK character split between two
        /// reads), gives what `encoding_rs` gives decoding them at once.
        #[test]
        fn gbk_decoded_in_chunks_is_gbk_decoded_at_once(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2048),
            sizes in proptest::collection::vec(1usize..300, 1..8),
        ) {
            let whole = encoding_rs::GBK.decode_without_bom_handling(&bytes).0.into_owned();
            let mut streamed = String::new();
            let chunked = Chunked { bytes, sizes, at: 0, turn: 0 };
            decoder(chunked, encoding_rs::GBK.new_decoder_without_bom_handling())
                .read_to_string(&mut streamed)
                .unwrap();
            proptest::prop_assert_eq!(streamed, whole);
        }
    }

    fn split(line: &str) -> Result<Vec<String>, String> {
        let mut out = Vec::new();
        split_csv(line, b',', &mut out)?;
        Ok(out.into_iter().map(Cow::into_owned).collect())
    }

    #[test]
    fn csv_fields_quoted_and_not() {
        assert_eq!(split("a,b,,c").unwrap(), ["a", "b", "", "c"]);
        assert_eq!(
            split(r#""x, y","say ""hi""",z"#).unwrap(),
            ["x, y", r#"say "hi""#, "z"]
        );
        assert_eq!(
            split(r#"""#).unwrap_err(),
            "column 1: the quoted field is not closed (a field cannot span lines)"
        );
        assert_eq!(
            split(r#"a,"b"c"#).unwrap_err(),
            "column 2: text after the closing quote (expected the delimiter)"
        );
        assert_eq!(split(r#"a"b,c"#).unwrap(), [r#"a"b"#, "c"]);
        assert_eq!(split("").unwrap(), [""]);
        assert_eq!(split("a,").unwrap(), ["a", ""]);
    }

    #[test]
    fn header_columns_in_any_order_and_in_chinese() {
        let c = Columns::from_header("name,extra,ID,ref", 1).unwrap();
        assert_eq!((c.reference, c.id, c.name), (Some(3), Some(2), Some(0)));
        let c = Columns::from_header("序号\t姓名\t身份证号码", 1).unwrap();
        assert_eq!(c.delimiter, b'\t');
        assert_eq!((c.reference, c.id, c.name), (Some(0), Some(2), Some(1)));
        let e = Columns::from_header("a,b", 3).unwrap_err();
        assert!(e.contains("line 3") && e.contains("no id or name"), "{e}");
        let e = Columns::from_header("id,证件号码", 1).unwrap_err();
        assert!(e.contains("both name the same field"), "{e}");
    }

    #[test]
    fn ndjson_rows_echo_refs_and_drop_empty_fields() {
        let f = ndjson_fields(r#"{"ref":7,"id":"","name":"张三","x":[1]}"#).unwrap();
        assert_eq!(
            f.reference,
            Some(Ref {
                text: "7".into(),
                number: true
            })
        );
        assert_eq!((f.id, f.name.as_deref()), (None, Some("张三")));
        let e = ndjson_fields(r#"{"id":5}"#).unwrap_err();
        assert!(e.message.contains("expected a string"), "{}", e.message);
        let e = ndjson_fields("[1]").unwrap_err();
        assert_eq!(e.code, "bad_row");
    }

    fn rows(
        input: &[u8],
        format: Option<Format>,
        enc: Option<&str>,
    ) -> Vec<(u64, u64, Result<Fields<'static>, RowError>)> {
        let enc = enc.map(|e| parse_encoding(e).unwrap());
        let mut input = Input::open(io::Cursor::new(input.to_vec()), format, enc).unwrap();
        let mut out = Vec::new();
        while let Some(b) = input.next_batch().unwrap() {
            for r in b.rows(input.layout()) {
                let fields = r.fields.map(|f| Fields {
                    reference: f.reference.map(|r| Ref {
                        text: Cow::Owned(r.text.into_owned()),
                        number: r.number,
                    }),
                    id: f.id.map(|i| Cow::Owned(i.into_owned())),
                    name: f.name.map(|n| Cow::Owned(n.into_owned())),
                });
                out.push((r.row, r.line, fields));
            }
        }
        out
    }

    #[test]
    fn csv_with_bom_gbk_and_utf16_read_alike() {
        let text = "ref,name,id\r\n1,江西华远科技有限公司,91360100705500005G\r\n\r\n2,张伟,\r\n";
        let utf8 = rows(text.as_bytes(), None, None);
        let mut bom = b"\xEF\xBB\xBF".to_vec();
        bom.extend_from_slice(text.as_bytes());
        let (gbk, _, _) = encoding_rs::GBK.encode(text);
        let mut utf16 = vec![0xFF, 0xFE];
        for u in text.encode_utf16() {
            utf16.extend_from_slice(&u.to_le_bytes());
        }
        assert_eq!(utf8.len(), 2);
        assert_eq!((utf8[1].0, utf8[1].1), (2, 4));
        assert_eq!(utf8[1].2.as_ref().unwrap().name.as_deref(), Some("张伟"));
        assert_eq!(utf8[1].2.as_ref().unwrap().id, None);
        assert_eq!(rows(&bom, None, None), utf8);
        assert_eq!(rows(&gbk, None, Some("gbk")), utf8);
        assert_eq!(rows(&utf16, None, None), utf8);
        // GBK read as UTF-8: each row says what is wrong and what to do.
        let wrong = rows(&gbk, Some(Format::Ndjson), None);
        let e = wrong[1].2.as_ref().unwrap_err();
        assert!(e.message.contains("encoding=gbk"), "{}", e.message);
    }

    #[test]
    fn ndjson_is_recognised_and_bad_lines_are_rows() {
        let got = rows(
            b"{\"ref\":\"a\",\"id\":\"x\"}\nnot json\n{\"name\":\"n\"}\n",
            None,
            None,
        );
        assert_eq!(got.len(), 3);
        assert!(got[0].2.is_ok());
        assert_eq!(got[1].2.as_ref().unwrap_err().code, "bad_row");
        assert_eq!((got[2].0, got[2].1), (3, 3));
    }

    #[test]
    fn a_csv_header_without_id_or_name_is_refused() {
        let e = Input::open(io::Cursor::new(b"a,b\n1,2\n".to_vec()), None, None)
            .err()
            .unwrap();
        assert!(matches!(e, InputError::Header(_)), "{e}");
    }

    #[test]
    fn an_overlong_first_line_is_a_row_error_once_the_format_is_known() {
        let mut text = format!("{{\"name\":\"{}\"}}\n", "a".repeat(MAX_ROW_BYTES));
        text.push_str("{\"id\":\"x\"}\n");
        let e = Input::open(io::Cursor::new(text.clone().into_bytes()), None, None)
            .err()
            .unwrap();
        assert!(e.to_string().contains("format=ndjson"), "{e}");
        let got = rows(text.as_bytes(), Some(Format::Ndjson), None);
        assert!(
            got[0]
                .2
                .as_ref()
                .unwrap_err()
                .message
                .contains("longer than")
        );
        assert_eq!(got[1].2.as_ref().unwrap().id.as_deref(), Some("x"));
    }

    #[test]
    fn batches_are_bounded_and_numbered() {
        let mut text = String::from("id\n");
        for i in 0..2500 {
            text.push_str(&format!("{i}\n"));
        }
        let mut input = Input::open(io::Cursor::new(text.into_bytes()), None, None).unwrap();
        let mut seen = Vec::new();
        while let Some(b) = input.next_batch().unwrap() {
            seen.push((b.seq, b.first_row, b.len()));
        }
        assert_eq!(seen, [(0, 1, 1024), (1, 1025, 1024), (2, 2049, 452)]);
    }
}
