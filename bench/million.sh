#!/usr/bin/env bash
# The 1M-user run from the CLI, end to end, on one dedicated local Neo4j, then the analytics and
# audience benchmarks on that same loaded graph (so the long load happens once).
#   bench/million.sh [WORKDIR]      (default /tmp/persona-1m; needs ~15 GB free and ~2 hours)
# Steps are timed into WORKDIR/steps.tsv; the benchmarks write bench/results/*-1m.{json,md}.
# Events (21M rows) and identities are left out of the load: no analysis reads identities, and only
# the personas' time-of-day feature reads events (it is then empty).
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${1:-/tmp/persona-1m}
DATA=bench/.data/users-1000000-seed-42
mkdir -p "$WORK/files"
export PERSONA_NEO4J_LOCAL_DIR="$WORK/neo4j" PERSONA_NEO4J_LOCAL_PORT=${PORT:-7787}
export PERSONA_NEO4J_HEAP=4g PERSONA_NEO4J_PAGECACHE=3g PERSONA_NEO4J_TX_MEMORY_MAX=2g
P=.venv/bin/persona
step() {  # step NAME COMMAND...: run, time, record (exit 3 = "loaded, some rows rejected": fine here)
  local name=$1; shift; local t0 rc=0; t0=$(date +%s)
  echo "== $name: $*"; "$@" || rc=$?
  [ "$rc" -eq 0 ] || [ "$rc" -eq 3 ] || exit "$rc"
  printf '%s\t%s\n' "$name" "$(( $(date +%s) - t0 ))" | tee -a "$WORK/steps.tsv"
}
[ -f "$DATA/ties.csv" ] || step generate $P generate "$DATA" --users 1000000 --seed 42
for f in channels products users tags user_tags orders ties; do ln -sf "$PWD/$DATA/$f.csv" "$WORK/files/$f.csv"; done
START_AT=${START_AT:-}  # resume: START_AT=analyze-all skips the steps before it
skip() { [ -n "$START_AT" ] && [ "$1" != "$START_AT" ] && return 0; START_AT=""; return 1; }
skip neo4j-start || step neo4j-start $P neo4j start
skip schema || step schema $P schema apply
skip load || step load $P load "$WORK/files" --rejects "$WORK/rejects" --report-json "$WORK/load.json"
skip analyze-all || step analyze-all $P analyze all
skip bench-analytics || step bench-analytics .venv/bin/python bench/analytics.py --neo4j-dir "$WORK/neo4j" --cap 600
skip bench-audiences || step bench-audiences .venv/bin/python bench/audiences.py --neo4j-dir "$WORK/neo4j" --runs 5
skip tags-refresh || step tags-refresh $P tags refresh --as-of latest
echo '{"and": [{"tag": {"tagId": "loves-vehicles"}}, {"attribute": {"field": "city", "op": "eq", "value": "Beijing"}}]}' > "$WORK/audience.json"
skip audience-count || step audience-count $P audience count "$WORK/audience.json"
step neo4j-stop $P neo4j stop
