"""Confident learning (Northcutt, Jiang, Chuang, "Confident Learning: Estimating Uncertainty
in Dataset Labels", JAIR 70, 2021), written from the paper.

Given out-of-sample predicted probabilities `probs` (n x k) and the given labels:
1. per-class thresholds t_j: the mean probability of class j over the rows labelled j (eq. 2);
2. the confident joint C[i][j]: rows labelled i whose probability of j reaches t_j, each
   counted once, for the most probable such j (eq. 1);
3. calibrated so that row i sums to the count of label i, then scaled to the joint
   distribution Q of given and true labels (eq. 3);
4. which rows: see `find_label_issues`. Rows whose most probable class is their given
   label are never flagged (the practical rule of the reference implementation).
"""

from __future__ import annotations

import numpy as np


def confident_joint(labels: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """C[i][j]: how many rows labelled i are confidently of class j (k x k counts)."""
    k = probs.shape[1]
    thresholds = np.array(
        [probs[labels == j, j].mean() if (labels == j).any() else 1.0 for j in range(k)]
    )
    above = probs >= thresholds - 1e-6  # rounding must not drop a row exactly at t_j
    confident = above.any(1)
    guess = np.where(above, probs, -np.inf).argmax(1)
    joint = np.zeros((k, k), dtype=np.int64)
    np.add.at(joint, (labels[confident], guess[confident]), 1)
    return joint


def estimate_joint(labels: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """Q[i][j] * n: the calibrated confident joint, in rows (sums to n)."""
    k = probs.shape[1]
    counts = np.bincount(labels, minlength=k).astype(float)
    joint = confident_joint(labels, probs).astype(float)
    rows = joint.sum(1, keepdims=True)
    calibrated = np.divide(joint, rows, out=np.zeros_like(joint), where=rows > 0)
    calibrated *= counts[:, None]
    return calibrated / max(calibrated.sum(), 1.0) * len(labels)


def find_label_issues(
    labels: np.ndarray, probs: np.ndarray, method: str = "self_confidence"
) -> np.ndarray:
    """A boolean mask of the rows whose given label is likely wrong.

    `self_confidence` (default): as many rows as the calibrated joint says are wrong (its
    off-diagonal mass, the paper's estimate of the number of label errors), those with the
    lowest probability of their given label - the ranking of the paper's prune-by-class
    method, pooled over classes. On digits, wine and breast_cancer with 5-20% noise it
    scores a higher F1 than prune-by-noise-rate (benchmarks/audit.py).
    `prune_by_noise_rate`: the paper's Cprune, cleanlab's default.
    """
    n, k = probs.shape
    joint = estimate_joint(labels, probs)
    predicted = probs.argmax(1)
    if method == "self_confidence":
        candidates = np.flatnonzero(predicted != labels)
        count = round(float(joint.sum() - np.trace(joint)))
        confidence = probs[candidates, labels[candidates]]
        issues = np.zeros(n, dtype=bool)
        issues[candidates[np.argsort(confidence, kind="stable")[:count]]] = True
        return issues
    if method != "prune_by_noise_rate":
        raise ValueError(f"method must be self_confidence or prune_by_noise_rate; got {method!r}")
    issues = np.zeros(n, dtype=bool)
    for i in range(k):
        members = np.flatnonzero(labels == i)
        budget = max(len(members) - 1, 0)  # keep at least one row of every class
        for j in range(k):
            take = min(round(float(joint[i, j])), budget) if j != i else 0
            if take <= 0:
                continue
            margin = probs[members, j] - probs[members, i]
            issues[members[np.argsort(-margin, kind="stable")[:take]]] = True
    return issues & (predicted != labels)
