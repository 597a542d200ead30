-- customers.customer_profiles
SELECT * REPLACE (lakemesh_decrypt("full_name", CAST("customer_id" AS VARCHAR)) AS "full_name", lakemesh_decrypt("email", CAST("customer_id" AS VARCHAR)) AS "email", lakemesh_decrypt("phone", CAST("customer_id" AS VARCHAR)) AS "phone", CAST(lakemesh_decrypt("date_of_birth", CAST("customer_id" AS VARCHAR)) AS DATE) AS "date_of_birth") FROM t;
-- in clear for roles: customer-care, dpo
SELECT lakemesh_decrypt("full_name", CAST("customer_id" AS VARCHAR)) AS full_name FROM t;
SELECT lakemesh_decrypt("email", CAST("customer_id" AS VARCHAR)) AS email FROM t;
SELECT lakemesh_decrypt("phone", CAST("customer_id" AS VARCHAR)) AS phone FROM t;
SELECT CAST(lakemesh_decrypt("date_of_birth", CAST("customer_id" AS VARCHAR)) AS DATE) AS date_of_birth FROM t;

-- customers.customer_records
SELECT * REPLACE (lakemesh_decrypt("full_name", CAST("customer_id" AS VARCHAR)) AS "full_name", lakemesh_decrypt("email", CAST("customer_id" AS VARCHAR)) AS "email", lakemesh_decrypt("phone", CAST("customer_id" AS VARCHAR)) AS "phone", CAST(lakemesh_decrypt("date_of_birth", CAST("customer_id" AS VARCHAR)) AS DATE) AS "date_of_birth", lakemesh_decrypt("_raw", CAST("customer_id" AS VARCHAR)) AS "_raw") FROM t;
-- in clear for roles: customer-care, dpo
SELECT lakemesh_decrypt("full_name", CAST("customer_id" AS VARCHAR)) AS full_name FROM t;
SELECT lakemesh_decrypt("email", CAST("customer_id" AS VARCHAR)) AS email FROM t;
SELECT lakemesh_decrypt("phone", CAST("customer_id" AS VARCHAR)) AS phone FROM t;
SELECT CAST(lakemesh_decrypt("date_of_birth", CAST("customer_id" AS VARCHAR)) AS DATE) AS date_of_birth FROM t;
SELECT lakemesh_decrypt("_raw", CAST("customer_id" AS VARCHAR)) AS _raw FROM t;

