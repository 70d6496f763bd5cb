//! What people and API clients send, and how it becomes validated store fields. Every
//! field is checked and every error is collected, so a form can show them all at once.
//!
//! Update semantics: a field left out (`null`/absent) keeps its value; an empty string
//! clears an optional field.

use chrono::NaiveDate;
use dealerbase_domain::dates::parse_dms_date;
use dealerbase_domain::model::*;
use dealerbase_domain::resident_id::{Gender, IdType, ResidentId};
use dealerbase_domain::text::normalize;
use dealerbase_domain::{Mobile, Plate, Rule, ValidationError, Vin};
use dealerbase_store::{CustomerFields, Id, VehicleFields, WorkOrderLine};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Collects validation errors field by field.
#[derive(Debug, Default)]
pub struct Checker {
    pub errors: Vec<ValidationError>,
}

impl Checker {
    pub fn fail(&mut self, e: ValidationError) {
        self.errors.push(e);
    }

    /// Optional free text: normalised, empty → None, at most `max` characters.
    pub fn text(
        &mut self,
        field: &str,
        v: &Option<String>,
        current: Option<String>,
        max: usize,
    ) -> Option<String> {
        match v {
            None => current,
            Some(raw) => {
                let t = normalize(raw);
                if t.is_empty() {
                    None
                } else if t.chars().count() > max {
                    self.fail(ValidationError::new(
                        field,
                        raw.as_str(),
                        Rule::TooLong { max },
                    ));
                    current
                } else {
                    Some(t)
                }
            }
        }
    }

    pub fn required_text(
        &mut self,
        field: &str,
        v: &Option<String>,
        current: Option<String>,
        max: usize,
    ) -> String {
        let t = self.text(field, v, current, max);
        match t {
            Some(t) => t,
            None => {
                self.fail(ValidationError::new(
                    field,
                    v.clone().unwrap_or_default(),
                    Rule::Required,
                ));
                String::new()
            }
        }
    }

    pub fn date(
        &mut self,
        field: &str,
        v: &Option<String>,
        current: Option<NaiveDate>,
    ) -> Option<NaiveDate> {
        match v.as_deref().map(str::trim) {
            None => current,
            Some("") => None,
            Some(s) => match parse_dms_date(field, s) {
                Ok(d) => Some(d),
                Err(e) => {
                    self.fail(e);
                    current
                }
            },
        }
    }

    pub fn code<T: Copy>(
        &mut self,
        field: &str,
        v: &Option<String>,
        current: Option<T>,
        parse: impl Fn(&str, &str) -> Result<T, ValidationError>,
    ) -> Option<T> {
        match v.as_deref().map(str::trim) {
            None => current,
            Some("") => None,
            Some(s) => match parse(field, s) {
                Ok(x) => Some(x),
                Err(e) => {
                    self.fail(e);
                    current
                }
            },
        }
    }

    pub fn range(&mut self, field: &str, v: Option<i64>, min: i64, max: i64) -> Option<i64> {
        match v {
            Some(x) if x < min || x > max => {
                self.fail(ValidationError::new(
                    field,
                    x.to_string(),
                    Rule::OutOfRange { min, max },
                ));
                None
            }
            other => other,
        }
    }

    pub fn finish(self) -> Result<(), crate::ServiceError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(crate::ServiceError::Invalid(self.errors))
        }
    }
}

/// A customer as sent by a form or API client. Codes may also be given as their Chinese
/// or English labels.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct CustomerInput {
    pub store_id: Option<Id>,
    /// individual | company | contract | partner
    pub kind: Option<String>,
    pub name: Option<String>,
    pub title: Option<String>,
    /// male | female
    pub gender: Option<String>,
    /// resident | hk_macau_taiwan_permit | foreigner_permanent | passport | other
    pub id_type: Option<String>,
    pub id_number: Option<String>,
    /// YYYY-MM-DD or any DMS date format
    pub birthday: Option<String>,
    pub lunar_birthday: Option<bool>,
    pub mobile: Option<String>,
    pub other_phones: Option<String>,
    pub email: Option<String>,
    pub province_code: Option<String>,
    pub city_code: Option<String>,
    pub district_code: Option<String>,
    pub address: Option<String>,
    pub industry: Option<String>,
    pub occupation: Option<String>,
    pub marital_status: Option<String>,
    pub income_band: Option<String>,
    pub education: Option<String>,
    pub interests: Option<String>,
    pub source: Option<String>,
    pub vip: Option<bool>,
    pub key_account: Option<String>,
    pub consultant_id: Option<Id>,
}

fn parse_gender(field: &str, s: &str) -> Result<Gender, ValidationError> {
    Gender::parse(s).ok_or_else(|| {
        ValidationError::new(
            field,
            s,
            Rule::OneOf {
                allowed: vec!["male".into(), "female".into()],
            },
        )
    })
}

fn parse_id_type(field: &str, s: &str) -> Result<IdType, ValidationError> {
    IdType::parse(s).map_err(|e| e.with_field(field))
}

fn check_email(c: &mut Checker, v: Option<String>) -> Option<String> {
    let e = v?;
    let ok = e.split_once('@').is_some_and(|(user, host)| {
        !user.is_empty() && host.contains('.') && !host.starts_with('.') && !e.contains(' ')
    });
    if ok {
        Some(e)
    } else {
        c.fail(ValidationError::new("email", e, Rule::Email));
        None
    }
}

impl CustomerInput {
    /// Validates against the current fields (for an update) or defaults (for a create).
    pub fn apply(
        &self,
        current: Option<&CustomerFields>,
        today: NaiveDate,
    ) -> Result<CustomerFields, crate::ServiceError> {
        let cur = current.cloned().unwrap_or_default();
        let mut c = Checker::default();
        let kind = c
            .code(
                "kind",
                &self.kind,
                CustomerKind::parse("kind", &cur.kind)
                    .ok()
                    .or(Some(CustomerKind::Individual)),
                CustomerKind::parse,
            )
            .unwrap_or(CustomerKind::Individual);
        let name = c.required_text(
            "name",
            &self.name,
            Some(cur.name.clone()).filter(|n| !n.is_empty()),
            60,
        );
        let mut gender = c.code(
            "gender",
            &self.gender,
            cur.gender.as_deref().and_then(Gender::parse),
            parse_gender,
        );
        let id_type = c.code(
            "id_type",
            &self.id_type,
            cur.id_type.as_deref().and_then(IdType::from_code),
            parse_id_type,
        );
        let mut birthday = c.date("birthday", &self.birthday, cur.birthday);
        let id_number = match self.id_number.as_deref().map(str::trim) {
            None => cur.id_number.clone(),
            Some("") => None,
            Some(raw) => {
                match ResidentId::parse_on(id_type.unwrap_or(IdType::Resident), raw, today) {
                    Ok(id) => {
                        // The ID number states birthday and gender: fill them when not given.
                        if self.birthday.as_deref().is_none_or(|b| b.trim().is_empty()) {
                            birthday = id.birth_date().or(birthday);
                        }
                        if self.gender.as_deref().is_none_or(|g| g.trim().is_empty()) {
                            gender = id.gender().or(gender);
                        }
                        Some(id.as_str().to_string())
                    }
                    Err(e) => {
                        c.fail(e);
                        cur.id_number.clone()
                    }
                }
            }
        };
        let id_type = id_type.or(id_number.as_ref().map(|_| IdType::Resident));
        let mobile = match self.mobile.as_deref().map(str::trim) {
            None => cur.mobile.clone(),
            Some("") => None,
            Some(raw) => match Mobile::parse(raw) {
                Ok(m) => Some(m.as_str().to_string()),
                Err(e) => {
                    c.fail(e);
                    cur.mobile.clone()
                }
            },
        };
        if let Some(b) = birthday
            && b > today
        {
            c.fail(ValidationError::new(
                "birthday",
                b.to_string(),
                Rule::DateFormat,
            ));
        }
        let email = c.text("email", &self.email, cur.email.clone(), 100);
        let email = check_email(&mut c, email);
        let f = CustomerFields {
            store_id: self.store_id.unwrap_or(cur.store_id),
            kind: kind.code().to_string(),
            name,
            title: c.text("title", &self.title, cur.title.clone(), 20),
            gender: gender.map(|g| g.code().to_string()),
            id_type: id_type.map(|t| t.code().to_string()),
            id_number,
            birthday,
            lunar_birthday: self.lunar_birthday.unwrap_or(cur.lunar_birthday),
            mobile,
            other_phones: c.text(
                "other_phones",
                &self.other_phones,
                cur.other_phones.clone(),
                100,
            ),
            email,
            province_code: c.text(
                "province_code",
                &self.province_code,
                cur.province_code.clone(),
                12,
            ),
            city_code: c.text("city_code", &self.city_code, cur.city_code.clone(), 12),
            district_code: c.text(
                "district_code",
                &self.district_code,
                cur.district_code.clone(),
                12,
            ),
            address: c.text("address", &self.address, cur.address.clone(), 200),
            industry: c.text("industry", &self.industry, cur.industry.clone(), 50),
            occupation: c.text("occupation", &self.occupation, cur.occupation.clone(), 50),
            marital_status: c.text(
                "marital_status",
                &self.marital_status,
                cur.marital_status.clone(),
                20,
            ),
            income_band: c.text(
                "income_band",
                &self.income_band,
                cur.income_band.clone(),
                30,
            ),
            education: c.text("education", &self.education, cur.education.clone(), 30),
            interests: c.text("interests", &self.interests, cur.interests.clone(), 200),
            source: c.text("source", &self.source, cur.source.clone(), 50),
            vip: self.vip.unwrap_or(cur.vip),
            key_account: c.text(
                "key_account",
                &self.key_account,
                cur.key_account.clone(),
                10,
            ),
        };
        c.finish()?;
        Ok(f)
    }
}

/// A vehicle as sent by a form or API client.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct VehicleInput {
    pub vin: Option<String>,
    pub engine_no: Option<String>,
    pub model_id: Option<Id>,
    pub colour: Option<String>,
    pub model_year: Option<i64>,
    /// 7 or 8 characters, or 无牌照 / empty when not yet registered
    pub plate: Option<String>,
    pub purchase_date: Option<String>,
    pub invoice_date: Option<String>,
    pub delivery_date: Option<String>,
    pub selling_store_id: Option<Id>,
    pub own_sold: Option<bool>,
    pub warranty_end_date: Option<String>,
    pub warranty_end_km: Option<i64>,
    pub compulsory_insurance_end: Option<String>,
    pub commercial_insurance_end: Option<String>,
    pub inspection_due: Option<String>,
    pub store_id: Option<Id>,
    /// The owner, on creation.
    pub customer_id: Option<Id>,
}

impl VehicleInput {
    pub fn apply(
        &self,
        current: Option<&VehicleFields>,
    ) -> Result<VehicleFields, crate::ServiceError> {
        let cur = current.cloned().unwrap_or_default();
        let mut c = Checker::default();
        let vin = match self.vin.as_deref() {
            None if current.is_some() => cur.vin.clone(),
            None => {
                c.fail(ValidationError::new("vin", "", Rule::Required));
                String::new()
            }
            Some(raw) => match Vin::parse(raw) {
                Ok(v) => v.as_str().to_string(),
                Err(e) => {
                    c.fail(e);
                    cur.vin.clone()
                }
            },
        };
        let plate = match self.plate.as_deref() {
            None => cur.plate.clone(),
            Some(raw) => match Plate::parse_optional(raw) {
                Ok(p) => p.map(|p| p.as_str().to_string()),
                Err(e) => {
                    c.fail(e);
                    cur.plate.clone()
                }
            },
        };
        let model_id = self.model_id.unwrap_or(cur.model_id);
        if model_id == 0 {
            c.fail(ValidationError::new("model_id", "", Rule::Required));
        }
        let f = VehicleFields {
            vin,
            engine_no: c.text("engine_no", &self.engine_no, cur.engine_no.clone(), 20),
            model_id,
            colour: c.text("colour", &self.colour, cur.colour.clone(), 20),
            model_year: c
                .range("model_year", self.model_year, 1980, 2100)
                .or(cur.model_year),
            plate,
            purchase_date: c.date("purchase_date", &self.purchase_date, cur.purchase_date),
            invoice_date: c.date("invoice_date", &self.invoice_date, cur.invoice_date),
            delivery_date: c.date("delivery_date", &self.delivery_date, cur.delivery_date),
            selling_store_id: self.selling_store_id.or(cur.selling_store_id),
            own_sold: self.own_sold.unwrap_or(cur.own_sold),
            warranty_end_date: c.date(
                "warranty_end_date",
                &self.warranty_end_date,
                cur.warranty_end_date,
            ),
            warranty_end_km: c
                .range("warranty_end_km", self.warranty_end_km, 0, 1_000_000)
                .or(cur.warranty_end_km),
            compulsory_insurance_end: c.date(
                "compulsory_insurance_end",
                &self.compulsory_insurance_end,
                cur.compulsory_insurance_end,
            ),
            commercial_insurance_end: c.date(
                "commercial_insurance_end",
                &self.commercial_insurance_end,
                cur.commercial_insurance_end,
            ),
            inspection_due: c.date("inspection_due", &self.inspection_due, cur.inspection_due),
            store_id: self.store_id.unwrap_or(cur.store_id),
        };
        c.finish()?;
        Ok(f)
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct WorkOrderLineInput {
    /// labour | part
    pub line_kind: Option<String>,
    pub code: Option<String>,
    pub name: Option<String>,
    pub quantity: Option<f64>,
    /// Amount charged, in fen (0.01 yuan)
    pub amount_fen: Option<i64>,
    pub cost_fen: Option<i64>,
}

/// A service work order with its labour and part lines.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct WorkOrderInput {
    pub store_id: Option<Id>,
    pub number: Option<String>,
    pub vehicle_id: Option<Id>,
    /// Defaults to the vehicle's current owner.
    pub customer_id: Option<Id>,
    pub advisor_id: Option<Id>,
    /// first_service | maintenance | repair | accident | warranty | claim | pdi | accessory
    pub kind: Option<String>,
    pub opened_on: Option<String>,
    pub settled_on: Option<String>,
    pub odometer_km: Option<i64>,
    /// customer | oem | insurer
    pub paid_by: Option<String>,
    pub lines: Vec<WorkOrderLineInput>,
}

#[derive(Debug)]
pub struct ValidWorkOrder {
    pub number: String,
    pub kind: WorkOrderKind,
    pub opened_on: NaiveDate,
    pub settled_on: Option<NaiveDate>,
    pub odometer_km: Option<i64>,
    pub paid_by: PaidBy,
    pub lines: Vec<WorkOrderLine>,
    pub total_fen: i64,
}

impl WorkOrderInput {
    pub fn validate(&self) -> Result<ValidWorkOrder, crate::ServiceError> {
        let mut c = Checker::default();
        let number = c.required_text("number", &self.number, None, 30);
        let kind = c.code("kind", &self.kind, None, WorkOrderKind::parse);
        if self.kind.is_none() {
            c.fail(ValidationError::new("kind", "", Rule::Required));
        }
        let opened_on = c.date("opened_on", &self.opened_on, None);
        if self.opened_on.is_none() {
            c.fail(ValidationError::new("opened_on", "", Rule::Required));
        }
        let settled_on = c.date("settled_on", &self.settled_on, None);
        if let (Some(o), Some(s)) = (opened_on, settled_on)
            && s < o
        {
            c.fail(ValidationError::new(
                "settled_on",
                s.to_string(),
                Rule::DateFormat,
            ));
        }
        let odometer_km = c.range("odometer_km", self.odometer_km, 0, 2_000_000);
        let paid_by = c
            .code(
                "paid_by",
                &self.paid_by,
                Some(PaidBy::Customer),
                PaidBy::parse,
            )
            .unwrap_or(PaidBy::Customer);
        let mut lines = Vec::new();
        for (i, l) in self.lines.iter().enumerate() {
            let n = i + 1;
            let kind = c.code(
                &format!("lines[{n}].line_kind"),
                &l.line_kind,
                None,
                LineKind::parse,
            );
            if l.line_kind.is_none() {
                c.fail(ValidationError::new(
                    format!("lines[{n}].line_kind"),
                    "",
                    Rule::Required,
                ));
            }
            let name = c.required_text(&format!("lines[{n}].name"), &l.name, None, 100);
            let code = c
                .text(&format!("lines[{n}].code"), &l.code, None, 40)
                .unwrap_or_default();
            let quantity = l.quantity.unwrap_or(1.0);
            if !(quantity.is_finite() && quantity > 0.0 && quantity <= 10_000.0) {
                c.fail(ValidationError::new(
                    format!("lines[{n}].quantity"),
                    quantity.to_string(),
                    Rule::OutOfRange {
                        min: 0,
                        max: 10_000,
                    },
                ));
            }
            let amount_fen = c
                .range(
                    &format!("lines[{n}].amount_fen"),
                    Some(l.amount_fen.unwrap_or(0)),
                    0,
                    100_000_000_00,
                )
                .unwrap_or(0);
            let cost_fen = c
                .range(
                    &format!("lines[{n}].cost_fen"),
                    Some(l.cost_fen.unwrap_or(0)),
                    0,
                    100_000_000_00,
                )
                .unwrap_or(0);
            if let Some(k) = kind {
                lines.push(WorkOrderLine {
                    line_kind: k.code().into(),
                    code,
                    name,
                    quantity,
                    amount_fen,
                    cost_fen,
                });
            }
        }
        c.finish()?;
        let total_fen = lines.iter().map(|l| l.amount_fen).sum();
        Ok(ValidWorkOrder {
            number,
            kind: kind.unwrap_or(WorkOrderKind::Maintenance),
            opened_on: opened_on.unwrap_or_default(),
            settled_on,
            odometer_km,
            paid_by,
            lines,
            total_fen,
        })
    }
}

/// A lead as sent by a form or API client.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct LeadInput {
    pub customer_id: Option<Id>,
    /// O | H | A | B | C
    pub grade: Option<String>,
    /// walk_in | phone_in | owner_referral | … (first level)
    pub source: Option<String>,
    /// Second level, e.g. 汽车之家
    pub source_detail: Option<String>,
    pub desired_model_id: Option<Id>,
    /// Consultant who owns the lead; defaults to the consultant creating it.
    pub owner_id: Option<Id>,
    /// A new customer instead of `customer_id`: name and mobile (a lead has a contact number).
    pub name: Option<String>,
    pub mobile: Option<String>,
    /// The showroom traffic record the lead comes from (来店(电)登记).
    pub visit_id: Option<Id>,
    /// How the first contact happened: visit | phone | … (default: visit for walk-ins,
    /// phone for calls, otherwise phone).
    pub channel: Option<String>,
    /// What was said at the first contact.
    pub note: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
    }

    #[test]
    fn customer_is_normalised_and_fills_from_id_number() {
        let input = CustomerInput {
            name: Some("  张　伟 ".into()),
            mobile: Some("+86 138-1234-5678".into()),
            id_number: Some("11010519491231002X".into()),
            ..Default::default()
        };
        let f = input.apply(None, today()).unwrap();
        assert_eq!(f.name, "张 伟");
        assert_eq!(f.mobile.as_deref(), Some("13812345678"));
        assert_eq!(f.birthday, NaiveDate::from_ymd_opt(1949, 12, 31));
        assert_eq!(f.gender.as_deref(), Some("female"));
        assert_eq!(f.id_type.as_deref(), Some("resident"));
        assert_eq!(f.kind, "individual");
    }

    #[test]
    fn every_bad_field_is_reported() {
        let input = CustomerInput {
            name: Some("".into()),
            mobile: Some("12345".into()),
            email: Some("nobody".into()),
            birthday: Some("2023-02-30".into()),
            kind: Some("alien".into()),
            ..Default::default()
        };
        let crate::ServiceError::Invalid(errors) = input.apply(None, today()).unwrap_err() else {
            panic!()
        };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        for f in ["kind", "name", "birthday", "mobile", "email"] {
            assert!(fields.contains(&f), "{f} missing from {fields:?}");
        }
        let mobile = errors.iter().find(|e| e.field == "mobile").unwrap();
        assert_eq!(mobile.value, "12345");
        assert_eq!(mobile.code(), "mobile_format");
    }

    #[test]
    fn update_keeps_absent_fields_and_clears_empty_ones() {
        let first = CustomerInput {
            name: Some("李娜".into()),
            address: Some("北京".into()),
            mobile: Some("13900001111".into()),
            ..Default::default()
        }
        .apply(None, today())
        .unwrap();
        let second = CustomerInput {
            address: Some("".into()),
            ..Default::default()
        }
        .apply(Some(&first), today())
        .unwrap();
        assert_eq!(second.name, "李娜");
        assert_eq!(second.mobile.as_deref(), Some("13900001111"));
        assert_eq!(second.address, None);
    }

    #[test]
    fn work_order_totals_lines_and_names_bad_line_fields() {
        let wo = WorkOrderInput {
            number: Some("WO1".into()),
            kind: Some("保养".into()),
            opened_on: Some("2024/3/5".into()),
            lines: vec![
                WorkOrderLineInput {
                    line_kind: Some("labour".into()),
                    name: Some("保养工时".into()),
                    amount_fen: Some(20000),
                    ..Default::default()
                },
                WorkOrderLineInput {
                    line_kind: Some("part".into()),
                    name: Some("机油".into()),
                    quantity: Some(4.0),
                    amount_fen: Some(32000),
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        let v = wo.validate().unwrap();
        assert_eq!(v.total_fen, 52000);
        assert_eq!(v.kind, WorkOrderKind::Maintenance);
        let bad = WorkOrderInput {
            lines: vec![WorkOrderLineInput {
                line_kind: Some("gold".into()),
                quantity: Some(-1.0),
                ..Default::default()
            }],
            ..wo
        };
        let crate::ServiceError::Invalid(errors) = bad.validate().unwrap_err() else {
            panic!()
        };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert!(
            fields.contains(&"lines[1].line_kind")
                && fields.contains(&"lines[1].quantity")
                && fields.contains(&"lines[1].name"),
            "{fields:?}"
        );
    }

    #[test]
    fn vehicle_requires_valid_vin_and_accepts_unregistered_plate() {
        let v = VehicleInput {
            vin: Some("latpab071w1005301".into()),
            model_id: Some(1),
            plate: Some("无牌照".into()),
            ..Default::default()
        }
        .apply(None)
        .unwrap();
        assert_eq!(v.vin, "LATPAB071W1005301");
        assert_eq!(v.plate, None);
        let crate::ServiceError::Invalid(errors) = VehicleInput {
            vin: Some("LATPAB081W1005301".into()),
            plate: Some("京I12345".into()),
            ..Default::default()
        }
        .apply(None)
        .unwrap_err() else {
            panic!()
        };
        let codes: Vec<&str> = errors.iter().map(|e| e.code()).collect();
        assert!(
            codes.contains(&"vin_check_digit")
                && codes.contains(&"plate_format")
                && codes.contains(&"required"),
            "{codes:?}"
        );
    }
}
