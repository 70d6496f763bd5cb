#!/usr/bin/env bash
# The issue-4 import benchmark: a ROWS-row DMS customer export (default 1,000,000, written
# by `dealerbase import generate`: UTF-8 CSV with Chinese headers, repeats and bad rows)
# imported with validation and de-duplication into a new SQLite file and a new PostgreSQL
# database (each holding a one-store demo group, so store S01 and the user admin exist),
# with the wall time, the CPU time and the peak memory (max RSS) of each run, and the load
# average before it (other work on the machine inflates the wall time).
#
#   bash bench/import.sh                  # 1,000,000 rows
#   ROWS=100000 bash bench/import.sh      # a quick check
#   PG=postgres://postgres@127.0.0.1:5432 bash bench/import.sh   # server for the PG half
#
# Needs /usr/bin/time (and psql for the PostgreSQL half); builds the release binary.
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS="${ROWS:-1000000}"
PG="${PG:-postgres://postgres@127.0.0.1:5432}"
OUT="${OUT:-bench/out/import}"
mkdir -p "$OUT"
BIN="${BIN:-${CARGO_TARGET_DIR:-target}/release/dealerbase}"
[ -x "$BIN" ] || cargo build --release -p dealerbase --locked
# v2: the generator gives each person their own ID number (v1 repeated them every 63,000
# people); a file written by the first version is not reused.
CSV="$OUT/customers-$ROWS.v2.csv"
[ -f "$CSV" ] || "$BIN" import generate --rows "$ROWS" -o "$CSV"

prepare() { # $1 = database URL: a one-store demo group (store S01, user admin)
  "$BIN" demo --customers 100 --stores 1 --seed 1 --database-url "$1" >/dev/null 2>&1
}

run() { # $1 = label, $2 = database URL
  echo "== $1 (load $(cut -d' ' -f1-3 /proc/loadavg))"
  /usr/bin/time -f "peak RSS %M KiB, wall %e s, CPU user %U s + system %S s" \
    "$BIN" import customers "$CSV" --store S01 --database-url "$2" --report "$OUT/report-$1.csv" 2>&1 | tail -4
}

rm -f "$OUT/bench.db"*
prepare "sqlite://$OUT/bench.db"
run sqlite "sqlite://$OUT/bench.db"

if command -v psql >/dev/null && psql "$PG/postgres" -Atqc 'SELECT 1' >/dev/null 2>&1; then
  psql "$PG/postgres" -qc 'DROP DATABASE IF EXISTS dealerbase_import_bench WITH (FORCE)' >/dev/null
  psql "$PG/postgres" -qc 'CREATE DATABASE dealerbase_import_bench' >/dev/null
  prepare "$PG/dealerbase_import_bench"
  run postgres "$PG/dealerbase_import_bench"
  psql "$PG/postgres" -qc 'DROP DATABASE dealerbase_import_bench WITH (FORCE)' >/dev/null
else
  echo "PostgreSQL at $PG not reachable: PostgreSQL half skipped"
fi
