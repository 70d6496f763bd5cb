//! Text clean-up shared by the validators: full-width → half-width, trimming, whitespace.
//!
//! DMS exports and hand-typed spreadsheets mix full-width digits and letters (`１３８`,
//! `ＬＡＴ`), ideographic spaces (U+3000) and stray blanks; every parser in this crate runs
//! its input through these helpers before matching.

/// Converts full-width ASCII variants (U+FF01–U+FF5E) to their ASCII counterparts and the
/// ideographic space (U+3000) to an ordinary space. Everything else is left untouched
/// (Chinese characters, the middle dot `·`, …).
pub fn to_half_width(s: &str) -> String {
    s.chars().map(half_width_char).collect()
}

/// One character through [`to_half_width`].
pub fn half_width_char(c: char) -> char {
    match c {
        '\u{3000}' => ' ',
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        _ => c,
    }
}

/// Half-width, trimmed, runs of whitespace collapsed to one ASCII space. Invisible
/// characters that spreadsheets leave behind (byte-order mark, zero-width space/joiners)
/// are dropped.
pub fn normalize(s: &str) -> String {
    let half = to_half_width(s);
    let visible: String = half.chars().filter(|c| !is_invisible(*c)).collect();
    let mut out = String::with_capacity(visible.len());
    for word in visible.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// Length in characters (not bytes): `char_len("张三") == 2`.
pub fn char_len(s: &str) -> usize {
    s.chars().count()
}

/// True for characters that take no space and are never meant as data.
pub(crate) fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{FEFF}' | '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}'
    )
}

/// Dash-like characters people put between digit groups (after half-width conversion).
pub(crate) fn is_dash(c: char) -> bool {
    matches!(
        c,
        '-' | '\u{2010}'
            | '\u{2011}'
            | '\u{2012}'
            | '\u{2013}'
            | '\u{2014}'
            | '\u{2015}'
            | '\u{2212}'
    )
}

/// Middle-dot-like characters used inside plates (`粤B·D12345`).
pub(crate) fn is_middle_dot(c: char) -> bool {
    matches!(
        c,
        '\u{00B7}' | '\u{30FB}' | '\u{2022}' | '\u{2027}' | '\u{22C5}' | '\u{FF65}' | '.'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_width_digits_and_letters_become_ascii() {
        assert_eq!(to_half_width("１３８１２３４５６７８"), "13812345678");
        assert_eq!(to_half_width("ＬＡＴＰａｂ"), "LATPab");
        assert_eq!(to_half_width("＋８６"), "+86");
        assert_eq!(to_half_width("（）－．／～！"), "()-./~!");
    }

    #[test]
    fn ideographic_space_becomes_space() {
        assert_eq!(to_half_width("张\u{3000}三"), "张 三");
    }

    #[test]
    fn chinese_and_other_characters_are_untouched() {
        assert_eq!(to_half_width("粤B·D12345 年月日"), "粤B·D12345 年月日");
        assert_eq!(to_half_width("é€"), "é€");
    }

    #[test]
    fn normalize_trims_and_collapses() {
        assert_eq!(normalize("  张  三 \t\n"), "张 三");
        assert_eq!(normalize("\u{3000}１２\u{3000}\u{3000}３ "), "12 3");
        assert_eq!(normalize(""), "");
        assert_eq!(normalize("   "), "");
    }

    #[test]
    fn normalize_drops_invisible_characters() {
        assert_eq!(normalize("\u{FEFF}LATP\u{200B}AB"), "LATPAB");
    }

    #[test]
    fn char_len_counts_characters() {
        assert_eq!(char_len("张三"), 2);
        assert_eq!(char_len("abc"), 3);
        assert_eq!(char_len(""), 0);
        assert_eq!(char_len("粤B·D12345"), 9);
    }

    #[test]
    fn separators() {
        assert!(is_dash('-') && is_dash('—') && !is_dash('_'));
        assert!(is_middle_dot('·') && is_middle_dot('・') && !is_middle_dot(','));
    }
}
