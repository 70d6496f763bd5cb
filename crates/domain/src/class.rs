//! Customer classes are derived from the data by these rules, never typed by hand
//! (PRODUCT.md §1, DOMAIN.md §1). The first rule that matches wins:
//!
//! 1. flagged VIP by a manager → VIP;
//! 2. owns a vehicle of the store's brand and the last service visit (or the delivery, if
//!    never serviced) is older than the lapse window → lapsed;
//! 3. owns a vehicle of the store's brand bought here → own-sold owner; bought at another
//!    dealer → other-sold owner;
//! 4. has an open lead → intent (lead);
//! 5. has a lead whose defeat was approved → defeated;
//! 6. owns a vehicle of another brand → other-brand owner;
//! 7. has any recorded interaction (contact, work order, visit) → base customer;
//! 8. otherwise → prospect (potential).

use crate::model::CustomerClass;
use chrono::{Months, NaiveDate};
use serde::Serialize;

/// Default lapse window in months (DOMAIN.md §1; configurable per brand/store).
pub const DEFAULT_LAPSE_MONTHS: u32 = 12;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OwnedVehicle {
    pub our_brand: bool,
    pub own_sold: bool,
    pub delivered_on: Option<NaiveDate>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClassFacts {
    pub vip: bool,
    pub vehicles: Vec<OwnedVehicle>,
    pub last_service_on: Option<NaiveDate>,
    pub open_lead: bool,
    pub defeated_lead: bool,
    pub any_interaction: bool,
}

/// Why a customer has its class, as a stable code with the date that decided it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClassDecision {
    pub class: CustomerClass,
    pub reason: String,
}

pub fn classify(facts: &ClassFacts, today: NaiveDate, lapse_months: u32) -> ClassDecision {
    let decide = |class, reason: String| ClassDecision { class, reason };
    if facts.vip {
        return decide(CustomerClass::Vip, "vip_flag".into());
    }
    let ours: Vec<&OwnedVehicle> = facts.vehicles.iter().filter(|v| v.our_brand).collect();
    if !ours.is_empty() {
        let last_seen = facts
            .last_service_on
            .into_iter()
            .chain(ours.iter().filter_map(|v| v.delivered_on))
            .max();
        let cutoff = today
            .checked_sub_months(Months::new(lapse_months))
            .unwrap_or(today);
        if let Some(seen) = last_seen
            && seen < cutoff
        {
            return decide(CustomerClass::Lapsed, format!("no_visit_since:{seen}"));
        }
        return if ours.iter().any(|v| v.own_sold) {
            decide(CustomerClass::OwnSoldOwner, "owns_vehicle_sold_here".into())
        } else {
            decide(
                CustomerClass::OtherSoldOwner,
                "owns_vehicle_sold_elsewhere".into(),
            )
        };
    }
    if facts.open_lead {
        return decide(CustomerClass::Intent, "open_lead".into());
    }
    if facts.defeated_lead {
        return decide(CustomerClass::Defeated, "defeat_approved".into());
    }
    if !facts.vehicles.is_empty() {
        return decide(CustomerClass::OtherBrandOwner, "owns_other_brand".into());
    }
    if facts.any_interaction {
        return decide(CustomerClass::Base, "has_interactions".into());
    }
    decide(CustomerClass::Potential, "no_records".into())
}

/// The reason code in words.
pub fn explain(reason: &str, lang: crate::Lang) -> String {
    use crate::Lang::*;
    let (code, arg) = reason.split_once(':').unwrap_or((reason, ""));
    match (code, lang) {
        ("vip_flag", Zh) => "经理标记为 VIP".into(),
        ("vip_flag", En) => "marked VIP by a manager".into(),
        ("no_visit_since", Zh) => format!("自 {arg} 起未回厂，超过流失期"),
        ("no_visit_since", En) => {
            format!("no service visit since {arg}, longer than the lapse window")
        }
        ("owns_vehicle_sold_here", Zh) => "拥有本店销售的本品牌车辆".into(),
        ("owns_vehicle_sold_here", En) => "owns a vehicle of our brand sold by this store".into(),
        ("owns_vehicle_sold_elsewhere", Zh) => "拥有他店销售的本品牌车辆".into(),
        ("owns_vehicle_sold_elsewhere", En) => {
            "owns a vehicle of our brand sold by another dealer".into()
        }
        ("open_lead", Zh) => "有跟进中的意向".into(),
        ("open_lead", En) => "has an open lead".into(),
        ("defeat_approved", Zh) => "战败申请已批准".into(),
        ("defeat_approved", En) => "a defeat request was approved".into(),
        ("owns_other_brand", Zh) => "拥有其他品牌车辆".into(),
        ("owns_other_brand", En) => "owns a vehicle of another brand".into(),
        ("has_interactions", Zh) => "有联系或到店记录".into(),
        ("has_interactions", En) => "has contacts or visits on record".into(),
        (_, Zh) => "尚无记录".into(),
        (_, En) => "no records yet".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }
    const TODAY: &str = "2026-11-23";

    fn owner(own_sold: bool, delivered: &str) -> OwnedVehicle {
        OwnedVehicle {
            our_brand: true,
            own_sold,
            delivered_on: Some(d(delivered)),
        }
    }

    #[test]
    fn each_rule_in_order() {
        let c = |f: ClassFacts| classify(&f, d(TODAY), DEFAULT_LAPSE_MONTHS).class;
        assert_eq!(c(ClassFacts::default()), CustomerClass::Potential);
        assert_eq!(
            c(ClassFacts {
                any_interaction: true,
                ..Default::default()
            }),
            CustomerClass::Base
        );
        let other_brand = OwnedVehicle {
            our_brand: false,
            own_sold: false,
            delivered_on: None,
        };
        assert_eq!(
            c(ClassFacts {
                vehicles: vec![other_brand],
                ..Default::default()
            }),
            CustomerClass::OtherBrandOwner
        );
        assert_eq!(
            c(ClassFacts {
                defeated_lead: true,
                ..Default::default()
            }),
            CustomerClass::Defeated
        );
        assert_eq!(
            c(ClassFacts {
                defeated_lead: true,
                open_lead: true,
                ..Default::default()
            }),
            CustomerClass::Intent
        );
        let recent = ClassFacts {
            vehicles: vec![owner(true, "2026-06-01")],
            ..Default::default()
        };
        assert_eq!(c(recent.clone()), CustomerClass::OwnSoldOwner);
        let elsewhere = ClassFacts {
            vehicles: vec![owner(false, "2026-06-01")],
            ..Default::default()
        };
        assert_eq!(c(elsewhere), CustomerClass::OtherSoldOwner);
        assert_eq!(
            c(ClassFacts {
                vip: true,
                ..recent
            }),
            CustomerClass::Vip
        );
    }

    #[test]
    fn lapse_window_uses_last_service_or_delivery() {
        // Delivered 2023, last service 2025-11-22: one day more than 12 months before 2026-11-23.
        let f = ClassFacts {
            vehicles: vec![owner(true, "2023-01-10")],
            last_service_on: Some(d("2025-11-22")),
            ..Default::default()
        };
        let r = classify(&f, d(TODAY), 12);
        assert_eq!(r.class, CustomerClass::Lapsed);
        assert_eq!(r.reason, "no_visit_since:2025-11-22");
        // Exactly 12 months ago is still inside the window.
        let f = ClassFacts {
            last_service_on: Some(d("2025-11-23")),
            ..f
        };
        assert_eq!(
            classify(&f, d(TODAY), 12).class,
            CustomerClass::OwnSoldOwner
        );
        // With an 18-month window the first case is not lapsed.
        let f = ClassFacts {
            last_service_on: Some(d("2025-11-22")),
            ..f
        };
        assert_eq!(
            classify(&f, d(TODAY), 18).class,
            CustomerClass::OwnSoldOwner
        );
    }

    #[test]
    fn reasons_in_both_languages() {
        assert_eq!(
            explain("no_visit_since:2025-01-01", crate::Lang::Zh),
            "自 2025-01-01 起未回厂，超过流失期"
        );
        assert_eq!(explain("open_lead", crate::Lang::En), "has an open lead");
    }
}
