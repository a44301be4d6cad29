"""Objective of the main job: an SVM on scikit-learn's bundled digits data (no download).

`load_data` is the run's setup (the spec's ``setup: objective:load_data``): each worker
loads the data once, before its first trial, and every trial it runs finds it in
``ctx.prepared`` instead of loading it again.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import cross_val_score
from sklearn.svm import SVC

import paratune as pt


def load_data() -> tuple[np.ndarray, np.ndarray]:
    """The digits' features, scaled to [0, 1], and their labels: once per worker."""
    features, labels = load_digits(return_X_y=True)
    return features / 16.0, labels


def svm_accuracy(config: dict[str, Any], ctx: pt.Context) -> dict[str, float]:
    """Mean 3-fold cross-validated accuracy of an SVC with the given C, gamma and kernel."""
    # What the setup loaded; loaded here when the run has no setup, so that the objective
    # also runs alone.
    features, labels = ctx.prepared if ctx.prepared is not None else load_data()
    model = SVC(C=config["C"], gamma=config["gamma"], kernel=config["kernel"])
    scores = cross_val_score(model, features, labels, cv=config["folds"])
    return {"accuracy": float(scores.mean()), "accuracy_std": float(scores.std())}
