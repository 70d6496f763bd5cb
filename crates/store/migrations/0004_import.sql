-- Imports of DMS exports. Same dialect tokens as 0001_dealer_model.sql.

-- One run of an import. Each batch of rows is written in the same transaction that moves
-- rows_done forward, so after a crash (kill -9) the row says exactly how far the committed
-- work goes and a rerun of the same file (same kind and SHA-256) resumes from there.
CREATE TABLE import_run (
    id {{pk}},
    kind TEXT NOT NULL,
    file_name TEXT NOT NULL,
    file_sha256 TEXT NOT NULL,
    staff_id BIGINT REFERENCES staff(id),
    store_id BIGINT NOT NULL REFERENCES store(id),
    -- running | done
    status TEXT NOT NULL,
    rows_done BIGINT NOT NULL DEFAULT 0,
    inserted BIGINT NOT NULL DEFAULT 0,
    updated BIGINT NOT NULL DEFAULT 0,
    unchanged BIGINT NOT NULL DEFAULT 0,
    merged BIGINT NOT NULL DEFAULT 0,
    rejected BIGINT NOT NULL DEFAULT 0,
    started_at {{ts}} NOT NULL,
    finished_at {{ts}}
);
CREATE INDEX import_run_file ON import_run (kind, file_sha256, status);

-- What an import (or a manual merge) changed in an existing customer, field by field, so a
-- merge can be reviewed.
CREATE TABLE customer_change (
    id {{pk}},
    customer_id BIGINT NOT NULL REFERENCES customer(id),
    import_run_id BIGINT REFERENCES import_run(id),
    field TEXT NOT NULL,
    old_value TEXT,
    new_value TEXT,
    at {{ts}} NOT NULL
);
CREATE INDEX customer_change_customer ON customer_change (customer_id, at);
