-- The k-means cluster of each scored customer (issue 7 point 1 / issue 8 point 1): 1 is the
-- largest cluster of the run; NULL in snapshots written before this column existed.
ALTER TABLE customer_score ADD COLUMN cluster BIGINT;
