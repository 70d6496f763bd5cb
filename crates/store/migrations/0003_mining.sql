-- Mining snapshots: one run per day (`as_of`), with a row per customer and the group-level
-- results (Pareto table, Lorenz curve, retention curves, model quality, rules) as JSON
-- text. Same dialect tokens as 0001_dealer_model.sql.

-- `complete` turns true in the run's last write, so a snapshot interrupted half-way is
-- recognised (and replaced) instead of being shown or skipped as done.
CREATE TABLE mining_run (
    id {{pk}},
    as_of {{date}} NOT NULL UNIQUE,
    started_at {{ts}} NOT NULL,
    finished_at {{ts}},
    complete BOOLEAN NOT NULL DEFAULT FALSE,
    customers BIGINT NOT NULL DEFAULT 0,
    transactions BIGINT NOT NULL DEFAULT 0,
    summary_json TEXT NOT NULL DEFAULT '{}'
);

-- One customer's scores in one run. store_id and consultant_id are copied from the
-- customer at scoring time so that scoped reads of a million rows need no join. No foreign
-- key to customer: a snapshot is a record of what was computed, and checking a million
-- references per run would double the write time on SQLite.
CREATE TABLE customer_score (
    run_id BIGINT NOT NULL REFERENCES mining_run(id),
    customer_id BIGINT NOT NULL,
    store_id BIGINT NOT NULL,
    consultant_id BIGINT,
    recency_days BIGINT NOT NULL,
    frequency BIGINT NOT NULL,
    monetary_fen BIGINT NOT NULL,
    r BIGINT NOT NULL,
    f BIGINT NOT NULL,
    m BIGINT NOT NULL,
    segment TEXT NOT NULL,
    tier TEXT NOT NULL,
    p_alive {{real}},
    expected_visits {{real}},
    clv_fen BIGINT,
    churn_risk {{real}} NOT NULL,
    -- feature codes, most important first, joined by ','
    churn_reasons TEXT NOT NULL,
    trade_in {{real}} NOT NULL,
    trade_in_reasons TEXT NOT NULL,
    PRIMARY KEY (run_id, customer_id)
){{no_rowid}};
CREATE INDEX customer_score_customer ON customer_score (customer_id, run_id);
CREATE INDEX customer_score_store ON customer_score (run_id, store_id, churn_risk);
