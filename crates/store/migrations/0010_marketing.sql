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
