#!/bin/bash
# unit_store.sh - the store's unit test (tests/unit/test_store.c) again,
# with the same expectations, on two databases of a private PostgreSQL:
# the secret added by the first commit and kept by later ones, never
# listed as a user, each store with its own.
set -euo pipefail
: "${UNIT_STORE:?UNIT_STORE must name the unit-store-pg binary}"
. "$(dirname "$0")/pglib.sh"
pg_require
trap pg_cleanup EXIT
pg_start
for db in store other; do
	pg_createdb "$db"
	pg_psql "$db" -f "$(dirname "$0")/../../sql/schema.sql" >/dev/null
done
AUTHD_TEST_PG_STORE=$(pg_conninfo store) AUTHD_TEST_PG_OTHER=$(pg_conninfo other) "$UNIT_STORE"
