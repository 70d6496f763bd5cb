//! Customers, vehicles, work orders and leads: create, read, update and list, within the
//! actor's scope, with the customer's class kept derived and personal data masked.

use crate::input::{CustomerInput, LeadInput, VehicleInput, WorkOrderInput};
use crate::{Actor, Result, ServiceError, Services};
use chrono::Months;
use dealerbase_domain::class::{ClassFacts, DEFAULT_LAPSE_MONTHS, OwnedVehicle, classify};
use dealerbase_domain::mask::{mask_id, mask_mobile};
use dealerbase_domain::model::Role;
use dealerbase_domain::text::to_half_width;
use dealerbase_domain::{Mobile, Plate, Rule, ValidationError, Vin};
use dealerbase_store::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Reads what was typed into a search box: a mobile number, a plate, a VIN, or else a
/// fragment of a name.
pub fn recognise_search(q: &str) -> Option<SearchKey> {
    let t = to_half_width(q.trim());
    if t.is_empty() {
        return None;
    }
    if let Ok(m) = Mobile::parse(&t) {
        return Some(SearchKey::Mobile(m.as_str().to_string()));
    }
    if let Ok(Some(p)) = Plate::parse_optional(&t) {
        return Some(SearchKey::Plate(p.as_str().to_string()));
    }
    if t.len() == 17
        && let Ok(v) = Vin::parse_without_check_digit(&t)
    {
        return Some(SearchKey::Vin(v.as_str().to_string()));
    }
    Some(SearchKey::Name(t))
}

/// A customer as shown to the actor: mobile and ID number masked unless revealed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CustomerView {
    #[serde(flatten)]
    pub customer: Customer,
    pub masked: bool,
}

impl CustomerView {
    pub fn masked(mut c: Customer) -> CustomerView {
        c.fields.mobile = c.fields.mobile.as_deref().map(mask_mobile);
        c.fields.id_number = c.fields.id_number.as_deref().map(mask_id);
        c.fields.other_phones = c.fields.other_phones.as_deref().map(mask_mobile);
        CustomerView {
            customer: c,
            masked: true,
        }
    }
}

/// The full personal data of a customer, returned by an audited reveal.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RevealedPersonalData {
    pub customer_id: Id,
    pub mobile: Option<String>,
    pub other_phones: Option<String>,
    pub id_number: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, utoipa::IntoParams)]
#[serde(default)]
pub struct CustomerQuery {
    /// Name fragment, mobile, plate or VIN
    pub q: Option<String>,
    pub store_id: Option<Id>,
    /// potential | intent | defeated | own_sold_owner | other_sold_owner | other_brand_owner | base | vip | lapsed
    pub class: Option<String>,
    pub kind: Option<String>,
    pub consultant_id: Option<Id>,
    /// newest | name | recently_updated
    pub sort: Option<CustomerSort>,
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, utoipa::IntoParams)]
#[serde(default)]
pub struct LeadQuery {
    pub status: Option<String>,
    pub grade: Option<String>,
    pub owner_id: Option<Id>,
    pub customer_id: Option<Id>,
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}

impl Services {
    // ---- customers ---------------------------------------------------------------------

    pub async fn create_customer(
        &self,
        actor: &Actor,
        input: &CustomerInput,
    ) -> Result<CustomerView> {
        let mut input = input.clone();
        input.store_id = input.store_id.or(actor.store_id);
        let Some(store_id) = input.store_id else {
            return Err(ServiceError::invalid(ValidationError::new(
                "store_id",
                "",
                Rule::Required,
            )));
        };
        self.check_store_access(actor, store_id).await?;
        let fields = input.apply(None, self.clock.today())?;
        let consultant = match input.consultant_id {
            Some(c) => Some(self.check_consultant(c, store_id).await?),
            None if actor.role == Role::SalesConsultant => Some(actor.staff_id),
            None => None,
        };
        let decision = classify(
            &ClassFacts {
                vip: fields.vip,
                ..Default::default()
            },
            self.clock.today(),
            DEFAULT_LAPSE_MONTHS,
        );
        let id = self
            .db
            .create_customer(
                &fields,
                consultant,
                (decision.class.code(), &decision.reason),
                self.clock.now(),
            )
            .await?;
        self.db
            .audit(
                Some(actor.staff_id),
                "create",
                "customer",
                Some(id),
                "",
                self.clock.now(),
            )
            .await?;
        self.customer(actor, id).await
    }

    pub async fn update_customer(
        &self,
        actor: &Actor,
        id: Id,
        input: &CustomerInput,
    ) -> Result<CustomerView> {
        let current = self.db.customer(&actor.scope(), id).await?;
        if let Some(s) = input.store_id
            && s != current.fields.store_id
        {
            self.check_store_access(actor, s).await?;
        }
        let fields = input.apply(Some(&current.fields), self.clock.today())?;
        self.db
            .update_customer(id, &fields, self.clock.now())
            .await?;
        if let Some(c) = input.consultant_id
            && Some(c) != current.consultant_id
        {
            self.check_consultant(c, fields.store_id).await?;
            self.db
                .assign_consultant(id, c, Some(actor.staff_id), "reassigned", self.clock.now())
                .await?;
        }
        self.reclassify(id).await?;
        self.db
            .audit(
                Some(actor.staff_id),
                "update",
                "customer",
                Some(id),
                "",
                self.clock.now(),
            )
            .await?;
        self.customer(actor, id).await
    }

    async fn check_consultant(&self, staff_id: Id, store_id: Id) -> Result<Id> {
        match self.db.staff(staff_id).await {
            Ok(s) if s.store_id == Some(store_id) && s.active => Ok(s.id),
            _ => Err(ServiceError::invalid(ValidationError::new(
                "consultant_id",
                staff_id.to_string(),
                Rule::OneOf {
                    allowed: vec!["an active staff member of the customer's store".into()],
                },
            ))),
        }
    }

    pub async fn customer(&self, actor: &Actor, id: Id) -> Result<CustomerView> {
        Ok(CustomerView::masked(
            self.db.customer(&actor.scope(), id).await?,
        ))
    }

    /// Full mobile and ID number, for roles allowed to see them; every reveal is audited.
    pub async fn reveal_customer(&self, actor: &Actor, id: Id) -> Result<RevealedPersonalData> {
        if !actor.role.may_reveal_personal_data() {
            return Err(ServiceError::Forbidden("reveal personal data"));
        }
        let c = self.db.customer(&actor.scope(), id).await?;
        self.db
            .audit(
                Some(actor.staff_id),
                "reveal",
                "customer",
                Some(id),
                "mobile,id_number",
                self.clock.now(),
            )
            .await?;
        Ok(RevealedPersonalData {
            customer_id: id,
            mobile: c.fields.mobile,
            other_phones: c.fields.other_phones,
            id_number: c.fields.id_number,
        })
    }

    pub async fn list_customers(
        &self,
        actor: &Actor,
        q: &CustomerQuery,
    ) -> Result<Page<CustomerSummary>> {
        let filter = CustomerFilter {
            search: q.q.as_deref().and_then(recognise_search),
            store_id: q.store_id,
            class: q.class.clone().filter(|s| !s.is_empty()),
            kind: q.kind.clone().filter(|s| !s.is_empty()),
            consultant_id: q.consultant_id,
            sort: q.sort.unwrap_or_default(),
            page: q.page.unwrap_or(1),
            per_page: q.per_page.unwrap_or(20),
        };
        let mut page = self.db.list_customers(&actor.scope(), &filter).await?;
        for c in &mut page.items {
            c.mobile = c.mobile.as_deref().map(mask_mobile);
        }
        Ok(page)
    }

    /// Derives the customer's class again from the data (see dealerbase_domain::class).
    pub async fn reclassify(&self, id: Id) -> Result<()> {
        let c = self.db.customer_unscoped(id).await?;
        let store = self.db.store(c.fields.store_id).await?;
        let vehicles = self.db.customer_vehicles(id).await?;
        let mut facts = ClassFacts {
            vip: c.fields.vip,
            ..Default::default()
        };
        for (v, o) in &vehicles {
            if o.to_date.is_none() {
                let brand = self.db.brand_of_model(v.fields.model_id).await?;
                facts.vehicles.push(OwnedVehicle {
                    our_brand: brand == store.brand_id,
                    own_sold: v.fields.own_sold,
                    delivered_on: v.fields.delivery_date,
                });
            }
        }
        let activity = self.db.customer_activity(id).await?;
        facts.last_service_on = activity.last_service_on;
        facts.open_lead = activity.open_leads > 0;
        facts.defeated_lead = activity.defeated_leads > 0;
        facts.any_interaction = activity.interactions > 0;
        let d = classify(&facts, self.clock.today(), DEFAULT_LAPSE_MONTHS);
        self.db
            .set_customer_class(id, d.class.code(), &d.reason)
            .await?;
        Ok(())
    }

    // ---- vehicles ----------------------------------------------------------------------

    pub async fn create_vehicle(&self, actor: &Actor, input: &VehicleInput) -> Result<Vehicle> {
        let owner = match input.customer_id {
            Some(c) => Some(self.db.customer(&actor.scope(), c).await?),
            None => None,
        };
        let mut input = input.clone();
        input.store_id = input
            .store_id
            .or(owner.as_ref().map(|c| c.fields.store_id))
            .or(actor.store_id);
        let mut fields = input.apply(None)?;
        if fields.store_id == 0 {
            return Err(ServiceError::invalid(ValidationError::new(
                "store_id",
                "",
                Rule::Required,
            )));
        }
        self.check_store_access(actor, fields.store_id).await?;
        let model = self.db.vehicle_model(fields.model_id).await.map_err(|_| {
            ServiceError::invalid(ValidationError::new(
                "model_id",
                fields.model_id.to_string(),
                Rule::OneOf {
                    allowed: vec!["a model of the catalogue".into()],
                },
            ))
        })?;
        // Warranty from the delivery (or invoice) date by the model's terms, unless given.
        if fields.warranty_end_date.is_none()
            && let Some(start) = fields.delivery_date.or(fields.invoice_date)
        {
            fields.warranty_end_date =
                start.checked_add_months(Months::new(model.warranty_months as u32));
            fields.warranty_end_km = fields.warranty_end_km.or(Some(model.warranty_km));
        }
        let from = fields
            .delivery_date
            .or(fields.purchase_date)
            .unwrap_or(self.clock.today());
        let id = self
            .db
            .create_vehicle(
                &fields,
                owner.as_ref().map(|c| (c.id, from)),
                self.clock.now(),
            )
            .await?;
        if let Some(c) = &owner {
            self.reclassify(c.id).await?;
        }
        self.db
            .audit(
                Some(actor.staff_id),
                "create",
                "vehicle",
                Some(id),
                "",
                self.clock.now(),
            )
            .await?;
        Ok(self.db.vehicle(&actor.scope(), id).await.or_else(|_| {
            Err(ServiceError::NotFound {
                entity: "vehicle",
                id: id.to_string(),
            })
        })?)
    }

    pub async fn vehicle(&self, actor: &Actor, id: Id) -> Result<Vehicle> {
        Ok(self.db.vehicle(&actor.scope(), id).await?)
    }

    pub async fn update_vehicle(
        &self,
        actor: &Actor,
        id: Id,
        input: &VehicleInput,
    ) -> Result<Vehicle> {
        let current = self.db.vehicle(&actor.scope(), id).await?;
        let fields = input.apply(Some(&current.fields))?;
        if fields.store_id != current.fields.store_id {
            self.check_store_access(actor, fields.store_id).await?;
        }
        self.db.update_vehicle(id, &fields).await?;
        self.db
            .audit(
                Some(actor.staff_id),
                "update",
                "vehicle",
                Some(id),
                "",
                self.clock.now(),
            )
            .await?;
        Ok(self.db.vehicle(&actor.scope(), id).await?)
    }

    // ---- work orders -------------------------------------------------------------------

    pub async fn create_work_order(
        &self,
        actor: &Actor,
        input: &WorkOrderInput,
    ) -> Result<WorkOrder> {
        let v = input.validate()?;
        let Some(vehicle_id) = input.vehicle_id else {
            return Err(ServiceError::invalid(ValidationError::new(
                "vehicle_id",
                "",
                Rule::Required,
            )));
        };
        let vehicle = self.db.vehicle(&actor.scope(), vehicle_id).await?;
        let customer_id = match input.customer_id.or(vehicle.owner_id) {
            Some(c) => self.db.customer(&actor.scope(), c).await?.id,
            None => {
                return Err(ServiceError::invalid(ValidationError::new(
                    "customer_id",
                    "",
                    Rule::Required,
                )));
            }
        };
        let store_id = input
            .store_id
            .or(actor.store_id)
            .unwrap_or(vehicle.fields.store_id);
        self.check_store_access(actor, store_id).await?;
        let advisor_id = input
            .advisor_id
            .or((actor.role == Role::ServiceAdvisor).then_some(actor.staff_id));
        let fields = WorkOrderFields {
            store_id,
            number: v.number,
            vehicle_id,
            customer_id,
            advisor_id,
            kind: v.kind.code().into(),
            status: if v.settled_on.is_some() {
                "settled".into()
            } else {
                "open".into()
            },
            opened_on: v.opened_on,
            settled_on: v.settled_on,
            odometer_km: v.odometer_km,
            total_fen: v.total_fen,
            paid_by: v.paid_by.code().into(),
        };
        let id = self.db.create_work_order(&fields, &v.lines).await?;
        self.reclassify(customer_id).await?;
        self.db
            .audit(
                Some(actor.staff_id),
                "create",
                "work_order",
                Some(id),
                "",
                self.clock.now(),
            )
            .await?;
        Ok(self.db.work_order(&actor.scope(), id).await?)
    }

    pub async fn work_order(&self, actor: &Actor, id: Id) -> Result<WorkOrder> {
        Ok(self.db.work_order(&actor.scope(), id).await?)
    }

    // ---- leads -------------------------------------------------------------------------

    /// Registers a lead with its first contact and follow-up (see `sales::register_lead`).
    pub async fn create_lead(&self, actor: &Actor, input: &LeadInput) -> Result<Lead> {
        self.register_lead(actor, input).await
    }

    pub async fn lead(&self, actor: &Actor, id: Id) -> Result<Lead> {
        Ok(self.db.lead(&actor.scope(), id).await?)
    }

    pub async fn list_leads(&self, actor: &Actor, q: &LeadQuery) -> Result<Page<Lead>> {
        let f = LeadFilter {
            status: q.status.clone().filter(|s| !s.is_empty()),
            grade: q.grade.clone().filter(|s| !s.is_empty()),
            owner_id: q.owner_id,
            customer_id: q.customer_id,
            page: q.page.unwrap_or(1),
            per_page: q.per_page.unwrap_or(20),
        };
        Ok(self.db.list_leads(&actor.scope(), &f).await?)
    }

    /// Tasks due today or overdue for the actor: assigned to them, or generated for their
    /// role at their store (after-sales reminders).
    pub async fn today(&self, actor: &Actor) -> Result<Vec<Task>> {
        // Their own tasks and those addressed to their role in their store.
        Ok(self
            .db
            .due_tasks_for(
                actor.staff_id,
                actor.role.code(),
                actor.store_id,
                self.clock.today(),
                200,
            )
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_box_recognises_what_was_typed() {
        assert_eq!(
            recognise_search("138 1234 5678"),
            Some(SearchKey::Mobile("13812345678".into()))
        );
        assert_eq!(
            recognise_search("京a12345"),
            Some(SearchKey::Plate("京A12345".into()))
        );
        assert_eq!(
            recognise_search("latpab071w1005301"),
            Some(SearchKey::Vin("LATPAB071W1005301".into()))
        );
        assert_eq!(recognise_search("王"), Some(SearchKey::Name("王".into())));
        assert_eq!(recognise_search("  "), None);
    }

    #[test]
    fn customer_view_masks_mobile_and_id() {
        let c = Customer {
            id: 1,
            fields: CustomerFields {
                mobile: Some("13812345678".into()),
                id_number: Some("11010519491231002X".into()),
                ..Default::default()
            },
            consultant_id: None,
            class: "potential".into(),
            class_reason: String::new(),
            merged_into: None,
            last_visit_on: None,
            created_at: chrono::Utc::now(),
            updated_at: chrono::Utc::now(),
        };
        let v = CustomerView::masked(c);
        assert_eq!(v.customer.fields.mobile.as_deref(), Some("138****5678"));
        assert_eq!(
            v.customer.fields.id_number.as_deref(),
            Some("1*************002X")
        );
    }
}
