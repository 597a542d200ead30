-- Business aggregates per day; cancelled orders earn no revenue.
SELECT
    order_date,
    count(*) AS orders_count,
    sum(total_amount) FILTER (WHERE status <> 'cancelled') AS revenue,
    avg(total_amount) FILTER (WHERE status <> 'cancelled') AS avg_order_value,
    count(DISTINCT customer_id) AS unique_customers
FROM orders.analytics_orders
GROUP BY order_date
