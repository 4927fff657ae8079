"""The bare table: the columns of an event, a primary key and nothing else (no index, no
foreign key). Plain text so the benchmark creates it without importing Django."""
TABLE_SQL = """
CREATE TABLE IF NOT EXISTS bare_event (
    id bigserial PRIMARY KEY,
    name varchar(100) NOT NULL,
    profile jsonb NOT NULL,
    properties jsonb NOT NULL,
    occurred_at timestamptz NOT NULL,
    idempotency_key varchar(128)
)"""
