#!/usr/bin/env python3
"""The pandas peer of churnpipe's feature pass.

Computes the same per-customer feature table as churnpipe's features.Builder
(see features/columns.go for every column) from the canonical interaction
history (customer_id, event_time, event_type, amount) with vectorised pandas
(groupby, no Python loop per customer), times itself and prints one JSON
object:

    {"rows": events read, "customers": …, "read_seconds": …,
     "features_seconds": …, "total_seconds": …, "peak_rss_mib": …}

Input: a CSV written by `churnpipe bench --csv` (Debian's python3-pandas has
no pyarrow, so the Parquet file cannot be read), or a .parquet file when
pyarrow is installed. Timings are wall clock (time.perf_counter).

    /usr/bin/python3 bench/peer/features_pandas.py HISTORY.csv \
        [--as-of 2025-12-31] [--out features.csv] [--check go_features.csv]

--out writes the feature table (sorted by customer_id) as CSV; --check
compares it with a feature table exported by `churnpipe features --out
X.csv` and exits 1 when a column differs (floats to 1e-9 relative).
"""

import argparse
import json
import resource
import sys
import time

import numpy as np
import pandas as pd

MS_PER_DAY = 86_400_000
ACTIVITY_MONTHS = 12


def read(path):
    if path.endswith(".parquet") or path.endswith(".pq"):
        return pd.read_parquet(path, columns=["customer_id", "event_time", "event_type", "amount"])
    # Strings first, then pandas' ISO 8601 parser: 3-4x faster than
    # parse_dates, which falls back to dateutil on varying fractions.
    ev = pd.read_csv(
        path,
        dtype={"customer_id": "category", "event_type": "category", "amount": "float64", "event_time": str},
    )
    ev["event_time"] = pd.to_datetime(ev["event_time"], utc=True, cache=False)
    return ev


def month_of_day(day):
    """year*12 + month-1 of UTC day numbers (int64 array)."""
    d = day.astype("datetime64[D]")
    y = d.astype("datetime64[Y]").astype(np.int64) + 1970
    m = d.astype("datetime64[M]").astype(np.int64) % 12
    return y * 12 + m


def features(ev, as_of):
    asof = np.int64((pd.Timestamp(as_of) - pd.Timestamp("1970-01-01")) // pd.Timedelta(days=1))
    asof_mon = int(month_of_day(np.array([asof]))[0])

    t = ev["event_time"]
    if t.dt.tz is not None:
        t = t.dt.tz_convert("UTC").dt.tz_localize(None)
    ms = t.values.astype("datetime64[ms]").astype(np.int64)
    day = np.floor_divide(ms, MS_PER_DAY)
    keep = day <= asof
    excluded = int((~keep).sum())
    # Customers as integer codes: grouping and aligning on a unique integer
    # index is fast, on a CategoricalIndex pandas 1.5 goes quadratic-ish.
    cids = ev["customer_id"].astype("category")
    names = cids.cat.categories
    ev = pd.DataFrame({
        "cid": cids.cat.codes.values[keep].astype(np.int64),
        "day": day[keep],
        "type": ev["event_type"].values[keep],
        "amount": ev["amount"].fillna(0.0).values[keep],
    })
    typ = ev["type"]
    recent = (asof - ev["day"]) < 90

    g = ev.groupby("cid", sort=True)
    out = pd.DataFrame({
        "first_event_day": g["day"].min(),
        "last_event_day": g["day"].max(),
        "event_count": g.size(),
    })
    for name, t_ in (("purchase_count", "purchase"), ("return_count", "return"),
                     ("visit_count", "visit"), ("support_count", "support")):
        out[name] = (typ == t_).groupby(ev["cid"]).sum()
    out["other_event_count"] = out["event_count"] - out[["purchase_count", "return_count", "visit_count", "support_count"]].sum(axis=1)
    out["visit_count_90"] = ((typ == "visit") & recent).groupby(ev["cid"]).sum()
    out["support_count_90"] = ((typ == "support") & recent).groupby(ev["cid"]).sum()
    ret = ev[typ == "return"]
    out["return_amount"] = ret["amount"].abs().groupby(ret["cid"]).sum().reindex(out.index, fill_value=0.0)

    # Activity per full calendar month before the as-of month.
    k = asof_mon - month_of_day(ev["day"].values)
    act = pd.DataFrame({"cid": ev["cid"], "k": k})
    act = act[(act["k"] >= 1) & (act["k"] <= ACTIVITY_MONTHS)]
    am = act.groupby(["cid", "k"]).size().unstack(fill_value=0)
    am = am.reindex(index=out.index, columns=range(1, ACTIVITY_MONTHS + 1), fill_value=0)
    for m in range(1, ACTIVITY_MONTHS + 1):
        out[f"activity_m{m}"] = am[m].values

    # Purchase days: one row per (customer, day) with the day's amount.
    p = ev[typ == "purchase"]
    pdays = p.groupby(["cid", "day"], sort=True)["amount"].sum().reset_index()
    pdays = pdays.sort_values(["cid", "day"], kind="stable")
    since = asof - pdays["day"]
    pg = pdays.groupby("cid", sort=True)
    pf = pd.DataFrame({
        "purchase_days": pg.size(),
        "first_purchase_day": pg["day"].min(),
        "last_purchase_day": pg["day"].max(),
        "gross_spend": pg["amount"].sum(),
        "spend_max": pg["amount"].max(),
        "first_day_amount": pg["amount"].first(),
    })
    for n in (30, 90, 180, 365):
        pf[f"purchase_days_{n}"] = (since < n).groupby(pdays["cid"]).sum()
    pf["spend_90"] = pdays["amount"].where(since < 90, 0.0).groupby(pdays["cid"]).sum()
    gap = pg["day"].diff()
    pf["gap_mean_days"] = gap.groupby(pdays["cid"]).mean()
    pf["gap_std_days"] = gap.groupby(pdays["cid"]).std(ddof=1)
    # Gap before the first purchase day of the last 90 days (with an earlier day).
    gb = pd.DataFrame({"cid": pdays["cid"], "gap": gap})[(since < 90) & gap.notna()]
    pf["gap_before_recent_days"] = gb.groupby("cid")["gap"].first()

    out = out.join(pf, how="left")
    out["purchase_days"] = out["purchase_days"].fillna(0).astype(np.int64)
    for n in (30, 90, 180, 365):
        out[f"purchase_days_{n}"] = out[f"purchase_days_{n}"].fillna(0).astype(np.int64)
    out["gross_spend"] = out["gross_spend"].fillna(0.0)
    out["spend_90"] = out["spend_90"].fillna(0.0)
    out["net_spend"] = out["gross_spend"] - out["return_amount"]
    buyer = out["purchase_days"] > 0
    out["spend_mean"] = (out["gross_spend"] / out["purchase_days"]).where(buyer)
    out["tenure_days"] = (asof - out["first_purchase_day"]).where(buyer)
    out["days_since_last_purchase"] = (asof - out["last_purchase_day"]).where(buyer)
    out["days_since_last_event"] = asof - out["last_event_day"]
    out["repeat_purchases"] = np.maximum(out["purchase_days"] - 1, 0)
    out["first_to_last_days"] = (out["last_purchase_day"] - out["first_purchase_day"]).fillna(0).astype(np.int64)
    out["first_to_asof_days"] = (asof - out["first_purchase_day"]).fillna(0).astype(np.int64)
    x = out["repeat_purchases"]
    out["repeat_spend_mean"] = ((out["gross_spend"] - out["first_day_amount"]) / x).where(x > 0, 0.0)

    # Tenure in months and the earlier monthly mean (from the first purchase month
    # to 4 months before the as-of month).
    first_mon = pd.Series(np.nan, index=out.index)
    first_mon[buyer] = month_of_day(out.loc[buyer, "first_purchase_day"].values.astype(np.int64))
    out["tenure_months"] = np.maximum(asof_mon - first_mon, 0).where(buyer)
    emon = month_of_day(ev["day"].values)
    fm_by_code = np.full(len(names), np.nan)
    fm_by_code[out.index.values] = first_mon.values
    fm = fm_by_code[ev["cid"].values]
    early = (emon >= fm) & (emon <= asof_mon - 4)
    earlier = pd.Series(early).groupby(ev["cid"].values).sum().reindex(out.index, fill_value=0)
    months = asof_mon - 3 - first_mon
    out["activity_earlier_mean"] = (earlier / months).where(months > 0)
    out.index = pd.Index(np.asarray(names)[out.index.values], name="customer_id")
    out = out.sort_index()
    return out, excluded


def check(ours, path):
    go = pd.read_csv(path, dtype={"customer_id": str}).set_index("customer_id")
    ours = ours.copy()
    ours.index = ours.index.astype(str)
    ours = ours.sort_index()
    go = go.sort_index()
    bad = []
    if list(ours.index) != list(go.index):
        bad.append("customer_id")
    day0 = pd.Timestamp("1970-01-01")
    for c in go.columns:
        g = go[c]
        if c.endswith("_date"):
            g = (pd.to_datetime(g) - day0) // pd.Timedelta(days=1)
            src = {"first_event_date": "first_event_day", "first_purchase_date": "first_purchase_day",
                   "last_purchase_date": "last_purchase_day"}[c]
            o = ours[src]
        elif c in ours:
            o = ours[c]
        else:
            bad.append(c + " (missing)")
            continue
        o = o.astype(float).values
        g = g.astype(float).values
        same = np.isclose(o, g, rtol=1e-9, atol=1e-9, equal_nan=True)
        if not same.all():
            bad.append(f"{c} ({(~same).sum()} rows)")
    return bad


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("history")
    ap.add_argument("--as-of", default="2025-12-31")
    ap.add_argument("--out")
    ap.add_argument("--check")
    a = ap.parse_args()
    t0 = time.perf_counter()
    ev = read(a.history)
    t1 = time.perf_counter()
    feat, excluded = features(ev, a.as_of)
    t2 = time.perf_counter()
    res = {
        "peer": "pandas " + pd.__version__,
        "input": a.history,
        "rows": int(len(ev)),
        "excluded": excluded,
        "customers": int(len(feat)),
        "read_seconds": t1 - t0,
        "features_seconds": t2 - t1,
        "total_seconds": t2 - t0,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    if a.out:
        feat.to_csv(a.out)
    if a.check:
        bad = check(feat, a.check)
        res["check"] = "ok" if not bad else "differs: " + ", ".join(bad)
    print(json.dumps(res, indent=2))
    if a.check and bad:
        sys.exit(1)


if __name__ == "__main__":
    main()
