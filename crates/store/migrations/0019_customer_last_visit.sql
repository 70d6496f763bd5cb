-- The customer's last service visit (issue 8): the date of the newest work order that is not
-- a PDI, kept by triggers on work_order whatever writes it (forms, imports, the demo, a merge
-- moving work orders), so "lapsed for N months" and "last visit between" segments read one
-- indexed column instead of probing a million customers' work orders. NULL: never visited.
-- Same dialect tokens as 0001_dealer_model.sql; `--@sqlite` / `--@postgres` … `--@end`
-- enclose what only one database runs.
ALTER TABLE customer ADD COLUMN last_visit_on {{date}};

--@sqlite
UPDATE customer SET last_visit_on = (
    SELECT MAX(w.opened_on) FROM work_order w WHERE w.customer_id = customer.id AND w.kind <> 'pdi');

CREATE TRIGGER work_order_last_visit_insert AFTER INSERT ON work_order
WHEN NEW.kind <> 'pdi'
BEGIN
    UPDATE customer SET last_visit_on = NEW.opened_on
    WHERE id = NEW.customer_id AND (last_visit_on IS NULL OR last_visit_on < NEW.opened_on);
END;

CREATE TRIGGER work_order_last_visit_update AFTER UPDATE OF customer_id, opened_on, kind ON work_order
BEGIN
    UPDATE customer SET last_visit_on = (
        SELECT MAX(w.opened_on) FROM work_order w WHERE w.customer_id = customer.id AND w.kind <> 'pdi')
    WHERE id IN (OLD.customer_id, NEW.customer_id);
END;

CREATE TRIGGER work_order_last_visit_delete AFTER DELETE ON work_order
BEGIN
    UPDATE customer SET last_visit_on = (
        SELECT MAX(w.opened_on) FROM work_order w WHERE w.customer_id = customer.id AND w.kind <> 'pdi')
    WHERE id = OLD.customer_id;
END;
--@end

--@postgres
UPDATE customer c SET last_visit_on = v.last
FROM (SELECT customer_id, MAX(opened_on) AS last FROM work_order WHERE kind <> 'pdi' GROUP BY customer_id) v
WHERE v.customer_id = c.id;

CREATE FUNCTION work_order_last_visit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.kind <> 'pdi' THEN
            UPDATE customer SET last_visit_on = NEW.opened_on
            WHERE id = NEW.customer_id AND (last_visit_on IS NULL OR last_visit_on < NEW.opened_on);
        END IF;
        RETURN NULL;
    END IF;
    UPDATE customer c SET last_visit_on = (
        SELECT MAX(w.opened_on) FROM work_order w WHERE w.customer_id = c.id AND w.kind <> 'pdi')
    WHERE c.id = OLD.customer_id OR (TG_OP = 'UPDATE' AND c.id = NEW.customer_id);
    RETURN NULL;
END
$$;

CREATE TRIGGER work_order_last_visit AFTER INSERT OR DELETE OR UPDATE OF customer_id, opened_on, kind
ON work_order FOR EACH ROW EXECUTE FUNCTION work_order_last_visit();
--@end

CREATE INDEX customer_last_visit ON customer (last_visit_on);

-- Policies ending in a window, with their customer, from the index alone ("insurance due in
-- 60 days, not renewed" reads 140k policies at 1M customers): replaces the end-date index.
CREATE INDEX insurance_policy_end_customer ON insurance_policy (end_date, customer_id);
DROP INDEX insurance_policy_end;
