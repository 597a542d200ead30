-- orders.daily_sales_summary
SELECT * FROM read_parquet([<files>], union_by_name = true) LIMIT 0;
CREATE OR REPLACE TEMP VIEW "__lakemesh_orders__daily_sales_summary" AS SELECT "order_date", "orders_count", "revenue", "avg_order_value", "unique_customers" FROM read_parquet([<files>], union_by_name = true);
CREATE SCHEMA IF NOT EXISTS "orders";
CREATE OR REPLACE VIEW "orders"."daily_sales_summary" AS SELECT * FROM "__lakemesh_orders__daily_sales_summary";
SELECT * FROM "orders"."daily_sales_summary" LIMIT 0;
WITH __lakemesh_dup_10order_date AS (SELECT "order_date", COUNT(*) AS __lakemesh_copies FROM "orders"."daily_sales_summary" WHERE NOT "order_date" IS NULL GROUP BY "order_date" HAVING COUNT(*) > 1) SELECT COUNT_IF("order_date" IS NULL) AS m0, COUNT(*) AS m1, COUNT_IF("orders_count" IS NULL) AS m2, COUNT(*) AS m3, COUNT_IF(NOT "orders_count" IS NULL AND "orders_count" < 0) AS m4, COUNT("orders_count") AS m5, COUNT_IF("unique_customers" IS NULL) AS m6, COUNT(*) AS m7, (SELECT SUM(__lakemesh_copies) FROM __lakemesh_dup_10order_date) AS m8, COUNT_IF(NOT "order_date" IS NULL) AS m9, (SELECT ARRAY_AGG(x) FROM (SELECT {'order_date': "order_date", 'copies': __lakemesh_copies} AS x FROM __lakemesh_dup_10order_date ORDER BY __lakemesh_copies DESC LIMIT 3)) AS m10, COUNT(*) AS m11, COUNT_IF("order_date" IS NULL OR "orders_count" IS NULL OR (NOT "orders_count" IS NULL AND "orders_count" < 0) OR "unique_customers" IS NULL) AS m12 FROM "orders"."daily_sales_summary";

