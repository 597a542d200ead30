-- Latest record per customer, emails lower-cased, countries upper-cased.
SELECT
    customer_id,
    trim(full_name) AS full_name,
    lower(trim(email)) AS email,
    phone,
    CAST(date_of_birth AS DATE) AS date_of_birth,
    upper(country) AS country,
    upper(region) AS region,
    CAST(signup_date AS DATE) AS signup_date
FROM customers.customer_records
WHERE customer_id IS NOT NULL
QUALIFY row_number() OVER (PARTITION BY customer_id ORDER BY signup_date DESC) = 1
