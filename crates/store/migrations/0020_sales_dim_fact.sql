-- The sales funnel facts by one dimension at a time (issue 5): `sales_day_fact` summed per
-- day (and per whole month) over all but one of source (dim 1), model (dim 2) and
-- consultant (dim 3), the key `k` as the analytics show it ('' for none). A breakdown or
-- filter that needs at most one of the three reads these: about a fifth of the day rows,
-- and whole months as one row instead of thirty. Rebuilt with `sales_day_fact`, in the same
-- transaction. Same dialect tokens as 0001_dealer_model.sql.
CREATE TABLE sales_dim_day_fact (
    day {{date}} NOT NULL,
    part BIGINT NOT NULL,
    store_id BIGINT NOT NULL,
    dim BIGINT NOT NULL,
    k TEXT NOT NULL,
    a BIGINT NOT NULL,
    b BIGINT NOT NULL,
    c BIGINT NOT NULL
);
CREATE INDEX sales_dim_day_fact_read ON sales_dim_day_fact (dim, day, store_id, part, k, a, b, c);

-- Whole months only (the first day of the month), for months before the one `built_until`
-- falls in.
CREATE TABLE sales_dim_month_fact (
    month {{date}} NOT NULL,
    part BIGINT NOT NULL,
    store_id BIGINT NOT NULL,
    dim BIGINT NOT NULL,
    k TEXT NOT NULL,
    a BIGINT NOT NULL,
    b BIGINT NOT NULL,
    c BIGINT NOT NULL
);
CREATE INDEX sales_dim_month_fact_read ON sales_dim_month_fact (dim, month, store_id, part, k, a, b, c);

-- Until the next rebuild fills these, the analytics read the records themselves.
UPDATE sales_fact_state SET built_until = NULL, built_at = NULL;
