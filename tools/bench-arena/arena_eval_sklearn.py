#!/usr/bin/env python3
"""The paper's preference classifiers with scikit-learn, for `apex bench arena-eval`.

Reads the experiment's data as `apex bench arena-eval` writes it (CSV: f0..f30, label (1: A
preferred), instrumental (0/1), fold) and runs the same cross-validation on the same folds with the
paper's settings: logistic regression (C = 0.1, balanced), random forest (300 trees, depth 4,
balanced), gradient boosting (300 rounds, learning rate 0.05, depth 4, the minority class weighted
majority / minority as XGBoost's scale_pos_weight; scikit-learn's GradientBoostingClassifier, XGBoost
not being available here), AdaBoost (300, learning rate 0.05) and an SVC whose kernel (linear, RBF) and
C (0.1, 1, 10) are grid-searched by an inner stratified 3-fold search, balanced. Features are
standardised for logistic regression and the SVC, as the C# side does.

Prints JSON: {"seconds": {classifier: fit-and-predict time over all folds},
"metrics": {classifier: {"overall"|"instrumental"|"vocal": {"n", "accuracy", "auc"}}}}.
Run with Debian's python3 (python3-sklearn, python3-numpy).
"""
import json
import sys
import time

import numpy as np
import sklearn
from sklearn.ensemble import AdaBoostClassifier, GradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC


def classifiers(seed):
    return {
        "logistic_regression": lambda: make_pipeline(StandardScaler(), LogisticRegression(C=0.1, class_weight="balanced", max_iter=1000)),
        "random_forest": lambda: RandomForestClassifier(n_estimators=300, max_depth=4, class_weight="balanced", random_state=seed, n_jobs=1),
        "gradient_boosting": lambda: GradientBoostingClassifier(n_estimators=300, learning_rate=0.05, max_depth=4, random_state=seed),
        "adaboost": lambda: AdaBoostClassifier(n_estimators=300, learning_rate=0.05, random_state=seed),
        "svm": lambda: GridSearchCV(
            make_pipeline(StandardScaler(), SVC(class_weight="balanced")),
            {"svc__kernel": ["linear", "rbf"], "svc__C": [0.1, 1.0, 10.0]},
            scoring="roc_auc",
            cv=StratifiedKFold(3, shuffle=True, random_state=seed),
            n_jobs=1),
    }


def score(model, x):
    if hasattr(model, "decision_function"):
        return model.decision_function(x), 0.0
    return model.predict_proba(x)[:, 1], 0.5


def metrics(scores, threshold, labels, mask):
    n = int(mask.sum())
    if n == 0:
        return {"n": 0, "accuracy": None, "auc": None}
    picked, truth = scores[mask], labels[mask]
    auc = float(roc_auc_score(truth, picked)) if 0 < truth.sum() < n else None
    return {"n": n, "accuracy": float(((picked > threshold) == truth).mean()), "auc": auc}


def main(path, seed):
    data = np.loadtxt(path, delimiter=",", skiprows=1)
    x, labels, instrumental, folds = data[:, :-3], data[:, -3].astype(bool), data[:, -2].astype(bool), data[:, -1].astype(int)
    seconds, results = {}, {}
    for name, make in classifiers(seed).items():
        scores = np.zeros(len(labels))
        threshold = 0.0
        start = time.perf_counter()
        for fold in np.unique(folds):
            train, test = folds != fold, folds == fold
            model = make()
            if name == "gradient_boosting":
                positives = labels[train].sum()
                negatives = (~labels[train]).sum()
                minority_is_positive = positives <= negatives
                ratio = max(positives, negatives) / max(1, min(positives, negatives))
                weights = np.where(labels[train] == minority_is_positive, ratio, 1.0)
                model.fit(x[train], labels[train], sample_weight=weights)
            else:
                model.fit(x[train], labels[train])
            scores[test], threshold = score(model, x[test])
        seconds[name] = time.perf_counter() - start
        results[name] = {
            "overall": metrics(scores, threshold, labels, np.ones(len(labels), dtype=bool)),
            "instrumental": metrics(scores, threshold, labels, instrumental),
            "vocal": metrics(scores, threshold, labels, ~instrumental),
        }
    print(json.dumps({"version": sklearn.__version__, "seconds": seconds, "metrics": results}))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 42)
