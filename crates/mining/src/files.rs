//! The file interface: CSV in from a caller's reader, CSV out to a caller's writer. The
//! caller (the CLI) opens the files; nothing here touches the file system.
//!
//! Readers take a header row, find their columns by name (case-insensitive, surrounding
//! spaces and a UTF-8 byte-order mark ignored, extra columns allowed) and report bad rows
//! with their 1-based line number in the file (the header is line 1). Text ids (customer,
//! basket, item, group) are mapped to dense `u32` codes in order of first appearance; the
//! returned dictionary maps codes back to the original text.
//!
//! Large inputs without quote characters are parsed by two threads, each on one half of
//! the rows (split at a line break), and their dictionaries merged.

use crate::error::{MiningError, Result};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::io::Read;

/// A multiply-rotate hasher (the FxHash scheme) for short byte-string keys; the std SipHash
/// is several times slower on ten million ids and its DoS resistance buys nothing here.
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher(u64);

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let v = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
            self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.write(&[i]);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.0 = (self.0.rotate_left(5) ^ i as u64).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

pub(crate) type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// Text ids ↔ dense codes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dictionary {
    pub names: Vec<String>,
}

impl Dictionary {
    pub fn name(&self, code: u32) -> &str {
        self.names.get(code as usize).map_or("", String::as_str)
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

/// Assigns codes to text ids while parsing one chunk; only distinct ids are copied.
#[derive(Default)]
struct Interner {
    map: FxMap<Box<[u8]>, u32>,
    order: Vec<Box<[u8]>>,
}

impl Interner {
    #[inline]
    fn code(&mut self, key: &[u8]) -> u32 {
        let key = trim(key);
        if let Some(&c) = self.map.get(key) {
            return c;
        }
        let c = self.order.len() as u32;
        self.map.insert(key.into(), c);
        self.order.push(key.into());
        c
    }
}

/// Merges per-chunk interners into one dictionary (first appearance order across chunks);
/// returns, per chunk, the map from local to global codes.
fn merge_interners(parts: &[&Interner]) -> (Dictionary, Vec<Vec<u32>>) {
    if parts.len() == 1 {
        let names = parts[0]
            .order
            .iter()
            .map(|k| String::from_utf8_lossy(k).into_owned())
            .collect();
        let remap = (0..parts[0].order.len() as u32).collect();
        return (Dictionary { names }, vec![remap]);
    }
    let mut global: FxMap<&[u8], u32> = FxMap::default();
    let mut names = Vec::new();
    let mut remaps = Vec::new();
    for p in parts {
        let mut remap = Vec::with_capacity(p.order.len());
        for key in &p.order {
            let next = names.len() as u32;
            let code = *global.entry(&key[..]).or_insert_with(|| {
                names.push(String::from_utf8_lossy(key).into_owned());
                next
            });
            remap.push(code);
        }
        remaps.push(remap);
    }
    (Dictionary { names }, remaps)
}

/// A problem with one field, before the line number is known.
pub(crate) struct FieldError {
    column: usize,
    value: String,
    reason: &'static str,
}

type RowResult = std::result::Result<(), FieldError>;

fn field_error(column: usize, value: &[u8], reason: &'static str) -> FieldError {
    FieldError {
        column,
        value: String::from_utf8_lossy(value).into_owned(),
        reason,
    }
}

/// The whole input, the header's column names and where the data rows start.
struct Input {
    data: Vec<u8>,
    header: Vec<String>,
    body_start: usize,
}

fn read_input(reader: &mut dyn Read) -> Result<Input> {
    let mut data = Vec::new();
    reader
        .read_to_end(&mut data)
        .map_err(|e| MiningError::Csv {
            line: 0,
            message: format!("cannot read input: {e}"),
        })?;
    let start = if data.starts_with(&[0xEF, 0xBB, 0xBF]) {
        3
    } else {
        0
    };
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(&data[start..]);
    let mut record = csv::ByteRecord::new();
    let got = rdr
        .read_byte_record(&mut record)
        .map_err(|e| MiningError::Csv {
            line: 1,
            message: e.to_string(),
        })?;
    if !got {
        return Err(MiningError::Empty);
    }
    let header = record
        .iter()
        .map(|f| String::from_utf8_lossy(f).trim().to_string())
        .collect();
    let body_start = start + rdr.position().byte() as usize;
    Ok(Input {
        data,
        header,
        body_start,
    })
}

/// Index of the first column whose name matches one of `names` (case-insensitive).
fn find_column(header: &[String], names: &[&str]) -> Option<usize> {
    header
        .iter()
        .position(|h| names.iter().any(|n| h.eq_ignore_ascii_case(n)))
}

fn require_column(header: &[String], names: &[&str]) -> Result<usize> {
    find_column(header, names).ok_or_else(|| MiningError::MissingColumn {
        column: names[0].to_string(),
        found: header.join(","),
    })
}

/// Parses the data rows, in two parallel chunks when the input is large and has no quotes
/// (a quoted field may hold a line break; without quotes every line break ends a row).
/// `make` creates the per-chunk state, `row` consumes one record. Returns the states in
/// input order. Blank lines are skipped.
fn parse_rows<S, M, F>(input: &Input, make: M, row: F) -> Result<Vec<S>>
where
    S: Send,
    M: Fn() -> S + Sync,
    F: Fn(&mut S, &csv::ByteRecord) -> RowResult + Sync,
{
    let body = &input.data[input.body_start..];
    let header_lines = count_newlines(&input.data[..input.body_start]).max(1) as u64;
    let mut bounds = vec![0];
    if body.len() > 8 << 20 && !body.contains(&b'"') {
        let mid = body.len() / 2;
        if let Some(nl) = body[mid..].iter().position(|&b| b == b'\n') {
            bounds.push(mid + nl + 1);
        }
    }
    bounds.push(body.len());
    let chunk = |k: usize| -> Result<S> {
        let part = &body[bounds[k]..bounds[k + 1]];
        let mut state = make();
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(part);
        let mut record = csv::ByteRecord::new();
        let line_base = || header_lines + count_newlines(&body[..bounds[k]]) as u64;
        loop {
            match rdr.read_byte_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {}
                Err(e) => {
                    let line = e.position().map_or(0, |p| p.line());
                    return Err(MiningError::Csv {
                        line: line_base() + line,
                        message: e.to_string(),
                    });
                }
            }
            if record.len() == 1 && record[0].iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            if let Err(fe) = row(&mut state, &record) {
                let line = line_base() + record.position().map_or(0, |p| p.line());
                return Err(MiningError::BadValue {
                    line,
                    column: input.header.get(fe.column).cloned().unwrap_or_default(),
                    value: fe.value,
                    reason: fe.reason.to_string(),
                });
            }
        }
        Ok(state)
    };
    let n_chunks = bounds.len() - 1;
    if n_chunks == 1 {
        return Ok(vec![chunk(0)?]);
    }
    std::thread::scope(|s| {
        let chunk = &chunk;
        let handles: Vec<_> = (1..n_chunks).map(|k| s.spawn(move || chunk(k))).collect();
        let mut out = vec![chunk(0)?];
        for h in handles {
            out.push(
                h.join()
                    .map_err(|_| MiningError::invalid("parser thread failed"))??,
            );
        }
        Ok(out)
    })
}

fn count_newlines(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b == b'\n').count()
}

fn trim(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &bytes[start..end]
}

fn parse_f64(bytes: &[u8]) -> Option<f64> {
    std::str::from_utf8(trim(bytes))
        .ok()?
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
}

fn parse_day(bytes: &[u8]) -> Option<i32> {
    crate::date::parse_date(std::str::from_utf8(bytes).ok()?)
}

fn nonempty_id<'r>(
    rec: &'r csv::ByteRecord,
    col: usize,
    what: &'static str,
) -> std::result::Result<&'r [u8], FieldError> {
    let id = rec.get(col).unwrap_or_default();
    if trim(id).is_empty() {
        return Err(field_error(col, id, what));
    }
    Ok(id)
}

/// Transactions `customer_id,date,amount`.
#[derive(Debug, Clone, Default)]
pub struct Transactions {
    pub customers: Dictionary,
    pub customer: Vec<u32>,
    pub date: Vec<i32>,
    pub amount: Vec<f64>,
}

#[derive(Default)]
struct TxChunk {
    interner: Interner,
    customer: Vec<u32>,
    date: Vec<i32>,
    amount: Vec<f64>,
}

/// Reads `customer_id,date,amount` (also accepted: `customer`, `day`/`order_date`,
/// `value`/`revenue`). Dates as in [`crate::date::parse_date`]; amounts must be
/// non-negative numbers.
pub fn read_transactions(reader: &mut dyn Read) -> Result<Transactions> {
    let input = read_input(reader)?;
    let c_id = require_column(&input.header, &["customer_id", "customer", "cust_id"])?;
    let c_date = require_column(&input.header, &["date", "day", "order_date"])?;
    let c_amount = require_column(&input.header, &["amount", "value", "revenue"])?;
    let chunks = parse_rows(&input, TxChunk::default, |st, rec| {
        let id = nonempty_id(rec, c_id, "empty customer id")?;
        let d = rec.get(c_date).unwrap_or_default();
        let day = parse_day(d).ok_or_else(|| field_error(c_date, d, "not a date"))?;
        let a = rec.get(c_amount).unwrap_or_default();
        let amount = parse_f64(a).ok_or_else(|| field_error(c_amount, a, "not a number"))?;
        if amount < 0.0 {
            return Err(field_error(c_amount, a, "negative amount"));
        }
        st.customer.push(st.interner.code(id));
        st.date.push(day);
        st.amount.push(amount);
        Ok(())
    })?;
    let (customers, remaps) =
        merge_interners(&chunks.iter().map(|c| &c.interner).collect::<Vec<_>>());
    let mut out = Transactions {
        customers,
        ..Transactions::default()
    };
    for (c, remap) in chunks.into_iter().zip(remaps) {
        out.customer
            .extend(c.customer.iter().map(|&l| remap[l as usize]));
        out.date.extend(c.date);
        out.amount.extend(c.amount);
    }
    if out.customer.is_empty() {
        return Err(MiningError::Empty);
    }
    Ok(out)
}
