-- Imports through the upload page, manual merges of customers, and the keys that make
-- re-importing sales and policies idempotent. Same dialect tokens as 0001_dealer_model.sql.

-- What an import run was asked to do and how it ended. The CLI creates its run when it
-- starts writing; the upload page creates it first ('queued') and polls it while a
-- background task works. status: queued | running | done | refused (all-or-nothing with
-- rejected rows) | failed | interrupted.
ALTER TABLE import_run ADD COLUMN mode TEXT NOT NULL DEFAULT 'write';
ALTER TABLE import_run ADD COLUMN sheet TEXT;
ALTER TABLE import_run ADD COLUMN rows_total BIGINT;
ALTER TABLE import_run ADD COLUMN customers_created BIGINT NOT NULL DEFAULT 0;
ALTER TABLE import_run ADD COLUMN encoding TEXT NOT NULL DEFAULT '';
ALTER TABLE import_run ADD COLUMN unknown_columns TEXT NOT NULL DEFAULT '';
ALTER TABLE import_run ADD COLUMN error TEXT;
CREATE INDEX import_run_started ON import_run (store_id, started_at);

-- Every rejected row of a run (the downloadable report), written in the transaction of
-- its batch.
CREATE TABLE import_problem (
    id {{pk}},
    run_id BIGINT NOT NULL REFERENCES import_run(id),
    line BIGINT NOT NULL,
    column_name TEXT NOT NULL,
    value TEXT NOT NULL,
    reason TEXT NOT NULL
);
CREATE INDEX import_problem_run ON import_problem (run_id, id);

-- A manual merge of two customers: everything of merged_id moved to survivor_id, which
-- took the winning field values (recorded in customer_change with merge_id). moved is a
-- JSON object {table: rows moved}.
CREATE TABLE customer_merge (
    id {{pk}},
    survivor_id BIGINT NOT NULL REFERENCES customer(id),
    merged_id BIGINT NOT NULL REFERENCES customer(id),
    staff_id BIGINT REFERENCES staff(id),
    at {{ts}} NOT NULL,
    moved TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX customer_merge_at ON customer_merge (at);
CREATE INDEX customer_merge_survivor ON customer_merge (survivor_id);
CREATE INDEX customer_merge_merged ON customer_merge (merged_id);
ALTER TABLE customer_change ADD COLUMN merge_id BIGINT REFERENCES customer_merge(id);

-- The DMS order number of a sale, so that a sales file can be imported again.
ALTER TABLE sales_order ADD COLUMN order_no TEXT;
CREATE UNIQUE INDEX sales_order_no ON sales_order (store_id, order_no);
CREATE INDEX sales_order_vehicle ON sales_order (vehicle_id);
CREATE INDEX insurance_policy_no ON insurance_policy (policy_no);
