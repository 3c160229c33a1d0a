-- schema.sql - authd's credential store in PostgreSQL (store = postgresql).
--
-- The same record model as the GDBM store (userdb/userdb.h): one row per
-- user, keyed by user@realm exactly as the store normalises it
-- (userdb/name.h), holding the record bytes that userdb/record.c encodes,
-- so flags and {SCHEME} verifiers are byte-identical between the stores
-- and pwtool export | import moves a store either way unchanged.  The
-- store's two records that are nobody's (the secret and the SCRAM
-- iteration histogram) are columns of the one row of authd_store.
--
-- Apply it with `pwtool init` (which records the version and refuses a
-- database of a later one), or by hand: psql -1 -f schema.sql.  It is
-- idempotent: running it on a current database changes nothing.
-- Tables are created in the connection's search_path (a schema of the
-- site's choice: options='-c search_path=authd' in the connection string).

-- The schema's version: upgrades are steps guarded by it, appended here.
CREATE TABLE IF NOT EXISTS authd_schema (
	version integer NOT NULL
);
INSERT INTO authd_schema (version)
	SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM authd_schema);

-- The users.  COLLATE "C": keys compare and sort bytewise, as the GDBM
-- store lists them (pwtool list, export).  The key is UTF-8 (name.h only
-- admits valid UTF-8 user names and ASCII realms); the database should be
-- created with ENCODING 'UTF8'.
CREATE TABLE IF NOT EXISTS authd_users (
	key text COLLATE "C" PRIMARY KEY
		CHECK (octet_length(key) BETWEEN 3 AND 509 AND key LIKE '%_@_%'),
	record bytea NOT NULL
);

-- The store itself, one row (id = 1):
--  secret       USERDB_SECRET_KEY: 32 random bytes that the first commit
--               sets; NULL until then (a store "not made yet", as a GDBM
--               store before its first commit).
--  scram_iters  USERDB_ITERS_KEY: the histogram of SCRAM iteration counts
--               (userdb/scram_iters.h), rewritten by every commit.
--  changes      the change counter: every pwtool commit adds one, so a
--               reader (a cache) can tell whether anything changed.
-- Writers (pwtool) lock this row FOR UPDATE for their whole transaction:
-- one writer at a time, as the GDBM store's flock, which keeps "exists"
-- checks and the histogram right under concurrent writers.
CREATE TABLE IF NOT EXISTS authd_store (
	id integer PRIMARY KEY CHECK (id = 1),
	secret bytea CHECK (secret IS NULL OR octet_length(secret) = 32),
	scram_iters bytea,
	changes bigint NOT NULL DEFAULT 0
);
INSERT INTO authd_store (id) VALUES (1) ON CONFLICT (id) DO NOTHING;

-- NOTIFY authd_store, payload the new change counter, when a commit
-- lands (delivered at COMMIT, only if it commits), for whatever else
-- watches the store.  authd does not need it: every check reads the
-- record, whose fingerprint keeps its cache right, and the counter comes
-- back with that read (authd/storepool.h).
CREATE OR REPLACE FUNCTION authd_store_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify('authd_store', NEW.changes::text);
	RETURN NULL;
END;
$$;
DROP TRIGGER IF EXISTS authd_store_changed ON authd_store;
CREATE TRIGGER authd_store_changed
	AFTER UPDATE OF changes ON authd_store
	FOR EACH ROW WHEN (OLD.changes IS DISTINCT FROM NEW.changes)
	EXECUTE FUNCTION authd_store_notify();

-- A change to authd_users made by hand (SQL, not pwtool) does not move
-- the counter; it still notifies, with the payload 'users' (PostgreSQL
-- folds identical notifications of one transaction into one).  A trigger
-- that moved the counter per statement would update one row once per
-- statement of an import: per-statement work that grows with the batch.
CREATE OR REPLACE FUNCTION authd_users_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify('authd_store', 'users');
	RETURN NULL;
END;
$$;
DROP TRIGGER IF EXISTS authd_users_changed ON authd_users;
CREATE TRIGGER authd_users_changed
	AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON authd_users
	FOR EACH STATEMENT EXECUTE FUNCTION authd_users_notify();
