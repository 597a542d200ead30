"""Change data capture: PostgreSQL logical replication to Debezium-format events, applied exactly once."""
