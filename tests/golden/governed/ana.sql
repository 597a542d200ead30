-- as ana@company.com: SELECT * FROM customers.customer_profiles
SELECT * FROM read_parquet([<files>], union_by_name = true) LIMIT 0;
CREATE OR REPLACE TEMP VIEW "__lakemesh___lakemesh_raw__customers__customer_profiles" AS SELECT "customer_id", "full_name", "email", "phone", "date_of_birth", "country", "region", "signup_date" FROM read_parquet([<files>], union_by_name = true);
CREATE SCHEMA IF NOT EXISTS "__lakemesh_raw";
CREATE OR REPLACE VIEW "__lakemesh_raw"."customers__customer_profiles" AS SELECT * FROM "__lakemesh___lakemesh_raw__customers__customer_profiles";
SELECT DISTINCT CAST(lakemesh_decrypt("email", CAST("customer_id" AS VARCHAR)) AS VARCHAR) AS v FROM "__lakemesh_raw"."customers__customer_profiles" WHERE CAST(lakemesh_decrypt("email", CAST("customer_id" AS VARCHAR)) AS VARCHAR) IS NOT NULL;
CREATE SCHEMA IF NOT EXISTS "__lakemesh_pseudonyms";
CREATE OR REPLACE VIEW "__lakemesh_pseudonyms"."customers__customer_profiles__0" AS SELECT * FROM "__lakemesh___lakemesh_pseudonyms__customers__customer_profiles__0";
SELECT * FROM read_parquet([<files>], union_by_name = true) LIMIT 0;
CREATE OR REPLACE TEMP VIEW "__lakemesh_customers__customer_profiles" AS SELECT "customer_id", "full_name", "email", "phone", "date_of_birth", "country", "region", "signup_date" FROM read_parquet([<files>], union_by_name = true);
CREATE SCHEMA IF NOT EXISTS "customers";
CREATE OR REPLACE VIEW "customers"."customer_profiles" AS SELECT "customer_id", '***' AS "full_name", CASE WHEN lakemesh_decrypt("email", CAST("customer_id" AS VARCHAR)) IS NULL THEN NULL ELSE (SELECT m.__lakemesh_pseudonym FROM "__lakemesh_pseudonyms"."customers__customer_profiles__0" AS m WHERE m.__lakemesh_clear = CAST(lakemesh_decrypt("email", CAST("customer_id" AS VARCHAR)) AS VARCHAR)) END AS "email", CASE WHEN lakemesh_decrypt("phone", CAST("customer_id" AS VARCHAR)) IS NULL THEN NULL ELSE '***' || right(CAST(lakemesh_decrypt("phone", CAST("customer_id" AS VARCHAR)) AS VARCHAR), 4) END AS "phone", CAST(date_trunc('year', CAST(lakemesh_decrypt("date_of_birth", CAST("customer_id" AS VARCHAR)) AS DATE)) AS DATE) AS "date_of_birth", "country", "region", "signup_date" FROM "__lakemesh_customers__customer_profiles" WHERE (region = 'EMEA');
SELECT * FROM customers.customer_profiles;

-- as ana@company.com: SELECT customer_id, email, phone FROM customers.customer_profiles WHERE date_of_birth < DATE '1990-01-01'
SELECT * FROM read_parquet([<files>], union_by_name = true) LIMIT 0;
CREATE OR REPLACE TEMP VIEW "__lakemesh___lakemesh_raw__customers__customer_profiles" AS SELECT "customer_id", "full_name", "email", "phone", "date_of_birth", "country", "region", "signup_date" FROM read_parquet([<files>], union_by_name = true);
CREATE SCHEMA IF NOT EXISTS "__lakemesh_raw";
CREATE OR REPLACE VIEW "__lakemesh_raw"."customers__customer_profiles" AS SELECT * FROM "__lakemesh___lakemesh_raw__customers__customer_profiles";
SELECT DISTINCT CAST(lakemesh_decrypt("email", CAST("customer_id" AS VARCHAR)) AS VARCHAR) AS v FROM "__lakemesh_raw"."customers__customer_profiles" WHERE CAST(lakemesh_decrypt("email", CAST("customer_id" AS VARCHAR)) AS VARCHAR) IS NOT NULL;
CREATE SCHEMA IF NOT EXISTS "__lakemesh_pseudonyms";
CREATE OR REPLACE VIEW "__lakemesh_pseudonyms"."customers__customer_profiles__0" AS SELECT * FROM "__lakemesh___lakemesh_pseudonyms__customers__customer_profiles__0";
SELECT * FROM read_parquet([<files>], union_by_name = true) LIMIT 0;
CREATE OR REPLACE TEMP VIEW "__lakemesh_customers__customer_profiles" AS SELECT "customer_id", "full_name", "email", "phone", "date_of_birth", "country", "region", "signup_date" FROM read_parquet([<files>], union_by_name = true);
CREATE SCHEMA IF NOT EXISTS "customers";
CREATE OR REPLACE VIEW "customers"."customer_profiles" AS SELECT "customer_id", '***' AS "full_name", CASE WHEN lakemesh_decrypt("email", CAST("customer_id" AS VARCHAR)) IS NULL THEN NULL ELSE (SELECT m.__lakemesh_pseudonym FROM "__lakemesh_pseudonyms"."customers__customer_profiles__0" AS m WHERE m.__lakemesh_clear = CAST(lakemesh_decrypt("email", CAST("customer_id" AS VARCHAR)) AS VARCHAR)) END AS "email", CASE WHEN lakemesh_decrypt("phone", CAST("customer_id" AS VARCHAR)) IS NULL THEN NULL ELSE '***' || right(CAST(lakemesh_decrypt("phone", CAST("customer_id" AS VARCHAR)) AS VARCHAR), 4) END AS "phone", CAST(date_trunc('year', CAST(lakemesh_decrypt("date_of_birth", CAST("customer_id" AS VARCHAR)) AS DATE)) AS DATE) AS "date_of_birth", "country", "region", "signup_date" FROM "__lakemesh_customers__customer_profiles" WHERE (region = 'EMEA');
SELECT customer_id, email, phone FROM customers.customer_profiles WHERE date_of_birth < CAST('1990-01-01' AS DATE);

-- as ana@company.com: SELECT * FROM customers.customer_records
-- denied: ana@company.com is not granted read on customers.customer_records

-- as ana@company.com: SELECT order_date, SUM(total_amount) AS revenue FROM orders.analytics_orders GROUP BY order_date
SELECT * FROM read_parquet([<files>], union_by_name = true) LIMIT 0;
CREATE OR REPLACE TEMP VIEW "__lakemesh_orders__analytics_orders" AS SELECT "order_id", "customer_id", "order_date", "total_amount", "status", "items_count", "updated_at" FROM read_parquet([<files>], union_by_name = true);
CREATE SCHEMA IF NOT EXISTS "orders";
CREATE OR REPLACE VIEW "orders"."analytics_orders" AS SELECT "order_id", "customer_id", "order_date", "total_amount", "status", "items_count", "updated_at" FROM "__lakemesh_orders__analytics_orders";
SELECT order_date, SUM(total_amount) AS revenue FROM orders.analytics_orders GROUP BY order_date;

-- as ana@company.com: SELECT p.region, COUNT(*) AS orders FROM orders.analytics_orders AS o JOIN customers.customer_profiles AS p USING (customer_id) GROUP BY p.region
SELECT * FROM read_parquet([<files>], union_by_name = true) LIMIT 0;
CREATE OR REPLACE TEMP VIEW "__lakemesh___lakemesh_raw__customers__customer_profiles" AS SELECT "customer_id", "full_name", "email", "phone", "date_of_birth", "country", "region", "signup_date" FROM read_parquet([<files>], union_by_name = true);
CREATE SCHEMA IF NOT EXISTS "__lakemesh_raw";
CREATE OR REPLACE VIEW "__lakemesh_raw"."customers__customer_profiles" AS SELECT * FROM "__lakemesh___lakemesh_raw__customers__customer_profiles";
SELECT DISTINCT CAST(lakemesh_decrypt("email", CAST("customer_id" AS VARCHAR)) AS VARCHAR) AS v FROM "__lakemesh_raw"."customers__customer_profiles" WHERE CAST(lakemesh_decrypt("email", CAST("customer_id" AS VARCHAR)) AS VARCHAR) IS NOT NULL;
CREATE SCHEMA IF NOT EXISTS "__lakemesh_pseudonyms";
CREATE OR REPLACE VIEW "__lakemesh_pseudonyms"."customers__customer_profiles__0" AS SELECT * FROM "__lakemesh___lakemesh_pseudonyms__customers__customer_profiles__0";
SELECT * FROM read_parquet([<files>], union_by_name = true) LIMIT 0;
CREATE OR REPLACE TEMP VIEW "__lakemesh_customers__customer_profiles" AS SELECT "customer_id", "full_name", "email", "phone", "date_of_birth", "country", "region", "signup_date" FROM read_parquet([<files>], union_by_name = true);
CREATE SCHEMA IF NOT EXISTS "customers";
CREATE OR REPLACE VIEW "customers"."customer_profiles" AS SELECT "customer_id", '***' AS "full_name", CASE WHEN lakemesh_decrypt("email", CAST("customer_id" AS VARCHAR)) IS NULL THEN NULL ELSE (SELECT m.__lakemesh_pseudonym FROM "__lakemesh_pseudonyms"."customers__customer_profiles__0" AS m WHERE m.__lakemesh_clear = CAST(lakemesh_decrypt("email", CAST("customer_id" AS VARCHAR)) AS VARCHAR)) END AS "email", CASE WHEN lakemesh_decrypt("phone", CAST("customer_id" AS VARCHAR)) IS NULL THEN NULL ELSE '***' || right(CAST(lakemesh_decrypt("phone", CAST("customer_id" AS VARCHAR)) AS VARCHAR), 4) END AS "phone", CAST(date_trunc('year', CAST(lakemesh_decrypt("date_of_birth", CAST("customer_id" AS VARCHAR)) AS DATE)) AS DATE) AS "date_of_birth", "country", "region", "signup_date" FROM "__lakemesh_customers__customer_profiles" WHERE (region = 'EMEA');
SELECT * FROM read_parquet([<files>], union_by_name = true) LIMIT 0;
CREATE OR REPLACE TEMP VIEW "__lakemesh_orders__analytics_orders" AS SELECT "order_id", "customer_id", "order_date", "total_amount", "status", "items_count", "updated_at" FROM read_parquet([<files>], union_by_name = true);
CREATE SCHEMA IF NOT EXISTS "orders";
CREATE OR REPLACE VIEW "orders"."analytics_orders" AS SELECT "order_id", "customer_id", "order_date", "total_amount", "status", "items_count", "updated_at" FROM "__lakemesh_orders__analytics_orders";
SELECT p.region, COUNT(*) AS orders FROM orders.analytics_orders AS o JOIN customers.customer_profiles AS p USING (customer_id) GROUP BY p.region;

-- as ana@company.com: WITH c AS (SELECT full_name FROM customers.customer_profiles) SELECT COUNT(*) FROM c
SELECT * FROM read_parquet([<files>], union_by_name = true) LIMIT 0;
CREATE OR REPLACE TEMP VIEW "__lakemesh___lakemesh_raw__customers__customer_profiles" AS SELECT "customer_id", "full_name", "email", "phone", "date_of_birth", "country", "region", "signup_date" FROM read_parquet([<files>], union_by_name = true);
CREATE SCHEMA IF NOT EXISTS "__lakemesh_raw";
CREATE OR REPLACE VIEW "__lakemesh_raw"."customers__customer_profiles" AS SELECT * FROM "__lakemesh___lakemesh_raw__customers__customer_profiles";
SELECT DISTINCT CAST(lakemesh_decrypt("email", CAST("customer_id" AS VARCHAR)) AS VARCHAR) AS v FROM "__lakemesh_raw"."customers__customer_profiles" WHERE CAST(lakemesh_decrypt("email", CAST("customer_id" AS VARCHAR)) AS VARCHAR) IS NOT NULL;
CREATE SCHEMA IF NOT EXISTS "__lakemesh_pseudonyms";
CREATE OR REPLACE VIEW "__lakemesh_pseudonyms"."customers__customer_profiles__0" AS SELECT * FROM "__lakemesh___lakemesh_pseudonyms__customers__customer_profiles__0";
SELECT * FROM read_parquet([<files>], union_by_name = true) LIMIT 0;
CREATE OR REPLACE TEMP VIEW "__lakemesh_customers__customer_profiles" AS SELECT "customer_id", "full_name", "email", "phone", "date_of_birth", "country", "region", "signup_date" FROM read_parquet([<files>], union_by_name = true);
CREATE SCHEMA IF NOT EXISTS "customers";
CREATE OR REPLACE VIEW "customers"."customer_profiles" AS SELECT "customer_id", '***' AS "full_name", CASE WHEN lakemesh_decrypt("email", CAST("customer_id" AS VARCHAR)) IS NULL THEN NULL ELSE (SELECT m.__lakemesh_pseudonym FROM "__lakemesh_pseudonyms"."customers__customer_profiles__0" AS m WHERE m.__lakemesh_clear = CAST(lakemesh_decrypt("email", CAST("customer_id" AS VARCHAR)) AS VARCHAR)) END AS "email", CASE WHEN lakemesh_decrypt("phone", CAST("customer_id" AS VARCHAR)) IS NULL THEN NULL ELSE '***' || right(CAST(lakemesh_decrypt("phone", CAST("customer_id" AS VARCHAR)) AS VARCHAR), 4) END AS "phone", CAST(date_trunc('year', CAST(lakemesh_decrypt("date_of_birth", CAST("customer_id" AS VARCHAR)) AS DATE)) AS DATE) AS "date_of_birth", "country", "region", "signup_date" FROM "__lakemesh_customers__customer_profiles" WHERE (region = 'EMEA');
WITH c AS (SELECT full_name FROM customers.customer_profiles) SELECT COUNT(*) FROM c;

