#!/usr/bin/env bash
# Runs churnpipe's nightly benchmark, the pandas peer and the DuckDB peer on
# one tier, one after another on the same load, and prints the three JSON
# objects and the ratios (peer seconds / churnpipe seconds).
#
#   bash bench/compare.sh S            # or M; L needs ~10 GB of disk for the CSV
#   DIR=/tmp/churnpipe-bench PY=/usr/bin/python3 bash bench/compare.sh M
#   NO_PANDAS=1 bash bench/compare.sh M   # churnpipe and DuckDB only
#
# Needs Go, Debian's python3-pandas (apt-get install -y python3-pandas) and
# Node with the npm package @duckdb/node-api (installed under bench/peer by
# `npm ci --prefix bench/peer` when missing; node_modules is not committed).
# The history is generated once into $DIR and reused (Parquet for churnpipe
# and DuckDB, a CSV copy for pandas, since Debian has no python3-pyarrow).
set -euo pipefail
tier=${1:-S}
dir=${DIR:-/tmp/churnpipe-bench}
py=${PY:-/usr/bin/python3}
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$(mktemp -d)/churnpipe
trap 'rm -rf "$(dirname "$bin")"' EXIT
(cd "$root" && go build -o "$bin" ./cmd/churnpipe)
if [ ! -d "$root/bench/peer/node_modules/@duckdb/node-api" ]; then
  npm ci --prefix "$root/bench/peer" --no-audit --no-fund >&2
fi

go_json=$("$bin" bench --tier "$tier" --dir "$dir" --read-pass --feature-pass --csv --log-level warn)
echo "$go_json"
csv=$(printf '%s' "$go_json" | "$py" -c 'import json,sys; print(json.load(sys.stdin)["csv"])')
parquet=$(printf '%s' "$go_json" | "$py" -c 'import json,sys; print(json.load(sys.stdin)["input"])')
pd_json='{}'
if [ -z "${NO_PANDAS:-}" ]; then
  pd_json=$("$py" "$root/bench/peer/features_pandas.py" "$csv" --as-of 2025-12-31)
  echo "$pd_json"
fi
dk_json=$(node "$root/bench/peer/features_duckdb.mjs" "$parquet" --as-of 2025-12-31 --threads "$(nproc)" --in-memory)
echo "$dk_json"
GO_JSON=$go_json PD_JSON=$pd_json DK_JSON=$dk_json "$py" - <<'PY'
import json, os
g = json.loads(os.environ["GO_JSON"])
p = json.loads(os.environ["PD_JSON"])
d = json.loads(os.environ["DK_JSON"])
s = g["seconds"]
assert g["events"] == d["rows"] and g["customers"] == d["customers"], "churnpipe and DuckDB did not read the same history"
out = {
    "tier": g["tier"], "events": g["events"], "customers": g["customers"],
    "go_read_features_seconds": s["read_features"], "go_features_in_memory_seconds": s["features_in_memory"],
    "go_peak_rss_mib": g["peak_rss_mib"],
}
if p:
    assert g["events"] == p["rows"] and g["customers"] == p["customers"], "churnpipe and pandas did not read the same history"
    out.update({
        # features only, both on the history held in memory:
        # pandas groupby pass vs churnpipe features.Builder (Add + Finish)
        "pandas_features_ratio": p["features_seconds"] / s["features_in_memory"],
        # read + features: pandas read_csv + to_datetime + groupby vs churnpipe Parquet read + builder
        "pandas_read_features_ratio": p["total_seconds"] / s["read_features"],
        "pandas_read_seconds": p["read_seconds"], "pandas_features_seconds": p["features_seconds"],
        "pandas_peak_rss_mib": p["peak_rss_mib"],
    })
out.update({
    # read + features, both from the same Parquet file: DuckDB's one query vs churnpipe's streaming pass
    "duckdb_read_features_ratio": d["read_features_seconds"] / s["read_features"],
    # features only: DuckDB's query on a table already loaded vs churnpipe's builder on the history in memory
    "duckdb_features_ratio": d["features_seconds"] / s["features_in_memory"],
    "duckdb_read_features_seconds": d["read_features_seconds"], "duckdb_features_seconds": d["features_seconds"],
    "duckdb_load_seconds": d["read_seconds"], "duckdb_peak_rss_mib": d["peak_rss_mib"],
})
print(json.dumps(out, indent=2))
PY
