#!/usr/bin/env bash
# The server's time per pass, by kind of statement, for cases of redsink_bench_loaders: where the
# database spends a pass of each case (docs/benchmarks.md, "The server's time per statement").
# Runs under scripts/with-postgres, whose throwaway server it restarts with pg_stat_statements:
#
#   scripts/with-postgres benchmarks/statement_times.sh FILTER...
#
# FILTER: a --benchmark_filter of one case each, e.g. '^narrow/sink_redshift_upsert/batch:10000/tasks:1/'.
# Each case runs REPS times (default 5) after the statistics are reset; the table shows the
# server's execution time per pass (the mean over the passes) and the statements per pass, the
# case's setup (the table's creation, first fill and emptying, the check of its contents) left out.
# BUILD: the build directory (default build-bench, as scripts/bench builds it).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BUILD:-$root/build-bench}
reps=${REPS:-5}
bench="$build/benchmarks/redsink_bench_loaders"
if [[ $# -eq 0 ]]; then
  echo "usage: scripts/with-postgres benchmarks/statement_times.sh FILTER..." >&2
  exit 2
fi
if [[ -z ${REDSINK_TEST_PGDATA:-} || -z ${REDSINK_TEST_PGCTL:-} ]]; then
  echo "statement_times.sh: run it under scripts/with-postgres (it restarts that throwaway server)" >&2
  exit 2
fi
if [[ ! -x $bench ]]; then
  echo "statement_times.sh: $bench is missing (build it: scripts/bench builds $root/build-bench)" >&2
  exit 1
fi

echo "shared_preload_libraries = 'pg_stat_statements'" >>"$REDSINK_TEST_PGDATA/redsink.conf"
echo "pg_stat_statements.max = 10000" >>"$REDSINK_TEST_PGDATA/redsink.conf"
"$REDSINK_TEST_PGCTL" restart -m fast -w >/dev/null
psql=("${REDSINK_PGBIN:-/usr/lib/postgresql/15/bin}/psql" -X -q -v ON_ERROR_STOP=1 -h "$REDSINK_TEST_HOST"
  -p "$REDSINK_TEST_PORT" -U postgres -d redsink)
"${psql[@]}" -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"

# Statements grouped by what they do; a table's own OID makes a statement an entry of its own, so
# entries are summed by kind. NULL: the case's setup and check.
kinds="
  WITH k AS (
    SELECT CASE
        WHEN query ~* '^INSERT INTO (\"redsink_stage\"|bench_stage)' THEN 'fill the stage: INSERT ... VALUES'
        WHEN query ~* '^(CREATE TEMP|DELETE FROM \"?(redsink_stage|bench_stage)\"?$|TRUNCATE \"?(redsink_stage|bench_stage)|DROP TABLE IF EXISTS \"?(redsink_stage|bench_stage))'
          THEN 'the stage: create or empty'
        WHEN query ~* '^DELETE FROM .* USING' THEN 'apply: DELETE ... USING the stage'
        WHEN query ~* '^INSERT INTO .* SELECT' THEN 'apply: INSERT ... SELECT from the stage'
        WHEN query ~* '^MERGE' THEN 'apply: MERGE ... USING the stage'
        WHEN query ~* '^INSERT INTO .* VALUES' THEN 'the target: INSERT ... VALUES'
        WHEN query ~* '^LOCK' THEN 'LOCK'
        WHEN query ~* '^(COPY|ANALYZE|CREATE TABLE|DROP TABLE|CREATE SCHEMA|TRUNCATE|SELECT pg_stat|SELECT count)' THEN NULL
        ELSE 'other: ' || left(regexp_replace(query, '\\s+', ' ', 'g'), 50) END AS kind,
      total_exec_time, calls
    FROM pg_stat_statements)
  SELECT line FROM (
    SELECT 0 AS last, sum(total_exec_time) AS time, '| ' || kind || ' | ' ||
           round((sum(total_exec_time) / $reps)::numeric, 1) || ' ms | ' || round(sum(calls)::numeric / $reps, 1) || ' |' AS line
    FROM k WHERE kind IS NOT NULL GROUP BY kind HAVING sum(total_exec_time) / $reps >= 0.1
    UNION ALL
    SELECT 1, sum(total_exec_time), '| **all** | ' || round((sum(total_exec_time) / $reps)::numeric, 1) || ' ms | ' ||
           round(sum(calls)::numeric / $reps, 1) || ' |'
    FROM k WHERE kind IS NOT NULL) lines
  ORDER BY last, time DESC"

for filter in "$@"; do
  "${psql[@]}" -At -c "SELECT pg_stat_statements_reset()" >/dev/null
  median=$("$bench" --benchmark_filter="$filter" --benchmark_repetitions="$reps" \
    --benchmark_report_aggregates_only=true 2>/dev/null | awk '/_median/ {print $2, $3; exit}')
  echo
  echo "\`$filter\`: wall time of a pass ${median:-(no such case)}, median of $reps"
  echo
  echo "| statements | server time per pass | per pass |"
  echo "|---|---:|---:|"
  "${psql[@]}" -At -c "$kinds"
done
