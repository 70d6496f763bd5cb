//! Amounts and counts as DMS exports write them: `¥1,234.50`, `1234.5元`, full-width
//! digits, thousands separators. Money is kept in fen (0.01 yuan).

use crate::error::{Rule, ValidationError};
use crate::text::to_half_width;

/// Yuan with at most two decimals → fen. Negative amounts are refused.
pub fn parse_yuan(field: &str, s: &str) -> Result<i64, ValidationError> {
    let t: String = to_half_width(s)
        .chars()
        .filter(|c| !matches!(c, ' ' | ',' | '¥' | '￥' | '元' | '\u{a0}'))
        .collect();
    let bad = || ValidationError::new(field, s, Rule::Amount);
    let (whole, frac) = match t.split_once('.') {
        Some((w, f)) => (w, f),
        None => (t.as_str(), ""),
    };
    if whole.is_empty() && frac.is_empty()
        || frac.len() > 2
        || !whole.chars().all(|c| c.is_ascii_digit())
        || !frac.chars().all(|c| c.is_ascii_digit())
        || whole.len() > 12
    {
        return Err(bad());
    }
    let w: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| bad())?
    };
    let f: i64 = format!("{frac:0<2}").parse().map_err(|_| bad())?;
    Ok(w * 100 + f)
}

/// A plain number (quantity, kilometres) as f64, with separators and full-width digits.
pub fn parse_number(field: &str, s: &str) -> Result<f64, ValidationError> {
    let t: String = to_half_width(s)
        .chars()
        .filter(|c| !matches!(c, ' ' | ',' | '\u{a0}'))
        .collect();
    let t = t
        .trim_end_matches("公里")
        .trim_end_matches("km")
        .trim_end_matches("KM");
    match t.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(ValidationError::new(field, s, Rule::Number)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yuan_in_dms_forms() {
        assert_eq!(parse_yuan("f", "¥1,234.50"), Ok(123_450));
        assert_eq!(parse_yuan("f", "1234.5元"), Ok(123_450));
        assert_eq!(parse_yuan("f", "１２３"), Ok(12_300));
        assert_eq!(parse_yuan("f", ".5"), Ok(50));
        assert_eq!(parse_yuan("f", "0"), Ok(0));
        for bad in ["", "-5", "1.234", "abc", "1.2.3", "."] {
            assert!(parse_yuan("f", bad).is_err(), "{bad}");
        }
        assert_eq!(parse_yuan("金额", "x").unwrap_err().rule, Rule::Amount);
    }

    #[test]
    fn numbers_with_separators_and_units() {
        assert_eq!(parse_number("f", "12,345"), Ok(12345.0));
        assert_eq!(parse_number("f", "１２３４５公里"), Ok(12345.0));
        assert_eq!(parse_number("f", "2.5"), Ok(2.5));
        assert!(parse_number("f", "十二").is_err());
    }
}
