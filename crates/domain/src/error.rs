//! The one validation error: which field, which value, which rule.

use serde::Serialize;

/// The user's language. Chinese is the default everywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    Zh,
    En,
}

impl Lang {
    pub fn parse(s: &str) -> Lang {
        if s.to_ascii_lowercase().starts_with("en") {
            Lang::En
        } else {
            Lang::Zh
        }
    }
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }
}

/// A rule a value broke. `code()` is stable (API clients and tests match on it);
/// `message()` is for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum Rule {
    Required,
    TooLong {
        max: usize,
    },
    OutOfRange {
        min: i64,
        max: i64,
    },
    OneOf {
        allowed: Vec<String>,
    },
    VinLength,
    VinCharacters,
    VinCheckDigit {
        expected: char,
    },
    VinModelYear,
    IdLength,
    IdCharacters,
    IdBirthDate,
    IdCheckDigit {
        expected: char,
    },
    IdPermitPrefix,
    IdForeignerPrefix,
    PassportFormat,
    MobileFormat,
    PlateFormat,
    DateFormat,
    Email,
    /// A money amount (yuan, up to 2 decimals) or a plain number that is not one.
    Amount,
    Number,
    /// Loyalty: more points asked for than the customer holds.
    InsufficientPoints {
        balance: i64,
    },
    /// Loyalty: points move only between members of one household.
    NotHousehold,
    /// Loyalty: a member number whose check digit is wrong.
    MemberNumberCheck {
        expected: char,
    },
}

impl Rule {
    pub fn code(&self) -> &'static str {
        match self {
            Rule::Required => "required",
            Rule::TooLong { .. } => "too_long",
            Rule::OutOfRange { .. } => "out_of_range",
            Rule::OneOf { .. } => "one_of",
            Rule::VinLength => "vin_length",
            Rule::VinCharacters => "vin_characters",
            Rule::VinCheckDigit { .. } => "vin_check_digit",
            Rule::VinModelYear => "vin_model_year",
            Rule::IdLength => "id_length",
            Rule::IdCharacters => "id_characters",
            Rule::IdBirthDate => "id_birth_date",
            Rule::IdCheckDigit { .. } => "id_check_digit",
            Rule::IdPermitPrefix => "id_permit_prefix",
            Rule::IdForeignerPrefix => "id_foreigner_prefix",
            Rule::PassportFormat => "passport_format",
            Rule::MobileFormat => "mobile_format",
            Rule::PlateFormat => "plate_format",
            Rule::DateFormat => "date_format",
            Rule::Email => "email",
            Rule::Amount => "amount",
            Rule::Number => "number",
            Rule::InsufficientPoints { .. } => "insufficient_points",
            Rule::NotHousehold => "not_household",
            Rule::MemberNumberCheck { .. } => "member_number_check",
        }
    }

    pub fn message(&self, lang: Lang) -> String {
        use Lang::*;
        match (self, lang) {
            (Rule::Required, Zh) => "必填".into(),
            (Rule::Required, En) => "is required".into(),
            (Rule::TooLong { max }, Zh) => format!("长度不能超过 {max} 个字符"),
            (Rule::TooLong { max }, En) => format!("must be at most {max} characters"),
            (Rule::OutOfRange { min, max }, Zh) => format!("必须在 {min} 到 {max} 之间"),
            (Rule::OutOfRange { min, max }, En) => format!("must be between {min} and {max}"),
            (Rule::OneOf { allowed }, Zh) => format!("必须是以下之一：{}", allowed.join("、")),
            (Rule::OneOf { allowed }, En) => format!("must be one of: {}", allowed.join(", ")),
            (Rule::VinLength, Zh) => "车架号(VIN)必须是 17 位".into(),
            (Rule::VinLength, En) => "a VIN has exactly 17 characters".into(),
            (Rule::VinCharacters, Zh) => "车架号只能包含数字和字母，且不含 I、O、Q".into(),
            (Rule::VinCharacters, En) => "a VIN uses digits and letters except I, O and Q".into(),
            (Rule::VinCheckDigit { expected }, Zh) => {
                format!("车架号第 9 位校验码错误（应为 {expected}）")
            }
            (Rule::VinCheckDigit { expected }, En) => {
                format!("VIN check digit (position 9) is wrong; expected {expected}")
            }
            (Rule::VinModelYear, Zh) => {
                "车架号第 10 位（车型年份）不能是 I、O、Q、U、Z 或 0".into()
            }
            (Rule::VinModelYear, En) => {
                "VIN position 10 (model year) cannot be I, O, Q, U, Z or 0".into()
            }
            (Rule::IdLength, Zh) => "身份证号必须是 18 位（旧证 15 位）".into(),
            (Rule::IdLength, En) => "a resident ID has 18 digits (15 for the old form)".into(),
            (Rule::IdCharacters, Zh) => "身份证号只能是数字，最后一位可以是 X".into(),
            (Rule::IdCharacters, En) => {
                "a resident ID is digits, with X allowed as the last character".into()
            }
            (Rule::IdBirthDate, Zh) => "身份证号中的出生日期无效".into(),
            (Rule::IdBirthDate, En) => {
                "the birth date inside the ID number is not a real date".into()
            }
            (Rule::IdCheckDigit { expected }, Zh) => {
                format!("身份证号校验码错误（应为 {expected}）")
            }
            (Rule::IdCheckDigit { expected }, En) => {
                format!("ID check digit is wrong (ISO 7064 MOD 11-2); expected {expected}")
            }
            (Rule::IdPermitPrefix, Zh) => "港澳台居民居住证号码应以 81、82 或 83 开头".into(),
            (Rule::IdPermitPrefix, En) => {
                "a Hong Kong/Macau/Taiwan residence permit number starts with 81, 82 or 83".into()
            }
            (Rule::IdForeignerPrefix, Zh) => "外国人永久居留身份证号码应以 9 开头".into(),
            (Rule::IdForeignerPrefix, En) => {
                "a foreigner's permanent residence ID starts with 9".into()
            }
            (Rule::PassportFormat, Zh) => "护照号码应为 5–20 位字母或数字".into(),
            (Rule::PassportFormat, En) => "a passport number has 5–20 letters or digits".into(),
            (Rule::MobileFormat, Zh) => "手机号应为 1 开头、第二位 3–9 的 11 位数字".into(),
            (Rule::MobileFormat, En) => {
                "a mobile number has 11 digits starting with 1 and then 3–9".into()
            }
            (Rule::PlateFormat, Zh) => "车牌号格式不正确（普通 7 位，新能源 8 位）".into(),
            (Rule::PlateFormat, En) => {
                "not a valid plate (7 characters, or 8 for new-energy plates)".into()
            }
            (Rule::DateFormat, Zh) => {
                "日期格式不正确（如 2023-01-05、2023/1/5、2023年1月5日、20230105）".into()
            }
            (Rule::DateFormat, En) => {
                "not a date (e.g. 2023-01-05, 2023/1/5, 2023年1月5日, 20230105)".into()
            }
            (Rule::Email, Zh) => "电子邮箱格式不正确".into(),
            (Rule::Email, En) => "not an e-mail address".into(),
            (Rule::Amount, Zh) => "金额格式不正确（元，最多两位小数，如 1234.50）".into(),
            (Rule::Amount, En) => "not an amount (yuan, at most 2 decimals, e.g. 1234.50)".into(),
            (Rule::Number, Zh) => "必须是数字".into(),
            (Rule::Number, En) => "must be a number".into(),
            (Rule::InsufficientPoints { balance }, Zh) => {
                format!("积分不足（当前余额 {balance} 分）")
            }
            (Rule::InsufficientPoints { balance }, En) => {
                format!("more than the balance of {balance} points")
            }
            (Rule::NotHousehold, Zh) => "积分只能转给同一家庭的其他成员".into(),
            (Rule::NotHousehold, En) => {
                "points move only to another member of the same household".into()
            }
            (Rule::MemberNumberCheck { expected }, Zh) => {
                format!("会员号校验位错误（应为 {expected}）")
            }
            (Rule::MemberNumberCheck { expected }, En) => {
                format!("member number check digit is wrong; expected {expected}")
            }
        }
    }
}

/// A value that broke a rule. Names the field, the value and the rule, in either language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ValidationError {
    pub field: String,
    pub value: String,
    pub rule: Rule,
}

impl ValidationError {
    pub fn new(field: impl Into<String>, value: impl Into<String>, rule: Rule) -> Self {
        ValidationError {
            field: field.into(),
            value: value.into(),
            rule,
        }
    }
    /// The same error reported under another field name (e.g. an import column header).
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = field.into();
        self
    }
    pub fn code(&self) -> &'static str {
        self.rule.code()
    }
    pub fn message(&self, lang: Lang) -> String {
        match lang {
            Lang::Zh => format!(
                "{}「{}」：{}",
                self.field,
                self.value,
                self.rule.message(lang)
            ),
            Lang::En => format!(
                "{} {:?}: {}",
                self.field,
                self.value,
                self.rule.message(lang)
            ),
        }
    }
}

impl std::fmt::Display for ValidationError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message(Lang::En))
    }
}

impl std::error::Error for ValidationError {}
