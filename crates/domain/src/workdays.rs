//! Working days: Monday to Friday, minus the official public holidays, plus the swapped
//! weekend working days (调休). The yearly schedule is data (`data/holidays.txt`), and the
//! care calendar's festivals (元旦, 春节, 元宵, 清明, 劳动节, 端午, 中秋, 国庆) are computed,
//! the lunar ones with [`crate::lunar`].

use crate::lunar;
use chrono::{Datelike, NaiveDate, Weekday};
use std::collections::HashSet;
use std::sync::OnceLock;

/// The public-holiday schedule: days off and swapped working days.
#[derive(Debug, Clone, Default)]
pub struct HolidaySchedule {
    off: HashSet<NaiveDate>,
    work: HashSet<NaiveDate>,
}

impl HolidaySchedule {
    /// Parses the schedule format of `data/holidays.txt`; a malformed line is an error
    /// naming the line.
    pub fn parse(text: &str) -> Result<HolidaySchedule, String> {
        let mut s = HolidaySchedule::default();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let f: Vec<&str> = line.split_whitespace().collect();
            let bad = || format!("holiday schedule line {}: {line:?}", n + 1);
            if f.len() < 3 {
                return Err(bad());
            }
            let (from, to) = match f[2].split_once("..") {
                Some((a, b)) => (a, b),
                None => (f[2], f[2]),
            };
            let from: NaiveDate = from.parse().map_err(|_| bad())?;
            let to: NaiveDate = to.parse().map_err(|_| bad())?;
            let set = match f[1] {
                "off" => &mut s.off,
                "work" => &mut s.work,
                _ => return Err(bad()),
            };
            let mut d = from;
            while d <= to {
                set.insert(d);
                d = d.succ_opt().ok_or_else(bad)?;
            }
        }
        Ok(s)
    }

    /// The schedule shipped with dealerbase.
    pub fn official() -> &'static HolidaySchedule {
        static S: OnceLock<HolidaySchedule> = OnceLock::new();
        S.get_or_init(|| {
            HolidaySchedule::parse(include_str!("../data/holidays.txt"))
                .expect("data/holidays.txt is checked by the tests")
        })
    }

    pub fn is_working_day(&self, d: NaiveDate) -> bool {
        if self.work.contains(&d) {
            return true;
        }
        if self.off.contains(&d) {
            return false;
        }
        !matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
    }

    /// The date `n` working days after `start` (a timer started on a Friday with n = 1
    /// runs out on Monday). n = 0 is `start` itself.
    pub fn add_working_days(&self, start: NaiveDate, n: u32) -> NaiveDate {
        let mut d = start;
        let mut left = n;
        while left > 0 {
            match d.succ_opt() {
                Some(next) => d = next,
                None => return d,
            }
            if self.is_working_day(d) {
                left -= 1;
            }
        }
        d
    }

    /// The next working day after `d`.
    pub fn next_working_day(&self, d: NaiveDate) -> NaiveDate {
        self.add_working_days(d, 1)
    }

    /// Working days from `from` (exclusive) to `to` (inclusive); 0 when `to` ≤ `from`.
    pub fn working_days_between(&self, from: NaiveDate, to: NaiveDate) -> i64 {
        let mut n = 0;
        let mut d = from;
        while d < to {
            d = match d.succ_opt() {
                Some(x) => x,
                None => break,
            };
            if self.is_working_day(d) {
                n += 1;
            }
        }
        n
    }
}

/// The festivals of the care calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Festival {
    NewYear,
    SpringFestival,
    Lantern,
    Qingming,
    Labour,
    DragonBoat,
    MidAutumn,
    National,
}

impl Festival {
    pub const ALL: [Festival; 8] = [
        Festival::NewYear,
        Festival::SpringFestival,
        Festival::Lantern,
        Festival::Qingming,
        Festival::Labour,
        Festival::DragonBoat,
        Festival::MidAutumn,
        Festival::National,
    ];
    pub fn code(self) -> &'static str {
        match self {
            Festival::NewYear => "new_year",
            Festival::SpringFestival => "spring_festival",
            Festival::Lantern => "lantern",
            Festival::Qingming => "qingming",
            Festival::Labour => "labour_day",
            Festival::DragonBoat => "dragon_boat",
            Festival::MidAutumn => "mid_autumn",
            Festival::National => "national_day",
        }
    }
    pub fn name_zh(self) -> &'static str {
        match self {
            Festival::NewYear => "元旦",
            Festival::SpringFestival => "春节",
            Festival::Lantern => "元宵节",
            Festival::Qingming => "清明节",
            Festival::Labour => "劳动节",
            Festival::DragonBoat => "端午节",
            Festival::MidAutumn => "中秋节",
            Festival::National => "国庆节",
        }
    }

    /// The festival's date in a solar year.
    pub fn date(self, year: i32) -> Option<NaiveDate> {
        match self {
            Festival::NewYear => NaiveDate::from_ymd_opt(year, 1, 1),
            Festival::SpringFestival => lunar::in_solar_year(year, 1, 1),
            Festival::Lantern => lunar::in_solar_year(year, 1, 15),
            Festival::Qingming => qingming(year),
            Festival::Labour => NaiveDate::from_ymd_opt(year, 5, 1),
            Festival::DragonBoat => lunar::in_solar_year(year, 5, 5),
            Festival::MidAutumn => lunar::in_solar_year(year, 8, 15),
            Festival::National => NaiveDate::from_ymd_opt(year, 10, 1),
        }
    }
}

/// 清明 (the solar term Pure Brightness) for 1901–2099: April 4 or 5 by the usual
/// closed-form approximation of the solar term, D = ⌊Y·0.2422 + C⌋ − ⌊Y/4⌋ with
/// Y = year mod 100 and C = 5.59 (20th century) / 4.81 (21st century).
pub fn qingming(year: i32) -> Option<NaiveDate> {
    if !(1901..=2099).contains(&year) {
        return None;
    }
    let y = (year % 100) as f64;
    let c = if year < 2000 { 5.59 } else { 4.81 };
    let day = (y * 0.2422 + c).floor() - (y / 4.0).floor();
    NaiveDate::from_ymd_opt(year, 4, day as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn weekends_holidays_and_swapped_days() {
        let s = HolidaySchedule::official();
        assert!(s.is_working_day(d("2026-11-23"))); // Monday
        assert!(!s.is_working_day(d("2026-11-21"))); // Saturday
        assert!(!s.is_working_day(d("2026-10-05"))); // 国庆 Monday
        assert!(s.is_working_day(d("2026-10-10"))); // swapped Saturday
        assert!(!s.is_working_day(d("2025-01-30"))); // 春节 Thursday
        assert!(s.is_working_day(d("2025-01-26"))); // swapped Sunday
    }

    #[test]
    fn timers_run_over_weekends_and_holidays() {
        let s = HolidaySchedule::official();
        // Opened Friday 2026-11-20: 3 working days = Mon, Tue, Wed → Wed 2026-11-25.
        assert_eq!(s.add_working_days(d("2026-11-20"), 3), d("2026-11-25"));
        // Opened Wednesday 2026-09-30: Oct 1–7 off, Sat Oct 10 works:
        // 1 = Thu Oct 8, 2 = Fri Oct 9, 3 = Sat Oct 10.
        assert_eq!(s.add_working_days(d("2026-09-30"), 3), d("2026-10-10"));
        // 14 working days from Monday 2026-11-23: 2 weeks of 5 + 4 → Fri 12-11.
        assert_eq!(s.add_working_days(d("2026-11-23"), 14), d("2026-12-11"));
        assert_eq!(s.working_days_between(d("2026-11-20"), d("2026-11-25")), 3);
        assert_eq!(s.next_working_day(d("2026-11-20")), d("2026-11-23"));
    }

    #[test]
    fn the_schedule_parses_and_bad_lines_are_named() {
        assert!(HolidaySchedule::parse(include_str!("../data/holidays.txt")).is_ok());
        let e = HolidaySchedule::parse("2026 maybe 2026-01-01").unwrap_err();
        assert!(e.contains("line 1"), "{e}");
    }

    #[test]
    fn festival_dates() {
        assert_eq!(Festival::SpringFestival.date(2026), Some(d("2026-02-17")));
        assert_eq!(Festival::MidAutumn.date(2024), Some(d("2024-09-17")));
        assert_eq!(Festival::DragonBoat.date(2025), Some(d("2025-05-31")));
        // 清明: 2024-04-04, 2025-04-04, 2026-04-05, 2019-04-05, 1996-04-04.
        assert_eq!(qingming(2024), Some(d("2024-04-04")));
        assert_eq!(qingming(2025), Some(d("2025-04-04")));
        assert_eq!(qingming(2026), Some(d("2026-04-05")));
        assert_eq!(qingming(2019), Some(d("2019-04-05")));
        assert_eq!(qingming(1996), Some(d("1996-04-04")));
    }
}
