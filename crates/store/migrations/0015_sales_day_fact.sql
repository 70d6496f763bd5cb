-- The sales funnel by day (issue 5): what each record set of the funnel (traffic, new leads,
-- second visits, test drives, invitations, orders, deliveries, defeat requests, approved
-- defeats) adds up to per China day, store, lead source, model and consultant. Rebuilt by
-- the nightly job for the days before `built_until`; the analytics read these rows for those
-- days and the records themselves from `built_until` on. Same dialect tokens as
-- 0001_dealer_model.sql.
CREATE TABLE sales_day_fact (
    day {{date}} NOT NULL,
    part BIGINT NOT NULL,
    store_id BIGINT NOT NULL,
    source TEXT NOT NULL,
    model_id BIGINT NOT NULL,
    consultant_id BIGINT NOT NULL,
    a BIGINT NOT NULL,
    b BIGINT NOT NULL,
    c BIGINT NOT NULL
);
CREATE INDEX sales_day_fact_day ON sales_day_fact (day, store_id);
CREATE INDEX sales_day_fact_store_day ON sales_day_fact (store_id, day);

-- One row: the first day the facts do not cover (NULL: never built).
CREATE TABLE sales_fact_state (
    id BIGINT PRIMARY KEY,
    built_until {{date}},
    built_at {{ts}}
);
INSERT INTO sales_fact_state (id, built_until, built_at) VALUES (1, NULL, NULL);

-- The churn cohort and the retention rate (KPI catalogue) look for a customer's other
-- visits to the same store around each visit.
CREATE INDEX work_order_customer_store_settled ON work_order (customer_id, store_id, settled_on);
