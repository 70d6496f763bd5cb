-- dealerbase data model, one source for both databases.
-- Dialect tokens are replaced by the store layer before running:
--   {{pk}}   integer primary key (SQLite rowid alias / PostgreSQL identity)
--   {{ts}}   timestamp with time zone (TEXT RFC 3339 on SQLite)
--   {{date}} calendar date (TEXT YYYY-MM-DD on SQLite)
--   {{real}} double precision
--   {{no_rowid}} WITHOUT ROWID on SQLite, nothing on PostgreSQL
-- Money is BIGINT fen (0.01 yuan). Enumerations are TEXT codes defined in dealerbase-domain.

CREATE TABLE dealer_group (
    id {{pk}},
    name TEXT NOT NULL,
    created_at {{ts}} NOT NULL
);

CREATE TABLE brand (
    id {{pk}},
    name TEXT NOT NULL UNIQUE,
    name_en TEXT NOT NULL
);

CREATE TABLE store (
    id {{pk}},
    group_id BIGINT NOT NULL REFERENCES dealer_group(id),
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    city TEXT NOT NULL DEFAULT '',
    brand_id BIGINT NOT NULL REFERENCES brand(id),
    -- store configuration (cadence, reminder offsets, lapse window) as JSON; defaults in code
    settings TEXT NOT NULL DEFAULT '{}',
    created_at {{ts}} NOT NULL
);

CREATE TABLE series (
    id {{pk}},
    brand_id BIGINT NOT NULL REFERENCES brand(id),
    name TEXT NOT NULL,
    UNIQUE (brand_id, name)
);

-- A model with its maintenance schedule: the first service is due at whichever of
-- first_service_km / first_service_months comes first, then every interval_km / interval_months.
CREATE TABLE vehicle_model (
    id {{pk}},
    series_id BIGINT NOT NULL REFERENCES series(id),
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    price_fen BIGINT NOT NULL DEFAULT 0,
    first_service_km BIGINT NOT NULL,
    first_service_months BIGINT NOT NULL,
    service_interval_km BIGINT NOT NULL,
    service_interval_months BIGINT NOT NULL,
    warranty_months BIGINT NOT NULL DEFAULT 36,
    warranty_km BIGINT NOT NULL DEFAULT 60000
);

-- Staff are the users of dealerbase. Group staff and administrators may have no store.
CREATE TABLE staff (
    id {{pk}},
    group_id BIGINT NOT NULL REFERENCES dealer_group(id),
    store_id BIGINT REFERENCES store(id),
    login TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    password_hash TEXT,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at {{ts}} NOT NULL
);
CREATE INDEX staff_store ON staff (store_id, role);

-- Per-user API tokens; only a SHA-256 of the token is kept.
CREATE TABLE api_token (
    id {{pk}},
    staff_id BIGINT NOT NULL REFERENCES staff(id),
    token_hash TEXT NOT NULL UNIQUE,
    label TEXT NOT NULL DEFAULT '',
    created_at {{ts}} NOT NULL,
    revoked_at {{ts}}
);

-- Customers belong to a store. consultant_id is the current assignment (kept in
-- customer_assignment with its history) and class is derived by dealerbase-domain's rules.
CREATE TABLE customer (
    id {{pk}},
    store_id BIGINT NOT NULL REFERENCES store(id),
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    title TEXT,
    gender TEXT,
    id_type TEXT,
    id_number TEXT,
    birthday {{date}},
    lunar_birthday BOOLEAN NOT NULL DEFAULT FALSE,
    mobile TEXT,
    other_phones TEXT,
    email TEXT,
    province_code TEXT,
    city_code TEXT,
    district_code TEXT,
    address TEXT,
    industry TEXT,
    occupation TEXT,
    marital_status TEXT,
    income_band TEXT,
    education TEXT,
    interests TEXT,
    source TEXT,
    vip BOOLEAN NOT NULL DEFAULT FALSE,
    key_account TEXT,
    consultant_id BIGINT REFERENCES staff(id),
    class TEXT NOT NULL DEFAULT 'potential',
    class_reason TEXT NOT NULL DEFAULT '',
    merged_into BIGINT REFERENCES customer(id),
    created_at {{ts}} NOT NULL,
    updated_at {{ts}} NOT NULL
);
CREATE INDEX customer_store ON customer (store_id, id);
CREATE INDEX customer_mobile ON customer (mobile);
CREATE INDEX customer_id_number ON customer (id_number);
CREATE INDEX customer_consultant ON customer (consultant_id);
CREATE INDEX customer_class ON customer (store_id, class);

-- Name fragments (single characters and bigrams) for substring search in Chinese names,
-- the same on both databases and index-backed for any fragment length.
CREATE TABLE customer_name_gram (
    gram TEXT NOT NULL,
    customer_id BIGINT NOT NULL REFERENCES customer(id),
    PRIMARY KEY (gram, customer_id)
){{no_rowid}};
CREATE INDEX customer_name_gram_customer ON customer_name_gram (customer_id);

CREATE TABLE customer_assignment (
    id {{pk}},
    customer_id BIGINT NOT NULL REFERENCES customer(id),
    staff_id BIGINT NOT NULL REFERENCES staff(id),
    assigned_at {{ts}} NOT NULL,
    ended_at {{ts}},
    assigned_by BIGINT REFERENCES staff(id),
    reason TEXT NOT NULL DEFAULT ''
);
CREATE INDEX customer_assignment_customer ON customer_assignment (customer_id, assigned_at);

CREATE TABLE company_contact (
    id {{pk}},
    customer_id BIGINT NOT NULL REFERENCES customer(id),
    name TEXT NOT NULL,
    position TEXT,
    mobile TEXT,
    email TEXT,
    note TEXT
);
CREATE INDEX company_contact_customer ON company_contact (customer_id);

CREATE TABLE customer_relation (
    id {{pk}},
    customer_id BIGINT NOT NULL REFERENCES customer(id),
    related_customer_id BIGINT NOT NULL REFERENCES customer(id),
    kind TEXT NOT NULL,
    note TEXT,
    created_at {{ts}} NOT NULL
);
CREATE INDEX customer_relation_customer ON customer_relation (customer_id);
CREATE INDEX customer_relation_related ON customer_relation (related_customer_id);

CREATE TABLE vehicle (
    id {{pk}},
    vin TEXT NOT NULL UNIQUE,
    engine_no TEXT,
    model_id BIGINT NOT NULL REFERENCES vehicle_model(id),
    colour TEXT,
    model_year BIGINT,
    plate TEXT,
    purchase_date {{date}},
    invoice_date {{date}},
    delivery_date {{date}},
    selling_store_id BIGINT REFERENCES store(id),
    own_sold BOOLEAN NOT NULL DEFAULT FALSE,
    warranty_end_date {{date}},
    warranty_end_km BIGINT,
    compulsory_insurance_end {{date}},
    commercial_insurance_end {{date}},
    inspection_due {{date}},
    store_id BIGINT NOT NULL REFERENCES store(id),
    created_at {{ts}} NOT NULL
);
CREATE INDEX vehicle_plate ON vehicle (plate);
CREATE INDEX vehicle_store ON vehicle (store_id);

CREATE TABLE vehicle_ownership (
    id {{pk}},
    vehicle_id BIGINT NOT NULL REFERENCES vehicle(id),
    customer_id BIGINT NOT NULL REFERENCES customer(id),
    from_date {{date}} NOT NULL,
    to_date {{date}}
);
CREATE INDEX vehicle_ownership_vehicle ON vehicle_ownership (vehicle_id, from_date);
CREATE INDEX vehicle_ownership_customer ON vehicle_ownership (customer_id);

CREATE TABLE odometer_reading (
    id {{pk}},
    vehicle_id BIGINT NOT NULL REFERENCES vehicle(id),
    read_on {{date}} NOT NULL,
    km BIGINT NOT NULL,
    source TEXT NOT NULL
);
CREATE INDEX odometer_reading_vehicle ON odometer_reading (vehicle_id, read_on);

CREATE TABLE lead (
    id {{pk}},
    store_id BIGINT NOT NULL REFERENCES store(id),
    customer_id BIGINT NOT NULL REFERENCES customer(id),
    grade TEXT NOT NULL,
    source TEXT NOT NULL,
    source_detail TEXT,
    desired_model_id BIGINT REFERENCES vehicle_model(id),
    status TEXT NOT NULL,
    owner_id BIGINT REFERENCES staff(id),
    next_follow_up {{date}},
    created_at {{ts}} NOT NULL,
    updated_at {{ts}} NOT NULL,
    closed_at {{ts}}
);
CREATE INDEX lead_customer ON lead (customer_id);
CREATE INDEX lead_owner ON lead (owner_id, status);
CREATE INDEX lead_store ON lead (store_id, status);

CREATE TABLE showroom_visit (
    id {{pk}},
    store_id BIGINT NOT NULL REFERENCES store(id),
    channel TEXT NOT NULL,
    arrived_at {{ts}} NOT NULL,
    left_at {{ts}},
    party_size BIGINT NOT NULL DEFAULT 1,
    consultant_id BIGINT REFERENCES staff(id),
    first_visit BOOLEAN NOT NULL,
    source TEXT NOT NULL,
    desired_model_id BIGINT REFERENCES vehicle_model(id),
    customer_id BIGINT REFERENCES customer(id),
    lead_id BIGINT REFERENCES lead(id),
    visitor_name TEXT,
    mobile TEXT,
    note TEXT
);
CREATE INDEX showroom_visit_store ON showroom_visit (store_id, arrived_at);
CREATE INDEX showroom_visit_customer ON showroom_visit (customer_id);

CREATE TABLE test_drive (
    id {{pk}},
    lead_id BIGINT NOT NULL REFERENCES lead(id),
    model_id BIGINT NOT NULL REFERENCES vehicle_model(id),
    staff_id BIGINT REFERENCES staff(id),
    booked_at {{ts}} NOT NULL,
    done_at {{ts}},
    status TEXT NOT NULL
);
CREATE INDEX test_drive_lead ON test_drive (lead_id);

CREATE TABLE contact (
    id {{pk}},
    store_id BIGINT NOT NULL REFERENCES store(id),
    customer_id BIGINT NOT NULL REFERENCES customer(id),
    lead_id BIGINT REFERENCES lead(id),
    staff_id BIGINT REFERENCES staff(id),
    channel TEXT NOT NULL,
    direction TEXT NOT NULL,
    purpose TEXT NOT NULL,
    occurred_at {{ts}} NOT NULL,
    outcome TEXT NOT NULL,
    note TEXT,
    grade_before TEXT,
    grade_after TEXT,
    next_date {{date}}
);
CREATE INDEX contact_customer ON contact (customer_id, occurred_at);
CREATE INDEX contact_lead ON contact (lead_id);
CREATE INDEX contact_staff ON contact (staff_id, occurred_at);

-- dedupe_key makes generated tasks idempotent: a job that runs twice inserts nothing new.
CREATE TABLE task (
    id {{pk}},
    store_id BIGINT NOT NULL REFERENCES store(id),
    kind TEXT NOT NULL,
    customer_id BIGINT REFERENCES customer(id),
    lead_id BIGINT REFERENCES lead(id),
    vehicle_id BIGINT REFERENCES vehicle(id),
    assignee_id BIGINT REFERENCES staff(id),
    role TEXT,
    due_on {{date}} NOT NULL,
    status TEXT NOT NULL,
    outcome TEXT,
    note TEXT,
    dedupe_key TEXT UNIQUE,
    created_at {{ts}} NOT NULL,
    done_at {{ts}}
);
CREATE INDEX task_assignee ON task (assignee_id, status, due_on);
CREATE INDEX task_customer ON task (customer_id);
CREATE INDEX task_store ON task (store_id, status, due_on);

CREATE TABLE sales_order (
    id {{pk}},
    store_id BIGINT NOT NULL REFERENCES store(id),
    customer_id BIGINT NOT NULL REFERENCES customer(id),
    lead_id BIGINT REFERENCES lead(id),
    vehicle_id BIGINT REFERENCES vehicle(id),
    model_id BIGINT NOT NULL REFERENCES vehicle_model(id),
    consultant_id BIGINT REFERENCES staff(id),
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    ordered_on {{date}} NOT NULL,
    deposit_fen BIGINT NOT NULL DEFAULT 0,
    price_fen BIGINT NOT NULL,
    expected_delivery {{date}},
    delivered_on {{date}}
);
CREATE INDEX sales_order_customer ON sales_order (customer_id);
CREATE INDEX sales_order_store ON sales_order (store_id, ordered_on);

CREATE TABLE defeat_request (
    id {{pk}},
    lead_id BIGINT NOT NULL REFERENCES lead(id),
    requested_by BIGINT REFERENCES staff(id),
    requested_at {{ts}} NOT NULL,
    reason TEXT NOT NULL,
    competitor_brand TEXT,
    competitor_model TEXT,
    note TEXT,
    status TEXT NOT NULL,
    decided_by BIGINT REFERENCES staff(id),
    decided_at {{ts}},
    manager_comment TEXT
);
CREATE INDEX defeat_request_lead ON defeat_request (lead_id);

CREATE TABLE work_order (
    id {{pk}},
    store_id BIGINT NOT NULL REFERENCES store(id),
    number TEXT NOT NULL,
    vehicle_id BIGINT NOT NULL REFERENCES vehicle(id),
    customer_id BIGINT NOT NULL REFERENCES customer(id),
    advisor_id BIGINT REFERENCES staff(id),
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    opened_on {{date}} NOT NULL,
    settled_on {{date}},
    odometer_km BIGINT,
    total_fen BIGINT NOT NULL DEFAULT 0,
    paid_by TEXT NOT NULL,
    UNIQUE (store_id, number)
);
CREATE INDEX work_order_vehicle ON work_order (vehicle_id, opened_on);
CREATE INDEX work_order_customer ON work_order (customer_id, opened_on);

CREATE TABLE work_order_line (
    id {{pk}},
    work_order_id BIGINT NOT NULL REFERENCES work_order(id),
    line_kind TEXT NOT NULL,
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    quantity {{real}} NOT NULL,
    amount_fen BIGINT NOT NULL,
    cost_fen BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX work_order_line_order ON work_order_line (work_order_id);

CREATE TABLE insurance_policy (
    id {{pk}},
    store_id BIGINT NOT NULL REFERENCES store(id),
    vehicle_id BIGINT NOT NULL REFERENCES vehicle(id),
    customer_id BIGINT NOT NULL REFERENCES customer(id),
    kind TEXT NOT NULL,
    insurer TEXT NOT NULL,
    policy_no TEXT NOT NULL,
    start_date {{date}} NOT NULL,
    end_date {{date}} NOT NULL,
    premium_fen BIGINT NOT NULL DEFAULT 0,
    sold_here BOOLEAN NOT NULL DEFAULT TRUE,
    renewal_of BIGINT REFERENCES insurance_policy(id)
);
CREATE INDEX insurance_policy_vehicle ON insurance_policy (vehicle_id, end_date);
CREATE INDEX insurance_policy_customer ON insurance_policy (customer_id);

CREATE TABLE complaint (
    id {{pk}},
    store_id BIGINT NOT NULL REFERENCES store(id),
    customer_id BIGINT NOT NULL REFERENCES customer(id),
    vehicle_id BIGINT REFERENCES vehicle(id),
    category TEXT NOT NULL,
    severity TEXT NOT NULL,
    owner_id BIGINT REFERENCES staff(id),
    status TEXT NOT NULL,
    description TEXT NOT NULL,
    resolution TEXT,
    opened_at {{ts}} NOT NULL,
    resolved_at {{ts}}
);
CREATE INDEX complaint_customer ON complaint (customer_id);

-- Answers to follow-up questionnaires; scores 1-5, SSI/CSI derived from them.
CREATE TABLE survey_response (
    id {{pk}},
    store_id BIGINT NOT NULL REFERENCES store(id),
    customer_id BIGINT NOT NULL REFERENCES customer(id),
    kind TEXT NOT NULL,
    sales_order_id BIGINT REFERENCES sales_order(id),
    work_order_id BIGINT REFERENCES work_order(id),
    answered_on {{date}} NOT NULL,
    product_score BIGINT,
    service_score BIGINT NOT NULL,
    comment TEXT
);
CREATE INDEX survey_response_customer ON survey_response (customer_id);

-- Consent ledger (PIPL): one row per grant; withdrawal is recorded on the row.
CREATE TABLE consent (
    id {{pk}},
    customer_id BIGINT NOT NULL REFERENCES customer(id),
    purpose TEXT NOT NULL,
    channel TEXT NOT NULL,
    granted_at {{ts}} NOT NULL,
    notice_version TEXT NOT NULL,
    withdrawn_at {{ts}},
    recorded_by BIGINT REFERENCES staff(id)
);
CREATE INDEX consent_customer ON consent (customer_id, purpose);

CREATE TABLE audit_log (
    id {{pk}},
    at {{ts}} NOT NULL,
    staff_id BIGINT REFERENCES staff(id),
    action TEXT NOT NULL,
    entity TEXT NOT NULL,
    entity_id BIGINT,
    detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_entity ON audit_log (entity, entity_id);

-- Background jobs take a row here before running, so several app instances on one
-- PostgreSQL database run each job once.
CREATE TABLE job_lock (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    locked_until {{ts}} NOT NULL,
    last_run_on {{date}}
);
