-- Latest state of every order: drop events without keys, standardize status, keep the newest event.
WITH cleaned AS (
    SELECT
        order_id,
        customer_id,
        lower(trim(status)) AS status,
        CAST(total_amount AS DECIMAL(10, 2)) AS total_amount,
        CAST(items_count AS INTEGER) AS items_count,
        CAST(event_ts AS TIMESTAMP) AS event_ts
    FROM orders.order_events
    WHERE order_id IS NOT NULL AND customer_id IS NOT NULL
)
SELECT
    order_id,
    customer_id,
    CAST(event_ts AS DATE) AS order_date,
    total_amount,
    status,
    items_count,
    event_ts AS updated_at
FROM cleaned
QUALIFY row_number() OVER (PARTITION BY order_id ORDER BY event_ts DESC) = 1
