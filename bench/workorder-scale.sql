-- Scales the work orders of a demo database (SQLite) to the issue-6 benchmark size: the
-- 1,000,000-customer demo has 6.35M work orders; this adds a repair order (no odometer
-- reading, a third of the amount) beside the first 3,652,000 orders, for 10.0M in all.
-- Only the daily after-sales generation is timed on the result:
--
--   dealerbase demo --customers 1000000 --stores 50 --as-of 2026-11-23 --database-url sqlite://big.db
--   sqlite3 big.db < bench/workorder-scale.sql
--   dealerbase aftersales generate --as-of 2026-11-25 --database-url sqlite://big.db   # fills the prediction
--   dealerbase bench --scenario aftersales --as-of 2026-11-26 --database-url sqlite://big.db
INSERT INTO work_order (store_id, number, vehicle_id, customer_id, advisor_id, kind, status,
                        opened_on, settled_on, odometer_km, total_fen, paid_by)
SELECT store_id, 'R' || number, vehicle_id, customer_id, advisor_id, 'repair', status,
       opened_on, settled_on, NULL, total_fen / 3, paid_by
FROM work_order WHERE id <= 3652000;
SELECT COUNT(*) AS work_orders FROM work_order;
