-- as dora@company.com: SELECT * FROM customers.customer_profiles
SELECT * FROM read_parquet([<files>], union_by_name = true) LIMIT 0;
CREATE OR REPLACE TEMP VIEW "__lakemesh_customers__customer_profiles" AS SELECT "customer_id", "full_name", "email", "phone", "date_of_birth", "country", "region", "signup_date" FROM read_parquet([<files>], union_by_name = true);
CREATE SCHEMA IF NOT EXISTS "customers";
CREATE OR REPLACE VIEW "customers"."customer_profiles" AS SELECT "customer_id", lakemesh_decrypt("full_name", CAST("customer_id" AS VARCHAR)) AS "full_name", lakemesh_decrypt("email", CAST("customer_id" AS VARCHAR)) AS "email", lakemesh_decrypt("phone", CAST("customer_id" AS VARCHAR)) AS "phone", CAST(lakemesh_decrypt("date_of_birth", CAST("customer_id" AS VARCHAR)) AS DATE) AS "date_of_birth", "country", "region", "signup_date" FROM "__lakemesh_customers__customer_profiles";
SELECT * FROM customers.customer_profiles;

-- as dora@company.com: SELECT customer_id, email, phone FROM customers.customer_profiles WHERE date_of_birth < DATE '1990-01-01'
SELECT * FROM read_parquet([<files>], union_by_name = true) LIMIT 0;
CREATE OR REPLACE TEMP VIEW "__lakemesh_customers__customer_profiles" AS SELECT "customer_id", "full_name", "email", "phone", "date_of_birth", "country", "region", "signup_date" FROM read_parquet([<files>], union_by_name = true);
CREATE SCHEMA IF NOT EXISTS "customers";
CREATE OR REPLACE VIEW "customers"."customer_profiles" AS SELECT "customer_id", lakemesh_decrypt("full_name", CAST("customer_id" AS VARCHAR)) AS "full_name", lakemesh_decrypt("email", CAST("customer_id" AS VARCHAR)) AS "email", lakemesh_decrypt("phone", CAST("customer_id" AS VARCHAR)) AS "phone", CAST(lakemesh_decrypt("date_of_birth", CAST("customer_id" AS VARCHAR)) AS DATE) AS "date_of_birth", "country", "region", "signup_date" FROM "__lakemesh_customers__customer_profiles";
SELECT customer_id, email, phone FROM customers.customer_profiles WHERE date_of_birth < CAST('1990-01-01' AS DATE);

-- as dora@company.com: SELECT * FROM customers.customer_records
SELECT * FROM read_parquet([<files>], union_by_name = true) LIMIT 0;
CREATE OR REPLACE TEMP VIEW "__lakemesh_customers__customer_records" AS SELECT "customer_id", "full_name", "email", "phone", "date_of_birth", "country", "region", "signup_date", "_raw", "_record", "_source_file", "_batch_id", "_ingested_at" FROM read_parquet([<files>], union_by_name = true);
CREATE SCHEMA IF NOT EXISTS "customers";
CREATE OR REPLACE VIEW "customers"."customer_records" AS SELECT "customer_id", lakemesh_decrypt("full_name", CAST("customer_id" AS VARCHAR)) AS "full_name", lakemesh_decrypt("email", CAST("customer_id" AS VARCHAR)) AS "email", lakemesh_decrypt("phone", CAST("customer_id" AS VARCHAR)) AS "phone", CAST(lakemesh_decrypt("date_of_birth", CAST("customer_id" AS VARCHAR)) AS DATE) AS "date_of_birth", "country", "region", "signup_date", lakemesh_decrypt("_raw", CAST("customer_id" AS VARCHAR)) AS "_raw", "_record", "_source_file", "_batch_id", "_ingested_at" FROM "__lakemesh_customers__customer_records";
SELECT * FROM customers.customer_records;

-- as dora@company.com: SELECT order_date, SUM(total_amount) AS revenue FROM orders.analytics_orders GROUP BY order_date
SELECT * FROM read_parquet([<files>], union_by_name = true) LIMIT 0;
CREATE OR REPLACE TEMP VIEW "__lakemesh_orders__analytics_orders" AS SELECT "order_id", "customer_id", "order_date", "total_amount", "status", "items_count", "updated_at" FROM read_parquet([<files>], union_by_name = true);
CREATE SCHEMA IF NOT EXISTS "orders";
CREATE OR REPLACE VIEW "orders"."analytics_orders" AS SELECT "order_id", "customer_id", "order_date", "total_amount", "status", "items_count", "updated_at" FROM "__lakemesh_orders__analytics_orders";
SELECT order_date, SUM(total_amount) AS revenue FROM orders.analytics_orders GROUP BY order_date;

-- as dora@company.com: SELECT p.region, COUNT(*) AS orders FROM orders.analytics_orders AS o JOIN customers.customer_profiles AS p USING (customer_id) GROUP BY p.region
SELECT * FROM read_parquet([<files>], union_by_name = true) LIMIT 0;
CREATE OR REPLACE TEMP VIEW "__lakemesh_customers__customer_profiles" AS SELECT "customer_id", "full_name", "email", "phone", "date_of_birth", "country", "region", "signup_date" FROM read_parquet([<files>], union_by_name = true);
CREATE SCHEMA IF NOT EXISTS "customers";
CREATE OR REPLACE VIEW "customers"."customer_profiles" AS SELECT "customer_id", lakemesh_decrypt("full_name", CAST("customer_id" AS VARCHAR)) AS "full_name", lakemesh_decrypt("email", CAST("customer_id" AS VARCHAR)) AS "email", lakemesh_decrypt("phone", CAST("customer_id" AS VARCHAR)) AS "phone", CAST(lakemesh_decrypt("date_of_birth", CAST("customer_id" AS VARCHAR)) AS DATE) AS "date_of_birth", "country", "region", "signup_date" FROM "__lakemesh_customers__customer_profiles";
SELECT * FROM read_parquet([<files>], union_by_name = true) LIMIT 0;
CREATE OR REPLACE TEMP VIEW "__lakemesh_orders__analytics_orders" AS SELECT "order_id", "customer_id", "order_date", "total_amount", "status", "items_count", "updated_at" FROM read_parquet([<files>], union_by_name = true);
CREATE SCHEMA IF NOT EXISTS "orders";
CREATE OR REPLACE VIEW "orders"."analytics_orders" AS SELECT "order_id", "customer_id", "order_date", "total_amount", "status", "items_count", "updated_at" FROM "__lakemesh_orders__analytics_orders";
SELECT p.region, COUNT(*) AS orders FROM orders.analytics_orders AS o JOIN customers.customer_profiles AS p USING (customer_id) GROUP BY p.region;

-- as dora@company.com: WITH c AS (SELECT full_name FROM customers.customer_profiles) SELECT COUNT(*) FROM c
SELECT * FROM read_parquet([<files>], union_by_name = true) LIMIT 0;
CREATE OR REPLACE TEMP VIEW "__lakemesh_customers__customer_profiles" AS SELECT "customer_id", "full_name", "email", "phone", "date_of_birth", "country", "region", "signup_date" FROM read_parquet([<files>], union_by_name = true);
CREATE SCHEMA IF NOT EXISTS "customers";
CREATE OR REPLACE VIEW "customers"."customer_profiles" AS SELECT "customer_id", lakemesh_decrypt("full_name", CAST("customer_id" AS VARCHAR)) AS "full_name", lakemesh_decrypt("email", CAST("customer_id" AS VARCHAR)) AS "email", lakemesh_decrypt("phone", CAST("customer_id" AS VARCHAR)) AS "phone", CAST(lakemesh_decrypt("date_of_birth", CAST("customer_id" AS VARCHAR)) AS DATE) AS "date_of_birth", "country", "region", "signup_date" FROM "__lakemesh_customers__customer_profiles";
WITH c AS (SELECT full_name FROM customers.customer_profiles) SELECT COUNT(*) FROM c;

