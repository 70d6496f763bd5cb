//! Identity document numbers (DOMAIN.md §5): mainland resident ID (18 digits, or the
//! legacy 15), Hong Kong/Macau/Taiwan residence permit, foreigner's permanent residence ID,
//! passport, other.
//!
//! ID numbers are sensitive personal data (§6): `Debug` prints the masked form, and there
//! is deliberately no `Display`; use [`ResidentId::as_str`] where the full value is allowed
//! and [`ResidentId::masked`] everywhere else.

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Deserializer, Serialize};

use crate::error::{Lang, Rule, ValidationError};
use crate::mask::mask_id;
use crate::text::{char_len, is_invisible, normalize, to_half_width};

const FIELD: &str = "id_number";
const TYPE_FIELD: &str = "id_type";

/// ISO 7064 MOD 11-2 weights for the first 17 digits.
const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// Check character by remainder 0–10.
const CHECK_CHARS: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];

/// Earliest birth year accepted inside an ID number.
pub const MIN_BIRTH_YEAR: i32 = 1900;
/// Latest birth year [`ResidentId::parse`] accepts when no "today" is given
/// ([`ResidentId::parse_on`] rejects any birth date after today).
pub const MAX_BIRTH_YEAR: i32 = 2099;
/// Longest number accepted for [`IdType::Other`].
pub const OTHER_MAX_LEN: usize = 32;

/// The kind of identity document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdType {
    /// 居民身份证
    Resident,
    /// 港澳台居民居住证 (18 digits, 81/82/83 prefix)
    HkMacauTaiwanPermit,
    /// 外国人永久居留身份证 (18 digits starting with 9; old 15-character form)
    ForeignerPermanent,
    /// 护照
    Passport,
    /// 其他证件
    Other,
}

impl IdType {
    pub const ALL: [IdType; 5] = [
        IdType::Resident,
        IdType::HkMacauTaiwanPermit,
        IdType::ForeignerPermanent,
        IdType::Passport,
        IdType::Other,
    ];

    /// Stable code (also the serde form): `resident`, `hk_macau_taiwan_permit`,
    /// `foreigner_permanent`, `passport`, `other`.
    pub fn code(self) -> &'static str {
        match self {
            IdType::Resident => "resident",
            IdType::HkMacauTaiwanPermit => "hk_macau_taiwan_permit",
            IdType::ForeignerPermanent => "foreigner_permanent",
            IdType::Passport => "passport",
            IdType::Other => "other",
        }
    }

    /// The document's name for people.
    pub fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (IdType::Resident, Lang::Zh) => "居民身份证",
            (IdType::Resident, Lang::En) => "Resident ID card",
            (IdType::HkMacauTaiwanPermit, Lang::Zh) => "港澳台居民居住证",
            (IdType::HkMacauTaiwanPermit, Lang::En) => "Hong Kong/Macau/Taiwan residence permit",
            (IdType::ForeignerPermanent, Lang::Zh) => "外国人永久居留身份证",
            (IdType::ForeignerPermanent, Lang::En) => "Foreigner's permanent residence ID card",
            (IdType::Passport, Lang::Zh) => "护照",
            (IdType::Passport, Lang::En) => "Passport",
            (IdType::Other, Lang::Zh) => "其他证件",
            (IdType::Other, Lang::En) => "Other document",
        }
    }

    /// Reads a code, or a common Chinese/English name of the document as found in DMS
    /// exports (`身份证`, `护照`, `id_card`, …). Case and surrounding spaces are ignored.
    pub fn from_code(s: &str) -> Option<IdType> {
        let s = normalize(s).to_ascii_lowercase();
        Some(match s.as_str() {
            "resident" | "resident_id" | "id_card" | "idcard" | "身份证" | "居民身份证"
            | "二代身份证" => IdType::Resident,
            "hk_macau_taiwan_permit" | "hmt_permit" | "港澳台居民居住证" | "港澳台居住证" => {
                IdType::HkMacauTaiwanPermit
            }
            "foreigner_permanent"
            | "foreigner"
            | "外国人永久居留身份证"
            | "外国人永久居留证"
            | "永居证" => IdType::ForeignerPermanent,
            "passport" | "护照" => IdType::Passport,
            "other" | "其他" | "其他证件" => IdType::Other,
            _ => return None,
        })
    }

    /// [`IdType::from_code`] with a validation error (field `id_type`): blank →
    /// [`Rule::Required`], unknown → [`Rule::OneOf`] listing the codes.
    pub fn parse(s: &str) -> Result<IdType, ValidationError> {
        if normalize(s).is_empty() {
            return Err(ValidationError::new(TYPE_FIELD, s, Rule::Required));
        }
        IdType::from_code(s).ok_or_else(|| {
            let allowed = IdType::ALL.iter().map(|t| t.code().to_string()).collect();
            ValidationError::new(TYPE_FIELD, s, Rule::OneOf { allowed })
        })
    }
}

impl FromStr for IdType {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        IdType::parse(s)
    }
}

/// Gender as encoded in an ID number (sequence digit: odd male, even female).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Gender {
    Male,
    Female,
}

impl Gender {
    /// `male` / `female`.
    pub fn code(self) -> &'static str {
        match self {
            Gender::Male => "male",
            Gender::Female => "female",
        }
    }

    pub fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Gender::Male, Lang::Zh) => "男",
            (Gender::Female, Lang::Zh) => "女",
            (Gender::Male, Lang::En) => "Male",
            (Gender::Female, Lang::En) => "Female",
        }
    }

    /// Reads `male`/`female`, `m`/`f`, `男`/`女`, or the GB/T 2261.1 codes `1`/`2`.
    pub fn parse(s: &str) -> Option<Gender> {
        match normalize(s).to_ascii_lowercase().as_str() {
            "male" | "m" | "男" | "1" => Some(Gender::Male),
            "female" | "f" | "女" | "2" => Some(Gender::Female),
            _ => None,
        }
    }
}

/// A validated identity document number with its type. Resident IDs (and the 18-digit
/// permit and foreigner forms) are stored as 18 upper-case characters; 15-digit legacy
/// resident IDs are upgraded on parse.
#[derive(Clone, PartialEq, Eq, Hash, Serialize)]
pub struct ResidentId {
    #[serde(rename = "number")]
    normalized: String,
    id_type: IdType,
}

impl ResidentId {
    /// Validates `s` as a document of type `id_type` (field name `id_number`; errors carry
    /// the raw input). Birth dates inside the number must be real dates in
    /// [`MIN_BIRTH_YEAR`]..=[`MAX_BIRTH_YEAR`]; use [`ResidentId::parse_on`] to also reject
    /// dates after today.
    ///
    /// Rules by type:
    /// - resident: 18 = 17 digits + check (`x` accepted as `X`), or legacy 15 digits
    ///   (6 address + YYMMDD in 19YY + 3 sequence), upgraded to 18. Errors
    ///   [`Rule::IdLength`], [`Rule::IdCharacters`], [`Rule::IdBirthDate`],
    ///   [`Rule::IdCheckDigit`].
    /// - HK/Macau/Taiwan permit: the 18-digit form starting 81, 82 or 83
    ///   ([`Rule::IdPermitPrefix`]).
    /// - foreigner permanent ID: 18-digit form starting with 9 ([`Rule::IdForeignerPrefix`]),
    ///   or the old 15-character form of 3 letters + 12 digits.
    /// - passport: 5–20 letters or digits ([`Rule::PassportFormat`]).
    /// - other: any text up to [`OTHER_MAX_LEN`] characters ([`Rule::TooLong`]).
    ///
    /// Blank input is always [`Rule::Required`].
    pub fn parse(id_type: IdType, s: &str) -> Result<ResidentId, ValidationError> {
        Self::parse_inner(id_type, s, max_birth_default())
    }

    /// Like [`ResidentId::parse`], and birth dates after `today` are rejected with
    /// [`Rule::IdBirthDate`].
    pub fn parse_on(
        id_type: IdType,
        s: &str,
        today: NaiveDate,
    ) -> Result<ResidentId, ValidationError> {
        Self::parse_inner(id_type, s, today.min(max_birth_default()))
    }

    /// Guesses the document type from the shape of the number, for imports without an ID
    /// type column: 15 digits or 17 digits + check → resident (81/82/83 prefix → permit,
    /// 9 prefix → foreigner), 3 letters + 12 digits → old foreigner ID, other 5–20
    /// letters/digits → passport. Strings that look like resident IDs but are broken get
    /// the resident error, never a passport.
    pub fn detect(s: &str) -> Result<ResidentId, ValidationError> {
        let n = clean_number(s);
        let b = n.as_bytes();
        let digits_like = n.len() >= 14
            && n.is_ascii()
            && b[..b.len() - 1].iter().all(u8::is_ascii_digit)
            && (b[b.len() - 1].is_ascii_digit() || b[b.len() - 1] == b'X');
        let id_type = if digits_like {
            if n.len() == 18 && (n.starts_with("81") || n.starts_with("82") || n.starts_with("83"))
            {
                IdType::HkMacauTaiwanPermit
            } else if n.len() == 18 && n.starts_with('9') {
                IdType::ForeignerPermanent
            } else {
                IdType::Resident
            }
        } else if is_old_foreigner(b) {
            IdType::ForeignerPermanent
        } else if is_passport(&n) {
            IdType::Passport
        } else {
            IdType::Resident
        };
        Self::parse(id_type, s)
    }

    fn parse_inner(
        id_type: IdType,
        s: &str,
        max_birth: NaiveDate,
    ) -> Result<ResidentId, ValidationError> {
        let err = |rule| ValidationError::new(FIELD, s, rule);
        let n = clean_number(s);
        if n.is_empty() {
            return Err(err(Rule::Required));
        }
        let normalized = match id_type {
            IdType::Resident => match char_len(&n) {
                18 => {
                    check_18(&n, max_birth).map_err(err)?;
                    n
                }
                15 => upgrade_15(&n, max_birth).map_err(err)?,
                _ => return Err(err(Rule::IdLength)),
            },
            IdType::HkMacauTaiwanPermit => {
                if char_len(&n) != 18 {
                    return Err(err(Rule::IdLength));
                }
                check_characters(&n).map_err(err)?;
                if !(n.starts_with("81") || n.starts_with("82") || n.starts_with("83")) {
                    return Err(err(Rule::IdPermitPrefix));
                }
                check_18(&n, max_birth).map_err(err)?;
                n
            }
            IdType::ForeignerPermanent => match char_len(&n) {
                18 => {
                    check_characters(&n).map_err(err)?;
                    if !n.starts_with('9') {
                        return Err(err(Rule::IdForeignerPrefix));
                    }
                    check_18(&n, max_birth).map_err(err)?;
                    n
                }
                15 => {
                    if !is_old_foreigner(n.as_bytes()) {
                        return Err(err(Rule::IdCharacters));
                    }
                    n
                }
                _ => return Err(err(Rule::IdLength)),
            },
            IdType::Passport => {
                if !is_passport(&n) {
                    return Err(err(Rule::PassportFormat));
                }
                n
            }
            IdType::Other => {
                // Free text: only whitespace is tidied, inner spaces are kept.
                let text = normalize(s);
                if text.is_empty() {
                    return Err(err(Rule::Required));
                }
                if char_len(&text) > OTHER_MAX_LEN {
                    return Err(err(Rule::TooLong { max: OTHER_MAX_LEN }));
                }
                text
            }
        };
        Ok(ResidentId {
            normalized,
            id_type,
        })
    }

    /// The normalised number (18 characters for resident-style numbers).
    pub fn as_str(&self) -> &str {
        &self.normalized
    }

    pub fn id_type(&self) -> IdType {
        self.id_type
    }

    /// For display: first 1 and last 4 characters kept (`1*************002X`).
    pub fn masked(&self) -> String {
        mask_id(&self.normalized)
    }

    /// True for the 18-character layout: 6 region + 8 birth date + 3 sequence + check.
    fn has_resident_layout(&self) -> bool {
        matches!(
            self.id_type,
            IdType::Resident | IdType::HkMacauTaiwanPermit | IdType::ForeignerPermanent
        ) && self.normalized.len() == 18
    }

    /// The birth date encoded in an 18-character resident, permit or foreigner number;
    /// `None` for passports, other documents and the old foreigner form.
    pub fn birth_date(&self) -> Option<NaiveDate> {
        if !self.has_resident_layout() {
            return None;
        }
        birth_of(self.normalized.as_bytes())
    }

    /// Gender from the sequence digit (position 17: odd male, even female), for the same
    /// numbers as [`ResidentId::birth_date`].
    pub fn gender(&self) -> Option<Gender> {
        if !self.has_resident_layout() {
            return None;
        }
        let d = self.normalized.as_bytes()[16].checked_sub(b'0')?;
        Some(if d % 2 == 1 {
            Gender::Male
        } else {
            Gender::Female
        })
    }

    /// Completed years of age on `date`, when the birth date is known.
    pub fn age_on(&self, date: NaiveDate) -> Option<u32> {
        date.years_since(self.birth_date()?)
    }

    /// The 6-digit administrative region code of a resident ID (issuing place).
    pub fn region_code(&self) -> Option<&str> {
        (self.id_type == IdType::Resident && self.normalized.len() == 18)
            .then(|| &self.normalized[..6])
    }
}

impl fmt::Debug for ResidentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResidentId")
            .field("id_type", &self.id_type)
            .field("number", &self.masked())
            .finish()
    }
}

impl<'de> Deserialize<'de> for ResidentId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Raw {
            id_type: IdType,
            number: String,
        }
        let raw = Raw::deserialize(deserializer)?;
        ResidentId::parse(raw.id_type, &raw.number).map_err(serde::de::Error::custom)
    }
}

/// The ISO 7064 MOD 11-2 check character for the first 17 digits of an ID number;
/// `None` unless `first17` is exactly 17 ASCII digits. Public so the demo generator can
/// build valid numbers.
pub fn check_char(first17: &str) -> Option<char> {
    let b = first17.as_bytes();
    if b.len() != 17 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let sum: u32 = b
        .iter()
        .zip(WEIGHTS)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    Some(CHECK_CHARS[(sum % 11) as usize])
}

fn max_birth_default() -> NaiveDate {
    NaiveDate::from_ymd_opt(MAX_BIRTH_YEAR, 12, 31).unwrap_or(NaiveDate::MAX)
}

/// Half-width, no whitespace or invisible characters, no leading apostrophe (Excel's
/// "this is text" marker), upper case.
fn clean_number(s: &str) -> String {
    let cleaned: String = to_half_width(s)
        .chars()
        .filter(|c| !c.is_whitespace() && !is_invisible(*c))
        .collect();
    cleaned.trim_start_matches('\'').to_ascii_uppercase()
}

/// 17 ASCII digits and a digit or X.
fn check_characters(n: &str) -> Result<(), Rule> {
    let b = n.as_bytes();
    if b.len() == 18
        && b[..17].iter().all(u8::is_ascii_digit)
        && (b[17].is_ascii_digit() || b[17] == b'X')
    {
        Ok(())
    } else {
        Err(Rule::IdCharacters)
    }
}

/// Characters, birth date (positions 7–14), check digit.
fn check_18(n: &str, max_birth: NaiveDate) -> Result<(), Rule> {
    check_characters(n)?;
    let b = n.as_bytes();
    match birth_of(b) {
        Some(d) if d.year() >= MIN_BIRTH_YEAR && d <= max_birth => {}
        _ => return Err(Rule::IdBirthDate),
    }
    let expected = check_char(&n[..17]).ok_or(Rule::IdCharacters)?;
    if b[17] as char != expected {
        return Err(Rule::IdCheckDigit { expected });
    }
    Ok(())
}

/// 15-digit legacy ID → 18 digits: insert `19` before YYMMDD, append the check character.
fn upgrade_15(n: &str, max_birth: NaiveDate) -> Result<String, Rule> {
    if !n.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Rule::IdCharacters);
    }
    let first17 = format!("{}19{}", &n[..6], &n[6..]);
    match birth_of(first17.as_bytes()) {
        Some(d) if d <= max_birth => {}
        _ => return Err(Rule::IdBirthDate),
    }
    let check = check_char(&first17).ok_or(Rule::IdCharacters)?;
    Ok(format!("{first17}{check}"))
}

/// YYYYMMDD at positions 7–14 (bytes 6..14).
fn birth_of(b: &[u8]) -> Option<NaiveDate> {
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let part = b.get(r)?;
        part.iter().try_fold(0u32, |acc, d| {
            d.is_ascii_digit().then(|| acc * 10 + u32::from(d - b'0'))
        })
    };
    let year = i32::try_from(num(6..10)?).ok()?;
    NaiveDate::from_ymd_opt(year, num(10..12)?, num(12..14)?)
}

/// Old foreigner permanent ID: 3 letters + 12 digits.
fn is_old_foreigner(b: &[u8]) -> bool {
    b.len() == 15
        && b[..3].iter().all(u8::is_ascii_uppercase)
        && b[3..].iter().all(u8::is_ascii_digit)
}

fn is_passport(n: &str) -> bool {
    (5..=20).contains(&n.len())
        && n.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn resident(s: &str) -> ResidentId {
        ResidentId::parse(IdType::Resident, s).unwrap()
    }

    fn rule(t: IdType, s: &str) -> Rule {
        ResidentId::parse(t, s).unwrap_err().rule
    }

    /// A valid 18-digit number from 17 digits.
    fn complete(first17: &str) -> String {
        format!("{first17}{}", check_char(first17).unwrap())
    }

    #[test]
    fn domain_examples_pass() {
        let a = resident("11010519491231002X");
        assert_eq!(a.as_str(), "11010519491231002X");
        assert_eq!(a.id_type(), IdType::Resident);
        assert_eq!(a.birth_date(), Some(date(1949, 12, 31)));
        assert_eq!(a.gender(), Some(Gender::Female)); // sequence 002
        assert_eq!(a.region_code(), Some("110105"));

        let b = resident("513101198201130014");
        assert_eq!(b.birth_date(), Some(date(1982, 1, 13)));
        assert_eq!(b.gender(), Some(Gender::Male)); // sequence 001
    }

    #[test]
    fn check_char_helper() {
        assert_eq!(check_char("11010519491231002"), Some('X'));
        assert_eq!(check_char("51310119820113001"), Some('4'));
        assert_eq!(check_char("1101051949123100"), None);
        assert_eq!(check_char("1101051949123100A"), None);
        assert_eq!(check_char("110105194912310021"), None);
    }

    #[test]
    fn lowercase_x_and_full_width_and_spaces_normalised() {
        assert_eq!(
            resident("11010519491231002x").as_str(),
            "11010519491231002X"
        );
        assert_eq!(
            resident("１１０１０５１９４９１２３１００２Ｘ").as_str(),
            "11010519491231002X"
        );
        assert_eq!(
            resident(" 110105 19491231 002X ").as_str(),
            "11010519491231002X"
        );
        assert_eq!(
            resident("'11010519491231002X").as_str(),
            "11010519491231002X"
        );
    }

    #[test]
    fn fifteen_digit_upgrade() {
        let id = resident("110105491231002");
        assert_eq!(id.as_str(), "11010519491231002X");
        assert_eq!(id.birth_date(), Some(date(1949, 12, 31)));
        assert_eq!(id.gender(), Some(Gender::Female));

        let id = resident("513101820113001");
        assert_eq!(id.as_str(), "513101198201130014");
        assert_eq!(id.gender(), Some(Gender::Male));

        assert_eq!(rule(IdType::Resident, "110105491331002"), Rule::IdBirthDate);
        assert_eq!(
            rule(IdType::Resident, "11010549123100X"),
            Rule::IdCharacters
        );
    }

    #[test]
    fn failure_rules() {
        assert_eq!(rule(IdType::Resident, ""), Rule::Required);
        assert_eq!(rule(IdType::Resident, "   "), Rule::Required);
        assert_eq!(rule(IdType::Resident, "1101051949123100"), Rule::IdLength);
        assert_eq!(
            rule(IdType::Resident, "11010519491231002X1"),
            Rule::IdLength
        );
        assert_eq!(
            rule(IdType::Resident, "1101051949123100AX"),
            Rule::IdCharacters
        );
        assert_eq!(
            rule(IdType::Resident, "X1010519491231002X"),
            Rule::IdCharacters
        );
        assert_eq!(
            rule(IdType::Resident, "11010519491231002Y"),
            Rule::IdCharacters
        );
        assert_eq!(
            rule(IdType::Resident, "11010519491231002身"),
            Rule::IdCharacters
        );
        assert_eq!(
            rule(IdType::Resident, "110105194912310021"),
            Rule::IdCheckDigit { expected: 'X' }
        );
        assert_eq!(
            rule(IdType::Resident, "51310119820113001X"),
            Rule::IdCheckDigit { expected: '4' }
        );
    }

    #[test]
    fn birth_date_rules() {
        // Not a real date, even with a correct check digit.
        assert_eq!(
            rule(IdType::Resident, &complete("11010520230230001")),
            Rule::IdBirthDate
        );
        assert_eq!(
            rule(IdType::Resident, &complete("11010520231301001")),
            Rule::IdBirthDate
        );
        assert_eq!(
            rule(IdType::Resident, &complete("11010520230100001")),
            Rule::IdBirthDate
        );
        // Before 1900, far future.
        assert_eq!(
            rule(IdType::Resident, &complete("11010518991231001")),
            Rule::IdBirthDate
        );
        assert_eq!(
            rule(IdType::Resident, &complete("11010521000101001")),
            Rule::IdBirthDate
        );
        // Leap day.
        assert!(ResidentId::parse(IdType::Resident, &complete("11010520000229001")).is_ok());
        assert_eq!(
            rule(IdType::Resident, &complete("11010519000229001")),
            Rule::IdBirthDate
        );
    }

    #[test]
    fn parse_on_rejects_future_births() {
        let today = date(2024, 6, 1);
        let born_later = complete("11010520240602001");
        assert_eq!(
            ResidentId::parse_on(IdType::Resident, &born_later, today)
                .unwrap_err()
                .rule,
            Rule::IdBirthDate
        );
        assert!(ResidentId::parse(IdType::Resident, &born_later).is_ok());
        let born_today = complete("11010520240601001");
        assert!(ResidentId::parse_on(IdType::Resident, &born_today, today).is_ok());
    }

    #[test]
    fn errors_name_field_and_raw_value() {
        let e = ResidentId::parse(IdType::Resident, " 110105194912310021 ").unwrap_err();
        assert_eq!(e.field, "id_number");
        assert_eq!(e.value, " 110105194912310021 ");
        assert_eq!(e.code(), "id_check_digit");
    }

    #[test]
    fn hk_macau_taiwan_permit() {
        let t = IdType::HkMacauTaiwanPermit;
        for prefix in ["810000", "820000", "830000"] {
            let n = complete(&format!("{prefix}19900101001"));
            let id = ResidentId::parse(t, &n).unwrap();
            assert_eq!(id.id_type(), t);
            assert_eq!(id.birth_date(), Some(date(1990, 1, 1)));
            assert_eq!(id.gender(), Some(Gender::Male));
            assert_eq!(id.region_code(), None);
        }
        assert_eq!(rule(t, "11010519491231002X"), Rule::IdPermitPrefix);
        assert_eq!(rule(t, "810000199001010"), Rule::IdLength);
        assert_eq!(rule(t, "81000019900101001A"), Rule::IdCharacters);
        assert_eq!(rule(t, &complete("81000019901301001")), Rule::IdBirthDate);
        let good = complete("81000019900101002");
        let bad_check = format!(
            "{}{}",
            &good[..17],
            if good.ends_with('0') { '1' } else { '0' }
        );
        assert!(matches!(rule(t, &bad_check), Rule::IdCheckDigit { .. }));
    }

    #[test]
    fn foreigner_permanent() {
        let t = IdType::ForeignerPermanent;
        let n = complete("93111519850612002");
        let id = ResidentId::parse(t, &n).unwrap();
        assert_eq!(id.birth_date(), Some(date(1985, 6, 12)));
        assert_eq!(id.gender(), Some(Gender::Female));
        assert_eq!(rule(t, "11010519491231002X"), Rule::IdForeignerPrefix);
        assert_eq!(rule(t, &complete("93111519851312002")), Rule::IdBirthDate);
        assert!(matches!(
            rule(t, &format!("{}Y", &n[..17])),
            Rule::IdCharacters
        ));

        // Old 15-character form.
        let old = ResidentId::parse(t, "usa310176011101").unwrap();
        assert_eq!(old.as_str(), "USA310176011101");
        assert_eq!(old.birth_date(), None);
        assert_eq!(old.gender(), None);
        assert_eq!(rule(t, "US3310176011101"), Rule::IdCharacters);
        assert_eq!(rule(t, "USA31017601110"), Rule::IdLength);
    }

    #[test]
    fn passport() {
        let t = IdType::Passport;
        let p = ResidentId::parse(t, " e1234 5678 ").unwrap();
        assert_eq!(p.as_str(), "E12345678");
        assert_eq!(p.birth_date(), None);
        assert_eq!(p.gender(), None);
        assert!(ResidentId::parse(t, "12345").is_ok());
        assert!(ResidentId::parse(t, "A1234567890123456789").is_ok());
        assert_eq!(rule(t, "1234"), Rule::PassportFormat);
        assert_eq!(rule(t, "A12345678901234567890"), Rule::PassportFormat);
        assert_eq!(rule(t, "E1234-5678"), Rule::PassportFormat);
        assert_eq!(rule(t, "护照12345"), Rule::PassportFormat);
        assert_eq!(rule(t, ""), Rule::Required);
    }

    #[test]
    fn other_documents() {
        let t = IdType::Other;
        let o = ResidentId::parse(t, "  军官证  第 123 号 ").unwrap();
        assert_eq!(o.as_str(), "军官证 第 123 号");
        assert_eq!(o.birth_date(), None);
        assert_eq!(rule(t, " "), Rule::Required);
        assert_eq!(rule(t, &"9".repeat(33)), Rule::TooLong { max: 32 });
    }

    #[test]
    fn detect_type() {
        assert_eq!(
            ResidentId::detect("11010519491231002x").unwrap().id_type(),
            IdType::Resident
        );
        assert_eq!(
            ResidentId::detect("110105491231002").unwrap().as_str(),
            "11010519491231002X"
        );
        let permit = complete("81000019900101001");
        assert_eq!(
            ResidentId::detect(&permit).unwrap().id_type(),
            IdType::HkMacauTaiwanPermit
        );
        let foreigner = complete("93111519850612002");
        assert_eq!(
            ResidentId::detect(&foreigner).unwrap().id_type(),
            IdType::ForeignerPermanent
        );
        assert_eq!(
            ResidentId::detect("USA310176011101").unwrap().id_type(),
            IdType::ForeignerPermanent
        );
        assert_eq!(
            ResidentId::detect("E12345678").unwrap().id_type(),
            IdType::Passport
        );
        // A mistyped resident ID is an ID error, not a passport.
        assert_eq!(
            ResidentId::detect("1101051949123100").unwrap_err().rule,
            Rule::IdLength
        );
        assert!(matches!(
            ResidentId::detect("110105194912310021").unwrap_err().rule,
            Rule::IdCheckDigit { .. }
        ));
        assert_eq!(ResidentId::detect("???").unwrap_err().rule, Rule::IdLength);
    }

    #[test]
    fn age() {
        let id = resident("513101198201130014");
        assert_eq!(id.age_on(date(2024, 1, 12)), Some(41));
        assert_eq!(id.age_on(date(2024, 1, 13)), Some(42));
        assert_eq!(id.age_on(date(1980, 1, 1)), None);
    }

    #[test]
    fn masking_and_debug_hide_the_number() {
        let id = resident("11010519491231002X");
        assert_eq!(id.masked(), "1*************002X");
        let dbg = format!("{id:?}");
        assert!(dbg.contains("1*************002X"), "{dbg}");
        assert!(!dbg.contains("19491231"), "{dbg}");
    }

    #[test]
    fn id_type_codes_and_labels() {
        for t in IdType::ALL {
            assert_eq!(IdType::from_code(t.code()), Some(t));
            assert_eq!(IdType::parse(t.code()).unwrap(), t);
            assert!(!t.label(Lang::Zh).is_empty());
            assert!(!t.label(Lang::En).is_empty());
        }
        assert_eq!(IdType::from_code(" Resident "), Some(IdType::Resident));
        assert_eq!(IdType::from_code("身份证"), Some(IdType::Resident));
        assert_eq!(IdType::from_code("护照"), Some(IdType::Passport));
        assert_eq!(
            IdType::from_code("港澳台居民居住证"),
            Some(IdType::HkMacauTaiwanPermit)
        );
        assert_eq!(
            IdType::from_code("外国人永久居留身份证"),
            Some(IdType::ForeignerPermanent)
        );
        assert_eq!(IdType::Resident.label(Lang::Zh), "居民身份证");
        assert_eq!("passport".parse::<IdType>().unwrap(), IdType::Passport);

        let e = IdType::parse("driving_licence").unwrap_err();
        assert_eq!(e.field, "id_type");
        assert_eq!(e.code(), "one_of");
        assert_eq!(IdType::parse("").unwrap_err().rule, Rule::Required);
    }

    #[test]
    fn gender_codes() {
        assert_eq!(Gender::parse("男"), Some(Gender::Male));
        assert_eq!(Gender::parse(" F "), Some(Gender::Female));
        assert_eq!(Gender::parse("2"), Some(Gender::Female));
        assert_eq!(Gender::parse("unknown"), None);
        assert_eq!(Gender::Male.code(), "male");
        assert_eq!(Gender::Female.label(Lang::Zh), "女");
    }
}
