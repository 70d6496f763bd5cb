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
use std::io::{Read, Write};

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

/// Assigns codes to text ids while parsing one chunk: the distinct ids' bytes go into one
/// arena and an open-addressing table of codes finds them (one allocation in total
/// instead of two per id, which mattered for a million customers).
#[derive(Default)]
struct Interner {
    arena: Vec<u8>,
    /// Start of code c's bytes in the arena; code c ends where c + 1 starts.
    starts: Vec<usize>,
    hashes: Vec<u64>,
    /// Codes + 1 (0 = empty slot); the length is a power of two, at most half full.
    table: Vec<u32>,
    /// The last code returned: exports are often sorted by customer, so the next row's id
    /// is usually the same and needs no hashing.
    last: Option<u32>,
}

fn hash_bytes(bytes: &[u8]) -> u64 {
    let mut h = FxHasher::default();
    h.write(bytes);
    // Final avalanche so that the low bits used for the slot depend on every byte.
    let x = h.finish();
    (x ^ (x >> 29)).wrapping_mul(0xBF58_476D_1CE4_E5B9) ^ (x >> 32)
}

impl Interner {
    fn len(&self) -> usize {
        self.starts.len()
    }

    fn key(&self, code: usize) -> &[u8] {
        let end = self
            .starts
            .get(code + 1)
            .copied()
            .unwrap_or(self.arena.len());
        &self.arena[self.starts[code]..end]
    }

    fn grow(&mut self) {
        let size = (self.table.len() * 2).max(1024);
        let mut table = vec![0u32; size];
        let mask = size - 1;
        for (c, &h) in self.hashes.iter().enumerate() {
            let mut slot = h as usize & mask;
            while table[slot] != 0 {
                slot = (slot + 1) & mask;
            }
            table[slot] = c as u32 + 1;
        }
        self.table = table;
    }

    /// The code of `key` (trimmed), adding it if new.
    #[inline]
    fn code(&mut self, key: &[u8]) -> u32 {
        let key = trim(key);
        if let Some(c) = self.last
            && self.key(c as usize) == key
        {
            return c;
        }
        let c = self.code_hashed(key, hash_bytes(key));
        self.last = Some(c);
        c
    }

    fn code_hashed(&mut self, key: &[u8], h: u64) -> u32 {
        if 2 * (self.len() + 1) > self.table.len() {
            self.grow();
        }
        let mask = self.table.len() - 1;
        let mut slot = h as usize & mask;
        loop {
            let entry = self.table[slot];
            if entry == 0 {
                let c = self.len() as u32;
                self.starts.push(self.arena.len());
                self.arena.extend_from_slice(key);
                self.hashes.push(h);
                self.table[slot] = c + 1;
                return c;
            }
            let c = (entry - 1) as usize;
            if self.hashes[c] == h && self.key(c) == key {
                return c as u32;
            }
            slot = (slot + 1) & mask;
        }
    }
}

/// Merges per-chunk interners into one dictionary (first appearance order across chunks);
/// returns, per chunk, the map from local to global codes.
fn merge_interners(parts: &[&Interner]) -> (Dictionary, Vec<Vec<u32>>) {
    let mut global = Interner::default();
    let mut remaps = Vec::new();
    for p in parts {
        let remap: Vec<u32> = (0..p.len())
            .map(|c| {
                if parts.len() == 1 {
                    c as u32
                } else {
                    global.code_hashed(p.key(c), p.hashes[c])
                }
            })
            .collect();
        remaps.push(remap);
    }
    let source = if parts.len() == 1 { parts[0] } else { &global };
    let names = (0..source.len())
        .map(|c| String::from_utf8_lossy(source.key(c)).into_owned())
        .collect();
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

/// Parses the data rows. Input without any quote character is split by hand (every line
/// break ends a row, every comma ends a field) and, when large, in two parallel chunks cut
/// at a line break; input with quotes goes through the csv crate in one piece. `make`
/// creates the per-chunk state, `row` consumes one row's fields. Returns the states in
/// input order. Blank lines are skipped.
fn parse_rows<S, M, F>(input: &Input, make: M, row: F) -> Result<Vec<S>>
where
    S: Send,
    M: Fn() -> S + Sync,
    F: Fn(&mut S, &[&[u8]]) -> RowResult + Sync,
{
    let body = &input.data[input.body_start..];
    let header_lines = count_newlines(&input.data[..input.body_start]).max(1) as u64;
    let bad_value = |line: u64, fe: FieldError| MiningError::BadValue {
        line,
        column: input.header.get(fe.column).cloned().unwrap_or_default(),
        value: fe.value,
        reason: fe.reason.to_string(),
    };
    if body.contains(&b'"') {
        let mut state = make();
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(body);
        let mut record = csv::ByteRecord::new();
        loop {
            match rdr.read_byte_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {}
                Err(e) => {
                    let line = e.position().map_or(0, |p| p.line());
                    return Err(MiningError::Csv {
                        line: header_lines + line,
                        message: e.to_string(),
                    });
                }
            }
            if record.len() == 1 && record[0].iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let fields: Vec<&[u8]> = record.iter().collect();
            if let Err(fe) = row(&mut state, &fields) {
                // Counted from the bytes: the csv crate's line count skips blank lines, and
                // the record's position includes the blank lines before it.
                let mut at = record.position().map_or(0, |p| p.byte()) as usize;
                while at < body.len() && matches!(body[at], b'\n' | b'\r') {
                    at += 1;
                }
                return Err(bad_value(
                    header_lines + count_newlines(&body[..at]) as u64 + 1,
                    fe,
                ));
            }
        }
        return Ok(vec![state]);
    }
    let mut bounds = vec![0];
    if body.len() > 8 << 20 {
        let mid = body.len() / 2;
        if let Some(nl) = body[mid..].iter().position(|&b| b == b'\n') {
            bounds.push(mid + nl + 1);
        }
    }
    bounds.push(body.len());
    let chunk = |k: usize| -> Result<S> {
        let part = &body[bounds[k]..bounds[k + 1]];
        let mut state = make();
        let mut fields: Vec<&[u8]> = Vec::new();
        let mut line_in_chunk = 0u64;
        for line in part.split(|&b| b == b'\n') {
            line_in_chunk += 1;
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            fields.clear();
            fields.extend(line.split(|&b| b == b','));
            if let Err(fe) = row(&mut state, &fields) {
                let before = header_lines + count_newlines(&body[..bounds[k]]) as u64;
                return Err(bad_value(before + line_in_chunk, fe));
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

/// Field `col` of a row, empty when the row is short.
#[inline]
fn field<'a>(rec: &[&'a [u8]], col: usize) -> &'a [u8] {
    rec.get(col).copied().unwrap_or_default()
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
    // Fast path for the common `YYYY-MM-DD`.
    if let [y0, y1, y2, y3, b'-', m0, m1, b'-', d0, d1] = *bytes {
        let digits = [y0, y1, y2, y3, m0, m1, d0, d1];
        if digits.iter().all(u8::is_ascii_digit) {
            let v = |c: u8| i32::from(c - b'0');
            let year = v(y0) * 1000 + v(y1) * 100 + v(y2) * 10 + v(y3);
            return crate::date::days_from_civil(
                year,
                (v(m0) * 10 + v(m1)) as u32,
                (v(d0) * 10 + v(d1)) as u32,
            );
        }
    }
    crate::date::parse_date(std::str::from_utf8(bytes).ok()?)
}

fn nonempty_id<'r>(
    rec: &[&'r [u8]],
    col: usize,
    what: &'static str,
) -> std::result::Result<&'r [u8], FieldError> {
    let id = field(rec, col);
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
        let d = field(rec, c_date);
        let day = parse_day(d).ok_or_else(|| field_error(c_date, d, "not a date"))?;
        let a = field(rec, c_amount);
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

fn parse_event(bytes: &[u8]) -> Option<bool> {
    match trim(bytes) {
        b"1" | b"true" | b"TRUE" | b"True" | b"yes" | b"y" | b"Y" => Some(true),
        b"0" | b"false" | b"FALSE" | b"False" | b"no" | b"n" | b"N" => Some(false),
        _ => None,
    }
}

/// Survival data `duration,event[,group]`.
#[derive(Debug, Clone, Default)]
pub struct Durations {
    pub duration: Vec<f64>,
    pub event: Vec<bool>,
    /// Group codes when a group column was asked for.
    pub group: Option<Vec<u32>>,
    pub groups: Dictionary,
}

#[derive(Default)]
struct DurChunk {
    interner: Interner,
    duration: Vec<f64>,
    event: Vec<bool>,
    group: Vec<u32>,
}

/// Reads `duration,event` (event 1/0, true/false, yes/no) and, when `group_col` is given,
/// that column as the group label.
pub fn read_durations(reader: &mut dyn Read, group_col: Option<&str>) -> Result<Durations> {
    let input = read_input(reader)?;
    let c_dur = require_column(&input.header, &["duration", "time"])?;
    let c_event = require_column(&input.header, &["event", "observed"])?;
    let c_group = group_col
        .map(|g| require_column(&input.header, &[g]))
        .transpose()?;
    let chunks = parse_rows(&input, DurChunk::default, |st, rec| {
        let d = field(rec, c_dur);
        let duration = parse_f64(d).ok_or_else(|| field_error(c_dur, d, "not a number"))?;
        if duration < 0.0 {
            return Err(field_error(c_dur, d, "negative duration"));
        }
        let e = field(rec, c_event);
        let event =
            parse_event(e).ok_or_else(|| field_error(c_event, e, "event must be 1 or 0"))?;
        if let Some(cg) = c_group {
            let g = nonempty_id(rec, cg, "empty group")?;
            st.group.push(st.interner.code(g));
        }
        st.duration.push(duration);
        st.event.push(event);
        Ok(())
    })?;
    let (groups, remaps) = merge_interners(&chunks.iter().map(|c| &c.interner).collect::<Vec<_>>());
    let mut out = Durations {
        groups,
        ..Durations::default()
    };
    let mut group = Vec::new();
    for (c, remap) in chunks.into_iter().zip(remaps) {
        group.extend(c.group.iter().map(|&l| remap[l as usize]));
        out.duration.extend(c.duration);
        out.event.extend(c.event);
    }
    if out.duration.is_empty() {
        return Err(MiningError::Empty);
    }
    out.group = c_group.map(|_| group);
    Ok(out)
}

/// Baskets `basket_id,item`, one line per item.
#[derive(Debug, Clone, Default)]
pub struct BasketFile {
    pub baskets: crate::fpgrowth::Baskets,
    pub items: Dictionary,
}

#[derive(Default)]
struct BasketChunk {
    baskets: Interner,
    items: Interner,
    basket: Vec<u32>,
    item: Vec<u32>,
}

/// Reads `basket_id,item` (also `order_id`/`work_order`, `product`/`part`).
pub fn read_baskets(reader: &mut dyn Read) -> Result<BasketFile> {
    let input = read_input(reader)?;
    let c_basket = require_column(
        &input.header,
        &["basket_id", "basket", "order_id", "work_order"],
    )?;
    let c_item = require_column(&input.header, &["item", "product", "part"])?;
    let chunks = parse_rows(&input, BasketChunk::default, |st, rec| {
        let b = nonempty_id(rec, c_basket, "empty basket id")?;
        let i = nonempty_id(rec, c_item, "empty item")?;
        st.basket.push(st.baskets.code(b));
        st.item.push(st.items.code(i));
        Ok(())
    })?;
    let (_, basket_maps) = merge_interners(&chunks.iter().map(|c| &c.baskets).collect::<Vec<_>>());
    let (items, item_maps) = merge_interners(&chunks.iter().map(|c| &c.items).collect::<Vec<_>>());
    let (mut basket, mut item) = (Vec::new(), Vec::new());
    for ((c, bm), im) in chunks.into_iter().zip(basket_maps).zip(item_maps) {
        basket.extend(c.basket.iter().map(|&l| bm[l as usize]));
        item.extend(c.item.iter().map(|&l| im[l as usize]));
    }
    if basket.is_empty() {
        return Err(MiningError::Empty);
    }
    Ok(BasketFile {
        baskets: crate::fpgrowth::Baskets::from_pairs(&basket, &item)?,
        items,
    })
}

/// A feature table: an optional id column and numeric feature columns.
#[derive(Debug, Clone, Default)]
pub struct FeatureTable {
    pub ids: Vec<String>,
    pub names: Vec<String>,
    pub columns: Vec<Vec<f64>>,
}

impl FeatureTable {
    pub fn column_refs(&self) -> Vec<&[f64]> {
        self.columns.iter().map(Vec::as_slice).collect()
    }
}

#[derive(Default)]
struct FeatureChunk {
    ids: Vec<String>,
    columns: Vec<Vec<f64>>,
}

/// Reads a feature table. The id column is `id_col` when given, else a column named `id`
/// or `customer_id` if there is one (else rows are numbered from 1); every other column
/// must hold numbers.
pub fn read_features(reader: &mut dyn Read, id_col: Option<&str>) -> Result<FeatureTable> {
    let input = read_input(reader)?;
    let c_id = match id_col {
        Some(name) => Some(require_column(&input.header, &[name])?),
        None => find_column(&input.header, &["id", "customer_id"]),
    };
    let feature_cols: Vec<usize> = (0..input.header.len())
        .filter(|&c| Some(c) != c_id)
        .collect();
    if feature_cols.is_empty() {
        return Err(MiningError::MissingColumn {
            column: "a numeric feature".into(),
            found: input.header.join(","),
        });
    }
    let k = feature_cols.len();
    let chunks = parse_rows(
        &input,
        || FeatureChunk {
            ids: Vec::new(),
            columns: vec![Vec::new(); k],
        },
        |st, rec| {
            for (slot, &c) in feature_cols.iter().enumerate() {
                let v = field(rec, c);
                let x = parse_f64(v).ok_or_else(|| field_error(c, v, "not a number"))?;
                st.columns[slot].push(x);
            }
            if let Some(ci) = c_id {
                st.ids
                    .push(String::from_utf8_lossy(trim(field(rec, ci))).into_owned());
            }
            Ok(())
        },
    )?;
    let mut out = FeatureTable {
        names: feature_cols
            .iter()
            .map(|&c| input.header[c].clone())
            .collect(),
        columns: vec![Vec::new(); k],
        ids: Vec::new(),
    };
    for c in chunks {
        out.ids.extend(c.ids);
        for (dst, src) in out.columns.iter_mut().zip(c.columns) {
            dst.extend(src);
        }
    }
    let n = out.columns[0].len();
    if n == 0 {
        return Err(MiningError::Empty);
    }
    if c_id.is_none() {
        out.ids = (1..=n).map(|i| i.to_string()).collect();
    }
    Ok(out)
}

/// Language of names written into output files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Zh,
    En,
}

impl Lang {
    pub fn parse(text: &str) -> Option<Lang> {
        match text.trim().to_ascii_lowercase().as_str() {
            "zh" | "zh-cn" | "cn" | "chinese" => Some(Lang::Zh),
            "en" | "english" => Some(Lang::En),
            _ => None,
        }
    }
}

fn write_err(e: impl std::fmt::Display) -> MiningError {
    MiningError::Write(e.to_string())
}

fn csv_writer(w: &mut dyn Write) -> csv::Writer<&mut dyn Write> {
    csv::WriterBuilder::new().from_writer(w)
}

/// A number for CSV (shortest round-trip form); infinities as `inf`/`-inf`.
fn num(v: f64) -> String {
    if v.is_infinite() {
        return if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    v.to_string()
}

/// A sum of money rounded to 9 decimals when that changes it by float noise only, so
/// that 100.50000000000001 prints as 100.5.
fn money(v: f64) -> f64 {
    let r = (v * 1e9).round() / 1e9;
    if r.is_finite() && (r - v).abs() <= 1e-12 * v.abs().max(1.0) {
        r
    } else {
        v
    }
}

/// Writes a text field with CSV quoting when it needs it.
fn text_field(w: &mut dyn Write, text: &str) -> std::io::Result<()> {
    if text
        .bytes()
        .any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r'))
    {
        w.write_all(b"\"")?;
        w.write_all(text.replace('"', "\"\"").as_bytes())?;
        w.write_all(b"\"")
    } else {
        w.write_all(text.as_bytes())
    }
}

// Large outputs (a row per customer) are written with `write!` straight to the writer:
// only ids can need quoting, and skipping the csv crate's per-field buffers halves the
// time for a million rows.

/// `customer_id,recency_days,frequency,monetary,r,f,m,segment`; the segment name in the
/// chosen language.
pub fn write_rfm(
    w: &mut dyn Write,
    t: &crate::rfm::RfmTable,
    customers: &Dictionary,
    lang: Lang,
) -> Result<()> {
    let run = |w: &mut dyn Write| -> std::io::Result<()> {
        w.write_all(b"customer_id,recency_days,frequency,monetary,r,f,m,segment\n")?;
        for i in 0..t.len() {
            let seg = match lang {
                Lang::Zh => t.segment[i].name_zh(),
                Lang::En => t.segment[i].name_en(),
            };
            text_field(w, customers.name(t.customer[i]))?;
            write!(
                w,
                ",{},{},{},{},{},{},",
                t.recency_days[i],
                t.frequency[i],
                money(t.monetary[i]),
                t.r[i],
                t.f[i],
                t.m[i]
            )?;
            text_field(w, seg)?;
            w.write_all(b"\n")?;
        }
        w.flush()
    };
    run(w).map_err(write_err)
}

/// `customer_id,frequency,recency,T,monetary,p_alive,expected_purchases,expected_spend,clv`.
pub fn write_clv(
    w: &mut dyn Write,
    s: &crate::clv::ClvSummary,
    p: &crate::clv::ClvPrediction,
    customers: &Dictionary,
) -> Result<()> {
    let run = |w: &mut dyn Write| -> std::io::Result<()> {
        w.write_all(b"customer_id,frequency,recency,T,monetary,p_alive,expected_purchases,expected_spend,clv\n")?;
        for i in 0..s.len() {
            text_field(w, customers.name(s.customer[i]))?;
            writeln!(
                w,
                ",{},{},{},{},{},{},{},{}",
                s.frequency[i],
                s.recency[i],
                s.age[i],
                money(s.monetary[i]),
                p.p_alive[i],
                p.expected_purchases[i],
                p.expected_spend[i],
                p.clv[i]
            )?;
        }
        w.flush()
    };
    run(w).map_err(write_err)
}

/// Everything a CLV run estimated, for `--params-out`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ClvParams {
    pub calibration_end: String,
    pub period: crate::clv::Period,
    pub horizon: f64,
    pub discount_rate: f64,
    pub bgnbd: crate::clv::Fit<crate::clv::BgNbd>,
    pub gamma_gamma: crate::clv::Fit<crate::clv::GammaGamma>,
}

pub fn write_json<T: serde::Serialize>(w: &mut dyn Write, value: &T) -> Result<()> {
    serde_json::to_writer_pretty(&mut *w, value).map_err(write_err)?;
    w.write_all(b"\n").map_err(write_err)
}

/// `group,time,at_risk,events,censored,survival,ci_lower,ci_upper`; the group column is
/// empty without groups.
pub fn write_km(
    w: &mut dyn Write,
    curves: &[crate::survival::KmCurve],
    groups: Option<&Dictionary>,
) -> Result<()> {
    let mut out = csv_writer(w);
    out.write_record([
        "group", "time", "at_risk", "events", "censored", "survival", "ci_lower", "ci_upper",
    ])
    .map_err(write_err)?;
    for c in curves {
        let g = groups.map_or("", |d| d.name(c.group));
        for i in 0..c.time.len() {
            out.write_record([
                g,
                &num(c.time[i]),
                &c.at_risk[i].to_string(),
                &c.events[i].to_string(),
                &c.censored[i].to_string(),
                &num(c.survival[i]),
                &num(c.ci_lower[i]),
                &num(c.ci_upper[i]),
            ])
            .map_err(write_err)?;
        }
    }
    out.flush().map_err(write_err)
}

/// Items of one rule side as their names, sorted, joined by `;`.
pub fn join_items(items: &[u32], dict: &Dictionary) -> String {
    let mut names: Vec<&str> = items.iter().map(|&i| dict.name(i)).collect();
    names.sort_unstable();
    names.join(";")
}

/// `antecedent,consequent,support,confidence,lift,conviction`.
pub fn write_rules(
    w: &mut dyn Write,
    rules: &[crate::fpgrowth::Rule],
    items: &Dictionary,
) -> Result<()> {
    let mut out = csv_writer(w);
    out.write_record([
        "antecedent",
        "consequent",
        "support",
        "confidence",
        "lift",
        "conviction",
    ])
    .map_err(write_err)?;
    for r in rules {
        out.write_record([
            &join_items(&r.antecedent, items),
            &join_items(&r.consequent, items),
            &num(r.support),
            &num(r.confidence),
            &num(r.lift),
            &num(r.conviction),
        ])
        .map_err(write_err)?;
    }
    out.flush().map_err(write_err)
}

/// `id,segment` per row.
pub fn write_segments(
    w: &mut dyn Write,
    s: &crate::kmeans::Segmentation,
    ids: &[String],
) -> Result<()> {
    let run = |w: &mut dyn Write| -> std::io::Result<()> {
        w.write_all(b"id,segment\n")?;
        for (id, label) in ids.iter().zip(&s.labels) {
            text_field(w, id)?;
            writeln!(w, ",{label}")?;
        }
        w.flush()
    };
    run(w).map_err(write_err)
}

/// One line per segment: size, share, mean of each feature, and a description such as
/// `recency_days 高; monetary 低` (features at least half an SD from the population mean).
pub fn write_segment_profiles(
    w: &mut dyn Write,
    s: &crate::kmeans::Segmentation,
    feature_names: &[String],
    lang: Lang,
) -> Result<()> {
    let mut out = csv_writer(w);
    let mut header = vec!["segment".to_string(), "size".into(), "share".into()];
    header.extend(feature_names.iter().map(|n| format!("{n}_mean")));
    header.push("description".into());
    out.write_record(&header).map_err(write_err)?;
    for p in &s.profiles {
        let mut row = vec![p.segment.to_string(), p.size.to_string(), num(p.share)];
        row.extend(p.mean.iter().map(|&v| num(v)));
        row.push(describe_profile(p, feature_names, lang));
        out.write_record(&row).map_err(write_err)?;
    }
    out.flush().map_err(write_err)
}

/// Readable description of a segment from its feature levels.
pub fn describe_profile(
    p: &crate::kmeans::SegmentProfile,
    feature_names: &[String],
    lang: Lang,
) -> String {
    use crate::kmeans::Level;
    let parts: Vec<String> = p
        .level
        .iter()
        .zip(feature_names)
        .filter(|(l, _)| **l != Level::Average)
        .map(|(l, n)| match lang {
            Lang::Zh => format!("{n} {}", l.name_zh()),
            Lang::En => format!("{n} {}", l.name_en()),
        })
        .collect();
    if parts.is_empty() {
        match lang {
            Lang::Zh => "各项接近平均".into(),
            Lang::En => "close to average on every feature".into(),
        }
    } else {
        parts.join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tx(text: &str) -> Result<Transactions> {
        read_transactions(&mut text.as_bytes())
    }

    fn line_of(e: MiningError) -> u64 {
        match e {
            MiningError::BadValue { line, .. } | MiningError::Csv { line, .. } => line,
            other => panic!("unexpected error {other:?}"),
        }
    }

    #[test]
    fn reads_transactions_with_bom_spaces_and_quotes() {
        let t = tx("\u{feff}Customer_ID, date ,amount,extra\nA,2020-01-02,5,x\n\"B,1\",2020/1/3, 7.5 ,y\n\nA,20200104,0,z\n").expect("reads");
        assert_eq!(t.customers.names, vec!["A", "B,1"]);
        assert_eq!(t.customer, vec![0, 1, 0]);
        assert_eq!(t.amount, vec![5.0, 7.5, 0.0]);
        let d = crate::date::days_from_civil(2020, 1, 2).unwrap_or_default();
        assert_eq!(t.date, vec![d, d + 1, d + 2]);
    }

    #[test]
    fn bad_transactions_name_the_line() {
        let e =
            tx("customer_id,date,amount\n1,2020-01-01,5\n2,2020-13-01,5\n").expect_err("must fail");
        assert_eq!(line_of(e), 3);
        let e = tx("customer_id,date,amount\n1,2020-01-01,5\n\n2,2020-01-01,-5\n")
            .expect_err("must fail");
        assert!(
            e.to_string().contains("line 4") && e.to_string().contains("negative"),
            "{e}"
        );
        let e = tx("customer_id,date,amount\n1,2020-01-01,abc\n").expect_err("must fail");
        assert!(
            e.to_string()
                .contains("line 2: column `amount`: not a number"),
            "{e}"
        );
        let e = tx("customer_id,date,amount\n,2020-01-01,1\n").expect_err("must fail");
        assert_eq!(line_of(e), 2);
        let e = tx("customer_id,amount\n1,5\n").expect_err("must fail");
        assert!(
            matches!(e, MiningError::MissingColumn { ref column, .. } if column == "date"),
            "{e}"
        );
        assert!(matches!(tx(""), Err(MiningError::Empty)));
        assert!(matches!(
            tx("customer_id,date,amount\n"),
            Err(MiningError::Empty)
        ));
        // A short row is missing its amount.
        assert_eq!(
            line_of(tx("customer_id,date,amount\n1,2020-01-01\n").expect_err("must fail")),
            2
        );
    }

    #[test]
    fn large_inputs_parse_in_two_chunks_with_correct_lines() {
        let mut text = String::from("customer_id,date,amount\n");
        let rows = 500_000;
        for i in 0..rows {
            text.push_str(&format!(
                "c{},2021-03-{:02},{}.5\n",
                i % 977,
                1 + i % 28,
                i % 50
            ));
        }
        assert!(text.len() > 8 << 20);
        let t = tx(&text).expect("reads");
        assert_eq!(t.customer.len(), rows);
        assert_eq!(t.customers.len(), 977);
        // Codes follow first appearance across both chunks.
        assert_eq!(
            t.customers.name(t.customer[rows - 1]),
            format!("c{}", (rows - 1) % 977)
        );
        text.push_str("x,2021-02-30,1\n");
        assert_eq!(line_of(tx(&text).expect_err("must fail")), rows as u64 + 2);
    }

    #[test]
    fn reads_durations_baskets_and_features() {
        let d = read_durations(
            &mut &b"duration,event,store\n3,1,A\n5,0,B\n2.5,true,A\n"[..],
            Some("store"),
        )
        .expect("reads");
        assert_eq!(d.duration, vec![3.0, 5.0, 2.5]);
        assert_eq!(d.event, vec![true, false, true]);
        assert_eq!(d.group, Some(vec![0, 1, 0]));
        let e = read_durations(&mut &b"duration,event\n3,2\n"[..], None).expect_err("must fail");
        assert!(e.to_string().contains("line 2"), "{e}");
        assert!(read_durations(&mut &b"duration,event\n3,1\n"[..], Some("store")).is_err());

        let b = read_baskets(&mut &b"basket_id,item\nw1,oil\nw1,filter\nw2,oil\nw1,oil\n"[..])
            .expect("reads");
        assert_eq!(b.baskets.len(), 2);
        assert_eq!(b.items.names, vec!["oil", "filter"]);
        assert_eq!(b.baskets.basket(0), &[0, 1]);

        let f = read_features(
            &mut &b"customer_id,recency,spend\nA,1,10\nB,2,20\n"[..],
            None,
        )
        .expect("reads");
        assert_eq!(f.ids, vec!["A", "B"]);
        assert_eq!(f.names, vec!["recency", "spend"]);
        assert_eq!(f.columns, vec![vec![1.0, 2.0], vec![10.0, 20.0]]);
        let e = read_features(&mut &b"x,y\n1,2\n3,oops\n"[..], None).expect_err("must fail");
        assert!(e.to_string().contains("line 3: column `y`"), "{e}");
        let g = read_features(&mut &b"x\n1\n2\n"[..], None).expect("reads");
        assert_eq!(g.ids, vec!["1", "2"]);
    }

    #[test]
    fn writes_rules_with_sorted_joined_items() {
        let items = Dictionary {
            names: vec!["wiper".into(), "engine oil".into(), "filter".into()],
        };
        let rules = vec![crate::fpgrowth::Rule {
            antecedent: vec![0, 2],
            consequent: vec![1],
            support: 0.25,
            confidence: 1.0,
            lift: 2.0,
            conviction: f64::INFINITY,
        }];
        let mut out = Vec::new();
        write_rules(&mut out, &rules, &items).expect("writes");
        assert_eq!(
            String::from_utf8_lossy(&out),
            "antecedent,consequent,support,confidence,lift,conviction\nfilter;wiper,engine oil,0.25,1,2,inf\n"
        );
    }

    #[test]
    fn writes_rfm_in_both_languages() {
        let t =
            crate::rfm::rfm(&[0, 1], &[5, 9], &[10.0, 20.0], 10, Default::default()).expect("rfm");
        let dict = Dictionary {
            names: vec!["A".into(), "B".into()],
        };
        let mut zh = Vec::new();
        write_rfm(&mut zh, &t, &dict, Lang::Zh).expect("writes");
        let text = String::from_utf8_lossy(&zh).into_owned();
        assert!(text.starts_with("customer_id,recency_days,frequency,monetary,r,f,m,segment\nA,5,1,10,1,1,1,一般挽留客户\n"), "{text}");
        let mut en = Vec::new();
        write_rfm(&mut en, &t, &dict, Lang::En).expect("writes");
        assert!(String::from_utf8_lossy(&en).contains("B,1,1,20,3,1,3,Potential loyalists"));
    }
}
