//! Masking personal data for display (DOMAIN.md §6): the full value is only shown to
//! permitted roles, and each reveal is audited by the caller.
//!
//! All functions work on characters, not bytes, and never panic.

/// `13812345678` → `138****5678`: keeps the first 3 and the last 4 characters. Values
/// of 7 characters or fewer are masked completely (keeping 3 + 4 would reveal them whole).
pub fn mask_mobile(s: &str) -> String {
    let chars: Vec<char> = s.trim().chars().collect();
    keep_ends(&chars, 3, 4, 8)
}

/// ID numbers keep the first 1 and the last 4 characters:
/// `11010519491231002X` → `1*************002X`. Short numbers reveal less: 6–9 characters
/// keep only the last 2 (`E12345678` → `*******78`), fewer than 6 are masked completely.
pub fn mask_id(s: &str) -> String {
    let chars: Vec<char> = s.trim().chars().collect();
    match chars.len() {
        n if n >= 10 => keep_ends(&chars, 1, 4, 10),
        n if n >= 6 => keep_ends(&chars, 0, 2, 6),
        n => "*".repeat(n),
    }
}

/// Chinese names keep the surname: `张三` → `张*`, `张三丰` → `张**`, `欧阳娜娜` → `欧阳**`
/// (common two-character surnames are recognised). A one-character value becomes `*`.
/// Spaces are kept, so `John Smith` → `J*** *****`.
pub fn mask_name(s: &str) -> String {
    let chars: Vec<char> = s.trim().chars().collect();
    if chars.len() <= 1 {
        return "*".repeat(chars.len());
    }
    let keep = if chars.len() > 2 && is_compound_surname(&chars[..2]) {
        2
    } else {
        1
    };
    chars
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if i < keep || c.is_whitespace() {
                *c
            } else {
                '*'
            }
        })
        .collect()
}

/// Two-character surnames that are common enough to matter for masking.
const COMPOUND_SURNAMES: &[&str] = &[
    "欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文", "司徒",
    "夏侯", "轩辕", "令狐", "钟离", "端木", "独孤", "南宫", "西门", "百里", "呼延", "赫连", "澹台",
    "公冶", "太史", "申屠", "闻人", "万俟", "司空",
];

fn is_compound_surname(first_two: &[char]) -> bool {
    let s: String = first_two.iter().collect();
    COMPOUND_SURNAMES.contains(&s.as_str())
}

/// Keeps `head` leading and `tail` trailing characters when there are at least `min`
/// characters (and at least one character would be masked), otherwise masks everything.
fn keep_ends(chars: &[char], head: usize, tail: usize, min: usize) -> String {
    let n = chars.len();
    if n < min || n <= head + tail {
        return "*".repeat(n);
    }
    chars
        .iter()
        .enumerate()
        .map(|(i, c)| if i < head || i >= n - tail { *c } else { '*' })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mobile() {
        assert_eq!(mask_mobile("13812345678"), "138****5678");
        assert_eq!(mask_mobile(" 13812345678 "), "138****5678");
        assert_eq!(mask_mobile("123456"), "******");
        assert_eq!(mask_mobile(""), "");
        // Landline with area code: still only 3 + 4 shown.
        assert_eq!(mask_mobile("01012345678"), "010****5678");
    }

    #[test]
    fn short_mobile_never_revealed_whole() {
        assert_eq!(mask_mobile("1234567"), "*******");
        assert_eq!(mask_mobile("12345678"), "123*5678");
    }

    #[test]
    fn id_number() {
        assert_eq!(mask_id("11010519491231002X"), "1*************002X");
        assert_eq!(mask_id("513101198201130014"), "5*************0014");
        assert_eq!(mask_id("ABC123456789012"), "A**********9012");
        assert_eq!(mask_id("E12345678"), "*******78");
        assert_eq!(mask_id("12345"), "*****");
        assert_eq!(mask_id(""), "");
    }

    #[test]
    fn name() {
        assert_eq!(mask_name("张三"), "张*");
        assert_eq!(mask_name("张三丰"), "张**");
        assert_eq!(mask_name("欧阳娜娜"), "欧阳**");
        assert_eq!(mask_name("欧阳"), "欧*");
        assert_eq!(mask_name("张"), "*");
        assert_eq!(mask_name(""), "");
        assert_eq!(mask_name("John Smith"), "J*** *****");
    }
}
