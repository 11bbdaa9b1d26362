#!/usr/bin/env bash
# Runs churnpipe's nightly benchmark and the pandas peer on one tier and
# prints both JSON objects and the ratios (pandas seconds / churnpipe seconds).
#
#   bash bench/compare.sh S            # or M; L needs ~10 GB of disk for the CSV
#   DIR=/tmp/churnpipe-bench PY=/usr/bin/python3 bash bench/compare.sh M
#
# Needs Go and Debian's python3-pandas (apt-get install -y python3-pandas).
# The history is generated once into $DIR and reused (Parquet for churnpipe,
# a CSV copy for pandas, since Debian has no python3-pyarrow).
set -euo pipefail
tier=${1:-S}
dir=${DIR:-/tmp/churnpipe-bench}
py=${PY:-/usr/bin/python3}
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$(mktemp -d)/churnpipe
trap 'rm -rf "$(dirname "$bin")"' EXIT
(cd "$root" && go build -o "$bin" ./cmd/churnpipe)

go_json=$("$bin" bench --tier "$tier" --dir "$dir" --read-pass --feature-pass --csv --log-level warn)
echo "$go_json"
csv=$(printf '%s' "$go_json" | "$py" -c 'import json,sys; print(json.load(sys.stdin)["csv"])')
pd_json=$("$py" "$root/bench/peer/features_pandas.py" "$csv" --as-of 2025-12-31)
echo "$pd_json"
GO_JSON=$go_json PD_JSON=$pd_json "$py" - <<'PY'
import json, os
g = json.loads(os.environ["GO_JSON"])
p = json.loads(os.environ["PD_JSON"])
s = g["seconds"]
assert g["events"] == p["rows"] and g["customers"] == p["customers"], "the two did not read the same history"
print(json.dumps({
    "tier": g["tier"], "events": g["events"], "customers": g["customers"],
    # features only, both on the history held in memory:
    # pandas groupby pass vs churnpipe features.Builder (Add + Finish)
    "features_ratio": p["features_seconds"] / s["features_in_memory"],
    # read + features: pandas read_csv + to_datetime + groupby vs churnpipe Parquet read + builder
    "read_features_ratio": p["total_seconds"] / s["read_features"],
    "go_read_features_seconds": s["read_features"], "go_features_in_memory_seconds": s["features_in_memory"],
    "pandas_read_seconds": p["read_seconds"], "pandas_features_seconds": p["features_seconds"],
    "go_peak_rss_mib": g["peak_rss_mib"], "pandas_peak_rss_mib": p["peak_rss_mib"],
}, indent=2))
PY
