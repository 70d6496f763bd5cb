//! The customer 360 document: everything about one customer on one page, with a timeline.

use crate::records::CustomerView;
use crate::{Actor, Result, Services};
use chrono::NaiveDate;
use dealerbase_domain::Lang;
use dealerbase_domain::class::explain;
use dealerbase_domain::model::CustomerClass;
use dealerbase_store::*;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VehicleWithHistory {
    #[serde(flatten)]
    pub vehicle: Vehicle,
    pub owned_from: NaiveDate,
    pub owned_to: Option<NaiveDate>,
    pub odometer: Vec<OdometerReading>,
}

/// One dated event on the customer's timeline.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TimelineEntry {
    pub date: NaiveDate,
    /// sales_order | work_order | policy | lead | contact | task | complaint | survey
    pub kind: &'static str,
    pub id: Id,
    pub title: String,
    pub amount_fen: Option<i64>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Customer360 {
    pub customer: CustomerView,
    pub class_label: String,
    pub class_reason: String,
    pub store_name: String,
    pub consultant_name: Option<String>,
    pub assignments: Vec<Assignment>,
    pub company_contacts: Vec<CompanyContact>,
    pub relations: Vec<CustomerRelation>,
    pub vehicles: Vec<VehicleWithHistory>,
    pub sales_orders: Vec<SalesOrder>,
    pub work_orders: Vec<WorkOrder>,
    pub policies: Vec<InsurancePolicy>,
    pub leads: Vec<Lead>,
    pub contacts: Vec<Contact>,
    pub tasks: Vec<Task>,
    pub complaints: Vec<Complaint>,
    pub surveys: Vec<SurveyResponse>,
    pub consents: Vec<Consent>,
    /// Everything above with a date, newest first.
    pub timeline: Vec<TimelineEntry>,
    /// The customer's scores in the newest mining snapshot (None without a service visit
    /// or before the first snapshot).
    pub scores: Option<crate::mining_views::ScoreView>,
    /// Cross-sell offers for each vehicle the customer owns now, from its latest visit.
    pub cross_sell: Vec<crate::mining_views::VehicleCrossSell>,
    /// Loyalty: member number, tier, points balance, next expiry.
    pub loyalty: crate::loyalty::LoyaltySummary,
}

impl Services {
    pub async fn customer_360(&self, actor: &Actor, id: Id, lang: Lang) -> Result<Customer360> {
        let customer = self.db.customer(&actor.scope(), id).await?;
        let store = self.db.store(customer.fields.store_id).await?;
        let consultant_name = match customer.consultant_id {
            Some(s) => Some(self.db.staff(s).await?.name),
            None => None,
        };
        let owned = self.db.customer_vehicles(id).await?;
        let ids: Vec<Id> = owned.iter().map(|(v, _)| v.id).collect();
        let readings = self.db.odometer_readings(&ids).await?;
        let vehicles: Vec<VehicleWithHistory> = owned
            .into_iter()
            .map(|(v, o)| VehicleWithHistory {
                odometer: readings
                    .iter()
                    .filter(|r| r.vehicle_id == v.id)
                    .cloned()
                    .collect(),
                owned_from: o.from_date,
                owned_to: o.to_date,
                vehicle: v,
            })
            .collect();
        let sales_orders = self.db.customer_sales_orders(id).await?;
        let work_orders = self.db.customer_work_orders(id).await?;
        let policies = self.db.customer_policies(id).await?;
        let leads = self.db.customer_leads(id).await?;
        let contacts = self.db.customer_contacts(id).await?;
        let tasks = self.db.customer_tasks(id).await?;
        let complaints = self.db.customer_complaints(id).await?;
        let surveys = self.db.customer_surveys(id).await?;
        let timeline = timeline(
            &sales_orders,
            &work_orders,
            &policies,
            &leads,
            &contacts,
            &tasks,
            &complaints,
            &surveys,
            lang,
        );
        let scores = self.customer_score_view(actor, id, lang).await?;
        let current: Vec<Id> = vehicles_current(&vehicles);
        let cross_sell = if current.is_empty() {
            Vec::new()
        } else {
            let rules = self.db.latest_mining_rules().await?;
            if rules.is_empty() {
                Vec::new()
            } else {
                self.cross_sell_for(&current, &rules).await?
            }
        };
        let class_label = CustomerClass::parse("class", &customer.class)
            .map(|c| c.label(lang).to_string())
            .unwrap_or_else(|_| customer.class.clone());
        Ok(Customer360 {
            class_label,
            class_reason: explain(&customer.class_reason, lang),
            store_name: store.name,
            consultant_name,
            assignments: self.db.assignments(id).await?,
            company_contacts: self.db.company_contacts(id).await?,
            relations: self.db.relations(id).await?,
            consents: self.db.customer_consents(id).await?,
            customer: CustomerView::masked(customer),
            vehicles,
            sales_orders,
            work_orders,
            policies,
            leads,
            contacts,
            tasks,
            complaints,
            surveys,
            timeline,
            scores,
            cross_sell,
            loyalty: self.loyalty_summary(id, lang).await?,
        })
    }
}

/// Vehicles the customer owns now.
fn vehicles_current(v: &[VehicleWithHistory]) -> Vec<Id> {
    v.iter()
        .filter(|v| v.owned_to.is_none())
        .map(|v| v.vehicle.id)
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn timeline(
    sales: &[SalesOrder],
    work: &[WorkOrder],
    policies: &[InsurancePolicy],
    leads: &[Lead],
    contacts: &[Contact],
    tasks: &[Task],
    complaints: &[Complaint],
    surveys: &[SurveyResponse],
    lang: Lang,
) -> Vec<TimelineEntry> {
    use dealerbase_domain::model::*;
    let label = |parse: Result<&'static str, ()>, raw: &str| {
        parse
            .map(str::to_string)
            .unwrap_or_else(|_| raw.to_string())
    };
    let mut t = Vec::new();
    for s in sales {
        let kind = label(
            SalesOrderKind::parse("", &s.kind)
                .map(|k| k.label(lang))
                .map_err(|_| ()),
            &s.kind,
        );
        t.push(TimelineEntry {
            date: s.delivered_on.unwrap_or(s.ordered_on),
            kind: "sales_order",
            id: s.id,
            title: kind,
            amount_fen: Some(s.price_fen),
        });
    }
    for w in work {
        let kind = label(
            WorkOrderKind::parse("", &w.fields.kind)
                .map(|k| k.label(lang))
                .map_err(|_| ()),
            &w.fields.kind,
        );
        t.push(TimelineEntry {
            date: w.fields.opened_on,
            kind: "work_order",
            id: w.id,
            title: format!("{kind} {}", w.fields.number),
            amount_fen: Some(w.fields.total_fen),
        });
    }
    for p in policies {
        let kind = label(
            PolicyKind::parse("", &p.kind)
                .map(|k| k.label(lang))
                .map_err(|_| ()),
            &p.kind,
        );
        t.push(TimelineEntry {
            date: p.start_date,
            kind: "policy",
            id: p.id,
            title: format!("{kind} {}", p.insurer),
            amount_fen: Some(p.premium_fen),
        });
    }
    for l in leads {
        let grade = label(
            LeadGrade::parse("", &l.fields.grade)
                .map(|k| k.label(lang))
                .map_err(|_| ()),
            &l.fields.grade,
        );
        t.push(TimelineEntry {
            date: l.created_at.date_naive(),
            kind: "lead",
            id: l.id,
            title: grade,
            amount_fen: None,
        });
    }
    for c in contacts {
        let ch = label(
            ContactChannel::parse("", &c.channel)
                .map(|k| k.label(lang))
                .map_err(|_| ()),
            &c.channel,
        );
        let outcome = label(
            ContactOutcome::parse("", &c.outcome)
                .map(|k| k.label(lang))
                .map_err(|_| ()),
            &c.outcome,
        );
        t.push(TimelineEntry {
            date: c.occurred_at.date_naive(),
            kind: "contact",
            id: c.id,
            title: format!("{ch} · {outcome}"),
            amount_fen: None,
        });
    }
    for k in tasks {
        let kind = label(
            TaskKind::parse("", &k.kind)
                .map(|x| x.label(lang))
                .map_err(|_| ()),
            &k.kind,
        );
        t.push(TimelineEntry {
            date: k.due_on,
            kind: "task",
            id: k.id,
            title: kind,
            amount_fen: None,
        });
    }
    for c in complaints {
        t.push(TimelineEntry {
            date: c.opened_at.date_naive(),
            kind: "complaint",
            id: c.id,
            title: c.category.clone(),
            amount_fen: None,
        });
    }
    for s in surveys {
        t.push(TimelineEntry {
            date: s.answered_on,
            kind: "survey",
            id: s.id,
            title: format!("{} {}", s.kind.to_uppercase(), s.service_score),
            amount_fen: None,
        });
    }
    t.sort_by(|a, b| b.date.cmp(&a.date).then(b.id.cmp(&a.id)));
    t
}
