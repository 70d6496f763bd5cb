-- Customers without a consultant or without a service visit are not in the indexes on those
-- columns (issue 4): every customer an import creates has neither, and each index entry was
-- written for nothing (1.6 s of a million-customer import on PostgreSQL). Every query on
-- them compares a value (`consultant_id = …`, `last_visit_on < …`), which implies NOT NULL,
-- so both databases still use the indexes.
DROP INDEX customer_consultant;
CREATE INDEX customer_consultant ON customer (consultant_id) WHERE consultant_id IS NOT NULL;
DROP INDEX customer_last_visit;
CREATE INDEX customer_last_visit ON customer (last_visit_on) WHERE last_visit_on IS NOT NULL;
