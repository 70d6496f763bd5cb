-- Covering indexes for the sales analytics (issue 5 benchmark): a group's 30-day funnel
-- reads ~100k leads, orders, test drives and invitations of 50 stores; with the
-- dimensions and measures in the index each part is one range scan per store, without a
-- random table read per row. Each replaces the narrower index it extends.
DROP INDEX sales_lead_store_created;
CREATE INDEX sales_lead_store_created ON lead (store_id, created_at, source, desired_model_id, owner_id);
DROP INDEX invitation_store_day;
CREATE INDEX invitation_store_day ON invitation (store_id, appointment_on, status, lead_id);
DROP INDEX sales_test_drive_done;
CREATE INDEX sales_test_drive_done ON test_drive (store_id, done_at, status, model_id, staff_id, lead_id);
DROP INDEX sales_order_store;
CREATE INDEX sales_order_store ON sales_order (store_id, ordered_on, status, model_id, consultant_id, lead_id);
DROP INDEX sales_order_delivered;
CREATE INDEX sales_order_delivered ON sales_order (store_id, delivered_on, status, model_id, consultant_id, lead_id);
DROP INDEX sales_defeat_requested;
CREATE INDEX sales_defeat_requested ON defeat_request (requested_at, lead_id);
DROP INDEX sales_defeat_decided;
CREATE INDEX sales_defeat_decided ON defeat_request (decided_at, status, reason, subjective, lead_id);
