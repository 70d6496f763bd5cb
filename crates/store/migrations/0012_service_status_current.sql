-- The maintenance prediction becomes one current row per vehicle (issue 6 benchmark): the
-- nightly job used to write a whole new dated snapshot of every car (1.3M rows a night on
-- the demo group); now it writes only the rows whose prediction changed, found by a digest
-- of the row's values. `as_of` is the day the row last changed; `service_status_run` still
-- records each night's run and its completeness. The estimated odometer today is not
-- stored (it changes every day for every car): pages compute it. The table holds derived
-- data only, so it is rebuilt, and the next run fills it.
DROP TABLE vehicle_service_status;
CREATE TABLE vehicle_service_status (
    vehicle_id BIGINT PRIMARY KEY,
    as_of {{date}} NOT NULL,
    store_id BIGINT NOT NULL,
    customer_id BIGINT NOT NULL,
    daily_km {{real}} NOT NULL,
    rate_source TEXT NOT NULL,
    next_service_no BIGINT NOT NULL,
    next_due_on {{date}} NOT NULL,
    next_due_rule TEXT NOT NULL,
    next_due_km BIGINT NOT NULL,
    first_due_on {{date}} NOT NULL,
    first_closes_on {{date}} NOT NULL,
    first_status TEXT NOT NULL,
    second_due_on {{date}} NOT NULL,
    second_closes_on {{date}} NOT NULL,
    second_status TEXT NOT NULL,
    digest BIGINT NOT NULL
){{no_rowid}};
CREATE INDEX vehicle_service_status_first ON vehicle_service_status (store_id, first_closes_on);
CREATE INDEX vehicle_service_status_second ON vehicle_service_status (store_id, second_closes_on);
DELETE FROM service_status_run;
