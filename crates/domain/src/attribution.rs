//! Campaign response and return (issue 8 point 4, seed 004). Pure: the service reads the
//! recipients, the contacts the outbox made and the recipients' visits, work orders, orders
//! and test drives, and this module decides who responded and what it was worth.
//!
//! - The **window** is counted in China days: the day the campaign went out and the days
//!   after it, `days` days in all. Work orders and orders carry a day only, so a record on
//!   the first day counts even if it came a few hours before the message (documented, and
//!   the same for the control group, so the uplift is not biased by it).
//! - A recipient **responded** when they have at least one visit, work order, order or
//!   test drive in the window; the first such record gives the kind of response. The
//!   **revenue** is every settled work order's total and every (not cancelled) order's price
//!   in the window.
//! - The **target group** is everyone not held out, contacted or not (intention to treat:
//!   leaving out those the outbox skipped would compare unlike groups). The **uplift** is the
//!   target group's response rate minus the control group's; the **incremental revenue** is
//!   the revenue per target recipient minus that per control recipient, times the target
//!   group's size. Without a control group neither exists.
//! - The **cost** is the cost per contact times the contacts made (a recipient reached by
//!   SMS and by e-mail counts twice). The **return on spend** is the incremental revenue
//!   divided by the cost; without a control group it is the revenue of the responders
//!   divided by the cost (and says so: `incremental` is false).
//! - **Months since the last visit** (the seed 004 table): whole calendar months from the
//!   recipient's last work order or order before the window to the window's first day;
//!   12 and more are one row, and recipients without one are a row of their own.

use crate::error::{Lang, Rule, ValidationError};
use crate::messaging::Channel;
use crate::model::code_enum;
use chrono::{Datelike, Duration, NaiveDate};
use serde::{Deserialize, Serialize};

code_enum! {
    /// What counts as a response.
    pub enum ResponseKind {
        Visit = "visit", "到店", "Visit";
        WorkOrder = "work_order", "维修保养工单", "Work order";
        Order = "order", "订车", "Order";
        TestDrive = "test_drive", "试乘试驾", "Test drive";
    }
}

/// The response window: `days` China days starting with `start`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub start: NaiveDate,
    pub days: u32,
}

impl Window {
    /// The first day after the window.
    pub fn end(self) -> NaiveDate {
        self.start + Duration::days(i64::from(self.days))
    }
    pub fn contains(self, day: NaiveDate) -> bool {
        day >= self.start && day < self.end()
    }
    /// True once every day of the window has passed (`today` is after its last day).
    pub fn closed(self, today: NaiveDate) -> bool {
        today >= self.end()
    }
}

/// One recipient of a campaign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    pub customer_id: i64,
    pub control: bool,
    /// The channels over which a contact was made (a message sent, a call made, an
    /// invitation given); empty when the recipient was not reached.
    pub contacted: Vec<Channel>,
    /// The day of the last work order or order before the window.
    pub last_visit: Option<NaiveDate>,
}

/// A record that may be a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event {
    pub customer_id: i64,
    pub day: NaiveDate,
    pub kind: ResponseKind,
    /// Settled work order total or order price; 0 for visits and test drives.
    pub revenue_fen: i64,
}

/// Recipients, responders and their revenue.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    pub recipients: i64,
    pub responders: i64,
    pub revenue_fen: i64,
}

impl Tally {
    pub fn rate(&self) -> Option<f64> {
        (self.recipients > 0).then(|| self.responders as f64 / self.recipients as f64)
    }
    fn add(&mut self, responded: bool, revenue_fen: i64) {
        self.recipients += 1;
        if responded {
            self.responders += 1;
            self.revenue_fen += revenue_fen;
        }
    }
}

/// The recipients reached over one channel, with that channel's contacts' cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelResult {
    pub channel: Channel,
    pub tally: Tally,
    pub cost_fen: i64,
    /// This channel's response rate minus the control group's.
    pub uplift: Option<f64>,
}

/// One row of the response-by-recency table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecencyRow {
    /// Whole months since the last visit (12 = twelve or more); None = no visit before.
    pub months: Option<u32>,
    pub target: Tally,
    pub control: Tally,
}

/// Responders by the kind of their first response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KindRow {
    pub kind: ResponseKind,
    pub target: i64,
    pub control: i64,
}

/// What a campaign brought back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Results {
    pub window: Window,
    /// The window's last day: `window.end()` − 1.
    pub last_day: NaiveDate,
    /// False while days of the window are still to come (the figures may still grow).
    pub complete: bool,
    /// Everyone not held out.
    pub target: Tally,
    /// The part of the target group that was reached.
    pub contacted: Tally,
    pub control: Tally,
    pub uplift: Option<f64>,
    pub incremental_responders: Option<f64>,
    pub incremental_revenue_fen: Option<i64>,
    pub contacts: i64,
    pub cost_fen: i64,
    /// Incremental revenue ÷ cost (or revenue ÷ cost without a control group).
    pub return_on_spend: Option<f64>,
    /// True when the return on spend is measured against the control group.
    pub incremental: bool,
    pub by_channel: Vec<ChannelResult>,
    pub by_kind: Vec<KindRow>,
    pub by_recency: Vec<RecencyRow>,
}

/// Whole calendar months from `last` to `day` (0 when less than a month, never negative).
pub fn months_between(last: NaiveDate, day: NaiveDate) -> u32 {
    if last >= day {
        return 0;
    }
    let mut m = (day.year() - last.year()) * 12 + day.month() as i32 - last.month() as i32;
    if day.day() < last.day() {
        m -= 1;
    }
    m.max(0) as u32
}

/// The recency row of a recipient: 0–11 whole months, 12 for a year or more.
pub fn recency_months(last: Option<NaiveDate>, start: NaiveDate) -> Option<u32> {
    last.map(|d| months_between(d, start).min(12))
}

/// A recency row's label: "1 个月", "≥12 个月", "无到店记录".
pub fn recency_label(months: Option<u32>, lang: Lang) -> String {
    match (months, lang) {
        (None, Lang::Zh) => "无消费记录".into(),
        (None, Lang::En) => "No earlier visit".into(),
        (Some(0), Lang::Zh) => "不足 1 个月".into(),
        (Some(0), Lang::En) => "Under 1 month".into(),
        (Some(12), Lang::Zh) => "12 个月及以上".into(),
        (Some(12), Lang::En) => "12 months or more".into(),
        (Some(m), Lang::Zh) => format!("{m} 个月"),
        (Some(1), Lang::En) => "1 month".into(),
        (Some(m), Lang::En) => format!("{m} months"),
    }
}

/// Works out who responded and what the campaign returned. `events` may hold records of
/// anyone on any day: only the recipients' records inside the window count.
pub fn attribute(
    recipients: &[Recipient],
    events: &[Event],
    window: Window,
    cost_per_contact_fen: i64,
    today: NaiveDate,
) -> Results {
    use std::collections::HashMap;
    // customer -> (first response day and kind, revenue)
    let mut resp: HashMap<i64, ((NaiveDate, ResponseKind), i64)> = HashMap::new();
    for e in events.iter().filter(|e| window.contains(e.day)) {
        let first = (e.day, e.kind);
        let r = resp.entry(e.customer_id).or_insert((first, 0));
        if first < r.0 {
            r.0 = first;
        }
        r.1 += e.revenue_fen;
    }
    let mut target = Tally::default();
    let mut contacted = Tally::default();
    let mut control = Tally::default();
    let mut contacts = 0i64;
    let mut channels: Vec<(Channel, Tally)> = Vec::new();
    let mut kinds: Vec<KindRow> = ResponseKind::ALL
        .iter()
        .map(|&kind| KindRow {
            kind,
            target: 0,
            control: 0,
        })
        .collect();
    let mut recency: Vec<RecencyRow> = (0..=12)
        .map(Some)
        .chain([None])
        .map(|months| RecencyRow {
            months,
            target: Tally::default(),
            control: Tally::default(),
        })
        .collect();
    for r in recipients {
        let hit = resp.get(&r.customer_id);
        let responded = hit.is_some();
        let revenue = hit.map_or(0, |h| h.1);
        let row = recency
            .iter_mut()
            .find(|x| x.months == recency_months(r.last_visit, window.start))
            .expect("every recency has a row");
        if let Some(((_, kind), _)) = hit {
            let k = kinds
                .iter_mut()
                .find(|k| k.kind == *kind)
                .expect("all kinds");
            if r.control {
                k.control += 1;
            } else {
                k.target += 1;
            }
        }
        if r.control {
            control.add(responded, revenue);
            row.control.add(responded, revenue);
            continue;
        }
        target.add(responded, revenue);
        row.target.add(responded, revenue);
        if !r.contacted.is_empty() {
            contacted.add(responded, revenue);
        }
        let mut seen: Vec<Channel> = Vec::new();
        for &c in &r.contacted {
            if seen.contains(&c) {
                continue;
            }
            seen.push(c);
            contacts += 1;
            match channels.iter_mut().find(|x| x.0 == c) {
                Some(x) => x.1.add(responded, revenue),
                None => {
                    let mut t = Tally::default();
                    t.add(responded, revenue);
                    channels.push((c, t));
                }
            }
        }
    }
    channels.sort_by_key(|c| c.0);
    let control_rate = control.rate();
    let uplift_of = |t: &Tally| Some(t.rate()? - control_rate?);
    let uplift = uplift_of(&target);
    let incremental_revenue_fen = (control.recipients > 0 && target.recipients > 0).then(|| {
        let per_target = target.revenue_fen as f64 / target.recipients as f64;
        let per_control = control.revenue_fen as f64 / control.recipients as f64;
        ((per_target - per_control) * target.recipients as f64).round() as i64
    });
    let cost_fen = contacts * cost_per_contact_fen;
    let return_on_spend = (cost_fen > 0)
        .then(|| incremental_revenue_fen.unwrap_or(contacted.revenue_fen) as f64 / cost_fen as f64);
    Results {
        window,
        last_day: window.end() - Duration::days(1),
        complete: window.closed(today),
        target,
        contacted,
        control,
        uplift,
        incremental_responders: uplift.map(|u| u * target.recipients as f64),
        incremental_revenue_fen,
        contacts,
        cost_fen,
        return_on_spend,
        incremental: incremental_revenue_fen.is_some(),
        by_channel: channels
            .into_iter()
            .map(|(channel, tally)| ChannelResult {
                channel,
                cost_fen: tally.recipients * cost_per_contact_fen,
                uplift: uplift_of(&tally),
                tally,
            })
            .collect(),
        by_kind: kinds,
        by_recency: recency
            .into_iter()
            .filter(|r| r.target.recipients + r.control.recipients > 0)
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn whole_months_between_days() {
        assert_eq!(months_between(d("2026-01-31"), d("2026-02-28")), 0);
        assert_eq!(months_between(d("2026-01-15"), d("2026-02-15")), 1);
        assert_eq!(months_between(d("2025-11-20"), d("2026-03-19")), 3);
        assert_eq!(months_between(d("2025-11-20"), d("2026-03-20")), 4);
        assert_eq!(months_between(d("2026-03-20"), d("2026-03-01")), 0);
        assert_eq!(
            recency_months(Some(d("2023-01-01")), d("2026-03-01")),
            Some(12)
        );
        assert_eq!(recency_months(None, d("2026-03-01")), None);
    }

    #[test]
    fn window_counts_the_first_day_and_days_after() {
        let w = Window {
            start: d("2026-03-01"),
            days: 30,
        };
        assert!(w.contains(d("2026-03-01")));
        assert!(w.contains(d("2026-03-30")));
        assert!(!w.contains(d("2026-03-31")));
        assert!(!w.contains(d("2026-02-28")));
        assert!(!w.closed(d("2026-03-30")));
        assert!(w.closed(d("2026-03-31")));
    }

    /// Ten recipients, two of them held out; worked by hand:
    /// - target (8): 1 sms+email, responds by work order 1,000 yuan + visit; 2 sms,
    ///   responds by order 100,000 yuan; 3 sms, no response; 4 email, test drive (0 yuan);
    ///   5 sms, work order outside the window (no); 6 not reached, work order 500 yuan;
    ///   7 not reached, nothing; 8 sms, nothing.
    ///   → 4 responders of 8 = 50 %, revenue 101,500 yuan.
    /// - control (2): 9 visit (0 yuan), 10 nothing → 1 of 2 = 50 %, so the uplift is 0
    ///   and the incremental revenue is all of the target group's.
    #[test]
    fn attribution_by_hand() {
        use Channel::{Email, Sms};
        let w = Window {
            start: d("2026-03-01"),
            days: 30,
        };
        let r = |id, control, contacted: Vec<Channel>, last: Option<&str>| Recipient {
            customer_id: id,
            control,
            contacted,
            last_visit: last.map(d),
        };
        let recipients = vec![
            r(1, false, vec![Sms, Email], Some("2026-01-15")), // 1 month
            r(2, false, vec![Sms], Some("2026-02-10")),        // 0 months
            r(3, false, vec![Sms], Some("2025-12-01")),        // 3 months
            r(4, false, vec![Email], None),
            r(5, false, vec![Sms], Some("2026-01-20")), // 1 month
            r(6, false, vec![], Some("2024-01-01")),    // 12+
            r(7, false, vec![], None),
            r(8, false, vec![Sms], Some("2026-01-01")), // 2 months
            r(9, true, vec![], Some("2026-01-10")),     // 1 month
            r(10, true, vec![], None),
        ];
        let e = |id, day: &str, kind, yuan: i64| Event {
            customer_id: id,
            day: d(day),
            kind,
            revenue_fen: yuan * 100,
        };
        use ResponseKind::*;
        let events = vec![
            e(1, "2026-03-05", Visit, 0),
            e(1, "2026-03-04", WorkOrder, 1_000),
            e(2, "2026-03-30", Order, 100_000),
            e(4, "2026-03-01", TestDrive, 0),
            e(5, "2026-03-31", WorkOrder, 800), // the day after the window
            e(5, "2026-02-28", WorkOrder, 700), // the day before
            e(6, "2026-03-10", WorkOrder, 500),
            e(9, "2026-03-02", Visit, 0),
            e(42, "2026-03-02", Order, 9_999), // not a recipient
        ];
        let res = attribute(&recipients, &events, w, 50, d("2026-03-20"));
        assert_eq!(res.last_day, d("2026-03-30"));
        assert!(!res.complete);
        assert_eq!(
            res.target,
            Tally {
                recipients: 8,
                responders: 4,
                revenue_fen: 10_150_000
            }
        );
        // contacted: 1, 2, 3, 4, 5, 8 → responders 1, 2, 4; revenue 101,000 yuan
        assert_eq!(
            res.contacted,
            Tally {
                recipients: 6,
                responders: 3,
                revenue_fen: 10_100_000
            }
        );
        assert_eq!(
            res.control,
            Tally {
                recipients: 2,
                responders: 1,
                revenue_fen: 0
            }
        );
        assert_eq!(res.uplift, Some(0.0));
        assert_eq!(res.incremental_responders, Some(0.0));
        // per target 101,500 / 8 yuan − 0 per control, times 8
        assert_eq!(res.incremental_revenue_fen, Some(10_150_000));
        // contacts: 1 twice, 2, 3, 4, 5, 8 → 7 × 0.50 yuan
        assert_eq!(res.contacts, 7);
        assert_eq!(res.cost_fen, 350);
        assert_eq!(res.return_on_spend, Some(10_150_000.0 / 350.0));
        assert!(res.incremental);
        // email: 1, 4 → both responded (1,000 yuan); sms: 1, 2, 3, 5, 8 → 1, 2 (101,000)
        assert_eq!(res.by_channel.len(), 2);
        let sms = &res.by_channel[0];
        assert_eq!(sms.channel, Sms);
        assert_eq!(
            sms.tally,
            Tally {
                recipients: 5,
                responders: 2,
                revenue_fen: 10_100_000
            }
        );
        assert_eq!(sms.cost_fen, 250);
        assert!((sms.uplift.unwrap() - (0.4 - 0.5)).abs() < 1e-12);
        let email = &res.by_channel[1];
        assert_eq!(email.channel, Email);
        assert_eq!(email.tally.responders, 2);
        assert_eq!(email.tally.revenue_fen, 100_000);
        assert_eq!(email.uplift, Some(0.5));
        // first responses: 1 work order (4th before the 5th's visit), 2 order, 4 test drive,
        // 6 work order; control 9 visit
        let kind = |k| res.by_kind.iter().find(|x| x.kind == k).unwrap();
        assert_eq!((kind(WorkOrder).target, kind(WorkOrder).control), (2, 0));
        assert_eq!((kind(Order).target, kind(Visit).control), (1, 1));
        assert_eq!(kind(TestDrive).target, 1);
        assert_eq!(kind(Visit).target, 0);
        // recency rows present: 0 (2), 1 (1, 5 | 9), 2 (8), 3 (3), 12 (6), none (4, 7 | 10)
        let months: Vec<Option<u32>> = res.by_recency.iter().map(|r| r.months).collect();
        assert_eq!(
            months,
            vec![Some(0), Some(1), Some(2), Some(3), Some(12), None]
        );
        let one = &res.by_recency[1];
        assert_eq!((one.target.recipients, one.target.responders), (2, 1));
        assert_eq!((one.control.recipients, one.control.responders), (1, 1));
        let never = &res.by_recency[5];
        assert_eq!((never.target.recipients, never.target.responders), (2, 1));
        assert_eq!((never.control.recipients, never.control.responders), (1, 0));
        assert!(attribute(&recipients, &events, w, 50, d("2026-03-31")).complete);
    }

    #[test]
    fn without_a_control_group_the_return_is_not_incremental() {
        let w = Window {
            start: d("2026-03-01"),
            days: 7,
        };
        let recipients = vec![Recipient {
            customer_id: 1,
            control: false,
            contacted: vec![Channel::Sms],
            last_visit: None,
        }];
        let events = vec![Event {
            customer_id: 1,
            day: d("2026-03-07"),
            kind: ResponseKind::WorkOrder,
            revenue_fen: 30_000,
        }];
        let res = attribute(&recipients, &events, w, 100, d("2026-04-01"));
        assert_eq!(res.uplift, None);
        assert_eq!(res.incremental_revenue_fen, None);
        assert!(!res.incremental);
        assert_eq!(res.return_on_spend, Some(300.0));
        // no cost, no return
        let res = attribute(&recipients, &events, w, 0, d("2026-04-01"));
        assert_eq!(res.return_on_spend, None);
    }
}
