//! The Chinese lunar calendar (农历) for 1900–2100, table-driven: `data/lunar.txt` holds, per
//! lunar year, the solar date of New Year's Day, the leap month and the length of every
//! month. Conversion both ways is arithmetic over that table, so festival dates (春节, 元宵,
//! 端午, 中秋) and lunar birthdays are computed, never typed in per year.

use chrono::{Datelike, NaiveDate};
use std::sync::OnceLock;

/// A date of the lunar calendar. `leap` marks the intercalary month (闰月) that follows the
/// ordinary month of the same number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LunarDate {
    pub year: i32,
    pub month: u32,
    pub day: u32,
    pub leap: bool,
}

struct Year {
    year: i32,
    new_year: NaiveDate,
    /// 0 = none.
    leap_month: u32,
    /// Month lengths in calendar order, the leap month in its place.
    lengths: Vec<u32>,
}

impl Year {
    /// (month number, leap?) of the i-th month of the year, in calendar order.
    fn month_at(&self, i: usize) -> (u32, bool) {
        let i = i as u32;
        if self.leap_month == 0 || i < self.leap_month {
            (i + 1, false)
        } else if i == self.leap_month {
            (self.leap_month, true)
        } else {
            (i, false)
        }
    }
    fn index_of(&self, month: u32, leap: bool) -> Option<usize> {
        (0..self.lengths.len()).find(|&i| self.month_at(i) == (month, leap))
    }
}

fn table() -> &'static [Year] {
    static TABLE: OnceLock<Vec<Year>> = OnceLock::new();
    TABLE.get_or_init(|| {
        include_str!("../data/lunar.txt")
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                // The table is part of the source and checked by the tests below.
                Year {
                    year: f[0].parse().expect("lunar table: year"),
                    new_year: f[1].parse().expect("lunar table: date"),
                    leap_month: f[2].parse().expect("lunar table: leap month"),
                    lengths: f[3]
                        .chars()
                        .map(|c| if c == 'L' { 30 } else { 29 })
                        .collect(),
                }
            })
            .collect()
    })
}

pub const FIRST_YEAR: i32 = 1900;
pub const LAST_YEAR: i32 = 2100;

/// The lunar date of a solar date; None outside 1900-01-31 … the end of lunar 2100.
pub fn to_lunar(date: NaiveDate) -> Option<LunarDate> {
    let t = table();
    let pos = t.partition_point(|y| y.new_year <= date);
    if pos == 0 {
        return None;
    }
    let y = &t[pos - 1];
    let mut offset = (date - y.new_year).num_days() as u32;
    for (i, len) in y.lengths.iter().enumerate() {
        if offset < *len {
            let (month, leap) = y.month_at(i);
            return Some(LunarDate {
                year: y.year,
                month,
                day: offset + 1,
                leap,
            });
        }
        offset -= len;
    }
    None
}

/// The solar date of a lunar date. A day 30 in a month of 29 days, or a leap month the year
/// does not have, is None (see [`to_solar_lenient`] for birthdays and anniversaries).
pub fn to_solar(d: LunarDate) -> Option<NaiveDate> {
    let y = table().iter().find(|y| y.year == d.year)?;
    let idx = y.index_of(d.month, d.leap)?;
    if d.day == 0 || d.day > y.lengths[idx] {
        return None;
    }
    let before: u32 = y.lengths[..idx].iter().sum();
    y.new_year
        .checked_add_days(chrono::Days::new((before + d.day - 1) as u64))
}

/// The day a lunar date is kept in a given lunar year: a leap-month date falls back to the
/// ordinary month, and day 30 to day 29 when the month is short that year (the usual way
/// lunar birthdays are kept).
pub fn to_solar_lenient(year: i32, month: u32, day: u32) -> Option<NaiveDate> {
    let y = table().iter().find(|y| y.year == year)?;
    let idx = y.index_of(month, false)?;
    let day = day.clamp(1, y.lengths[idx]);
    to_solar(LunarDate {
        year,
        month,
        day,
        leap: false,
    })
}

/// The number of days of a lunar month (29 or 30), None if the year lacks it.
pub fn month_len(year: i32, month: u32, leap: bool) -> Option<u32> {
    let y = table().iter().find(|y| y.year == year)?;
    Some(y.lengths[y.index_of(month, leap)?])
}

/// The solar date, in solar year `solar_year`, of the lunar month/day that falls in it
/// (lunar festivals of a calendar year: 春节 is lunar 1/1 of the lunar year that begins in
/// that solar year; 除夕-type dates of lunar 12 may fall in the next solar year and are then
/// looked up in the previous lunar year).
pub fn in_solar_year(solar_year: i32, month: u32, day: u32) -> Option<NaiveDate> {
    [solar_year, solar_year - 1]
        .into_iter()
        .filter_map(|ly| to_solar_lenient(ly, month, day))
        .find(|d| d.year() == solar_year)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn spring_festival_dragon_boat_and_mid_autumn_of_several_years() {
        // Official dates (State Council holiday notices / HKO almanac).
        let cases = [
            (2023, "2023-01-22", "2023-06-22", "2023-09-29"),
            (2024, "2024-02-10", "2024-06-10", "2024-09-17"),
            (2025, "2025-01-29", "2025-05-31", "2025-10-06"),
            (2026, "2026-02-17", "2026-06-19", "2026-09-25"),
        ];
        for (y, spring, dragon, moon) in cases {
            assert_eq!(in_solar_year(y, 1, 1), Some(d(spring)), "春节 {y}");
            assert_eq!(in_solar_year(y, 5, 5), Some(d(dragon)), "端午 {y}");
            assert_eq!(in_solar_year(y, 8, 15), Some(d(moon)), "中秋 {y}");
        }
        // 元宵 2025 = 2025-02-12.
        assert_eq!(in_solar_year(2025, 1, 15), Some(d("2025-02-12")));
    }

    #[test]
    fn conversion_round_trips_and_handles_leap_months() {
        // 2025 has a leap 6th month: 闰六月初一 = 2025-07-25.
        assert_eq!(
            to_lunar(d("2025-07-25")),
            Some(LunarDate {
                year: 2025,
                month: 6,
                day: 1,
                leap: true
            })
        );
        // The day before the Spring Festival 2024 is lunar 2023-12-30 (除夕).
        assert_eq!(
            to_lunar(d("2024-02-09")),
            Some(LunarDate {
                year: 2023,
                month: 12,
                day: 30,
                leap: false
            })
        );
        // The "2033 problem": a leap 11th month in 2033, New Year 2034 on 2034-02-19.
        assert_eq!(in_solar_year(2034, 1, 1), Some(d("2034-02-19")));
        let mut day = d("1900-01-31");
        let end = d("2100-12-31");
        while day <= end {
            let l = to_lunar(day).expect("in range");
            assert_eq!(to_solar(l), Some(day), "{day}");
            day = day.succ_opt().unwrap();
        }
        assert_eq!(to_lunar(d("1900-01-30")), None);
    }

    #[test]
    fn short_months_keep_day_thirty_on_the_twenty_ninth() {
        // Lunar 2024-01 has 29 days (see the table); a 1/30 birthday is kept on 1/29.
        assert_eq!(month_len(2024, 1, false), Some(29));
        assert_eq!(
            to_solar(LunarDate {
                year: 2024,
                month: 1,
                day: 30,
                leap: false
            }),
            None
        );
        assert_eq!(to_solar_lenient(2024, 1, 30), to_solar_lenient(2024, 1, 29));
    }
}
