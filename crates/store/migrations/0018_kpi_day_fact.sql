-- The KPI catalogue by day (issue 9): what each record set of a KPI whose window is the
-- period itself (revenue, gross profit, work orders, renewal rate, follow-ups, CSI, …) adds
-- to its numerator and denominator per China day, store, staff member and model (0 = none).
-- Rebuilt by the nightly job for the days before `built_until`; `kpi_sums` reads these rows
-- for those days and the records themselves from `built_until` on. Same dialect tokens as
-- 0001_dealer_model.sql.
CREATE TABLE kpi_day_fact (
    kpi TEXT NOT NULL,
    part BIGINT NOT NULL,
    day {{date}} NOT NULL,
    store_id BIGINT NOT NULL,
    staff_id BIGINT NOT NULL,
    model_id BIGINT NOT NULL,
    num BIGINT NOT NULL,
    den BIGINT NOT NULL
);
-- The reads select (kpi, days, stores) and sum the rest: one covering index, so they never
-- touch the table (an index-only scan on PostgreSQL once the rebuild's VACUUM has run).
CREATE INDEX kpi_day_fact_read ON kpi_day_fact (kpi, day, store_id, part, staff_id, model_id, num, den);

-- One row: the first day the facts do not cover (NULL: never built).
CREATE TABLE kpi_fact_state (
    id BIGINT PRIMARY KEY,
    built_until {{date}},
    built_at {{ts}}
);
INSERT INTO kpi_fact_state (id, built_until, built_at) VALUES (1, NULL, NULL);

-- The renewal rate's later policy of the same car and kind (read live for the days from
-- `built_until` on: policies ending later this month) from the index alone.
CREATE INDEX insurance_policy_vehicle_kind_start ON insurance_policy (vehicle_id, kind, start_date);
