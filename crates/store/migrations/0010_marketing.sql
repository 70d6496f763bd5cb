-- Marketing (issue 8): saved segments and their frozen member lists; campaigns with their
-- recipients. Same dialect tokens as 0001_dealer_model.sql.

-- A saved segment. `definition` is the condition tree as JSON (dealerbase-domain
-- `segment::Definition`). A dynamic segment is evaluated again whenever it is used; a
-- frozen one keeps the members found when it was frozen (segment_member).
CREATE TABLE segment (
    id {{pk}},
    group_id BIGINT NOT NULL REFERENCES dealer_group(id),
    -- the store of the staff member who saved it (NULL for group staff)
    store_id BIGINT REFERENCES store(id),
    name TEXT NOT NULL,
    definition TEXT NOT NULL,
    mode TEXT NOT NULL,
    frozen_at {{ts}},
    member_count BIGINT NOT NULL DEFAULT 0,
    created_by BIGINT REFERENCES staff(id),
    created_at {{ts}} NOT NULL,
    updated_at {{ts}} NOT NULL
);
CREATE INDEX segment_group ON segment (group_id, store_id);

-- No foreign key to customer: a frozen list is a record of who was in the segment then
-- (a later merge of two customers must not fold two members into one row).
CREATE TABLE segment_member (
    segment_id BIGINT NOT NULL REFERENCES segment(id),
    customer_id BIGINT NOT NULL,
    PRIMARY KEY (segment_id, customer_id)
){{no_rowid}};

-- Segment conditions on dates that no index served: a customer's visits by date (last
-- visit, visits in the last N months), the next maintenance due date, lead contacts by time.
CREATE INDEX segment_work_order_opened ON work_order (opened_on, customer_id);
CREATE INDEX segment_service_due ON vehicle_service_status (next_due_on);
CREATE INDEX segment_consent_purpose ON consent (purpose, channel, customer_id);

-- A marketing campaign (the after-sales `campaign` table of 0008 is OEM recalls and
-- service campaigns) targets a saved segment. `status` is draft until prepared; preparing stores
-- the recipients (one transaction) and is done once. Money in fen; control_pct in percent.
CREATE TABLE marketing_campaign (
    id {{pk}},
    group_id BIGINT NOT NULL REFERENCES dealer_group(id),
    store_id BIGINT REFERENCES store(id),
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    segment_id BIGINT NOT NULL REFERENCES segment(id),
    scheduled_at {{ts}},
    budget_fen BIGINT NOT NULL DEFAULT 0,
    cost_per_contact_fen BIGINT NOT NULL DEFAULT 0,
    control_pct {{real}} NOT NULL DEFAULT 0,
    seed BIGINT NOT NULL,
    sms_template TEXT NOT NULL DEFAULT '',
    email_subject TEXT NOT NULL DEFAULT '',
    email_body TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    prepared_at {{ts}},
    recipients BIGINT NOT NULL DEFAULT 0,
    held_out BIGINT NOT NULL DEFAULT 0,
    created_by BIGINT REFERENCES staff(id),
    created_at {{ts}} NOT NULL,
    updated_at {{ts}} NOT NULL
);
CREATE INDEX marketing_campaign_group ON marketing_campaign (group_id, store_id);

-- One row per recipient: control flag, the rendered message, where they stand. No foreign
-- key to customer or vehicle (a record of what was prepared, like segment_member).
CREATE TABLE marketing_recipient (
    campaign_id BIGINT NOT NULL REFERENCES marketing_campaign(id),
    customer_id BIGINT NOT NULL,
    store_id BIGINT NOT NULL,
    vehicle_id BIGINT,
    control BOOLEAN NOT NULL,
    status TEXT NOT NULL,
    subject TEXT NOT NULL DEFAULT '',
    rendered TEXT NOT NULL DEFAULT '',
    task_id BIGINT,
    invited_at {{ts}},
    responded_at {{ts}},
    attended_at {{ts}},
    PRIMARY KEY (campaign_id, customer_id)
){{no_rowid}};
CREATE INDEX marketing_recipient_status ON marketing_recipient (campaign_id, status);
