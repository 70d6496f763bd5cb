//! Loyalty points and membership (issue 8, point 5): earning rules, FIFO lots with expiry,
//! redemption and household transfer checks, membership tiers with upgrade and yearly
//! review, and member numbers with a check digit. Pure rules: no IO; "today" is passed in.
//!
//! Amounts are fen (0.01 yuan). Earning rates are points per 100 yuan, percentages are
//! whole percents, and every product of rates is computed exactly (i128) and rounded once,
//! by the store's rounding rule, per work order or purchase.

use crate::error::{Lang, Rule, ValidationError};
use crate::model::{PaidBy, WorkOrderKind, code_enum};
use chrono::{Months, NaiveDate};
use serde::{Deserialize, Serialize};

code_enum! {
    /// Membership tiers, lowest first (the order is the ranking).
    pub enum Tier {
        Classic = "classic", "普卡", "Classic";
        Silver = "silver", "银卡", "Silver";
        Gold = "gold", "金卡", "Gold";
        Platinum = "platinum", "白金卡", "Platinum";
    }
}

code_enum! {
    /// Kinds of ledger entries. Credits open a lot; debits consume lots first-expiring first.
    pub enum EntryKind {
        Earn = "earn", "消费积分", "Earned";
        Redeem = "redeem", "兑换", "Redeemed";
        TransferOut = "transfer_out", "转出", "Transferred out";
        TransferIn = "transfer_in", "转入", "Transferred in";
        Expire = "expire", "过期", "Expired";
        Adjust = "adjust", "人工调整", "Adjusted";
    }
}

code_enum! {
    /// How a fractional number of points becomes a whole one.
    pub enum Rounding {
        Floor = "floor", "向下取整", "Round down";
        HalfUp = "half_up", "四舍五入", "Round half up";
        Ceil = "ceil", "向上取整", "Round up";
    }
}

/// What it takes to reach a tier in the trailing 12 months (either suffices), and the
/// tier's earning multiplier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TierRule {
    /// Points earned (not transferred in) in the trailing 12 months.
    pub points: i64,
    /// Spend in the trailing 12 months, yuan.
    pub spend_yuan: i64,
    /// Earning multiplier, percent (100 = ×1).
    pub multiplier_percent: i64,
}

/// A store's loyalty configuration (`store.settings` → `"loyalty"`); keys not given take
/// these defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LoyaltySettings {
    /// Points per 100 yuan of labour on a customer-paid work order (100 = 1 point a yuan).
    pub labour_rate: i64,
    /// Points per 100 yuan of parts.
    pub part_rate: i64,
    /// Points per 100 yuan of a delivered vehicle's price.
    pub vehicle_rate: i64,
    /// Percent of the rates earned by first services and maintenance.
    pub maintenance_percent: i64,
    /// Percent earned by repairs.
    pub repair_percent: i64,
    /// Percent earned by accident repairs.
    pub accident_percent: i64,
    /// Percent earned by accessory fitting.
    pub accessory_percent: i64,
    pub rounding: Rounding,
    /// Points expire this many months after they were earned.
    pub expiry_months: i64,
    /// Multiplier of the classic tier, percent.
    pub classic_multiplier_percent: i64,
    pub silver: TierRule,
    pub gold: TierRule,
    pub platinum: TierRule,
    /// At the yearly review a member drops at most this many tiers.
    pub downgrade_levels: i64,
}

impl Default for LoyaltySettings {
    fn default() -> Self {
        LoyaltySettings {
            labour_rate: 100,
            part_rate: 50,
            vehicle_rate: 1,
            maintenance_percent: 100,
            repair_percent: 100,
            accident_percent: 50,
            accessory_percent: 100,
            rounding: Rounding::Floor,
            expiry_months: 24,
            classic_multiplier_percent: 100,
            silver: TierRule {
                points: 2_000,
                spend_yuan: 5_000,
                multiplier_percent: 110,
            },
            gold: TierRule {
                points: 5_000,
                spend_yuan: 15_000,
                multiplier_percent: 125,
            },
            platinum: TierRule {
                points: 10_000,
                spend_yuan: 40_000,
                multiplier_percent: 150,
            },
            downgrade_levels: 1,
        }
    }
}

fn range(field: &str, v: i64, min: i64, max: i64, e: &mut Vec<ValidationError>) {
    if !(min..=max).contains(&v) {
        e.push(ValidationError::new(
            field,
            v.to_string(),
            Rule::OutOfRange { min, max },
        ));
    }
}

impl LoyaltySettings {
    /// Every broken rule at once: rates 0–10,000 points per 100 yuan, percents 0–1,000,
    /// expiry 1–120 months, tier thresholds rising from silver to platinum.
    pub fn validate(&self) -> Result<(), Vec<ValidationError>> {
        let mut e = Vec::new();
        range("labour_rate", self.labour_rate, 0, 10_000, &mut e);
        range("part_rate", self.part_rate, 0, 10_000, &mut e);
        range("vehicle_rate", self.vehicle_rate, 0, 10_000, &mut e);
        for (f, v) in [
            ("maintenance_percent", self.maintenance_percent),
            ("repair_percent", self.repair_percent),
            ("accident_percent", self.accident_percent),
            ("accessory_percent", self.accessory_percent),
        ] {
            range(f, v, 0, 1_000, &mut e);
        }
        range("expiry_months", self.expiry_months, 1, 120, &mut e);
        range(
            "classic_multiplier_percent",
            self.classic_multiplier_percent,
            0,
            1_000,
            &mut e,
        );
        range("downgrade_levels", self.downgrade_levels, 1, 3, &mut e);
        let mut prev = (0, 0);
        for (name, t) in [
            ("silver", self.silver),
            ("gold", self.gold),
            ("platinum", self.platinum),
        ] {
            range(
                &format!("{name}_points"),
                t.points,
                prev.0.max(1),
                100_000_000,
                &mut e,
            );
            range(
                &format!("{name}_spend_yuan"),
                t.spend_yuan,
                prev.1.max(1),
                1_000_000_000,
                &mut e,
            );
            range(
                &format!("{name}_multiplier_percent"),
                t.multiplier_percent,
                0,
                1_000,
                &mut e,
            );
            prev = (t.points, t.spend_yuan);
        }
        if e.is_empty() { Ok(()) } else { Err(e) }
    }

    /// The settings as form fields (key, text), in the settings page's order.
    pub fn to_fields(&self) -> Vec<(&'static str, String)> {
        let n = |v: i64| v.to_string();
        vec![
            ("labour_rate", n(self.labour_rate)),
            ("part_rate", n(self.part_rate)),
            ("vehicle_rate", n(self.vehicle_rate)),
            ("maintenance_percent", n(self.maintenance_percent)),
            ("repair_percent", n(self.repair_percent)),
            ("accident_percent", n(self.accident_percent)),
            ("accessory_percent", n(self.accessory_percent)),
            ("rounding", self.rounding.code().to_string()),
            ("expiry_months", n(self.expiry_months)),
            (
                "classic_multiplier_percent",
                n(self.classic_multiplier_percent),
            ),
            ("silver_points", n(self.silver.points)),
            ("silver_spend_yuan", n(self.silver.spend_yuan)),
            (
                "silver_multiplier_percent",
                n(self.silver.multiplier_percent),
            ),
            ("gold_points", n(self.gold.points)),
            ("gold_spend_yuan", n(self.gold.spend_yuan)),
            ("gold_multiplier_percent", n(self.gold.multiplier_percent)),
            ("platinum_points", n(self.platinum.points)),
            ("platinum_spend_yuan", n(self.platinum.spend_yuan)),
            (
                "platinum_multiplier_percent",
                n(self.platinum.multiplier_percent),
            ),
            ("downgrade_levels", n(self.downgrade_levels)),
        ]
    }

    /// Reads the settings form: a field not sent keeps its current value; every field
    /// that is not a whole number (or a rounding code) is reported at once.
    pub fn from_fields(
        current: &LoyaltySettings,
        get: impl Fn(&str) -> Option<String>,
    ) -> Result<LoyaltySettings, Vec<ValidationError>> {
        let mut e = Vec::new();
        let mut s = current.clone();
        for (key, _) in current.to_fields() {
            let Some(raw) = get(key) else { continue };
            let t = crate::text::normalize(&raw);
            let t = t.trim();
            if key == "rounding" {
                match Rounding::parse(key, t) {
                    Ok(r) => s.rounding = r,
                    Err(err) => e.push(err),
                }
                continue;
            }
            let v = match t.replace(',', "").parse::<i64>() {
                Ok(v) => v,
                Err(_) => {
                    e.push(ValidationError::new(
                        key,
                        raw.as_str(),
                        if t.is_empty() {
                            Rule::Required
                        } else {
                            Rule::Number
                        },
                    ));
                    continue;
                }
            };
            let slot = match key {
                "labour_rate" => &mut s.labour_rate,
                "part_rate" => &mut s.part_rate,
                "vehicle_rate" => &mut s.vehicle_rate,
                "maintenance_percent" => &mut s.maintenance_percent,
                "repair_percent" => &mut s.repair_percent,
                "accident_percent" => &mut s.accident_percent,
                "accessory_percent" => &mut s.accessory_percent,
                "expiry_months" => &mut s.expiry_months,
                "classic_multiplier_percent" => &mut s.classic_multiplier_percent,
                "silver_points" => &mut s.silver.points,
                "silver_spend_yuan" => &mut s.silver.spend_yuan,
                "silver_multiplier_percent" => &mut s.silver.multiplier_percent,
                "gold_points" => &mut s.gold.points,
                "gold_spend_yuan" => &mut s.gold.spend_yuan,
                "gold_multiplier_percent" => &mut s.gold.multiplier_percent,
                "platinum_points" => &mut s.platinum.points,
                "platinum_spend_yuan" => &mut s.platinum.spend_yuan,
                "platinum_multiplier_percent" => &mut s.platinum.multiplier_percent,
                _ => &mut s.downgrade_levels,
            };
            *slot = v;
        }
        if e.is_empty() { Ok(s) } else { Err(e) }
    }

    pub fn multiplier(&self, tier: Tier) -> i64 {
        match tier {
            Tier::Classic => self.classic_multiplier_percent,
            Tier::Silver => self.silver.multiplier_percent,
            Tier::Gold => self.gold.multiplier_percent,
            Tier::Platinum => self.platinum.multiplier_percent,
        }
    }

    /// Percent of the rates a work order of this kind earns. Warranty, claims and PDI are
    /// paid by the OEM and earn nothing.
    pub fn kind_percent(&self, kind: WorkOrderKind) -> i64 {
        match kind {
            WorkOrderKind::FirstService | WorkOrderKind::Maintenance => self.maintenance_percent,
            WorkOrderKind::Repair => self.repair_percent,
            WorkOrderKind::Accident => self.accident_percent,
            WorkOrderKind::Accessory => self.accessory_percent,
            WorkOrderKind::Warranty | WorkOrderKind::Claim | WorkOrderKind::Pdi => 0,
        }
    }
}

/// `num / den` rounded by the rule (num ≥ 0, den > 0).
pub fn round_ratio(num: i128, den: i128, r: Rounding) -> i64 {
    let q = match r {
        Rounding::Floor => num / den,
        Rounding::Ceil => (num + den - 1) / den,
        Rounding::HalfUp => (2 * num + den) / (2 * den),
    };
    i64::try_from(q).unwrap_or(i64::MAX)
}

/// Points a settled work order earns: labour and parts amounts at their rates, times the
/// kind's percent and the tier's multiplier, rounded once. Only customer-paid orders earn;
/// negative amounts (refund lines) count as zero.
pub fn work_order_points(
    s: &LoyaltySettings,
    tier: Tier,
    kind: WorkOrderKind,
    paid_by: PaidBy,
    labour_fen: i64,
    part_fen: i64,
) -> i64 {
    if paid_by != PaidBy::Customer {
        return 0;
    }
    let base = labour_fen.max(0) as i128 * s.labour_rate as i128
        + part_fen.max(0) as i128 * s.part_rate as i128;
    // fen × (points per 100 yuan) ÷ 10,000 = points; two percents ÷ 10,000 more.
    round_ratio(
        base * s.kind_percent(kind) as i128 * s.multiplier(tier) as i128,
        100_000_000,
        s.rounding,
    )
}

/// Points a delivered vehicle purchase earns.
pub fn purchase_points(s: &LoyaltySettings, tier: Tier, price_fen: i64) -> i64 {
    round_ratio(
        price_fen.max(0) as i128 * s.vehicle_rate as i128 * s.multiplier(tier) as i128,
        1_000_000,
        s.rounding,
    )
}

/// The day a lot earned on `earned_on` expires (it is gone from that day on).
pub fn expires_on(s: &LoyaltySettings, earned_on: NaiveDate) -> NaiveDate {
    earned_on
        .checked_add_months(Months::new(s.expiry_months.clamp(1, 120) as u32))
        .unwrap_or(NaiveDate::MAX)
}

/// Whether a lot expiring on `expires` is expired on `today`.
pub fn is_expired(expires: NaiveDate, today: NaiveDate) -> bool {
    expires <= today
}

/// First day of the trailing 12 months that end today (inclusive).
pub fn trailing_start(today: NaiveDate) -> NaiveDate {
    today
        .checked_sub_months(Months::new(12))
        .and_then(|d| d.succ_opt())
        .unwrap_or(NaiveDate::MIN)
}

/// The highest tier whose points or spend threshold the trailing 12 months reach.
pub fn qualifying_tier(s: &LoyaltySettings, points_12m: i64, spend_fen_12m: i64) -> Tier {
    let meets = |t: &TierRule| points_12m >= t.points || spend_fen_12m >= t.spend_yuan * 100;
    if meets(&s.platinum) {
        Tier::Platinum
    } else if meets(&s.gold) {
        Tier::Gold
    } else if meets(&s.silver) {
        Tier::Silver
    } else {
        Tier::Classic
    }
}

/// An upgrade happens as soon as a member qualifies for a higher tier.
pub fn upgrade(current: Tier, qualifying: Tier) -> Option<Tier> {
    (qualifying > current).then_some(qualifying)
}

/// The yearly review: a member keeps or raises the tier they qualify for, and otherwise
/// drops to it, but by at most `downgrade_levels` tiers at one review.
pub fn review(s: &LoyaltySettings, current: Tier, qualifying: Tier) -> Tier {
    if qualifying >= current {
        return qualifying;
    }
    let cur = Tier::ALL.iter().position(|t| *t == current).unwrap_or(0);
    let floor = cur.saturating_sub(s.downgrade_levels.clamp(1, 3) as usize);
    let q = Tier::ALL.iter().position(|t| *t == qualifying).unwrap_or(0);
    Tier::ALL[q.max(floor)]
}

/// Whether the yearly review of a member last reviewed (or enrolled) on `last` is due.
pub fn review_due(last: NaiveDate, today: NaiveDate) -> bool {
    last.checked_add_months(Months::new(12))
        .is_some_and(|d| d <= today)
}

/// A lot that still holds points, as the FIFO rule sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenLot {
    pub id: i64,
    pub expires_on: NaiveDate,
    pub remaining: i64,
}

/// Which lots a debit of `points` consumes: the first to expire first (ties: the oldest
/// lot). Errors when the lots hold less than asked (naming the balance).
pub fn consume_fifo(
    field: &str,
    lots: &[OpenLot],
    points: i64,
) -> Result<Vec<(i64, i64)>, ValidationError> {
    check_points(field, points, lots.iter().map(|l| l.remaining).sum())?;
    let mut sorted: Vec<&OpenLot> = lots.iter().filter(|l| l.remaining > 0).collect();
    sorted.sort_by_key(|l| (l.expires_on, l.id));
    let mut left = points;
    let mut out = Vec::new();
    for l in sorted {
        if left == 0 {
            break;
        }
        let take = l.remaining.min(left);
        out.push((l.id, take));
        left -= take;
    }
    Ok(out)
}

/// Points to take from a balance: at least 1, at most the balance.
pub fn check_points(field: &str, points: i64, balance: i64) -> Result<(), ValidationError> {
    if points < 1 {
        return Err(ValidationError::new(
            field,
            points.to_string(),
            Rule::OutOfRange {
                min: 1,
                max: balance.max(1),
            },
        ));
    }
    if points > balance {
        return Err(ValidationError::new(
            field,
            points.to_string(),
            Rule::InsufficientPoints { balance },
        ));
    }
    Ok(())
}

/// Parses a whole number of points typed in a form ("1,000" and full-width digits allowed).
pub fn parse_points(field: &str, s: &str) -> Result<i64, ValidationError> {
    let t: String = crate::text::normalize(s)
        .chars()
        .filter(|c| *c != ',' && !c.is_whitespace())
        .collect();
    if t.is_empty() {
        return Err(ValidationError::new(field, s, Rule::Required));
    }
    t.parse::<i64>()
        .ok()
        .filter(|v| v.abs() <= 100_000_000)
        .ok_or_else(|| ValidationError::new(field, s, Rule::Number))
}

/// A transfer goes to another customer of the same household.
pub fn check_transfer(from: i64, to: i64, household: &[i64]) -> Result<(), ValidationError> {
    if from == to || !household.contains(&to) {
        return Err(ValidationError::new(
            "to_customer_id",
            to.to_string(),
            Rule::NotHousehold,
        ));
    }
    Ok(())
}

/// The check character of a member number: the Luhn digit over the payload with letters
/// written as two digits (A = 10 … Z = 35), as ISINs do (ISO 6166).
pub fn check_char(payload: &str) -> Option<char> {
    let mut digits = Vec::new();
    for c in payload.chars() {
        match c.to_ascii_uppercase() {
            d @ '0'..='9' => digits.push(d as u32 - '0' as u32),
            l @ 'A'..='Z' => {
                let v = l as u32 - 'A' as u32 + 10;
                digits.push(v / 10);
                digits.push(v % 10);
            }
            _ => return None,
        }
    }
    // Luhn: double every second digit from the right of the payload (the check digit
    // will sit to its right).
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            if i % 2 == 0 {
                let x = d * 2;
                x / 10 + x % 10
            } else {
                *d
            }
        })
        .sum();
    char::from_digit((10 - sum % 10) % 10, 10)
}

/// The member number issued as the `seq`-th of a store: store code, six-digit sequence,
/// check digit (`S01` and 42 → `S01000042` + check).
pub fn member_number(store_code: &str, seq: i64) -> String {
    let clean: String = store_code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let payload = format!("{clean}{seq:06}");
    let check = check_char(&payload).unwrap_or('0');
    format!("{payload}{check}")
}

/// Checks a member number typed by someone (look-ups at the counter).
pub fn check_member_number(field: &str, s: &str) -> Result<String, ValidationError> {
    let t = s.trim().to_ascii_uppercase();
    if t.len() < 8 || !t.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(ValidationError::new(field, s, Rule::Number));
    }
    let (payload, last) = t.split_at(t.len() - 1);
    let expected =
        check_char(payload).ok_or_else(|| ValidationError::new(field, s, Rule::Number))?;
    if !last.starts_with(expected) {
        return Err(ValidationError::new(
            field,
            s,
            Rule::MemberNumberCheck { expected },
        ));
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().expect("date")
    }

    #[test]
    fn work_order_points_by_line_kind_kind_and_tier() {
        let s = LoyaltySettings::default();
        // 300.00 yuan labour × 1/yuan = 300; 500.00 yuan parts × 0.5/yuan = 250 → 550.
        assert_eq!(
            work_order_points(
                &s,
                Tier::Classic,
                WorkOrderKind::Maintenance,
                PaidBy::Customer,
                30_000,
                50_000
            ),
            550
        );
        // accident: 50% → 275; gold ×1.25 → 343.75 → floor 343.
        assert_eq!(
            work_order_points(
                &s,
                Tier::Gold,
                WorkOrderKind::Accident,
                PaidBy::Customer,
                30_000,
                50_000
            ),
            343
        );
        // insurer-paid and warranty orders earn nothing
        assert_eq!(
            work_order_points(
                &s,
                Tier::Gold,
                WorkOrderKind::Accident,
                PaidBy::Insurer,
                30_000,
                50_000
            ),
            0
        );
        assert_eq!(
            work_order_points(
                &s,
                Tier::Classic,
                WorkOrderKind::Warranty,
                PaidBy::Customer,
                30_000,
                0
            ),
            0
        );
    }

    #[test]
    fn rounding_rules() {
        // 343.75 points
        let mut s = LoyaltySettings::default();
        let pts = |s: &LoyaltySettings| {
            work_order_points(
                s,
                Tier::Gold,
                WorkOrderKind::Accident,
                PaidBy::Customer,
                30_000,
                50_000,
            )
        };
        s.rounding = Rounding::HalfUp;
        assert_eq!(pts(&s), 344);
        s.rounding = Rounding::Ceil;
        assert_eq!(pts(&s), 344);
        assert_eq!(round_ratio(5, 10, Rounding::HalfUp), 1);
        assert_eq!(round_ratio(4, 10, Rounding::HalfUp), 0);
        assert_eq!(round_ratio(10, 10, Rounding::Ceil), 1);
        assert_eq!(round_ratio(11, 10, Rounding::Ceil), 2);
        assert_eq!(round_ratio(19, 10, Rounding::Floor), 1);
    }

    #[test]
    fn purchase_points_at_one_per_hundred_yuan() {
        let s = LoyaltySettings::default();
        // 139,900.00 yuan ÷ 100 = 1,399; platinum ×1.5 = 2,098.5 → 2,098.
        assert_eq!(purchase_points(&s, Tier::Classic, 13_990_000), 1_399);
        assert_eq!(purchase_points(&s, Tier::Platinum, 13_990_000), 2_098);
    }

    #[test]
    fn expiry_and_trailing_window() {
        let s = LoyaltySettings::default();
        assert_eq!(expires_on(&s, d("2024-02-29")), d("2026-02-28"));
        assert!(is_expired(d("2026-02-28"), d("2026-02-28")));
        assert!(!is_expired(d("2026-02-28"), d("2026-02-27")));
        assert_eq!(trailing_start(d("2026-11-23")), d("2025-11-24"));
    }

    #[test]
    fn tiers_upgrade_on_points_or_spend_and_drop_one_level_a_review() {
        let s = LoyaltySettings::default();
        assert_eq!(qualifying_tier(&s, 1_999, 499_999), Tier::Classic);
        assert_eq!(qualifying_tier(&s, 2_000, 0), Tier::Silver);
        // 15,000 yuan = 1,500,000 fen → gold on spend alone
        assert_eq!(qualifying_tier(&s, 0, 1_500_000), Tier::Gold);
        assert_eq!(qualifying_tier(&s, 10_000, 0), Tier::Platinum);
        assert_eq!(upgrade(Tier::Silver, Tier::Gold), Some(Tier::Gold));
        assert_eq!(upgrade(Tier::Gold, Tier::Silver), None);
        assert_eq!(review(&s, Tier::Platinum, Tier::Classic), Tier::Gold);
        assert_eq!(review(&s, Tier::Gold, Tier::Silver), Tier::Silver);
        assert_eq!(review(&s, Tier::Silver, Tier::Gold), Tier::Gold);
        let two = LoyaltySettings {
            downgrade_levels: 2,
            ..s
        };
        assert_eq!(review(&two, Tier::Platinum, Tier::Classic), Tier::Silver);
        assert!(review_due(d("2025-11-23"), d("2026-11-23")));
        assert!(!review_due(d("2025-11-24"), d("2026-11-23")));
    }

    #[test]
    fn fifo_takes_the_first_to_expire() {
        let lots = [
            OpenLot {
                id: 1,
                expires_on: d("2027-05-01"),
                remaining: 100,
            },
            OpenLot {
                id: 2,
                expires_on: d("2027-01-01"),
                remaining: 30,
            },
            OpenLot {
                id: 3,
                expires_on: d("2027-01-01"),
                remaining: 0,
            },
        ];
        assert_eq!(
            consume_fifo("points", &lots, 50).expect("ok"),
            vec![(2, 30), (1, 20)]
        );
        let e = consume_fifo("points", &lots, 131).expect_err("error");
        assert_eq!(e.code(), "insufficient_points");
        assert_eq!(e.rule, Rule::InsufficientPoints { balance: 130 });
        assert_eq!(e.field, "points");
        assert_eq!(e.value, "131");
        assert_eq!(
            consume_fifo("points", &lots, 0).expect_err("error").code(),
            "out_of_range"
        );
    }

    #[test]
    fn points_input_and_transfers() {
        assert_eq!(parse_points("points", " 1,000 ").expect("ok"), 1000);
        assert_eq!(parse_points("points", "-20").expect("ok"), -20);
        assert_eq!(parse_points("points", "１２").expect("ok"), 12);
        assert_eq!(
            parse_points("points", "").expect_err("error").code(),
            "required"
        );
        assert_eq!(
            parse_points("points", "1.5").expect_err("error").code(),
            "number"
        );
        assert!(check_transfer(1, 2, &[2, 3]).is_ok());
        assert_eq!(
            check_transfer(1, 4, &[2, 3]).expect_err("error").code(),
            "not_household"
        );
        assert_eq!(
            check_transfer(1, 1, &[1]).expect_err("error").code(),
            "not_household"
        );
    }

    #[test]
    fn member_numbers_carry_an_isin_style_check_digit() {
        // ISIN US0378331005 (Apple): payload US037833100, check 5.
        assert_eq!(check_char("US037833100"), Some('5'));
        // S01 000042: S = 28 → digits 2 8 0 1 0 0 0 0 4 2. From the right, every first of
        // two doubled: 2→4, 0→0, 0→0, 1→2, 8→16→1+6=7 (sum 13); the others 4+0+0+0+2 = 6;
        // 19 → check (10 − 9) = 1.
        assert_eq!(member_number("S01", 42), "S010000421");
        assert_eq!(
            check_member_number("no", "s010000421").expect("ok"),
            "S010000421"
        );
        assert_eq!(
            check_member_number("no", "S010000423")
                .expect_err("error")
                .rule,
            Rule::MemberNumberCheck { expected: '1' }
        );
    }

    #[test]
    fn settings_validation_names_each_field() {
        assert!(LoyaltySettings::default().validate().is_ok());
        let d = LoyaltySettings::default();
        let s = LoyaltySettings {
            labour_rate: -1,
            gold: TierRule {
                points: 100, // below silver's 2,000
                ..d.gold
            },
            expiry_months: 0,
            ..d
        };
        let e = s.validate().expect_err("error");
        let fields: Vec<&str> = e.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["labour_rate", "expiry_months", "gold_points"]);
    }

    #[test]
    fn settings_form_round_trip_and_errors() {
        let cur = LoyaltySettings::default();
        let form: std::collections::HashMap<&str, String> = cur.to_fields().into_iter().collect();
        assert_eq!(
            LoyaltySettings::from_fields(&cur, |k| form.get(k).cloned()).expect("ok"),
            cur
        );
        let got = |k: &str| match k {
            "part_rate" => Some("８0".to_string()),
            "rounding" => Some("四舍五入".to_string()),
            "gold_points" => Some("many".to_string()),
            "expiry_months" => Some(" ".to_string()),
            _ => None,
        };
        let e = LoyaltySettings::from_fields(&cur, got).expect_err("error");
        assert_eq!(
            e.iter()
                .map(|e| (e.field.as_str(), e.code()))
                .collect::<Vec<_>>(),
            vec![("expiry_months", "required"), ("gold_points", "number")]
        );
        let ok =
            LoyaltySettings::from_fields(&cur, |k| (k == "part_rate").then(|| "８0".to_string()))
                .expect("ok");
        assert_eq!(ok.part_rate, 80);
    }
}
