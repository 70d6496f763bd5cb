#!/usr/bin/env bash
# The side-by-side benchmark in one command: bash bench/run.sh
#   builds the release binary, installs the Python peers into bench/.venv (once), generates
#   the synthetic files into bench/data (once; BENCH_SCALE=0.1 for a quick run), runs
#   dealerbase (library timings and the `dealerbase mine` CLI end to end) and the peers on
#   the same files, and writes bench/RESULTS.md.
set -euo pipefail
cd "$(dirname "$0")/.."

SCALE="${BENCH_SCALE:-1}"
TARGET="${CARGO_TARGET_DIR:-target}"
VENV=bench/.venv
if [ "$SCALE" = "1" ]; then DATA=bench/data; else DATA="bench/data-$SCALE"; fi
OUT=bench/out
mkdir -p "$OUT"
RESULTS="$OUT/results.jsonl"
: > "$RESULTS"
cut -d' ' -f1-3 /proc/loadavg > "$OUT/load_start.txt" 2>/dev/null || true

echo "== building (release)"
cargo build --release -q -p dealerbase
cargo build --release -q -p dealerbase-mining --example bench
BIN="$TARGET/release/dealerbase"

if [ ! -x "$VENV/bin/python" ]; then
  echo "== installing Python peers into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q -r bench/requirements.txt
fi

if [ ! -f "$DATA/features.csv" ]; then
  echo "== generating data (scale $SCALE) into $DATA"
  "$VENV/bin/python" bench/generate.py --scale "$SCALE" --out "$DATA"
fi

# Runs a command under /usr/bin/time; appends a JSON line with wall time and peak memory.
timed() {
  local task="$1" tool="$2"; shift 2
  if /usr/bin/time -f '%e %M' -o "$OUT/time.txt" "$@" > "$OUT/stdout.txt" 2> "$OUT/stderr.txt"; then
    read -r wall rss < <(tail -n 1 "$OUT/time.txt")
    if grep -q '^{' "$OUT/stdout.txt"; then
      grep '^{' "$OUT/stdout.txt" | sed "s/^{/{\"wall_s\":$wall,\"rss_mb\":$((rss / 1024)),/" >> "$RESULTS"
    else
      echo "{\"task\":\"$task\",\"tool\":\"$tool\",\"wall_s\":$wall,\"rss_mb\":$((rss / 1024))}" >> "$RESULTS"
    fi
  else
    echo "{\"task\":\"$task\",\"tool\":\"$tool\",\"note\":\"failed: $(tail -n 1 "$OUT/stderr.txt" | tr -d '"\\')\"}" >> "$RESULTS"
  fi
}

echo "== dealerbase: library timings"
"$TARGET/release/examples/bench" "$DATA" >> "$RESULTS"

echo "== dealerbase mine (CLI, end to end: parse, compute, write)"
END=$(awk -F, 'NR > 1 && $2 > m { m = $2 } END { print m }' "$DATA/tx.csv")
timed rfm "dealerbase mine rfm (CLI)" "$BIN" mine rfm --transactions "$DATA/tx.csv" --out "$OUT/rfm.csv"
timed clv "dealerbase mine clv (CLI)" "$BIN" mine clv --transactions "$DATA/tx.csv" --calibration-end "$END" --period week --horizon 52 --out "$OUT/clv.csv" --params-out "$OUT/clv.json"
timed survival "dealerbase mine survival (CLI)" "$BIN" mine survival --durations "$DATA/durations.csv" --group-col group --out "$OUT/km.csv"
timed rules "dealerbase mine rules (CLI)" "$BIN" mine rules --baskets "$DATA/baskets.csv" --min-support 0.01 --min-confidence 0.3 --out "$OUT/rules.csv"
timed segments "dealerbase mine segments (CLI)" "$BIN" mine segments --features "$DATA/features.csv" --k 5 --restarts 10 --out "$OUT/segments.csv"

echo "== Python peers"
for peer in "cdnow lifetimes" "rfm pandas" "rfm polars" "rfm duckdb" "clv lifetimes" "survival lifelines" "rules mlxtend" "segments sklearn"; do
  set -- $peer
  echo "   $1 / $2"
  timed "$1" "$2" timeout 3600 "$VENV/bin/python" bench/peers/peers.py "$1" "$2" "$DATA"
done

cut -d' ' -f1-3 /proc/loadavg > "$OUT/load_end.txt" 2>/dev/null || true
"$VENV/bin/python" bench/report.py "$RESULTS" "$DATA" > bench/RESULTS.md
echo "== wrote bench/RESULTS.md"
