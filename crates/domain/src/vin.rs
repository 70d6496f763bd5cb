//! Vehicle identification numbers (ISO 3779 / GB 16735, DOMAIN.md §5).
//!
//! 17 characters of `0-9 A-Z` without I, O, Q; position 9 is the check digit, position 10
//! the model year (30-year cycle). China-built vehicles start with `L`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize, Serializer};

use crate::error::{Rule, ValidationError};
use crate::text::{is_invisible, to_half_width};

const FIELD: &str = "vin";

/// Weights per position (1-based position 9, the check digit itself, weighs 0).
const WEIGHTS: [u32; 17] = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2];

/// Model-year codes in cycle order: `A` = 1980 / 2010, …, `Y` = 2000 / 2030,
/// `1` = 2001 / 2031, …, `9` = 2009 / 2039.
const MODEL_YEAR_CODES: &[u8; 30] = b"ABCDEFGHJKLMNPRSTVWXY123456789";

/// A validated VIN, normalised to 17 upper-case ASCII characters.
/// Serialises as the plain string.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(try_from = "String")]
pub struct Vin(String);

impl Vin {
    /// Normalises (trim, full-width → half-width, upper-case) and validates a VIN
    /// (field name `vin`). Rules, in order: blank → [`Rule::Required`], not 17 characters →
    /// [`Rule::VinLength`], other than `0-9 A-Z` or containing I/O/Q →
    /// [`Rule::VinCharacters`], position 10 one of I O Q U Z 0 → [`Rule::VinModelYear`],
    /// wrong position 9 → [`Rule::VinCheckDigit`] with the expected character.
    pub fn parse(s: &str) -> Result<Vin, ValidationError> {
        Self::parse_inner(s, true)
    }

    /// Like [`Vin::parse`] but does not verify the check digit. Only for imported vehicles
    /// from makers that do not use position 9 as a check digit (some European VINs);
    /// everything else is still validated.
    pub fn parse_without_check_digit(s: &str) -> Result<Vin, ValidationError> {
        Self::parse_inner(s, false)
    }

    fn parse_inner(s: &str, verify_check_digit: bool) -> Result<Vin, ValidationError> {
        let err = |rule| ValidationError::new(FIELD, s, rule);
        let norm: String = to_half_width(s)
            .chars()
            .filter(|c| !is_invisible(*c))
            .collect::<String>()
            .trim()
            .to_ascii_uppercase();
        if norm.is_empty() {
            return Err(err(Rule::Required));
        }
        if norm.chars().count() != 17 {
            return Err(err(Rule::VinLength));
        }
        let bytes = norm.as_bytes();
        if !bytes.iter().all(|b| transliterate(*b).is_some()) {
            return Err(err(Rule::VinCharacters));
        }
        if year_index(bytes[9]).is_none() {
            return Err(err(Rule::VinModelYear));
        }
        if verify_check_digit
            && let Some(expected) = check_digit(bytes)
            && bytes[8] != expected as u8
        {
            return Err(err(Rule::VinCheckDigit { expected }));
        }
        Ok(Vin(norm))
    }

    /// The 17 characters.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// World manufacturer identifier: positions 1–3 (`LAT`).
    pub fn wmi(&self) -> &str {
        &self.0[..3]
    }

    /// Vehicle descriptor section: positions 4–9 (including the check digit).
    pub fn vds(&self) -> &str {
        &self.0[3..9]
    }

    /// Vehicle identifier section: positions 10–17 (model year, plant, serial).
    pub fn vis(&self) -> &str {
        &self.0[9..]
    }

    /// Production serial: positions 12–17.
    pub fn serial(&self) -> &str {
        &self.0[11..]
    }

    /// Position 9.
    pub fn check_char(&self) -> char {
        self.0.as_bytes()[8] as char
    }

    /// Position 10, the model-year code.
    pub fn model_year_code(&self) -> char {
        self.0.as_bytes()[9] as char
    }

    /// The two model years the code stands for within 1980–2039, e.g. `W` → `[1998, 2028]`.
    pub fn model_years(&self) -> [i32; 2] {
        let k = self.year_index();
        [1980 + k, 2010 + k]
    }

    /// The model year on the 30-year cycle nearest to `hint` (e.g. the registration or
    /// invoice year): `W` with hint 2024 → 2028, with hint 2005 → 1998. Ties go to the
    /// earlier year.
    pub fn model_year_near(&self, hint: i32) -> i32 {
        let base = 1980 + self.year_index();
        // Candidate just at or below the hint, and the next one up.
        let below = base + (hint - base).div_euclid(30) * 30;
        let above = below + 30;
        if hint - below <= above - hint {
            below
        } else {
            above
        }
    }

    /// China-built vehicles carry a WMI starting with `L`.
    pub fn is_china_built(&self) -> bool {
        self.0.starts_with('L')
    }

    fn year_index(&self) -> i32 {
        // A parsed VIN always has a valid model-year code.
        year_index(self.0.as_bytes()[9]).unwrap_or(0) as i32
    }
}

/// The value of a VIN character for the check-digit sum; `None` for characters a VIN
/// cannot contain (I, O, Q, lower case, anything non-alphanumeric).
fn transliterate(b: u8) -> Option<u32> {
    match b {
        b'0'..=b'9' => Some(u32::from(b - b'0')),
        b'A'..=b'H' => Some(u32::from(b - b'A') + 1),
        b'J'..=b'N' => Some(u32::from(b - b'J') + 1),
        b'P' => Some(7),
        b'R' => Some(9),
        b'S'..=b'Z' => Some(u32::from(b - b'S') + 2),
        _ => None,
    }
}

fn year_index(b: u8) -> Option<usize> {
    MODEL_YEAR_CODES.iter().position(|c| *c == b)
}

/// The correct check character (position 9) for a 17-byte upper-case VIN; whatever is at
/// position 9 is ignored. `None` when the input is not 17 bytes or contains a character a
/// VIN cannot have (besides position 9). Public so the demo generator can build valid VINs.
pub fn check_digit(vin17: &[u8]) -> Option<char> {
    if vin17.len() != 17 {
        return None;
    }
    let mut sum = 0u32;
    for (i, b) in vin17.iter().enumerate() {
        if i == 8 {
            continue;
        }
        sum += transliterate(*b)? * WEIGHTS[i];
    }
    Some(match sum % 11 {
        10 => 'X',
        r => char::from(b'0' + r as u8),
    })
}

impl fmt::Display for Vin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Vin {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl FromStr for Vin {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Vin::parse(s)
    }
}

impl TryFrom<String> for Vin {
    type Error = ValidationError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Vin::parse(&s)
    }
}

impl TryFrom<&str> for Vin {
    type Error = ValidationError;
    fn try_from(s: &str) -> Result<Self, Self::Error> {
        Vin::parse(s)
    }
}

impl From<Vin> for String {
    fn from(v: Vin) -> String {
        v.0
    }
}

impl Serialize for Vin {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const GOOD: &str = "LATPAB071W1005301";

    fn rule(s: &str) -> Rule {
        Vin::parse(s).unwrap_err().rule
    }

    /// A valid VIN from a 17-character template (position 9 is replaced).
    fn fix(template: &str) -> String {
        let mut b = template.as_bytes().to_vec();
        b[8] = check_digit(&b).unwrap() as u8;
        String::from_utf8(b).unwrap()
    }

    #[test]
    fn domain_example_passes() {
        let v = Vin::parse(GOOD).unwrap();
        assert_eq!(v.as_str(), GOOD);
        assert_eq!(v.wmi(), "LAT");
        assert_eq!(v.vds(), "PAB071");
        assert_eq!(v.vis(), "W1005301");
        assert_eq!(v.serial(), "005301");
        assert_eq!(v.check_char(), '1');
        assert!(v.is_china_built());
    }

    #[test]
    fn well_known_check_digit_examples() {
        // The textbook example (check digit X) and a digit one.
        assert!(Vin::parse("1M8GDM9AXKP042788").is_ok());
        assert!(Vin::parse("11111111111111111").is_ok());
        assert_eq!(check_digit(b"1M8GDM9A_KP042788"), Some('X'));
        assert_eq!(check_digit(GOOD.as_bytes()), Some('1'));
    }

    #[test]
    fn normalisation() {
        assert_eq!(Vin::parse("  latpab071w1005301 ").unwrap().as_str(), GOOD);
        assert_eq!(
            Vin::parse("ＬＡＴＰＡＢ０７１Ｗ１００５３０１")
                .unwrap()
                .as_str(),
            GOOD
        );
        assert_eq!(
            Vin::parse("\u{3000}LATPAB071W1005301\u{3000}")
                .unwrap()
                .as_str(),
            GOOD
        );
        assert_eq!(
            Vin::parse("\u{FEFF}LATPAB071W1005301").unwrap().as_str(),
            GOOD
        );
    }

    #[test]
    fn blank_is_required() {
        assert_eq!(rule(""), Rule::Required);
        assert_eq!(rule("   "), Rule::Required);
    }

    #[test]
    fn length() {
        assert_eq!(rule("LATPAB071W100530"), Rule::VinLength);
        assert_eq!(rule("LATPAB071W10053011"), Rule::VinLength);
        assert_eq!(rule("LATPAB071 W1005301"), Rule::VinLength);
        assert_eq!(rule("车LATPAB071W1005301"), Rule::VinLength);
    }

    #[test]
    fn characters() {
        assert_eq!(rule("LATPAB071W100530I"), Rule::VinCharacters);
        assert_eq!(rule("LATPAB071W100530O"), Rule::VinCharacters);
        assert_eq!(rule("LATPAB071W100530Q"), Rule::VinCharacters);
        assert_eq!(rule("LATPAB071W10053-1"), Rule::VinCharacters);
        assert_eq!(rule("LATPAB071W100530车"), Rule::VinCharacters);
    }

    #[test]
    fn model_year_position() {
        for c in ['U', 'Z', '0'] {
            let s = fix(&format!("LATPAB07?{c}1005301"));
            assert_eq!(rule(&s), Rule::VinModelYear, "{s}");
        }
    }

    #[test]
    fn check_digit_mismatch_reports_expected() {
        assert_eq!(
            rule("LATPAB072W1005301"),
            Rule::VinCheckDigit { expected: '1' }
        );
        let e = Vin::parse("latpab072w1005301").unwrap_err();
        assert_eq!(e.field, "vin");
        assert_eq!(e.value, "latpab072w1005301");
        assert_eq!(e.code(), "vin_check_digit");
        assert_eq!(
            rule("1M8GDM9A1KP042788"),
            Rule::VinCheckDigit { expected: 'X' }
        );
    }

    #[test]
    fn without_check_digit() {
        assert!(Vin::parse_without_check_digit("LATPAB072W1005301").is_ok());
        assert_eq!(
            Vin::parse_without_check_digit("LATPAB072W100530I")
                .unwrap_err()
                .rule,
            Rule::VinCharacters
        );
    }

    #[test]
    fn check_digit_helper() {
        assert_eq!(check_digit(b"LATPAB07?W1005301"), Some('1'));
        assert_eq!(check_digit(b"LATPAB07?W100530"), None);
        assert_eq!(check_digit(b"LATPAB07?W100530I"), None);
        assert_eq!(check_digit(b"latpab07?w1005301"), None);
        // Every generated VIN parses.
        for serial in 100000..100050 {
            let v = fix(&format!("LSVAB2BM0N2{serial}"));
            assert!(Vin::parse(&v).is_ok(), "{v}");
        }
    }

    #[test]
    fn model_years() {
        let v = Vin::parse(GOOD).unwrap();
        assert_eq!(v.model_year_code(), 'W');
        assert_eq!(v.model_years(), [1998, 2028]);
        assert_eq!(v.model_year_near(2024), 2028);
        assert_eq!(v.model_year_near(2005), 1998);
        assert_eq!(v.model_year_near(2013), 1998); // tie 15/15 → earlier
        assert_eq!(v.model_year_near(2014), 2028);
        assert_eq!(v.model_year_near(2060), 2058);

        let n = Vin::parse(&fix("LSVAB2BM0N2100000")).unwrap();
        assert_eq!(n.model_year_code(), 'N');
        assert_eq!(n.model_years(), [1992, 2022]);
        assert_eq!(n.model_year_near(2023), 2022);

        let a = Vin::parse(&fix("LSVAB2BM0A2100000")).unwrap();
        assert_eq!(a.model_years(), [1980, 2010]);
        let nine = Vin::parse(&fix("LSVAB2BM092100000")).unwrap();
        assert_eq!(nine.model_years(), [2009, 2039]);
        assert_eq!(nine.model_year_near(2010), 2009);
        let one = Vin::parse(&fix("LSVAB2BM012100000")).unwrap();
        assert_eq!(one.model_year_near(2030), 2031);
    }

    #[test]
    fn not_china_built() {
        assert!(!Vin::parse("1M8GDM9AXKP042788").unwrap().is_china_built());
    }

    #[test]
    fn conversions() {
        let v: Vin = GOOD.parse().unwrap();
        assert_eq!(v.to_string(), GOOD);
        assert_eq!(Vin::try_from(GOOD.to_string()).unwrap(), v);
        assert_eq!(String::from(v), GOOD);
    }

    #[test]
    fn deserialize_validates() {
        use serde::de::IntoDeserializer;
        use serde::de::value::{Error, StrDeserializer};
        let de: StrDeserializer<'_, Error> = "latpab071w1005301".into_deserializer();
        assert_eq!(Vin::deserialize(de).unwrap().as_str(), GOOD);
        let de: StrDeserializer<'_, Error> = "BAD".into_deserializer();
        assert!(Vin::deserialize(de).is_err());
    }
}
