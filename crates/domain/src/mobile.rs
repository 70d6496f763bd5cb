//! Mainland China mobile numbers (DOMAIN.md §5): `^1[3-9]\d{9}$` after clean-up.
//! No carrier whitelist: number ranges change too often.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize, Serializer};

use crate::error::{Rule, ValidationError};
use crate::mask::mask_mobile;
use crate::text::{is_dash, is_invisible, to_half_width};

const FIELD: &str = "mobile";

/// A validated 11-digit mainland mobile number, stored without country code or separators.
/// Serialises as the plain string `"13812345678"`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(try_from = "String")]
pub struct Mobile(String);

impl Mobile {
    /// Cleans and validates a mobile number (field name `mobile`).
    ///
    /// Accepted clean-up: full-width digits, surrounding and inner spaces, dashes, dots,
    /// parentheses, and a `+86` / `0086` prefix (or a bare `86` when that leaves 11
    /// digits). Errors: blank → [`Rule::Required`], anything else → [`Rule::MobileFormat`];
    /// the error carries the raw input.
    pub fn parse(s: &str) -> Result<Mobile, ValidationError> {
        let err = |rule| ValidationError::new(FIELD, s, rule);
        let cleaned: String = to_half_width(s)
            .chars()
            .filter(|c| {
                !(c.is_whitespace()
                    || is_invisible(*c)
                    || is_dash(*c)
                    || matches!(c, '.' | '(' | ')' | '[' | ']'))
            })
            .collect();
        if cleaned.is_empty() {
            return Err(err(Rule::Required));
        }
        let digits = if let Some(rest) = cleaned.strip_prefix("+86") {
            rest
        } else if let Some(rest) = cleaned.strip_prefix("0086") {
            rest
        } else if cleaned.len() == 13 && cleaned.starts_with("86") {
            &cleaned[2..]
        } else {
            cleaned.as_str()
        };
        if is_mobile_digits(digits) {
            Ok(Mobile(digits.to_string()))
        } else {
            Err(err(Rule::MobileFormat))
        }
    }

    /// The 11 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// For display to roles that may not see the full number: `138****5678`.
    pub fn masked(&self) -> String {
        mask_mobile(&self.0)
    }

    /// The E.164 form `+8613812345678` (for SMS gateways).
    pub fn e164(&self) -> String {
        format!("+86{}", self.0)
    }
}

/// `^1[3-9]\d{9}$`, by hand.
fn is_mobile_digits(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 11
        && b.iter().all(u8::is_ascii_digit)
        && b[0] == b'1'
        && (b'3'..=b'9').contains(&b[1])
}

impl fmt::Display for Mobile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Mobile {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl FromStr for Mobile {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Mobile::parse(s)
    }
}

impl TryFrom<String> for Mobile {
    type Error = ValidationError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Mobile::parse(&s)
    }
}

impl TryFrom<&str> for Mobile {
    type Error = ValidationError;
    fn try_from(s: &str) -> Result<Self, Self::Error> {
        Mobile::parse(s)
    }
}

impl From<Mobile> for String {
    fn from(m: Mobile) -> String {
        m.0
    }
}

impl Serialize for Mobile {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn ok(s: &str) -> String {
        Mobile::parse(s).unwrap().as_str().to_string()
    }

    fn rule(s: &str) -> Rule {
        Mobile::parse(s).unwrap_err().rule
    }

    #[test]
    fn plain_numbers() {
        assert_eq!(ok("13812345678"), "13812345678");
        assert_eq!(ok("19912345678"), "19912345678");
        assert_eq!(ok("16612345678"), "16612345678");
    }

    #[test]
    fn country_code_prefixes() {
        assert_eq!(ok("+8613812345678"), "13812345678");
        assert_eq!(ok("+86 138 1234 5678"), "13812345678");
        assert_eq!(ok("008613812345678"), "13812345678");
        assert_eq!(ok("8613812345678"), "13812345678");
        assert_eq!(ok("(+86) 138-1234-5678"), "13812345678");
        assert_eq!(ok("+86-13812345678"), "13812345678");
    }

    #[test]
    fn separators_and_full_width() {
        assert_eq!(ok(" 138 1234 5678 "), "13812345678");
        assert_eq!(ok("138-1234-5678"), "13812345678");
        assert_eq!(ok("138.1234.5678"), "13812345678");
        assert_eq!(ok("１３８１２３４５６７８"), "13812345678");
        assert_eq!(ok("＋８６　１３８－１２３４－５６７８"), "13812345678");
        assert_eq!(ok("\u{FEFF}13812345678"), "13812345678");
    }

    #[test]
    fn blank_is_required() {
        assert_eq!(rule(""), Rule::Required);
        assert_eq!(rule("   "), Rule::Required);
        assert_eq!(rule(" - "), Rule::Required);
    }

    #[test]
    fn bad_numbers() {
        for bad in [
            "12812345678",  // second digit 2
            "10812345678",  // second digit 0
            "23812345678",  // not starting with 1
            "1381234567",   // 10 digits
            "138123456789", // 12 digits
            "1381234567a",
            "010-12345678", // landline
            "+8513812345678",
            "86138123456789", // 86 + 12 digits
            "手机13812345678",
        ] {
            assert_eq!(rule(bad), Rule::MobileFormat, "{bad}");
        }
    }

    #[test]
    fn error_names_field_and_raw_value() {
        let e = Mobile::parse(" 1234 ").unwrap_err();
        assert_eq!(e.field, "mobile");
        assert_eq!(e.value, " 1234 ");
        assert_eq!(e.code(), "mobile_format");
    }

    #[test]
    fn masked_and_e164() {
        let m = Mobile::parse("138 1234 5678").unwrap();
        assert_eq!(m.masked(), "138****5678");
        assert_eq!(m.e164(), "+8613812345678");
        assert_eq!(m.to_string(), "13812345678");
    }

    #[test]
    fn conversions() {
        let m: Mobile = "13812345678".parse().unwrap();
        assert_eq!(Mobile::try_from("+8613812345678").unwrap(), m);
        assert_eq!(String::from(m), "13812345678");
        assert!("abc".parse::<Mobile>().is_err());
    }

    #[test]
    fn deserialize_validates() {
        use serde::de::IntoDeserializer;
        use serde::de::value::{Error, StrDeserializer};
        let de: StrDeserializer<'_, Error> = "+86 138 1234 5678".into_deserializer();
        assert_eq!(Mobile::deserialize(de).unwrap().as_str(), "13812345678");
        let de: StrDeserializer<'_, Error> = "BAD".into_deserializer();
        assert!(Mobile::deserialize(de).is_err());
    }
}
