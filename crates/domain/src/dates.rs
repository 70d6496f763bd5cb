//! Dates as they come out of DMS exports and spreadsheets (DOMAIN.md §5): `2023-01-05`,
//! `2023/1/5`, `2023.1.5`, `2023年1月5日`, `20230105`, full-width digits, an optional time
//! after the date, and Excel serial numbers.

use chrono::{Duration, NaiveDate};

use crate::error::{Rule, ValidationError};
use crate::text::normalize;

/// Largest Excel serial number (9999-12-31 in the 1900 date system).
pub const EXCEL_MAX_SERIAL: i64 = 2_958_465;

/// Parses one date cell (field name given by the caller; errors carry the raw input).
///
/// Accepted, after full-width → half-width and trimming:
/// - `YYYY-M-D`, `YYYY/M/D`, `YYYY.M.D` (one- or two-digit month and day, the same
///   separator twice), `YYYY年M月D日` (`日` or `号` optional), `YYYYMMDD`;
/// - any of these followed by a time: `2023-01-05 10:22:00`, `2023/1/5 10:22`,
///   `2023-01-05T10:22:00+08:00`, `2023年1月5日 下午3:05`, `2023年1月5日10时22分`
///   (the time is checked and dropped);
/// - Excel serial numbers in the 1900 date system, `1..=2958465`, with an optional
///   fraction for the time (`44927` and `44927.5` are 2023-01-01). Serial 60 is Excel's
///   non-existent 1900-02-29 (the Lotus bug) and is rejected; 61 is 1900-03-01.
///
/// Blank → [`Rule::Required`]; anything else that is not a real date (`2023-02-30`,
/// `1/5/2023`) → [`Rule::DateFormat`].
pub fn parse_dms_date(field: &str, s: &str) -> Result<NaiveDate, ValidationError> {
    let t = normalize(s);
    if t.is_empty() {
        return Err(ValidationError::new(field, s, Rule::Required));
    }
    parse_normalized(&t).ok_or_else(|| ValidationError::new(field, s, Rule::DateFormat))
}

/// Like [`parse_dms_date`], but a blank cell is `Ok(None)`.
pub fn parse_optional_dms_date(field: &str, s: &str) -> Result<Option<NaiveDate>, ValidationError> {
    if normalize(s).is_empty() {
        return Ok(None);
    }
    parse_dms_date(field, s).map(Some)
}

/// The date of an Excel serial number (1900 date system, Lotus leap-year bug included):
/// 1 = 1900-01-01, 59 = 1900-02-28, 60 = `None` (the fictitious 1900-02-29),
/// 61 = 1900-03-01, 44927 = 2023-01-01, 2958465 = 9999-12-31. `None` outside
/// `1..=2958465`.
pub fn excel_serial_to_date(serial: i64) -> Option<NaiveDate> {
    let base = match serial {
        1..=59 => NaiveDate::from_ymd_opt(1899, 12, 31)?,
        61..=EXCEL_MAX_SERIAL => NaiveDate::from_ymd_opt(1899, 12, 30)?,
        _ => return None,
    };
    base.checked_add_signed(Duration::days(serial))
}

/// The Excel serial number of a date (inverse of [`excel_serial_to_date`]); `None` before
/// 1900-01-01 or after 9999-12-31.
pub fn date_to_excel_serial(date: NaiveDate) -> Option<i64> {
    let march_1900 = NaiveDate::from_ymd_opt(1900, 3, 1)?;
    let base = if date < march_1900 {
        NaiveDate::from_ymd_opt(1899, 12, 31)?
    } else {
        NaiveDate::from_ymd_opt(1899, 12, 30)?
    };
    let serial = (date - base).num_days();
    (1..=EXCEL_MAX_SERIAL).contains(&serial).then_some(serial)
}

fn parse_normalized(t: &str) -> Option<NaiveDate> {
    if let Some(serial) = excel_serial(t) {
        return excel_serial_to_date(serial);
    }
    let mut c = Cursor::new(t);
    let date = c.date()?;
    c.rest_is_time().then_some(date)
}

/// `digits` or `digits.digits` with at most 7 integer digits (8 digits is `YYYYMMDD`).
fn excel_serial(t: &str) -> Option<i64> {
    let (int, frac) = match t.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (t, None),
    };
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(int) || int.len() > 7 || frac.is_some_and(|f| !all_digits(f)) {
        return None;
    }
    int.parse().ok()
}

/// A tiny hand-written scanner over the normalised cell.
struct Cursor {
    chars: Vec<char>,
    pos: usize,
}

impl Cursor {
    fn new(s: &str) -> Self {
        Cursor {
            chars: s.chars().collect(),
            pos: 0,
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn at_end(&self) -> bool {
        self.pos >= self.chars.len()
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn eat_any(&mut self, set: &[char]) -> Option<char> {
        let c = self.peek()?;
        if set.contains(&c) {
            self.pos += 1;
            Some(c)
        } else {
            None
        }
    }

    fn eat_str(&mut self, s: &str) -> bool {
        let n = s.chars().count();
        let matches = self.chars.len() >= self.pos + n
            && self.chars[self.pos..self.pos + n]
                .iter()
                .copied()
                .eq(s.chars());
        if matches {
            self.pos += n;
        }
        matches
    }

    fn skip_spaces(&mut self) -> bool {
        let start = self.pos;
        while self.peek() == Some(' ') {
            self.pos += 1;
        }
        self.pos > start
    }

    /// Between `min` and `max` ASCII digits (greedy; more than `max` digits fails).
    fn number(&mut self, min: usize, max: usize) -> Option<u32> {
        let start = self.pos;
        let mut value = 0u32;
        while let Some(d) = self.peek().and_then(|c| c.to_digit(10)) {
            if self.pos - start == max {
                return None;
            }
            value = value * 10 + d;
            self.pos += 1;
        }
        (self.pos - start >= min).then_some(value)
    }

    /// Exactly `n` digits, even if more digits follow.
    fn fixed(&mut self, n: usize) -> Option<u32> {
        let mut value = 0u32;
        for _ in 0..n {
            let d = self.peek()?.to_digit(10)?;
            value = value * 10 + d;
            self.pos += 1;
        }
        Some(value)
    }

    fn date(&mut self) -> Option<NaiveDate> {
        let year = i32::try_from(self.fixed(4)?).ok()?;
        if self.peek().is_some_and(|c| c.is_ascii_digit()) {
            // YYYYMMDD
            let month = self.fixed(2)?;
            let day = self.fixed(2)?;
            if self.peek().is_some_and(|c| c.is_ascii_digit()) {
                return None;
            }
            return NaiveDate::from_ymd_opt(year, month, day);
        }
        let spaced = self.skip_spaces();
        let sep = self.eat_any(&['-', '/', '.', '年'])?;
        if spaced && sep != '年' {
            return None;
        }
        self.skip_spaces_if(sep == '年');
        let month = self.number(1, 2)?;
        self.skip_spaces_if(sep == '年');
        if !self.eat(if sep == '年' { '月' } else { sep }) {
            return None;
        }
        self.skip_spaces_if(sep == '年');
        let day = self.number(1, 2)?;
        if sep == '年' {
            let before = self.pos;
            self.skip_spaces();
            if self.eat_any(&['日', '号']).is_none() {
                self.pos = before;
            }
        }
        NaiveDate::from_ymd_opt(year, month, day)
    }

    fn skip_spaces_if(&mut self, yes: bool) {
        if yes {
            self.skip_spaces();
        }
    }

    /// After the date: nothing, or (spaces | `T`) and a valid time. Right after a Chinese
    /// date (`…日`) the time may follow without a separator.
    fn rest_is_time(&mut self) -> bool {
        if self.at_end() {
            return true;
        }
        let after_chinese = matches!(self.chars.get(self.pos.wrapping_sub(1)), Some('日' | '号'));
        let separated = self.skip_spaces() || self.eat('T');
        if self.at_end() {
            return false;
        }
        (separated || after_chinese) && self.time() && self.at_end()
    }

    /// `[上午|下午] H:MM[:SS[.fff]] [AM|PM] [Z|±HH[:]MM]` or `H时|点[M分[S秒]]`.
    fn time(&mut self) -> bool {
        let half = if self.eat_str("上午") {
            Some(false)
        } else if self.eat_str("下午") || self.eat_str("晚上") {
            Some(true)
        } else {
            None
        };
        self.skip_spaces();
        let Some(hour) = self.number(1, 2) else {
            return false;
        };
        let (minute, second) = if self.eat(':') {
            let Some(m) = self.number(2, 2) else {
                return false;
            };
            let s = if self.eat(':') {
                let Some(s) = self.number(2, 2) else {
                    return false;
                };
                if self.eat('.') && self.number(1, 9).is_none() {
                    return false;
                }
                s
            } else {
                0
            };
            (m, s)
        } else if self.eat_any(&['时', '点']).is_some() {
            let m = match self.number(1, 2) {
                Some(m) => {
                    let _ = self.eat('分');
                    m
                }
                None => 0,
            };
            let s = match self.number(1, 2) {
                Some(s) if self.eat('秒') => s,
                Some(_) => return false,
                None => 0,
            };
            (m, s)
        } else {
            return false;
        };
        self.skip_spaces();
        let half = half.or_else(|| {
            let rest: String = self.chars[self.pos..].iter().collect();
            let upper = rest.to_ascii_uppercase();
            if upper.starts_with("AM") || upper.starts_with("PM") {
                self.pos += 2;
                Some(upper.starts_with("PM"))
            } else {
                None
            }
        });
        let hour_ok = match half {
            Some(_) => (1..=12).contains(&hour) || hour == 0,
            None => hour <= 23,
        };
        hour_ok && minute <= 59 && second <= 59 && self.zone()
    }

    /// Optional `Z` or `±HH[:]MM` at the end.
    fn zone(&mut self) -> bool {
        if self.at_end() || self.eat('Z') {
            return self.at_end();
        }
        if self.eat_any(&['+', '-']).is_none() {
            return false;
        }
        let Some(h) = self.fixed(2) else {
            return false;
        };
        let _ = self.eat(':');
        let Some(m) = self.fixed(2) else {
            return false;
        };
        h <= 14 && m <= 59 && self.at_end()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn ok(s: &str) -> NaiveDate {
        parse_dms_date("date", s).unwrap_or_else(|e| panic!("{s:?}: {e}"))
    }

    fn rule(s: &str) -> Rule {
        parse_dms_date("date", s).unwrap_err().rule
    }

    #[test]
    fn common_formats() {
        let jan5 = d(2023, 1, 5);
        for s in [
            "2023-01-05",
            "2023-1-5",
            "2023/1/5",
            "2023/01/05",
            "2023.1.5",
            "2023.01.05",
            "2023年1月5日",
            "2023年01月05日",
            "2023年1月5号",
            "2023年1月5",
            "2023 年 1 月 5 日",
            "2023年1月5日 ",
            "20230105",
            " 2023-01-05 ",
        ] {
            assert_eq!(ok(s), jan5, "{s}");
        }
    }

    #[test]
    fn full_width() {
        assert_eq!(ok("２０２３－０１－０５"), d(2023, 1, 5));
        assert_eq!(ok("２０２３年１月５日"), d(2023, 1, 5));
        assert_eq!(ok("\u{3000}２０２３／１／５\u{3000}"), d(2023, 1, 5));
        assert_eq!(ok("４４９２７"), d(2023, 1, 1));
    }

    #[test]
    fn with_time() {
        let jan5 = d(2023, 1, 5);
        for s in [
            "2023-01-05 10:22:00",
            "2023/1/5 10:22",
            "2023/1/5  9:05",
            "2023-01-05T10:22:00",
            "2023-01-05T10:22:00Z",
            "2023-01-05T10:22:00+08:00",
            "2023-01-05 10:22:00.123",
            "2023-01-05 10:22:00 +0800",
            "2023/1/5 10:22 PM",
            "2023/1/5 0:00:00",
            "2023年1月5日 10:22",
            "2023年1月5 10:22",
            "2023年1月5日 下午3:05",
            "2023年1月5日10时22分",
            "2023年1月5日 10点",
            "2023年1月5日 10时22分30秒",
            "20230105 10:22:00",
        ] {
            assert_eq!(ok(s), jan5, "{s}");
        }
    }

    #[test]
    fn bad_times() {
        for s in [
            "2023-01-05 25:00",
            "2023-01-05 10:60",
            "2023-01-05 10:22:61",
            "2023-01-05 10",
            "2023-01-05 abc",
            "2023-01-05 10:22 foo",
            "2023-01-0510:22",
            "2023-01-05 13:00 PM",
            "2023-01-05 10:22+25:00",
        ] {
            assert_eq!(rule(s), Rule::DateFormat, "{s}");
        }
    }

    #[test]
    fn impossible_dates() {
        for s in [
            "2023-02-30",
            "2023/2/29",
            "2023-13-01",
            "2023-00-10",
            "2023-01-00",
            "2023年2月30日",
            "20230230",
            "20231301",
        ] {
            assert_eq!(rule(s), Rule::DateFormat, "{s}");
        }
        assert_eq!(ok("2024-02-29"), d(2024, 2, 29));
    }

    #[test]
    fn not_dates() {
        for s in [
            "1/5/2023",
            "23-1-5",
            "2023-1/5",
            "2023年1/5",
            "2023-001-05",
            "2023-01-005",
            "2023 -01-05",
            "202301055",
            "abc",
            "2023-01",
            "44927.5.1",
            "-44927",
            "0",
            "60",
            "2958466",
            "99999999",
        ] {
            assert_eq!(rule(s), Rule::DateFormat, "{s}");
        }
        assert_eq!(rule(""), Rule::Required);
        assert_eq!(rule("  "), Rule::Required);
    }

    #[test]
    fn excel_serials() {
        assert_eq!(ok("44927"), d(2023, 1, 1));
        assert_eq!(ok("44927.5"), d(2023, 1, 1));
        assert_eq!(ok("44927.999"), d(2023, 1, 1));
        assert_eq!(ok("1"), d(1900, 1, 1));
        assert_eq!(ok("59"), d(1900, 2, 28));
        assert_eq!(ok("61"), d(1900, 3, 1));
        assert_eq!(ok("2958465"), d(9999, 12, 31));
        assert_eq!(ok("45000"), d(2023, 3, 15));
        // Any number up to seven digits is a serial (the 1900 system's whole range).
        assert_eq!(ok("0044927"), d(2023, 1, 1));
        assert_eq!(excel_serial_to_date(60), None);
        assert_eq!(excel_serial_to_date(0), None);
        assert_eq!(excel_serial_to_date(EXCEL_MAX_SERIAL + 1), None);
    }

    #[test]
    fn excel_round_trip() {
        for serial in (1..=59)
            .chain(61..=400)
            .chain([44927, 45000, EXCEL_MAX_SERIAL])
        {
            let date = excel_serial_to_date(serial).unwrap();
            assert_eq!(date_to_excel_serial(date), Some(serial), "{serial}");
        }
        assert_eq!(date_to_excel_serial(d(1899, 12, 31)), None);
        assert_eq!(date_to_excel_serial(d(2023, 1, 1)), Some(44927));
    }

    #[test]
    fn error_names_field_and_raw_value() {
        let e = parse_dms_date("purchase_date", " 2023-02-30 ").unwrap_err();
        assert_eq!(e.field, "purchase_date");
        assert_eq!(e.value, " 2023-02-30 ");
        assert_eq!(e.code(), "date_format");
    }

    #[test]
    fn optional() {
        assert_eq!(parse_optional_dms_date("d", " ").unwrap(), None);
        assert_eq!(
            parse_optional_dms_date("d", "2023/1/5").unwrap(),
            Some(d(2023, 1, 5))
        );
        assert_eq!(
            parse_optional_dms_date("d", "2023/2/30").unwrap_err().rule,
            Rule::DateFormat
        );
    }
}
