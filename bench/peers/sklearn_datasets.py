#!/usr/bin/env python3
"""scikit-learn MLPClassifier on the real datasets (test/fixtures/data), the reference the
real-data tests compare with: ReLU, Adam, max_iter=2000, inputs standardised with the training
split's statistics; test-split accuracy per seed.
  /usr/bin/python3 bench/peers/sklearn_datasets.py --seeds 20
"""
import argparse
import csv
import os
import warnings

import numpy as np
from sklearn.neural_network import MLPClassifier

ap = argparse.ArgumentParser()
ap.add_argument("--seeds", type=int, default=20)
args = ap.parse_args()
here = os.path.join(os.path.dirname(__file__), "..", "..", "test", "fixtures", "data")
warnings.filterwarnings("ignore")
for name, hidden in (("iris", 16), ("wine", 32)):
    with open(os.path.join(here, f"{name}.csv")) as f:
        rows = list(csv.reader(f))[1:]
    x = np.array([[float(v) for v in r[:-2]] for r in rows])
    y = np.array([int(r[-2]) for r in rows])
    train = np.array([r[-1] == "train" for r in rows])
    mean, std = x[train].mean(0), x[train].std(0)
    xs = (x - mean) / std
    scores = []
    for seed in range(args.seeds):
        clf = MLPClassifier(hidden_layer_sizes=(hidden,), activation="relu", solver="adam", max_iter=2000, random_state=seed)
        clf.fit(xs[train], y[train])
        scores.append(clf.score(xs[~train], y[~train]))
    print(f"{name},sklearn,{hidden},mean={np.mean(scores):.4f}," + " ".join(f"{s:.4f}" for s in scores))
