#!/usr/bin/python3
"""Writes multilabel_sklearn.json: random multi-label cases and what scikit-learn (and
MedMNIST's evaluator formulas, written with scikit-learn) says about them. The Go tests
(eval/metrics/multilabel_test.go) compare ComputeMultiLabel and the per-label functions
with these numbers, so the tests need no Python.

Regenerate (Debian 12: python3-sklearn 1.2.1, python3-numpy 1.24.2):

    cd eval/metrics/testdata && /usr/bin/python3 make_multilabel_cases.py

Scores are rounded to one or two decimals so that ties (within and across classes) and
scores of exactly 0.5 (the threshold) occur. Some cases have a label no example has, or
one every example has: sklearn cannot score those (roc_auc_score raises), so their AUC
and the affected AP are written as null and the macros run over the other labels, as
medssl documents.
"""

import json
import os

import numpy as np
import sklearn
from sklearn.metrics import (accuracy_score, average_precision_score,
                             confusion_matrix, f1_score, roc_auc_score)

RNG = np.random.default_rng(20261203)
HERE = os.path.dirname(os.path.abspath(__file__))


def case(n, l, decimals, degenerate):
    prevalence = RNG.uniform(0.05, 0.6, size=l)
    y = (RNG.random((n, l)) < prevalence).astype(int)
    # Scores that know something about the labels, clipped to [0, 1] and rounded.
    s = np.clip(0.35 * y + RNG.random((n, l)) * 0.65, 0, 1)
    s = np.round(s, decimals)
    s[RNG.random((n, l)) < 0.05] = 0.5
    if degenerate and l > 1:
        y[:, 0] = 0  # a finding no example has
        if l > 2:
            y[:, l - 1] = 1  # a finding every example has
    out = {"labels": y.tolist(), "scores": s.tolist()}
    pred = (s > 0.5).astype(int)  # MedMNIST v2: y_pre = y_score > threshold
    auc, ap, sens, spec, f1, bacc, scored = [], [], [], [], [], [], []
    for k in range(l):
        yk, sk, pk = y[:, k], s[:, k], pred[:, k]
        both = 0 < yk.sum() < n
        scored.append(bool(both))
        auc.append(float(roc_auc_score(yk, sk)) if both else None)
        ap.append(float(average_precision_score(yk, sk)) if yk.sum() > 0 else None)
        tn, fp, fn, tp = confusion_matrix(yk, pk, labels=[0, 1]).ravel()
        sens.append(float(tp / (tp + fn)) if tp + fn > 0 else None)
        spec.append(float(tn / (tn + fp)) if tn + fp > 0 else None)
        f1.append(float(f1_score(yk, pk, zero_division=0)) if both else None)
        bacc.append((sens[-1] + spec[-1]) / 2 if both else None)
    # MedMNIST getACC for 'multi-label, binary-class'.
    acc = sum(accuracy_score(y[:, k], pred[:, k]) for k in range(l)) / l
    cols = [k for k in range(l) if scored[k]]
    macro = {}
    if cols:
        macro = {
            "auc": float(roc_auc_score(y[:, cols], s[:, cols], average="macro")) if len(cols) > 1 else auc[cols[0]],
            "ap": float(average_precision_score(y[:, cols], s[:, cols], average="macro")) if len(cols) > 1 else ap[cols[0]],
            # One column would be read as a binary target (macro over its two classes).
            "macro_f1": float(f1_score(y[:, cols], pred[:, cols], average="macro", zero_division=0)) if len(cols) > 1 else f1[cols[0]],
            "balanced_acc": float(np.mean([bacc[k] for k in cols])),
        }
    out.update({"auc": auc, "ap": ap, "sensitivity": sens, "specificity": spec, "f1": f1,
                "acc": float(acc), "scored": int(len(cols)), "macro": macro})
    return out


def main():
    cases = []
    for i in range(60):
        n = int(RNG.integers(4, 80))
        l = int(RNG.integers(1, 8))
        cases.append(case(n, l, 1 if i % 2 else 2, degenerate=i % 5 == 0))
    with open(os.path.join(HERE, "multilabel_sklearn.json"), "w") as f:
        json.dump({"sklearn": sklearn.__version__, "numpy": np.__version__, "cases": cases}, f)
        f.write("\n")


if __name__ == "__main__":
    main()
