-- as carl@company.com: SELECT * FROM customers.customer_profiles
SELECT * FROM read_parquet([<files>], union_by_name = true) LIMIT 0;
CREATE OR REPLACE TEMP VIEW "__lakemesh_customers__customer_profiles" AS SELECT "customer_id", "full_name", "email", "phone", "date_of_birth", "country", "region", "signup_date" FROM read_parquet([<files>], union_by_name = true);
CREATE SCHEMA IF NOT EXISTS "customers";
CREATE OR REPLACE VIEW "customers"."customer_profiles" AS SELECT "customer_id", lakemesh_decrypt("full_name", CAST("customer_id" AS VARCHAR)) AS "full_name", lakemesh_decrypt("email", CAST("customer_id" AS VARCHAR)) AS "email", lakemesh_decrypt("phone", CAST("customer_id" AS VARCHAR)) AS "phone", CAST(date_trunc('year', CAST(lakemesh_decrypt("date_of_birth", CAST("customer_id" AS VARCHAR)) AS DATE)) AS DATE) AS "date_of_birth", "country", "region", "signup_date" FROM "__lakemesh_customers__customer_profiles" WHERE (region = 'AMER');
SELECT * FROM customers.customer_profiles;

-- as carl@company.com: SELECT customer_id, email, phone FROM customers.customer_profiles WHERE date_of_birth < DATE '1990-01-01'
SELECT * FROM read_parquet([<files>], union_by_name = true) LIMIT 0;
CREATE OR REPLACE TEMP VIEW "__lakemesh_customers__customer_profiles" AS SELECT "customer_id", "full_name", "email", "phone", "date_of_birth", "country", "region", "signup_date" FROM read_parquet([<files>], union_by_name = true);
CREATE SCHEMA IF NOT EXISTS "customers";
CREATE OR REPLACE VIEW "customers"."customer_profiles" AS SELECT "customer_id", lakemesh_decrypt("full_name", CAST("customer_id" AS VARCHAR)) AS "full_name", lakemesh_decrypt("email", CAST("customer_id" AS VARCHAR)) AS "email", lakemesh_decrypt("phone", CAST("customer_id" AS VARCHAR)) AS "phone", CAST(date_trunc('year', CAST(lakemesh_decrypt("date_of_birth", CAST("customer_id" AS VARCHAR)) AS DATE)) AS DATE) AS "date_of_birth", "country", "region", "signup_date" FROM "__lakemesh_customers__customer_profiles" WHERE (region = 'AMER');
SELECT customer_id, email, phone FROM customers.customer_profiles WHERE date_of_birth < CAST('1990-01-01' AS DATE);

-- as carl@company.com: SELECT * FROM customers.customer_records
-- denied: carl@company.com is not granted read on customers.customer_records

-- as carl@company.com: SELECT order_date, SUM(total_amount) AS revenue FROM orders.analytics_orders GROUP BY order_date
-- denied: carl@company.com is not granted read on orders.analytics_orders

-- as carl@company.com: SELECT p.region, COUNT(*) AS orders FROM orders.analytics_orders AS o JOIN customers.customer_profiles AS p USING (customer_id) GROUP BY p.region
-- denied: carl@company.com is not granted read on orders.analytics_orders

-- as carl@company.com: WITH c AS (SELECT full_name FROM customers.customer_profiles) SELECT COUNT(*) FROM c
SELECT * FROM read_parquet([<files>], union_by_name = true) LIMIT 0;
CREATE OR REPLACE TEMP VIEW "__lakemesh_customers__customer_profiles" AS SELECT "customer_id", "full_name", "email", "phone", "date_of_birth", "country", "region", "signup_date" FROM read_parquet([<files>], union_by_name = true);
CREATE SCHEMA IF NOT EXISTS "customers";
CREATE OR REPLACE VIEW "customers"."customer_profiles" AS SELECT "customer_id", lakemesh_decrypt("full_name", CAST("customer_id" AS VARCHAR)) AS "full_name", lakemesh_decrypt("email", CAST("customer_id" AS VARCHAR)) AS "email", lakemesh_decrypt("phone", CAST("customer_id" AS VARCHAR)) AS "phone", CAST(date_trunc('year', CAST(lakemesh_decrypt("date_of_birth", CAST("customer_id" AS VARCHAR)) AS DATE)) AS DATE) AS "date_of_birth", "country", "region", "signup_date" FROM "__lakemesh_customers__customer_profiles" WHERE (region = 'AMER');
WITH c AS (SELECT full_name FROM customers.customer_profiles) SELECT COUNT(*) FROM c;

