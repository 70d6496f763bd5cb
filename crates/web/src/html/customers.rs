//! The customer list, the customer 360 page with the audited reveal, and the customer
//! and vehicle forms. A rejected form is shown again with what was typed and a message
//! under each wrong field, in the user's language.

use super::CsrfForm;
use super::{Ctx, F, PageError, PageResult, PathId, Q, Web, chart, nonempty, parse_id, render};
use crate::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use dealerbase_domain::model::{CustomerClass, CustomerKind};
use dealerbase_domain::resident_id::{Gender, IdType};
use dealerbase_domain::{Lang, Rule, ValidationError};
use dealerbase_service::ServiceError;
use dealerbase_service::customer360::Customer360;
use dealerbase_service::input::{CustomerInput, VehicleInput};
use dealerbase_service::records::{CustomerQuery, RevealedPersonalData};
use dealerbase_store::web::StaffRow;
use dealerbase_store::{CustomerSort, CustomerSummary, Page, Store, VehicleModel};
use serde::Deserialize;

// ---- list --------------------------------------------------------------------------------

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ListQuery {
    q: Option<String>,
    class: Option<String>,
    kind: Option<String>,
    consultant: Option<String>,
    sort: Option<String>,
    page: Option<String>,
}

#[derive(Template)]
#[template(path = "customers.html")]
struct ListPage {
    c: Ctx,
    page: Page<CustomerSummary>,
    q: String,
    class: String,
    kind: String,
    consultant: String,
    sort: String,
    classes: Vec<(String, String)>,
    kinds: Vec<(String, String)>,
    consultants: Vec<StaffRow>,
    sorts: Vec<(&'static str, &'static str)>,
    prev_href: Option<String>,
    next_href: Option<String>,
}

pub async fn list(State(s): State<AppState>, web: Web, Q(q): Q<ListQuery>) -> PageResult {
    let lang = web.lang();
    let class = nonempty(&q.class).filter(|v| CustomerClass::parse("", v).is_ok());
    let kind = nonempty(&q.kind).filter(|v| CustomerKind::parse("", v).is_ok());
    let consultant = parse_id(&q.consultant);
    let sort = match nonempty(&q.sort).as_deref() {
        Some("name") => CustomerSort::Name,
        Some("recently_updated") => CustomerSort::RecentlyUpdated,
        _ => CustomerSort::Newest,
    };
    let page_no = nonempty(&q.page)
        .and_then(|p| p.parse::<u32>().ok())
        .unwrap_or(1)
        .clamp(1, 100_000);
    let text = nonempty(&q.q).map(|t| t.chars().take(100).collect::<String>());
    let query = CustomerQuery {
        q: text.clone(),
        class: class.clone(),
        kind: kind.clone(),
        consultant_id: consultant,
        sort: Some(sort),
        page: Some(page_no),
        per_page: Some(20),
        ..Default::default()
    };
    let page = s
        .services
        .list_customers(&web.user.actor, &query)
        .await
        .map_err(|e| web.err(e))?;
    let consultants = s
        .services
        .consultants(&web.user.actor)
        .await
        .map_err(|e| web.err(e))?;
    let sort_code = match sort {
        CustomerSort::Newest => "newest",
        CustomerSort::Name => "name",
        CustomerSort::RecentlyUpdated => "recently_updated",
    };
    let base = format!(
        "/customers?q={}&class={}&kind={}&consultant={}&sort={sort_code}",
        super::url_encode(text.as_deref().unwrap_or("")),
        class.as_deref().unwrap_or(""),
        kind.as_deref().unwrap_or(""),
        consultant.map(|c| c.to_string()).unwrap_or_default(),
    );
    let out = ListPage {
        c: web.ctx("nav.customers"),
        prev_href: (page.page > 1).then(|| format!("{base}&page={}", page.page - 1)),
        next_href: page
            .has_more
            .then(|| format!("{base}&page={}", page.page + 1)),
        page,
        q: text.unwrap_or_default(),
        class: class.unwrap_or_default(),
        kind: kind.unwrap_or_default(),
        consultant: consultant.map(|c| c.to_string()).unwrap_or_default(),
        sort: sort_code.to_string(),
        classes: CustomerClass::ALL
            .iter()
            .map(|c| (c.code().to_string(), c.label(lang).to_string()))
            .collect(),
        kinds: CustomerKind::ALL
            .iter()
            .map(|c| (c.code().to_string(), c.label(lang).to_string()))
            .collect(),
        consultants,
        sorts: vec![
            ("newest", "sort.newest"),
            ("name", "sort.name"),
            ("recently_updated", "sort.recently_updated"),
        ],
    };
    Ok(render(StatusCode::OK, &out, lang))
}

// ---- the 360 page ------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "customer_360.html")]
struct Page360 {
    c: Ctx,
    d: Customer360,
    revealed: Option<RevealedPersonalData>,
    /// One odometer chart per vehicle (SVG), in the order of `d.vehicles`.
    odometer_charts: Vec<String>,
}

impl Page360 {
    fn odo_chart(&self, i: impl std::borrow::Borrow<usize>) -> &str {
        self.odometer_charts
            .get(*i.borrow())
            .map(String::as_str)
            .unwrap_or("")
    }

    fn pct(&self, v: impl std::borrow::Borrow<f64>) -> String {
        format!("{:.0}%", v.borrow() * 100.0)
    }

    /// Cross-sell offers for one of the customer's vehicles.
    fn offers(
        &self,
        vehicle_id: impl std::borrow::Borrow<i64>,
    ) -> Option<&dealerbase_service::mining_views::VehicleCrossSell> {
        let id = *vehicle_id.borrow();
        self.d.cross_sell.iter().find(|x| x.vehicle_id == id)
    }

    /// The section label for a timeline entry's kind.
    fn timeline_key(&self, kind: &str) -> &'static str {
        match kind {
            "sales_order" => "c360.sales",
            "work_order" => "c360.work_orders",
            "policy" => "c360.policies",
            "lead" => "c360.leads",
            "contact" => "c360.contacts",
            "task" => "c360.tasks",
            "complaint" => "c360.complaints",
            "survey" => "c360.surveys",
            _ => "c360.timeline",
        }
    }
}

async fn page_360(
    s: &AppState,
    web: &Web,
    id: i64,
    revealed: Option<RevealedPersonalData>,
) -> PageResult {
    let lang = web.lang();
    let d = s
        .services
        .customer_360(&web.user.actor, id, lang)
        .await
        .map_err(|e| web.err(e))?;
    let no_data = super::i18n::t("common.no_data", lang);
    let title = super::i18n::t("c360.odometer", lang);
    let odometer_charts = d
        .vehicles
        .iter()
        .map(|v| {
            if v.odometer.len() < 2 {
                return String::new();
            }
            let labels: Vec<String> = v.odometer.iter().map(|r| r.read_on.to_string()).collect();
            let km: Vec<f64> = v.odometer.iter().map(|r| r.km as f64).collect();
            chart::line(title, &labels, &km, no_data)
        })
        .collect();
    let page = Page360 {
        c: web.ctx("nav.customers"),
        d,
        revealed,
        odometer_charts,
    };
    Ok(render(StatusCode::OK, &page, lang))
}

pub async fn show(State(s): State<AppState>, web: Web, PathId(id): PathId) -> PageResult {
    page_360(&s, &web, id, None).await
}

/// Shows the full mobile and ID number to a permitted role; the service writes the
/// reveal to the audit log before answering.
pub async fn reveal(
    State(s): State<AppState>,
    web: Web,
    PathId(id): PathId,
    F(f): F<CsrfForm>,
) -> PageResult {
    web.check_csrf(&f.csrf)?;
    let revealed = s
        .services
        .reveal_customer(&web.user.actor, id)
        .await
        .map_err(|e| web.err(e))?;
    page_360(&s, &web, id, Some(revealed)).await
}

// ---- field errors ------------------------------------------------------------------------

/// (field, message) pairs of a rejected form.
type FieldErrors = Vec<(String, String)>;

fn field_errors(errors: &[ValidationError], lang: Lang) -> FieldErrors {
    errors
        .iter()
        .map(|e| (e.field.clone(), e.rule.message(lang)))
        .collect()
}

/// Splits a service error into form errors (shown on the form) and other failures.
fn form_errors(e: ServiceError, lang: Lang) -> Result<FieldErrors, PageError> {
    match e {
        ServiceError::Invalid(list) => Ok(field_errors(&list, lang)),
        ServiceError::Conflict { field, .. } => {
            let f = if field == "vin" { "vin" } else { field };
            Ok(vec![(f.to_string(), e.message(lang))])
        }
        other => Err(PageError::service(other, lang)),
    }
}

/// A number typed into a form field: empty is None, anything else must parse.
fn number_field(
    field: &str,
    raw: &str,
    min: i64,
    max: i64,
    errors: &mut Vec<ValidationError>,
) -> Option<i64> {
    let t = raw.trim();
    if t.is_empty() {
        return None;
    }
    match t.parse::<i64>() {
        Ok(v) => Some(v),
        Err(_) => {
            errors.push(ValidationError::new(
                field,
                t,
                Rule::OutOfRange { min, max },
            ));
            None
        }
    }
}

fn first_error(errors: &FieldErrors, field: &str) -> Option<String> {
    errors
        .iter()
        .find(|(f, _)| f == field)
        .map(|(_, m)| m.clone())
}

// ---- customer form -----------------------------------------------------------------------

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct CustomerForm {
    kind: String,
    name: String,
    title: String,
    gender: String,
    id_type: String,
    id_number: String,
    birthday: String,
    lunar_birthday: Option<String>,
    mobile: String,
    other_phones: String,
    email: String,
    address: String,
    industry: String,
    occupation: String,
    source: String,
    vip: Option<String>,
    consultant_id: String,
    store_id: String,
    #[serde(rename = "_csrf")]
    csrf: String,
}

/// A text field of a form as service input: on creation an empty field is "not given";
/// on an update it is given as empty, which clears the field.
fn form_text(v: &str, create: bool) -> Option<String> {
    if create && v.trim().is_empty() {
        None
    } else {
        Some(v.to_string())
    }
}

impl CustomerForm {
    /// The service input. On creation an empty field is "not given"; on an update it
    /// clears the field — except the masked ones (mobile, ID number, other phones), which
    /// the form shows empty and which therefore keep their value when left empty.
    fn to_input(&self, create: bool) -> (CustomerInput, Vec<ValidationError>) {
        let mut errors = Vec::new();
        let text = |v: &str| form_text(v, create);
        let hidden = |v: &str| (!v.trim().is_empty()).then(|| v.to_string());
        let id_of = |field: &str, v: &str, errors: &mut Vec<ValidationError>| {
            number_field(field, v, 1, i64::MAX, errors)
        };
        let input = CustomerInput {
            store_id: id_of("store_id", &self.store_id, &mut errors),
            kind: text(&self.kind),
            name: Some(self.name.clone()),
            title: text(&self.title),
            gender: text(&self.gender),
            id_type: text(&self.id_type),
            id_number: hidden(&self.id_number),
            birthday: text(&self.birthday),
            lunar_birthday: Some(self.lunar_birthday.is_some()),
            mobile: hidden(&self.mobile),
            other_phones: hidden(&self.other_phones),
            email: text(&self.email),
            address: text(&self.address),
            industry: text(&self.industry),
            occupation: text(&self.occupation),
            source: text(&self.source),
            vip: Some(self.vip.is_some()),
            consultant_id: id_of("consultant_id", &self.consultant_id, &mut errors),
            ..Default::default()
        };
        (input, errors)
    }
}

#[derive(Template)]
#[template(path = "customer_form.html")]
struct CustomerFormPage {
    c: Ctx,
    title_key: &'static str,
    action: String,
    cancel_href: String,
    f: CustomerForm,
    errors: FieldErrors,
    masked_mobile: String,
    masked_id: String,
    masked_other: String,
    is_edit: bool,
    kinds: Vec<(String, String)>,
    genders: Vec<(String, String)>,
    id_types: Vec<(String, String)>,
    consultants: Vec<StaffRow>,
    stores: Vec<Store>,
}

impl CustomerFormPage {
    fn err(&self, field: &str) -> Option<String> {
        first_error(&self.errors, field)
    }
}

async fn customer_form_page(
    s: &AppState,
    web: &Web,
    edit: Option<(i64, String, String, String)>,
    f: CustomerForm,
    errors: FieldErrors,
) -> PageResult {
    let lang = web.lang();
    let consultants = s
        .services
        .consultants(&web.user.actor)
        .await
        .map_err(|e| web.err(e))?;
    let stores = s
        .services
        .stores(&web.user.actor)
        .await
        .map_err(|e| web.err(e))?;
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let (title_key, action, cancel_href, masked, is_edit) = match edit {
        Some((id, m, i, o)) => (
            "customer.edit_title",
            format!("/customers/{id}/edit"),
            format!("/customers/{id}"),
            (m, i, o),
            true,
        ),
        None => (
            "customer.new_title",
            "/customers/new".to_string(),
            "/customers".to_string(),
            Default::default(),
            false,
        ),
    };
    let page = CustomerFormPage {
        c: web.ctx("nav.customers"),
        title_key,
        action,
        cancel_href,
        f,
        errors,
        masked_mobile: masked.0,
        masked_id: masked.1,
        masked_other: masked.2,
        is_edit,
        kinds: CustomerKind::ALL
            .iter()
            .map(|k| (k.code().to_string(), k.label(lang).to_string()))
            .collect(),
        genders: [Gender::Male, Gender::Female]
            .iter()
            .map(|g| (g.code().to_string(), g.label(lang).to_string()))
            .collect(),
        id_types: IdType::ALL
            .iter()
            .map(|g| (g.code().to_string(), g.label(lang).to_string()))
            .collect(),
        consultants,
        stores,
    };
    Ok(render(status, &page, lang))
}

pub async fn new_page(State(s): State<AppState>, web: Web) -> PageResult {
    let f = CustomerForm {
        kind: "individual".into(),
        ..Default::default()
    };
    customer_form_page(&s, &web, None, f, Vec::new()).await
}

pub async fn create(State(s): State<AppState>, web: Web, F(f): F<CustomerForm>) -> PageResult {
    web.check_csrf(&f.csrf)?;
    let lang = web.lang();
    let (input, decode_errors) = f.to_input(true);
    if !decode_errors.is_empty() {
        let mut errors = field_errors(&decode_errors, lang);
        if let Err(ServiceError::Invalid(more)) = input.apply(None, s.services.clock.today()) {
            errors.extend(field_errors(&more, lang));
        }
        return customer_form_page(&s, &web, None, f, errors).await;
    }
    match s.services.create_customer(&web.user.actor, &input).await {
        Ok(c) => Ok(Redirect::to(&format!("/customers/{}", c.customer.id)).into_response()),
        Err(e) => {
            let errors = form_errors(e, lang)?;
            customer_form_page(&s, &web, None, f, errors).await
        }
    }
}

pub async fn edit_page(State(s): State<AppState>, web: Web, PathId(id): PathId) -> PageResult {
    let v = s
        .services
        .customer(&web.user.actor, id)
        .await
        .map_err(|e| web.err(e))?;
    let c = &v.customer;
    let o = |x: &Option<String>| x.clone().unwrap_or_default();
    let f = CustomerForm {
        kind: c.fields.kind.clone(),
        name: c.fields.name.clone(),
        title: o(&c.fields.title),
        gender: o(&c.fields.gender),
        id_type: o(&c.fields.id_type),
        birthday: c.fields.birthday.map(|d| d.to_string()).unwrap_or_default(),
        lunar_birthday: c.fields.lunar_birthday.then(|| "on".to_string()),
        email: o(&c.fields.email),
        address: o(&c.fields.address),
        industry: o(&c.fields.industry),
        occupation: o(&c.fields.occupation),
        source: o(&c.fields.source),
        vip: c.fields.vip.then(|| "on".to_string()),
        consultant_id: c.consultant_id.map(|x| x.to_string()).unwrap_or_default(),
        store_id: c.fields.store_id.to_string(),
        ..Default::default()
    };
    let masked = (
        id,
        o(&c.fields.mobile),
        o(&c.fields.id_number),
        o(&c.fields.other_phones),
    );
    customer_form_page(&s, &web, Some(masked), f, Vec::new()).await
}

pub async fn update(
    State(s): State<AppState>,
    web: Web,
    PathId(id): PathId,
    F(f): F<CustomerForm>,
) -> PageResult {
    web.check_csrf(&f.csrf)?;
    let lang = web.lang();
    let current = s
        .services
        .customer(&web.user.actor, id)
        .await
        .map_err(|e| web.err(e))?;
    let o = |x: &Option<String>| x.clone().unwrap_or_default();
    let masked = (
        id,
        o(&current.customer.fields.mobile),
        o(&current.customer.fields.id_number),
        o(&current.customer.fields.other_phones),
    );
    let (input, decode_errors) = f.to_input(false);
    if !decode_errors.is_empty() {
        let mut errors = field_errors(&decode_errors, lang);
        if let Err(ServiceError::Invalid(more)) =
            input.apply(Some(&current.customer.fields), s.services.clock.today())
        {
            errors.extend(field_errors(&more, lang));
        }
        return customer_form_page(&s, &web, Some(masked), f, errors).await;
    }
    match s
        .services
        .update_customer(&web.user.actor, id, &input)
        .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/customers/{id}")).into_response()),
        Err(e) => {
            let errors = form_errors(e, lang)?;
            customer_form_page(&s, &web, Some(masked), f, errors).await
        }
    }
}

// ---- vehicle form ------------------------------------------------------------------------

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct VehicleForm {
    vin: String,
    plate: String,
    model_id: String,
    colour: String,
    model_year: String,
    engine_no: String,
    purchase_date: String,
    invoice_date: String,
    delivery_date: String,
    own_sold: Option<String>,
    warranty_end_date: String,
    warranty_end_km: String,
    compulsory_insurance_end: String,
    commercial_insurance_end: String,
    inspection_due: String,
    #[serde(rename = "_csrf")]
    csrf: String,
}

impl VehicleForm {
    fn to_input(&self, create: bool) -> (VehicleInput, Vec<ValidationError>) {
        let mut errors = Vec::new();
        let text = |v: &str| form_text(v, create);
        let input = VehicleInput {
            vin: Some(self.vin.clone()),
            plate: Some(self.plate.clone()),
            model_id: number_field("model_id", &self.model_id, 1, i64::MAX, &mut errors),
            colour: text(&self.colour),
            model_year: number_field("model_year", &self.model_year, 1980, 2100, &mut errors),
            engine_no: text(&self.engine_no),
            purchase_date: text(&self.purchase_date),
            invoice_date: text(&self.invoice_date),
            delivery_date: text(&self.delivery_date),
            own_sold: Some(self.own_sold.is_some()),
            warranty_end_date: text(&self.warranty_end_date),
            warranty_end_km: number_field(
                "warranty_end_km",
                &self.warranty_end_km,
                0,
                1_000_000,
                &mut errors,
            ),
            compulsory_insurance_end: text(&self.compulsory_insurance_end),
            commercial_insurance_end: text(&self.commercial_insurance_end),
            inspection_due: text(&self.inspection_due),
            ..Default::default()
        };
        (input, errors)
    }
}

#[derive(Template)]
#[template(path = "vehicle_form.html")]
struct VehicleFormPage {
    c: Ctx,
    title_key: &'static str,
    action: String,
    cancel_href: String,
    f: VehicleForm,
    errors: FieldErrors,
    models: Vec<VehicleModel>,
}

impl VehicleFormPage {
    fn err(&self, field: &str) -> Option<String> {
        first_error(&self.errors, field)
    }
}

/// Where the vehicle form is: a new vehicle of a customer, or an existing vehicle.
enum VehicleTarget {
    NewFor(i64),
    Edit { id: i64, back: String },
}

async fn vehicle_form_page(
    s: &AppState,
    web: &Web,
    target: VehicleTarget,
    f: VehicleForm,
    errors: FieldErrors,
) -> PageResult {
    let models = s.services.vehicle_models().await.map_err(|e| web.err(e))?;
    let (title_key, action, cancel_href) = match target {
        VehicleTarget::NewFor(c) => (
            "vehicle.new_title",
            format!("/customers/{c}/vehicles/new"),
            format!("/customers/{c}"),
        ),
        VehicleTarget::Edit { id, back } => {
            ("vehicle.edit_title", format!("/vehicles/{id}/edit"), back)
        }
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = VehicleFormPage {
        c: web.ctx("nav.customers"),
        title_key,
        action,
        cancel_href,
        f,
        errors,
        models,
    };
    Ok(render(status, &page, web.lang()))
}

pub async fn new_vehicle_page(
    State(s): State<AppState>,
    web: Web,
    PathId(customer): PathId,
) -> PageResult {
    // The customer must be in scope before a form for it is shown.
    s.services
        .customer(&web.user.actor, customer)
        .await
        .map_err(|e| web.err(e))?;
    let f = VehicleForm {
        own_sold: Some("on".into()),
        ..Default::default()
    };
    vehicle_form_page(&s, &web, VehicleTarget::NewFor(customer), f, Vec::new()).await
}

pub async fn create_vehicle(
    State(s): State<AppState>,
    web: Web,
    PathId(customer): PathId,
    F(f): F<VehicleForm>,
) -> PageResult {
    web.check_csrf(&f.csrf)?;
    let lang = web.lang();
    let (mut input, decode_errors) = f.to_input(true);
    input.customer_id = Some(customer);
    if !decode_errors.is_empty() {
        let mut errors = field_errors(&decode_errors, lang);
        if let Err(ServiceError::Invalid(more)) = input.apply(None) {
            errors.extend(field_errors(&more, lang));
        }
        return vehicle_form_page(&s, &web, VehicleTarget::NewFor(customer), f, errors).await;
    }
    match s.services.create_vehicle(&web.user.actor, &input).await {
        Ok(_) => Ok(Redirect::to(&format!("/customers/{customer}")).into_response()),
        Err(e) => {
            let errors = form_errors(e, lang)?;
            vehicle_form_page(&s, &web, VehicleTarget::NewFor(customer), f, errors).await
        }
    }
}

fn back_of(owner: Option<i64>) -> String {
    owner
        .map(|o| format!("/customers/{o}"))
        .unwrap_or_else(|| "/customers".into())
}

pub async fn edit_vehicle_page(
    State(s): State<AppState>,
    web: Web,
    PathId(id): PathId,
) -> PageResult {
    let v = s
        .services
        .vehicle(&web.user.actor, id)
        .await
        .map_err(|e| web.err(e))?;
    let d = |x: Option<chrono::NaiveDate>| x.map(|d| d.to_string()).unwrap_or_default();
    let o = |x: &Option<String>| x.clone().unwrap_or_default();
    let fl = &v.fields;
    let f = VehicleForm {
        vin: fl.vin.clone(),
        plate: o(&fl.plate),
        model_id: fl.model_id.to_string(),
        colour: o(&fl.colour),
        model_year: fl.model_year.map(|y| y.to_string()).unwrap_or_default(),
        engine_no: o(&fl.engine_no),
        purchase_date: d(fl.purchase_date),
        invoice_date: d(fl.invoice_date),
        delivery_date: d(fl.delivery_date),
        own_sold: fl.own_sold.then(|| "on".into()),
        warranty_end_date: d(fl.warranty_end_date),
        warranty_end_km: fl
            .warranty_end_km
            .map(|k| k.to_string())
            .unwrap_or_default(),
        compulsory_insurance_end: d(fl.compulsory_insurance_end),
        commercial_insurance_end: d(fl.commercial_insurance_end),
        inspection_due: d(fl.inspection_due),
        csrf: String::new(),
    };
    let target = VehicleTarget::Edit {
        id,
        back: back_of(v.owner_id),
    };
    vehicle_form_page(&s, &web, target, f, Vec::new()).await
}

pub async fn update_vehicle(
    State(s): State<AppState>,
    web: Web,
    PathId(id): PathId,
    F(f): F<VehicleForm>,
) -> PageResult {
    web.check_csrf(&f.csrf)?;
    let lang = web.lang();
    let current = s
        .services
        .vehicle(&web.user.actor, id)
        .await
        .map_err(|e| web.err(e))?;
    let back = back_of(current.owner_id);
    let (input, decode_errors) = f.to_input(false);
    if !decode_errors.is_empty() {
        let mut errors = field_errors(&decode_errors, lang);
        if let Err(ServiceError::Invalid(more)) = input.apply(Some(&current.fields)) {
            errors.extend(field_errors(&more, lang));
        }
        return vehicle_form_page(&s, &web, VehicleTarget::Edit { id, back }, f, errors).await;
    }
    match s.services.update_vehicle(&web.user.actor, id, &input).await {
        Ok(_) => Ok(Redirect::to(&back).into_response()),
        Err(e) => {
            let errors = form_errors(e, lang)?;
            vehicle_form_page(&s, &web, VehicleTarget::Edit { id, back }, f, errors).await
        }
    }
}
