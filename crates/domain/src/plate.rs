//! Mainland licence plates (DOMAIN.md §5, GA 36).
//!
//! - ordinary, 7 characters: province character + letter (no I, O) + 5 letters/digits
//!   (no I, O);
//! - special, 7 characters: as ordinary but the last character is 学 警 挂 港 澳 领;
//! - new-energy, 8 characters: small `P[A-HJ-NP-Z][DF][A-HJ-NP-Z0-9]\d{4}`, large
//!   `P[A-HJ-NP-Z]\d{5}[DF]` (P = province character; the D/F set is configurable).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize, Serializer};

use crate::error::{Lang, Rule, ValidationError};
use crate::text::{is_dash, is_invisible, is_middle_dot, to_half_width};

const FIELD: &str = "plate";

/// Characters a plate can start with: the provinces' abbreviations, plus 使 (embassy) and
/// 领 (consulate).
pub const PROVINCES: &str = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼使领";

/// Last characters of special-purpose 7-character plates: driving school, police,
/// trailer, Hong Kong, Macau, consulate.
pub const SPECIAL_SUFFIXES: &str = "学警挂港澳领";

/// The default new-energy letters (D = pure electric, F = other new energy).
pub const DEFAULT_NEW_ENERGY_LETTERS: [char; 2] = ['D', 'F'];

/// Values DMS exports use for "not registered yet"; [`Plate::parse_optional`] reads them as
/// no plate (compared after normalisation, so dashes alone count too).
pub const NO_PLATE_VALUES: &[&str] = &[
    "",
    "无牌照",
    "无",
    "未上牌",
    "无牌",
    "暂无",
    "未上牌照",
    "/",
];

/// What kind of plate the number is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlateKind {
    /// 7 characters, blue or yellow plate.
    Ordinary,
    /// 8 characters, new-energy small car (letter D/F third).
    NewEnergySmall,
    /// 8 characters, new-energy large vehicle (letter D/F last).
    NewEnergyLarge,
    /// 7 characters ending in 学 警 挂 港 澳 领.
    Special,
}

impl PlateKind {
    /// `ordinary`, `new_energy_small`, `new_energy_large`, `special`.
    pub fn code(self) -> &'static str {
        match self {
            PlateKind::Ordinary => "ordinary",
            PlateKind::NewEnergySmall => "new_energy_small",
            PlateKind::NewEnergyLarge => "new_energy_large",
            PlateKind::Special => "special",
        }
    }

    pub fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (PlateKind::Ordinary, Lang::Zh) => "普通号牌",
            (PlateKind::Ordinary, Lang::En) => "Ordinary plate",
            (PlateKind::NewEnergySmall, Lang::Zh) => "小型新能源号牌",
            (PlateKind::NewEnergySmall, Lang::En) => "New-energy plate (small vehicle)",
            (PlateKind::NewEnergyLarge, Lang::Zh) => "大型新能源号牌",
            (PlateKind::NewEnergyLarge, Lang::En) => "New-energy plate (large vehicle)",
            (PlateKind::Special, Lang::Zh) => "专用号牌",
            (PlateKind::Special, Lang::En) => "Special-purpose plate",
        }
    }

    pub fn is_new_energy(self) -> bool {
        matches!(self, PlateKind::NewEnergySmall | PlateKind::NewEnergyLarge)
    }
}

/// A validated plate number, normalised without spaces or dots (`粤BD12345`).
/// Serialises as the plain string.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct Plate {
    text: String,
    kind: PlateKind,
}

impl Plate {
    /// Validates with the default new-energy letters D and F (field name `plate`).
    /// Blank → [`Rule::Required`], anything else that is not a plate →
    /// [`Rule::PlateFormat`]; errors carry the raw input.
    pub fn parse(s: &str) -> Result<Plate, ValidationError> {
        Self::parse_with(s, &DEFAULT_NEW_ENERGY_LETTERS)
    }

    /// Validates with a store-configured set of new-energy letters.
    ///
    /// Normalisation: trim, full-width → half-width, upper-case, remove spaces, middle
    /// dots (`·`, `・`, `.`) and dashes.
    pub fn parse_with(s: &str, new_energy_letters: &[char]) -> Result<Plate, ValidationError> {
        let err = |rule| ValidationError::new(FIELD, s, rule);
        let text = normalize_plate(s);
        if text.is_empty() {
            return Err(err(Rule::Required));
        }
        let chars: Vec<char> = text.chars().collect();
        classify(&chars, new_energy_letters)
            .map(|kind| Plate { text, kind })
            .ok_or_else(|| err(Rule::PlateFormat))
    }

    /// `Ok(None)` for "no plate yet" ([`NO_PLATE_VALUES`]: blank, 无牌照, 无, 未上牌, …),
    /// otherwise [`Plate::parse`].
    pub fn parse_optional(s: &str) -> Result<Option<Plate>, ValidationError> {
        Self::parse_optional_with(s, &DEFAULT_NEW_ENERGY_LETTERS)
    }

    /// [`Plate::parse_optional`] with configured new-energy letters.
    pub fn parse_optional_with(
        s: &str,
        new_energy_letters: &[char],
    ) -> Result<Option<Plate>, ValidationError> {
        if is_no_plate(s) {
            return Ok(None);
        }
        Self::parse_with(s, new_energy_letters).map(Some)
    }

    /// The normalised plate, e.g. `京A12345`.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn kind(&self) -> PlateKind {
        self.kind
    }

    /// The first character: province abbreviation (or 使 / 领).
    pub fn province(&self) -> char {
        self.text.chars().next().unwrap_or(' ')
    }

    /// The issuing authority code: the letter after the province character (`A` in 京A12345).
    pub fn authority(&self) -> char {
        self.text.chars().nth(1).unwrap_or(' ')
    }

    /// The usual printed form with a middle dot after the authority letter: `京A·12345`.
    pub fn formatted(&self) -> String {
        let mut out = String::with_capacity(self.text.len() + 2);
        for (i, c) in self.text.chars().enumerate() {
            if i == 2 {
                out.push('·');
            }
            out.push(c);
        }
        out
    }
}

/// True when `s` means "no plate" (see [`NO_PLATE_VALUES`]).
pub fn is_no_plate(s: &str) -> bool {
    let n = normalize_plate(s);
    NO_PLATE_VALUES.contains(&n.as_str())
}

fn normalize_plate(s: &str) -> String {
    to_half_width(s)
        .chars()
        .filter(|c| !(c.is_whitespace() || is_invisible(*c) || is_middle_dot(*c) || is_dash(*c)))
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// `[A-HJ-NP-Z]`: a capital letter other than I and O.
fn is_letter(c: char) -> bool {
    c.is_ascii_uppercase() && c != 'I' && c != 'O'
}

/// `[A-HJ-NP-Z0-9]`.
fn is_letter_or_digit(c: char) -> bool {
    is_letter(c) || c.is_ascii_digit()
}

fn classify(c: &[char], new_energy_letters: &[char]) -> Option<PlateKind> {
    let is_ne = |x: char| {
        new_energy_letters
            .iter()
            .any(|l| l.to_ascii_uppercase() == x)
    };
    if c.len() < 7 || !PROVINCES.contains(c[0]) || !is_letter(c[1]) {
        return None;
    }
    let rest = &c[2..];
    match rest.len() {
        5 if rest.iter().all(|x| is_letter_or_digit(*x)) => Some(PlateKind::Ordinary),
        5 if rest[..4].iter().all(|x| is_letter_or_digit(*x))
            && SPECIAL_SUFFIXES.contains(rest[4]) =>
        {
            Some(PlateKind::Special)
        }
        6 if is_ne(rest[0])
            && is_letter_or_digit(rest[1])
            && rest[2..].iter().all(char::is_ascii_digit) =>
        {
            Some(PlateKind::NewEnergySmall)
        }
        6 if rest[..5].iter().all(char::is_ascii_digit) && is_ne(rest[5]) => {
            Some(PlateKind::NewEnergyLarge)
        }
        _ => None,
    }
}

impl fmt::Display for Plate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl AsRef<str> for Plate {
    fn as_ref(&self) -> &str {
        &self.text
    }
}

impl FromStr for Plate {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Plate::parse(s)
    }
}

impl TryFrom<String> for Plate {
    type Error = ValidationError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Plate::parse(&s)
    }
}

impl TryFrom<&str> for Plate {
    type Error = ValidationError;
    fn try_from(s: &str) -> Result<Self, Self::Error> {
        Plate::parse(s)
    }
}

impl From<Plate> for String {
    fn from(p: Plate) -> String {
        p.text
    }
}

impl Serialize for Plate {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn kind(s: &str) -> PlateKind {
        Plate::parse(s).unwrap().kind()
    }

    fn text(s: &str) -> String {
        Plate::parse(s).unwrap().as_str().to_string()
    }

    fn rule(s: &str) -> Rule {
        Plate::parse(s).unwrap_err().rule
    }

    #[test]
    fn brief_examples() {
        assert_eq!(kind("京A12345"), PlateKind::Ordinary);
        assert_eq!(kind("粤B·D12345"), PlateKind::NewEnergySmall);
        assert_eq!(text("粤B·D12345"), "粤BD12345");
        assert_eq!(kind("沪A12345D"), PlateKind::NewEnergyLarge);
        assert_eq!(kind("京A1234学"), PlateKind::Special);
        assert_eq!(rule("京I12345"), Rule::PlateFormat);
    }

    #[test]
    fn ordinary_plates() {
        for p in ["京A12345", "沪B8H9J2", "川AABC12", "新A00001", "使A12345"] {
            assert_eq!(kind(p), PlateKind::Ordinary, "{p}");
        }
        let p = Plate::parse("浙C88888").unwrap();
        assert_eq!(p.province(), '浙');
        assert_eq!(p.authority(), 'C');
        assert_eq!(p.formatted(), "浙C·88888");
    }

    #[test]
    fn special_plates() {
        for p in [
            "京A1234警",
            "粤Z1234港",
            "粤Z1234澳",
            "鲁B1234挂",
            "沪A1234领",
        ] {
            assert_eq!(kind(p), PlateKind::Special, "{p}");
        }
        assert_eq!(rule("京A1234军"), Rule::PlateFormat);
        assert_eq!(rule("京A123学4"), Rule::PlateFormat);
    }

    #[test]
    fn new_energy_plates() {
        assert_eq!(kind("京AD12345"), PlateKind::NewEnergySmall);
        assert_eq!(kind("京AF12345"), PlateKind::NewEnergySmall);
        assert_eq!(kind("京ADA1234"), PlateKind::NewEnergySmall);
        assert_eq!(kind("沪A12345F"), PlateKind::NewEnergyLarge);
        assert!(PlateKind::NewEnergyLarge.is_new_energy());
        assert!(!PlateKind::Special.is_new_energy());
        // Third character must be D/F for small; fourth letter may not be I/O.
        assert_eq!(rule("京AX12345"), Rule::PlateFormat);
        assert_eq!(rule("京ADI1234"), Rule::PlateFormat);
        // The last four of a small plate are digits.
        assert_eq!(rule("京AD1234A"), Rule::PlateFormat);
        // Large: five digits then D/F.
        assert_eq!(rule("沪A1234AD"), Rule::PlateFormat);
        assert_eq!(rule("沪A12345X"), Rule::PlateFormat);
    }

    #[test]
    fn configurable_new_energy_letters() {
        assert_eq!(rule("京AE12345"), Rule::PlateFormat);
        let p = Plate::parse_with("京AE12345", &['D', 'E', 'F']).unwrap();
        assert_eq!(p.kind(), PlateKind::NewEnergySmall);
        let q = Plate::parse_with("京A12345e", &['e']).unwrap();
        assert_eq!(q.kind(), PlateKind::NewEnergyLarge);
        assert_eq!(
            Plate::parse_with("京AD12345", &['F']).unwrap_err().rule,
            Rule::PlateFormat
        );
    }

    #[test]
    fn normalisation() {
        assert_eq!(text(" 京a 12345 "), "京A12345");
        assert_eq!(text("京A-12345"), "京A12345");
        assert_eq!(text("京A·12345"), "京A12345");
        assert_eq!(text("京A・12345"), "京A12345");
        assert_eq!(text("京A.12345"), "京A12345");
        assert_eq!(text("京Ａ１２３４５"), "京A12345");
        assert_eq!(text("粤b\u{3000}d12345"), "粤BD12345");
    }

    #[test]
    fn bad_plates() {
        for p in [
            "A12345",    // no province
            "港A12345",  // not a mainland province character
            "京112345",  // authority must be a letter
            "京AO2345",  // O
            "京A1234",   // too short
            "京A123456", // 7 after province+letter, not new energy
            "京A12345DD",
            "京A1234!",
            "12345678",
        ] {
            assert_eq!(rule(p), Rule::PlateFormat, "{p}");
        }
        assert_eq!(rule(""), Rule::Required);
        assert_eq!(rule(" · "), Rule::Required);
    }

    #[test]
    fn error_names_field_and_raw_value() {
        let e = Plate::parse(" 京I12345 ").unwrap_err();
        assert_eq!(e.field, "plate");
        assert_eq!(e.value, " 京I12345 ");
        assert_eq!(e.code(), "plate_format");
    }

    #[test]
    fn optional_plates() {
        for none in ["", "  ", "无牌照", "无", "未上牌", " 无牌照 ", "-", "暂无"] {
            assert_eq!(Plate::parse_optional(none).unwrap(), None, "{none:?}");
        }
        assert_eq!(
            Plate::parse_optional("京A12345").unwrap().unwrap().as_str(),
            "京A12345"
        );
        assert_eq!(
            Plate::parse_optional("京I12345").unwrap_err().rule,
            Rule::PlateFormat
        );
        assert!(is_no_plate("无牌照"));
        assert!(!is_no_plate("京A12345"));
    }

    #[test]
    fn kind_codes_and_labels() {
        assert_eq!(PlateKind::NewEnergySmall.code(), "new_energy_small");
        assert_eq!(PlateKind::Ordinary.label(Lang::Zh), "普通号牌");
        assert_eq!(PlateKind::Special.label(Lang::En), "Special-purpose plate");
    }

    #[test]
    fn conversions() {
        let p: Plate = "京A12345".parse().unwrap();
        assert_eq!(p.to_string(), "京A12345");
        assert_eq!(Plate::try_from("京A·12345").unwrap(), p);
        assert_eq!(String::from(p), "京A12345");
    }

    #[test]
    fn deserialize_validates() {
        use serde::de::IntoDeserializer;
        use serde::de::value::{Error, StrDeserializer};
        let de: StrDeserializer<'_, Error> = "粤B·D12345".into_deserializer();
        assert_eq!(Plate::deserialize(de).unwrap().as_str(), "粤BD12345");
        let de: StrDeserializer<'_, Error> = "BAD".into_deserializer();
        assert!(Plate::deserialize(de).is_err());
    }
}
