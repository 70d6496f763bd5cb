-- Mining results as people use them: the campaign target list sorted by churn risk over a
-- whole group, and the cross-sell rules of a snapshot as rows (read for every customer 360
-- page, so they are not parsed out of the run's JSON each time). Same dialect tokens as
-- 0001_dealer_model.sql.

CREATE INDEX customer_score_risk ON customer_score (run_id, churn_risk);

-- One association rule of a snapshot. Item codes of each side sorted and joined by ','
-- (work-order line codes); names joined by '; ' for display.
CREATE TABLE mining_rule (
    run_id BIGINT NOT NULL REFERENCES mining_run(id),
    rule_no BIGINT NOT NULL,
    antecedent TEXT NOT NULL,
    consequent TEXT NOT NULL,
    antecedent_names TEXT NOT NULL,
    consequent_names TEXT NOT NULL,
    support {{real}} NOT NULL,
    confidence {{real}} NOT NULL,
    lift {{real}} NOT NULL,
    PRIMARY KEY (run_id, rule_no)
){{no_rowid}};
