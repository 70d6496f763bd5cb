//! Customers, the customer 360 document, vehicles, work orders and leads.

use super::{ApiActor, ApiJson, ApiPath, ApiQuery};
use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use dealerbase_service::Actor;
use dealerbase_service::customer360::Customer360;
use dealerbase_service::input::{CustomerInput, LeadInput, VehicleInput, WorkOrderInput};
use dealerbase_service::records::{CustomerQuery, CustomerView, LeadQuery, RevealedPersonalData};
use dealerbase_store::{CustomerSummary, Id, Lead, Page, Vehicle, WorkOrder};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

type ApiResult<T> = Result<T, ApiError>;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(me))
        .routes(routes!(list_customers, create_customer))
        .routes(routes!(get_customer, update_customer))
        .routes(routes!(reveal_customer))
        .routes(routes!(customer_360))
        .routes(routes!(create_vehicle))
        .routes(routes!(get_vehicle, update_vehicle))
        .routes(routes!(create_work_order))
        .routes(routes!(get_work_order))
        .routes(routes!(list_leads, create_lead))
        .routes(routes!(get_lead))
}

/// The signed-in staff member.
#[utoipa::path(get, path = "/api/v1/me", tag = "account",
    responses((status = 200, description = "the caller"), (status = 401, body = ErrorBody)))]
async fn me(a: ApiActor) -> Json<Actor> {
    Json(a.actor)
}

/// Customers in the caller's scope: search by name fragment, mobile, plate or VIN; filter; sort; page.
#[utoipa::path(get, path = "/api/v1/customers", tag = "customers", params(CustomerQuery),
    responses((status = 200, body = Page<CustomerSummary>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn list_customers(
    State(s): State<AppState>,
    a: ApiActor,
    ApiQuery(q): ApiQuery<CustomerQuery>,
) -> ApiResult<Json<Page<CustomerSummary>>> {
    Ok(Json(
        s.services
            .list_customers(&a.actor, &q)
            .await
            .map_err(|e| a.err(e))?,
    ))
}

/// Creates a customer; every field is validated and every error reported.
#[utoipa::path(post, path = "/api/v1/customers", tag = "customers", request_body = CustomerInput,
    responses((status = 201, body = CustomerView), (status = 422, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn create_customer(
    State(s): State<AppState>,
    a: ApiActor,
    ApiJson(input): ApiJson<CustomerInput>,
) -> ApiResult<(StatusCode, Json<CustomerView>)> {
    Ok((
        StatusCode::CREATED,
        Json(
            s.services
                .create_customer(&a.actor, &input)
                .await
                .map_err(|e| a.err(e))?,
        ),
    ))
}

/// One customer, mobile and ID number masked.
#[utoipa::path(get, path = "/api/v1/customers/{id}", tag = "customers", params(("id" = i64, Path)),
    responses((status = 200, body = CustomerView), (status = 404, body = ErrorBody)))]
async fn get_customer(
    State(s): State<AppState>,
    a: ApiActor,
    ApiPath(id): ApiPath<Id>,
) -> ApiResult<Json<CustomerView>> {
    Ok(Json(
        s.services
            .customer(&a.actor, id)
            .await
            .map_err(|e| a.err(e))?,
    ))
}

/// Changes the fields given; absent fields are kept, empty strings clear optional fields.
#[utoipa::path(patch, path = "/api/v1/customers/{id}", tag = "customers", params(("id" = i64, Path)), request_body = CustomerInput,
    responses((status = 200, body = CustomerView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_customer(
    State(s): State<AppState>,
    a: ApiActor,
    ApiPath(id): ApiPath<Id>,
    ApiJson(input): ApiJson<CustomerInput>,
) -> ApiResult<Json<CustomerView>> {
    Ok(Json(
        s.services
            .update_customer(&a.actor, id, &input)
            .await
            .map_err(|e| a.err(e))?,
    ))
}

/// Full mobile and ID number, for roles allowed to see them. Written to the audit log.
#[utoipa::path(post, path = "/api/v1/customers/{id}/reveal", tag = "customers", params(("id" = i64, Path)),
    responses((status = 200, body = RevealedPersonalData), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn reveal_customer(
    State(s): State<AppState>,
    a: ApiActor,
    ApiPath(id): ApiPath<Id>,
) -> ApiResult<Json<RevealedPersonalData>> {
    Ok(Json(
        s.services
            .reveal_customer(&a.actor, id)
            .await
            .map_err(|e| a.err(e))?,
    ))
}

/// The customer 360 document: profile, class and why, vehicles with odometer history,
/// sales, work orders with lines, policies, leads, contacts, tasks, complaints, surveys and the timeline.
#[utoipa::path(get, path = "/api/v1/customers/{id}/360", tag = "customers", params(("id" = i64, Path)),
    responses((status = 200, body = Customer360), (status = 404, body = ErrorBody)))]
async fn customer_360(
    State(s): State<AppState>,
    a: ApiActor,
    ApiPath(id): ApiPath<Id>,
) -> ApiResult<Json<Customer360>> {
    Ok(Json(
        s.services
            .customer_360(&a.actor, id, a.lang)
            .await
            .map_err(|e| a.err(e))?,
    ))
}

/// Registers a vehicle, optionally with its owner.
#[utoipa::path(post, path = "/api/v1/vehicles", tag = "vehicles", request_body = VehicleInput,
    responses((status = 201, body = Vehicle), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_vehicle(
    State(s): State<AppState>,
    a: ApiActor,
    ApiJson(input): ApiJson<VehicleInput>,
) -> ApiResult<(StatusCode, Json<Vehicle>)> {
    Ok((
        StatusCode::CREATED,
        Json(
            s.services
                .create_vehicle(&a.actor, &input)
                .await
                .map_err(|e| a.err(e))?,
        ),
    ))
}

#[utoipa::path(get, path = "/api/v1/vehicles/{id}", tag = "vehicles", params(("id" = i64, Path)),
    responses((status = 200, body = Vehicle), (status = 404, body = ErrorBody)))]
async fn get_vehicle(
    State(s): State<AppState>,
    a: ApiActor,
    ApiPath(id): ApiPath<Id>,
) -> ApiResult<Json<Vehicle>> {
    Ok(Json(
        s.services
            .vehicle(&a.actor, id)
            .await
            .map_err(|e| a.err(e))?,
    ))
}

#[utoipa::path(patch, path = "/api/v1/vehicles/{id}", tag = "vehicles", params(("id" = i64, Path)), request_body = VehicleInput,
    responses((status = 200, body = Vehicle), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_vehicle(
    State(s): State<AppState>,
    a: ApiActor,
    ApiPath(id): ApiPath<Id>,
    ApiJson(input): ApiJson<VehicleInput>,
) -> ApiResult<Json<Vehicle>> {
    Ok(Json(
        s.services
            .update_vehicle(&a.actor, id, &input)
            .await
            .map_err(|e| a.err(e))?,
    ))
}

/// Stores a service work order with its labour and part lines, in one transaction.
#[utoipa::path(post, path = "/api/v1/work-orders", tag = "work orders", request_body = WorkOrderInput,
    responses((status = 201, body = WorkOrder), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_work_order(
    State(s): State<AppState>,
    a: ApiActor,
    ApiJson(input): ApiJson<WorkOrderInput>,
) -> ApiResult<(StatusCode, Json<WorkOrder>)> {
    Ok((
        StatusCode::CREATED,
        Json(
            s.services
                .create_work_order(&a.actor, &input)
                .await
                .map_err(|e| a.err(e))?,
        ),
    ))
}

#[utoipa::path(get, path = "/api/v1/work-orders/{id}", tag = "work orders", params(("id" = i64, Path)),
    responses((status = 200, body = WorkOrder), (status = 404, body = ErrorBody)))]
async fn get_work_order(
    State(s): State<AppState>,
    a: ApiActor,
    ApiPath(id): ApiPath<Id>,
) -> ApiResult<Json<WorkOrder>> {
    Ok(Json(
        s.services
            .work_order(&a.actor, id)
            .await
            .map_err(|e| a.err(e))?,
    ))
}

/// Leads in the caller's scope (a consultant sees their own).
#[utoipa::path(get, path = "/api/v1/leads", tag = "leads", params(LeadQuery),
    responses((status = 200, body = Page<Lead>), (status = 400, body = ErrorBody)))]
async fn list_leads(
    State(s): State<AppState>,
    a: ApiActor,
    ApiQuery(q): ApiQuery<LeadQuery>,
) -> ApiResult<Json<Page<Lead>>> {
    Ok(Json(
        s.services
            .list_leads(&a.actor, &q)
            .await
            .map_err(|e| a.err(e))?,
    ))
}

/// Creates a lead with grade and two-level source; the first follow-up is due by the grade's cadence.
#[utoipa::path(post, path = "/api/v1/leads", tag = "leads", request_body = LeadInput,
    responses((status = 201, body = Lead), (status = 422, body = ErrorBody)))]
async fn create_lead(
    State(s): State<AppState>,
    a: ApiActor,
    ApiJson(input): ApiJson<LeadInput>,
) -> ApiResult<(StatusCode, Json<Lead>)> {
    Ok((
        StatusCode::CREATED,
        Json(
            s.services
                .create_lead(&a.actor, &input)
                .await
                .map_err(|e| a.err(e))?,
        ),
    ))
}

#[utoipa::path(get, path = "/api/v1/leads/{id}", tag = "leads", params(("id" = i64, Path)),
    responses((status = 200, body = Lead), (status = 404, body = ErrorBody)))]
async fn get_lead(
    State(s): State<AppState>,
    a: ApiActor,
    ApiPath(id): ApiPath<Id>,
) -> ApiResult<Json<Lead>> {
    Ok(Json(
        s.services.lead(&a.actor, id).await.map_err(|e| a.err(e))?,
    ))
}
