-- Showroom and leads (issue 5). Same dialect tokens as 0001_dealer_model.sql.

-- When the lead was last contacted (kept by the service with each contact; NULL for rows
-- written before, which the pool rule reads from the contact table instead), and when it
-- went back to the store pool (公海: owner_id is NULL while it waits to be claimed).
ALTER TABLE lead ADD COLUMN last_contact_at {{ts}};
ALTER TABLE lead ADD COLUMN pooled_at {{ts}};

-- The test drive's store, so the analytics count a store's test drives without reading
-- each lead (NULL on rows written before; Db::fill_test_drive_store fills them).
ALTER TABLE test_drive ADD COLUMN store_id BIGINT REFERENCES store(id);

-- Whether the lead had missed follow-ups before the request (the subjective-defeat flag),
-- decided by dealerbase_domain::sales::missed_follow_up when the request is made.
ALTER TABLE defeat_request ADD COLUMN subjective BOOLEAN NOT NULL DEFAULT FALSE;

-- Who owned a lead when: every hand-over, claim from the pool and return to the pool.
-- to_staff_id NULL = returned to the pool; by_staff_id NULL = the daily job.
CREATE TABLE lead_assignment (
    id {{pk}},
    lead_id BIGINT NOT NULL REFERENCES lead(id),
    from_staff_id BIGINT REFERENCES staff(id),
    to_staff_id BIGINT REFERENCES staff(id),
    at {{ts}} NOT NULL,
    by_staff_id BIGINT REFERENCES staff(id),
    reason TEXT NOT NULL DEFAULT ''
);
CREATE INDEX lead_assignment_lead ON lead_assignment (lead_id, at);

-- Invitations to come to the showroom (邀约) and whether the lead came (到店).
CREATE TABLE invitation (
    id {{pk}},
    store_id BIGINT NOT NULL REFERENCES store(id),
    lead_id BIGINT NOT NULL REFERENCES lead(id),
    staff_id BIGINT REFERENCES staff(id),
    invited_at {{ts}} NOT NULL,
    appointment_on {{date}} NOT NULL,
    status TEXT NOT NULL,
    showed_at {{ts}}
);
CREATE INDEX invitation_store_day ON invitation (store_id, appointment_on);
CREATE INDEX invitation_lead ON invitation (lead_id);

-- The consultant's daily report (营业日报表): the figures built from the day's contacts,
-- frozen at submission as JSON, tomorrow's plan, and the manager's sign-off.
CREATE TABLE daily_report (
    id {{pk}},
    store_id BIGINT NOT NULL REFERENCES store(id),
    staff_id BIGINT NOT NULL REFERENCES staff(id),
    report_date {{date}} NOT NULL,
    figures TEXT NOT NULL,
    plan TEXT NOT NULL DEFAULT '',
    submitted_at {{ts}} NOT NULL,
    signed_by BIGINT REFERENCES staff(id),
    signed_at {{ts}},
    manager_comment TEXT,
    UNIQUE (staff_id, report_date)
);
CREATE INDEX daily_report_store ON daily_report (store_id, report_date);

-- Each store's close rate per grade from its own history (the forecast's weights), as
-- computed on as_of by the daily job or on first use.
CREATE TABLE grade_close_rate (
    store_id BIGINT NOT NULL REFERENCES store(id),
    grade TEXT NOT NULL,
    as_of {{date}} NOT NULL,
    graded BIGINT NOT NULL,
    ordered BIGINT NOT NULL,
    PRIMARY KEY (store_id, grade)
);

-- Period queries of the analytics pages and the jobs.
CREATE INDEX sales_lead_store_created ON lead (store_id, created_at);
CREATE INDEX sales_lead_open_grade ON lead (store_id, status, grade);
CREATE INDEX sales_task_lead ON task (lead_id);
CREATE INDEX sales_test_drive_done ON test_drive (store_id, done_at);
CREATE INDEX sales_order_delivered ON sales_order (store_id, delivered_on);
CREATE INDEX sales_order_lead ON sales_order (lead_id);
CREATE INDEX sales_defeat_requested ON defeat_request (requested_at);
CREATE INDEX sales_defeat_decided ON defeat_request (decided_at);
CREATE INDEX sales_defeat_status ON defeat_request (status, lead_id);
CREATE INDEX sales_visit_lead ON showroom_visit (lead_id);
-- Covers the traffic statistics (no table reads for a group's quarter of visits).
CREATE INDEX sales_visit_stats ON showroom_visit (store_id, arrived_at, channel, source, consultant_id, first_visit, lead_id);
-- The forecast's close rates read a store's gradings of a year (daily job).
CREATE INDEX sales_contact_store ON contact (store_id, occurred_at);
