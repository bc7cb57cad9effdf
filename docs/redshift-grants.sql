-- The least privileges a redsink sink needs, for an admin to run once per database.
-- Replace the names: database dev, schema streamkap, group redsink_writers, user redsink_loader,
-- and the password. The test suite runs this very file on PostgreSQL and writes through a sink
-- as redsink_loader (tests/sink/grants_test.cpp).

-- A group holds the privileges; users who load data join it.
CREATE GROUP redsink_writers;
CREATE USER redsink_loader PASSWORD 'Change-me-2026';
ALTER GROUP redsink_writers ADD USER redsink_loader;

-- The schema the sink writes to. CREATE lets the sink create missing tables (create_table,
-- evolve_schema); it owns what it creates, which lets evolve_schema add columns to them.
CREATE SCHEMA IF NOT EXISTS streamkap;
GRANT USAGE, CREATE ON SCHEMA streamkap TO GROUP redsink_writers;

-- The stage table of every batch is a TEMP table.
GRANT TEMP ON DATABASE dev TO GROUP redsink_writers;

-- Tables that an admin created (fixed_schema), now and later: read the key columns, insert,
-- update (soft_delete), delete (upsert, hard_delete; also what LOCK needs). The sink's own
-- tables are covered too: redsink_lock_<table> (LOCK), the dead-letter table (INSERT), with
-- exactly_once, redsink_positions_<table> (SELECT, INSERT, UPDATE) and, with newest_wins,
-- redsink_tombstones_<table> (SELECT, INSERT, DELETE), created through CREATE above.
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA streamkap TO GROUP redsink_writers;
ALTER DEFAULT PRIVILEGES IN SCHEMA streamkap GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO GROUP redsink_writers;
