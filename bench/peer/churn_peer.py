#!/usr/bin/env python3
"""Peer for `churnpipe train`: what a data scientist builds with pandas, scikit-learn and xgboost
on the same point-in-time snapshots.

    churnpipe features --input HISTORY --as-of DAY --label-horizon 90d --out snaps.parquet
    python3 bench/peer/churn_peer.py snaps.parquet

The snapshots file has one row per (customer, snapshot, fold) with split = train | validation | test,
fold = the rolling origin (0 = newest; the same folds churnpipe train uses) and the label churn
(1 = no purchase within the horizon). In every fold both peers are tuned on the validation snapshot and
scored once on the test snapshot; prints one JSON object with the per-fold and mean test AUCs.
Needs Debian's python3-pandas, python3-sklearn, python3-xgboost (and python3-pyarrow for Parquet).
"""
import json
import sys
import time

import numpy as np
import pandas as pd
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
import xgboost as xgb


def fit_fold(df, feats):
    parts = {s: df[df.split == s] for s in ("train", "validation", "test")}
    X = {s: p[feats].astype(float).to_numpy() for s, p in parts.items()}
    y = {s: p["churn"].to_numpy() for s, p in parts.items()}

    # Logistic regression: median imputation, signed log1p, standardisation; C tuned on validation.
    best_lr = (-1, None, None)
    for C in (0.01, 0.1, 1.0, 10.0):
        lr = make_pipeline(SimpleImputer(strategy="median"),
                           FunctionTransformer(lambda a: np.sign(a) * np.log1p(np.abs(a))),
                           StandardScaler(), LogisticRegression(C=C, max_iter=2000))
        lr.fit(X["train"], y["train"])
        auc = roc_auc_score(y["validation"], lr.predict_proba(X["validation"])[:, 1])
        if auc > best_lr[0]:
            best_lr = (auc, lr, C)
    lr_test = roc_auc_score(y["test"], best_lr[1].predict_proba(X["test"])[:, 1])

    # XGBoost: small grid, early stopping on validation.
    best_x = (-1, None, None)
    for depth in (3, 4, 6):
        for eta in (0.03, 0.1):
            for mcw in (1, 5):
                m = xgb.XGBClassifier(n_estimators=1000, max_depth=depth, learning_rate=eta, min_child_weight=mcw,
                                      subsample=0.8, colsample_bytree=0.8, tree_method="hist",
                                      eval_metric="auc", early_stopping_rounds=50, n_jobs=2, random_state=1)
                m.fit(X["train"], y["train"], eval_set=[(X["validation"], y["validation"])], verbose=False)
                auc = roc_auc_score(y["validation"], m.predict_proba(X["validation"])[:, 1])
                if auc > best_x[0]:
                    best_x = (auc, m, dict(max_depth=depth, learning_rate=eta, min_child_weight=mcw,
                                           best_iteration=int(m.best_iteration)))
    x_test = roc_auc_score(y["test"], best_x[1].predict_proba(X["test"])[:, 1])
    return {
        "test_snapshot": str(parts["test"]["snapshot"].iloc[0]),
        "rows": {s: int(len(p)) for s, p in parts.items()},
        "logreg": {"test_auc": lr_test, "validation_auc": best_lr[0], "C": best_lr[2]},
        "xgboost": {"test_auc": x_test, "validation_auc": best_x[0], "params": best_x[2]},
    }


def main(path):
    t0 = time.time()
    df = pd.read_parquet(path) if path.endswith(".parquet") else pd.read_csv(path)
    meta = ["customer_id", "snapshot", "split", "fold", "churn", "stage_now", "stage_at_horizon"]
    feats = [c for c in df.columns if c not in meta]
    if "fold" not in df.columns:
        df["fold"] = 0
    folds = [fit_fold(df[df.fold == k], feats) for k in sorted(df.fold.unique())]
    mean = lambda key: float(np.mean([f[key]["test_auc"] for f in folds]))
    print(json.dumps({
        "folds": folds,
        "logreg_mean_test_auc": mean("logreg"),
        "xgboost_mean_test_auc": mean("xgboost"),
        "best_peer_mean_test_auc": max(mean("logreg"), mean("xgboost")),
        "xgboost_version": xgb.__version__,
        "seconds": time.time() - t0,
    }, indent=2))


if __name__ == "__main__":
    main(sys.argv[1])
