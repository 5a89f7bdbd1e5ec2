"""The numbers every data check compares against, and where each one comes from."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Thresholds:
    """Defaults of the data checks; each check's docstring says how its numbers are used."""

    # class_imbalance: largest / smallest class count (SageMaker Debugger ClassImbalance: 10)
    imbalance_ratio: float = 10.0
    # label_issues: k-fold cross-validation for out-of-sample probabilities (cleanlab: 5)
    cv_folds: int = 5
    # label_issues: warn when more than this share of training rows is flagged. Curated
    # benchmark datasets hold ~3.3% label errors on average (Northcutt, Athalye, Mueller,
    # "Pervasive Label Errors in Test Sets", NeurIPS 2021); the clean built-in datasets flag
    # 0-0.6%, make_classification with 4 overlapping classes 4.5%, 10% injected noise ~10%
    label_issue_fraction: float = 0.05
    # duplicates / leakage: "near" means closer than this times the median distance of a row
    # to its nearest neighbour (cleanlab's near_duplicate issue manager default: 0.13)
    near_duplicate: float = 0.13
    # ... or closer, where the rows vary along few directions: the radius inside which this
    # share of rows drawn at random would have a neighbour by chance (ln 2 * r^d of them, in
    # d dimensions; 0.13 holds 9% of the rows of one continuous column, 0.1% in 4)
    near_chance: float = 1e-3
    # train_test_leakage: warn when a source row sits in two splits, or when more than this
    # share of held-out rows has a twin in training (iris ships with one such pair)
    leakage_fraction: float = 0.02
    # duplicates: warn above this share of training rows in duplicate groups (trainwell's)
    duplicate_fraction: float = 0.01
    # outliers: k nearest neighbours; a row is an outlier past Tukey's far-out fence of the
    # mean distance to them, Q3 + 3 IQR (Tukey, Exploratory Data Analysis, 1977)
    outlier_neighbours: int = 5
    outlier_iqr: float = 3.0
    # outliers: warn when more than this share of training rows lies past the fence
    outlier_fraction: float = 0.05
    # target_outliers: regression targets past the same fence (of the target itself) are a
    # few gross values, not a heavy tail, when they are at most this share of the rows (a
    # log-normal target has 3% of its values there, a normal one 0.0002%)
    target_outlier_share: float = 0.01
    # ... or more, when they take at most this many values, each repeated: codes ("missing")
    target_code_values: int = 3
    # ... and they are a finding when they hold more than this share of the target's
    # variance: the squared error is then mostly theirs
    target_outlier_variance: float = 0.5
    # unscaled_features: largest / smallest feature std, and largest |mean| or std, beyond
    # which inputs are "not standardised" (DeepDiagnosis asks for inputs in [-1, 1]; these
    # are looser so raw but well-behaved tables such as iris pass)
    scale_ratio: float = 100.0
    scale_magnitude: float = 100.0
    # small_dataset: warn below this many training rows in a class (with 5-fold CV fewer than
    # 2 per fold, and a 20% validation split may miss the class entirely)
    min_per_class: int = 10
