//! Time as a dependency: rules that depend on "today" take a clock, so tests fix the date.

use chrono::{DateTime, NaiveDate, Utc};

pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
    /// The dealer's calendar date (China Standard Time, UTC+8, no daylight saving).
    fn today(&self) -> NaiveDate {
        (self.now() + chrono::Duration::hours(8)).date_naive()
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub DateTime<Utc>);

impl FixedClock {
    /// Noon China time on the given date.
    pub fn on(date: NaiveDate) -> Self {
        let noon = date
            .and_hms_opt(4, 0, 0)
            .expect("04:00 exists on every date");
        FixedClock(DateTime::from_naive_utc_and_offset(noon, Utc))
    }
}

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn today_is_china_date() {
        // 2024-01-01 17:00 UTC is already 2024-01-02 in Beijing.
        let t = DateTime::parse_from_rfc3339("2024-01-01T17:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            FixedClock(t).today(),
            NaiveDate::from_ymd_opt(2024, 1, 2).unwrap()
        );
    }
}
