-- Name fragments on PostgreSQL as an array in the customer row under a GIN index (issue 4):
-- a million-customer import wrote 3.7M fragment rows into a table with two B-trees, 15 s of
-- the server's time; the same fragments as arrays under a GIN index (whose pending list is
-- merged into the index in bulk) take 3 s. Searches ask for every pair of the fragment
-- (`name_grams @> ARRAY[…]`). SQLite keeps the fragment table: it has no GIN, and its bulk
-- inserts of fragment rows in key order are cheap. Written only through the store's
-- `NameGrams` (forms, imports, merges, the demo).
--@postgres
ALTER TABLE customer ADD COLUMN name_grams TEXT[];
UPDATE customer c SET name_grams = g.grams
FROM (SELECT customer_id, array_agg(gram ORDER BY gram) AS grams FROM customer_name_gram GROUP BY customer_id) g
WHERE g.customer_id = c.id;
CREATE INDEX customer_name_grams ON customer USING gin (name_grams);
DROP TABLE customer_name_gram;
--@end
SELECT 1;
