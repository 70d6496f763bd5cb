-- Scales the sales side of a demo database (SQLite) for `dealerbase bench --scenario sales`:
-- every lead with its traffic records, contacts, test drives, invitations, orders and
-- defeat requests is copied K more times (same stores, consultants, customers and dates,
-- new ids), so a period holds (K + 1)× the events in the demo's proportions. Used to reach
-- 1,000,000 leads in a 50-store group without generating 800,000 full customer histories
-- (work orders, policies…) that the sales pages never read. See README "Benchmarks".
--
--   dealerbase demo --customers 100000 --stores 50 --database-url sqlite://sales.db
--   sqlite3 sales.db < bench/sales-scale.sql          # K = 8 below: 114,686 → 1,032,174 leads
--   dealerbase bench --scenario sales --database-url sqlite://sales.db
PRAGMA foreign_keys = ON;
CREATE TEMP TABLE k (n INTEGER NOT NULL);
INSERT INTO k VALUES (1), (2), (3), (4), (5), (6), (7), (8);
CREATE TEMP TABLE off AS SELECT
  (SELECT MAX(id) FROM lead) AS lead,
  (SELECT MAX(id) FROM showroom_visit) AS visit,
  (SELECT MAX(id) FROM contact) AS contact,
  (SELECT MAX(id) FROM test_drive) AS drive,
  (SELECT COALESCE(MAX(id), 0) FROM invitation) AS inv,
  (SELECT MAX(id) FROM sales_order) AS ord,
  (SELECT MAX(id) FROM defeat_request) AS dfr;
BEGIN;
INSERT INTO lead (id, store_id, customer_id, grade, source, source_detail, desired_model_id, status, owner_id,
                  next_follow_up, created_at, updated_at, closed_at, last_contact_at, pooled_at)
SELECT l.id + k.n * off.lead, l.store_id, l.customer_id, l.grade, l.source, l.source_detail, l.desired_model_id,
       l.status, l.owner_id, l.next_follow_up, l.created_at, l.updated_at, l.closed_at, l.last_contact_at, l.pooled_at
FROM lead l, k, off WHERE l.id <= off.lead;
INSERT INTO showroom_visit (id, store_id, channel, arrived_at, left_at, party_size, consultant_id, first_visit, source,
                            desired_model_id, customer_id, lead_id, visitor_name, mobile, note)
SELECT v.id + k.n * off.visit, v.store_id, v.channel, v.arrived_at, v.left_at, v.party_size, v.consultant_id,
       v.first_visit, v.source, v.desired_model_id, v.customer_id,
       CASE WHEN v.lead_id IS NULL THEN NULL ELSE v.lead_id + k.n * off.lead END, v.visitor_name, v.mobile, v.note
FROM showroom_visit v, k, off WHERE v.id <= off.visit;
INSERT INTO contact (id, store_id, customer_id, lead_id, staff_id, channel, direction, purpose, occurred_at, outcome,
                     note, grade_before, grade_after, next_date)
SELECT c.id + k.n * off.contact, c.store_id, c.customer_id, c.lead_id + k.n * off.lead, c.staff_id, c.channel,
       c.direction, c.purpose, c.occurred_at, c.outcome, c.note, c.grade_before, c.grade_after, c.next_date
FROM contact c, k, off WHERE c.id <= off.contact AND c.lead_id IS NOT NULL;
INSERT INTO test_drive (id, lead_id, model_id, staff_id, booked_at, done_at, status, store_id)
SELECT t.id + k.n * off.drive, t.lead_id + k.n * off.lead, t.model_id, t.staff_id, t.booked_at, t.done_at, t.status,
       t.store_id
FROM test_drive t, k, off WHERE t.id <= off.drive;
INSERT INTO invitation (id, store_id, lead_id, staff_id, invited_at, appointment_on, status, showed_at)
SELECT i.id + k.n * off.inv, i.store_id, i.lead_id + k.n * off.lead, i.staff_id, i.invited_at, i.appointment_on,
       i.status, i.showed_at
FROM invitation i, k, off WHERE i.id <= off.inv;
INSERT INTO sales_order (id, store_id, customer_id, lead_id, vehicle_id, model_id, consultant_id, kind, status,
                         ordered_on, deposit_fen, price_fen, expected_delivery, delivered_on)
SELECT o.id + k.n * off.ord, o.store_id, o.customer_id,
       CASE WHEN o.lead_id IS NULL THEN NULL ELSE o.lead_id + k.n * off.lead END, o.vehicle_id, o.model_id,
       o.consultant_id, o.kind, o.status, o.ordered_on, o.deposit_fen, o.price_fen, o.expected_delivery, o.delivered_on
FROM sales_order o, k, off WHERE o.id <= off.ord;
INSERT INTO defeat_request (id, lead_id, requested_by, requested_at, reason, competitor_brand, competitor_model, note,
                            status, decided_by, decided_at, manager_comment, subjective)
SELECT d.id + k.n * off.dfr, d.lead_id + k.n * off.lead, d.requested_by, d.requested_at, d.reason, d.competitor_brand,
       d.competitor_model, d.note, d.status, d.decided_by, d.decided_at, d.manager_comment, d.subjective
FROM defeat_request d, k, off WHERE d.id <= off.dfr;
COMMIT;
CREATE INDEX IF NOT EXISTS sales_contact_store ON contact (store_id, occurred_at);
DELETE FROM grade_close_rate;
ANALYZE;
