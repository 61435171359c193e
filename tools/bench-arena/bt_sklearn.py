#!/usr/bin/env python3
"""Bradley-Terry ratings with scikit-learn's logistic regression, for `apex bench arena`.

Reads battles (JSON Lines: model_a, model_b, winner), fits the arena-style logistic regression
(one row per distinct (a, b, outcome) with its count as sample weight, a tie as half a win each way,
both-bad votes dropped, no intercept, a negligible L2 so an unbeaten system stays finite) and prints
JSON: {"seconds": fit time, "ratings": {system: rating}} on the 400·log10 scale, centred at 1000.
Run with Debian's python3 (python3-sklearn, python3-numpy).
"""
import json
import math
import sys
import time
from collections import Counter

import numpy as np
from sklearn.linear_model import LogisticRegression


def main(path):
    cells = Counter()
    systems = {}
    with open(path) as f:
        for line in f:
            if not line.strip():
                continue
            b = json.loads(line)
            if b["winner"] == "both_bad":
                continue
            a = systems.setdefault(b["model_a"], len(systems))
            c = systems.setdefault(b["model_b"], len(systems))
            cells[(a, c, b["winner"])] += 1

    start = time.perf_counter()
    rows, labels, weights = [], [], []
    n = len(systems)
    for (a, c, winner), count in cells.items():
        x = np.zeros(n)
        x[a], x[c] = 1.0, -1.0
        if winner == "tie":
            rows += [x, x]
            labels += [1, 0]
            weights += [count / 2, count / 2]
        else:
            rows.append(x)
            labels.append(1 if winner == "model_a" else 0)
            weights.append(count)
    model = LogisticRegression(fit_intercept=False, C=1e6, tol=1e-8, max_iter=10_000)
    model.fit(np.array(rows), np.array(labels), sample_weight=np.array(weights))
    seconds = time.perf_counter() - start
    theta = model.coef_[0] - model.coef_[0].mean()
    names = {i: s for s, i in systems.items()}
    ratings = {names[i]: 1000 + 400 / math.log(10) * t for i, t in enumerate(theta)}
    print(json.dumps({"seconds": seconds, "ratings": ratings}))


if __name__ == "__main__":
    main(sys.argv[1])
