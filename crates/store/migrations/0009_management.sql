-- Management (issue 9): monthly operating costs per store, monthly targets per store and
-- staff member, and the indexes the KPI catalogue's period queries use. Same dialect
-- tokens as 0001_dealer_model.sql.

-- One row per store, month and cost category (rent, payroll, utilities, …); kind is
-- fixed | variable (dealerbase-domain CostKind). month_start is the first day of the month.
CREATE TABLE operating_cost (
    id {{pk}},
    store_id BIGINT NOT NULL REFERENCES store(id),
    month_start {{date}} NOT NULL,
    category TEXT NOT NULL,
    kind TEXT NOT NULL,
    amount_fen BIGINT NOT NULL,
    updated_by BIGINT REFERENCES staff(id),
    updated_at {{ts}} NOT NULL,
    UNIQUE (store_id, month_start, category)
);
CREATE INDEX operating_cost_month ON operating_cost (month_start, store_id);

-- Monthly targets: staff_id 0 is the store's own target, otherwise the consultant's or
-- advisor's share. metric is a target metric code (sales | traffic | renewals |
-- service_revenue); value is a count, or fen for money.
CREATE TABLE kpi_target (
    id {{pk}},
    store_id BIGINT NOT NULL REFERENCES store(id),
    staff_id BIGINT NOT NULL DEFAULT 0,
    month_start {{date}} NOT NULL,
    metric TEXT NOT NULL,
    value BIGINT NOT NULL,
    updated_by BIGINT REFERENCES staff(id),
    updated_at {{ts}} NOT NULL,
    UNIQUE (store_id, staff_id, month_start, metric)
);
CREATE INDEX kpi_target_month ON kpi_target (month_start, metric);

-- The KPI catalogue reads each record set by store and date.
CREATE INDEX kpi_policy_store_end ON insurance_policy (store_id, end_date);
CREATE INDEX kpi_work_order_store_settled ON work_order (store_id, settled_on, advisor_id);
CREATE INDEX kpi_survey_store_kind ON survey_response (store_id, kind, answered_on);
CREATE INDEX kpi_task_store_kind_due ON task (store_id, kind, due_on);
CREATE INDEX kpi_complaint_store_opened ON complaint (store_id, opened_at);
