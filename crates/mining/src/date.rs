//! Calendar dates as days since 1970-01-01 (`i32`), without a clock and without a date
//! crate: the proleptic Gregorian conversion of H. Hinnant's `days_from_civil`.

/// Days since 1970-01-01 for a valid Gregorian date, `None` when the date does not exist.
pub fn days_from_civil(year: i32, month: u32, day: u32) -> Option<i32> {
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = month as i32;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day as i32 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

/// (year, month, day) of a day number.
pub fn civil_from_days(days: i32) -> (i32, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

/// Parses `YYYY-MM-DD`, `YYYY/MM/DD`, `YYYY.MM.DD` (one- or two-digit month and day),
/// `YYYYMMDD` and `YYYY年M月D日`, optionally followed by a time after a space or `T`
/// (which is ignored). These are the forms DMS exports use (DOMAIN.md §5).
pub fn parse_date(text: &str) -> Option<i32> {
    let s = text.trim();
    let s = s.split([' ', 'T']).next().unwrap_or(s);
    let b = s.as_bytes();
    if b.len() == 8 && b.iter().all(u8::is_ascii_digit) {
        let n = |r: std::ops::Range<usize>| s[r].parse::<u32>().ok();
        return days_from_civil(n(0..4)? as i32, n(4..6)?, n(6..8)?);
    }
    let mut parts = s
        .split(['-', '/', '.', '年', '月', '日'])
        .filter(|p| !p.is_empty());
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || y.len() != 4 || m.len() > 2 || d.len() > 2 {
        return None;
    }
    let digits = |p: &str| p.bytes().all(|c| c.is_ascii_digit());
    if !(digits(y) && digits(m) && digits(d)) {
        return None;
    }
    days_from_civil(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)
}

/// `YYYY-MM-DD`.
pub fn format_date(days: i32) -> String {
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_and_known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), Some(0));
        assert_eq!(days_from_civil(1970, 1, 2), Some(1));
        assert_eq!(days_from_civil(1969, 12, 31), Some(-1));
        // 1997-01-01 to 1997-09-30 is 31+28+31+30+31+30+31+31+29 = 272 days.
        let a = days_from_civil(1997, 1, 1).unwrap_or_default();
        let b = days_from_civil(1997, 9, 30).unwrap_or_default();
        assert_eq!(b - a, 272);
        // 2000 is a leap year, 1900 is not.
        assert!(days_from_civil(2000, 2, 29).is_some());
        assert!(days_from_civil(1900, 2, 29).is_none());
        assert!(days_from_civil(2023, 4, 31).is_none());
    }

    #[test]
    fn round_trip() {
        for d in -800_000..800_000 {
            if d % 997 == 0 {
                let (y, m, dd) = civil_from_days(d);
                assert_eq!(days_from_civil(y, m, dd), Some(d));
            }
        }
        assert_eq!(format_date(0), "1970-01-01");
    }

    #[test]
    fn parses_dms_forms() {
        let want = days_from_civil(2023, 1, 5);
        for s in [
            "2023-01-05",
            "2023/1/5",
            "2023.01.05",
            "20230105",
            "2023年1月5日",
            " 2023-01-05 10:30:00",
            "2023-01-05T10:30",
        ] {
            assert_eq!(parse_date(s), want, "{s}");
        }
        for s in [
            "",
            "2023-13-01",
            "23-1-5",
            "2023-01",
            "abc",
            "2023-01-05-1",
            "2023-0x-05",
        ] {
            assert_eq!(parse_date(s), None, "{s}");
        }
    }
}
