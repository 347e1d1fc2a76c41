"""Training and evaluation of linear text models on a labelled CSV.

``train`` runs, with a log line per stage:

1. near-copy groups (``grouping``), so tuning never validates on a copy of a training row;
2. for each of 5 stratified grouped folds: fit the features on the other folds and, for each
   regularisation strength, a linear classifier (default ``RidgeClassifier`` with balanced class
   weights — measured better than LinearSVC, LogisticRegression and SGD on this data); keep the
   out-of-fold scores;
3. choose the strength with the best out-of-fold macro-F1 and fit the calibration (multinomial
   logistic regression on its out-of-fold scores);
4. refit features and classifier on all rows; export a ``LinearTextModel`` with metadata.

``members`` with more than one name trains a stack instead (``ridge,linear_svc,complement_nb``
for the field model): every member is fitted in the same folds on the same features, the first
member's strength is chosen from ``alphas`` as above, the others use ``MEMBER_ALPHAS``; each
member's out-of-fold scores are row-centred and divided by one scalar (their std), and a
multinomial logistic regression on them side by side replaces the calibration. All of it is
linear, so the stack folds into one coefficient matrix and intercept with an identity
calibration: the shipped model has the same features and prediction cost as a single member.

``block_weights`` scale the three feature blocks (word, body n-grams, title n-grams) before the
classifier sees them. The scaling is folded into the exported coefficients (``coef · diag(w)``),
so the shipped model computes the same features as before at the same cost.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import logging
import platform
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression, RidgeClassifier
from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support
from sklearn.naive_bayes import ComplementNB
from sklearn.svm import LinearSVC

from huiyin.classifier.features import FeatureTables, PostFeaturizer
from huiyin.classifier.grouping import grouped_folds, near_copy_groups
from huiyin.classifier.linear import LinearTextModel
from huiyin.classifier.tokenize import DEFAULT_BACKEND, Backend
from huiyin.config.errors import HuiyinError

log = logging.getLogger(__name__)

CLASSIFIERS = ("ridge", "linear_svc", "logreg")
MEMBERS = (*CLASSIFIERS, "complement_nb")
# Fixed strength of a stack member that is not the first (tuned) one: LinearSVC C 1, logistic
# regression C 30, ComplementNB alpha 0.1 (the values measured in classifier/models/README.md).
MEMBER_ALPHAS = {"ridge": 1.0, "linear_svc": 1.0, "logreg": 1.0, "complement_nb": 0.1}
STACKER_C = 1.0
DEFAULT_ALPHAS = (0.3, 1.0, 3.0)
# Neutral: every block as the featurizer normalised it (the sentiment model relies on this).
DEFAULT_BLOCK_WEIGHTS = (1.0, 1.0, 1.0)


class TrainingError(HuiyinError):
    """The training data or options are unusable."""


@dataclass
class Dataset:
    """Labelled posts read from a CSV."""

    titles: list[str]
    bodies: list[str]
    labels: list[str]
    sha256: str = ""
    source: str = ""
    text_cols: tuple[str, ...] = ()
    label_col: str = "label"

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, rows: Sequence[int]) -> Dataset:
        return Dataset(
            [self.titles[i] for i in rows], [self.bodies[i] for i in rows], [self.labels[i] for i in rows],
            self.sha256, self.source, self.text_cols, self.label_col,
        )

    @property
    def posts(self) -> list[tuple[str, str]]:
        return list(zip(self.titles, self.bodies))


def read_csv(path: Path, text_cols: Sequence[str] = ("title", "detail"), label_col: str = "label") -> Dataset:
    """Read a labelled CSV. The first text column is the title, the others are joined as the body
    (one text column: no title, the first line is taken as the title if short). Rows without a
    label or without any text are skipped."""
    path = Path(path)
    raw = path.read_bytes()
    csv.field_size_limit(sys.maxsize)
    text = raw.decode("utf-8-sig", errors="replace")
    reader = csv.DictReader(text.splitlines(keepends=True))
    missing = [c for c in (*text_cols, label_col) if c not in (reader.fieldnames or [])]
    if missing:
        raise TrainingError(f"CSV 缺少列 missing columns {missing} in {path} (has {reader.fieldnames})")
    titles, bodies, labels = [], [], []
    for row in reader:
        label = (row.get(label_col) or "").strip()
        parts = [(row.get(c) or "").strip() for c in text_cols]
        if not label or not any(parts):
            continue
        if len(text_cols) == 1:
            titles.append("")
            bodies.append(parts[0])
        else:
            titles.append(parts[0])
            bodies.append("\n".join(p for p in parts[1:] if p))
        labels.append(label)
    if not labels:
        raise TrainingError(f"CSV 中没有可用的行 no usable rows in {path}")
    return Dataset(titles, bodies, labels, hashlib.sha256(raw).hexdigest(), str(path), tuple(text_cols), label_col)


def _classifier(kind: str, alpha: float, seed: int):  # type: ignore[no-untyped-def]
    if kind == "ridge":
        return RidgeClassifier(alpha=alpha, class_weight="balanced", solver="sparse_cg", random_state=seed)
    if kind == "linear_svc":
        return LinearSVC(C=1.0 / alpha, class_weight="balanced", random_state=seed)
    if kind == "logreg":
        return LogisticRegression(C=30.0 / alpha, class_weight="balanced", max_iter=3000, random_state=seed)
    if kind == "complement_nb":
        return ComplementNB(alpha=alpha)
    raise TrainingError(f"unknown classifier {kind!r}, expected one of {MEMBERS}")


def train(
    data: Dataset,
    *,
    classifier: str = "ridge",
    alphas: Sequence[float] = DEFAULT_ALPHAS,
    body_ngrams: tuple[int, int] = (1, 3),
    title_ngrams: tuple[int, int] = (1, 4),
    min_df: int = 2,
    block_weights: tuple[float, float, float] = DEFAULT_BLOCK_WEIGHTS,
    backend: Backend = DEFAULT_BACKEND,
    extra_words: Sequence[str] = (),
    folds: int = 5,
    seed: int = 7,
    task: str = "field",
    members: Sequence[str] = (),
) -> LinearTextModel:
    """Tune by grouped CV, calibrate on out-of-fold scores, refit on all rows.

    ``members`` (two or more of ``MEMBERS``) trains a stack instead of ``classifier`` alone."""
    members = _check_members(members)
    if len(members) > 1:
        return _train_stack(data, members=members, alphas=alphas, body_ngrams=body_ngrams, title_ngrams=title_ngrams,
                            min_df=min_df, block_weights=block_weights, backend=backend, extra_words=extra_words,
                            folds=folds, seed=seed, task=task)
    if members:
        classifier = members[0]
    started = time.perf_counter()
    classes, y, counts, n_folds = _labels_and_folds(data, folds)
    block_weights = _check_block_weights(block_weights)
    featurizer = PostFeaturizer(
        body_ngrams=body_ngrams, title_ngrams=title_ngrams, min_df=min_df, backend=backend, extra_words=tuple(extra_words)
    )
    posts = data.posts
    t0 = time.perf_counter()
    groups = near_copy_groups(data.titles, data.bodies)
    log.info("[1/4] near-copy groups: %d rows in %d groups (%.1fs)", len(y), len(set(groups.tolist())), time.perf_counter() - t0)

    oof = {a: np.zeros((len(y), len(classes))) for a in alphas}
    for k, (tr, va) in enumerate(grouped_folds(data.labels, groups, seed=seed, n_splits=n_folds), 1):
        t0 = time.perf_counter()
        feats = featurizer.__class__(**featurizer.get_params()).fit([posts[i] for i in tr])
        scale = _column_scale(feats.tables_, block_weights)
        x_tr, x_va = (_scaled(feats.transform([posts[i] for i in rows]), scale) for rows in (tr, va))
        for a in alphas:
            oof[a][va] = _as_matrix(_classifier(classifier, a, seed).fit(x_tr, y[tr]).decision_function(x_va))
        log.info("[2/4] fold %d/%d: %d features, %d alphas (%.1fs)", k, n_folds, x_tr.shape[1], len(alphas), time.perf_counter() - t0)

    cv_f1 = {a: float(f1_score(y, _argmax(s, len(classes)), average="macro")) for a, s in oof.items()}
    best = max(alphas, key=lambda a: (cv_f1[a], -a))
    scores = oof[best]
    calib = LogisticRegression(C=1.0, max_iter=1000).fit(scores, y)
    proba = calib.predict_proba(scores)
    log.info("[3/4] alpha=%s chosen, grouped CV macro-F1 %s; calibration log-loss %.3f",
             best, {a: round(f, 4) for a, f in cv_f1.items()}, _log_loss(proba, y))

    t0 = time.perf_counter()
    featurizer.fit(posts)
    scale = _column_scale(featurizer.tables_, block_weights)
    clf = _classifier(classifier, best, seed).fit(_scaled(featurizer.transform(posts), scale), y)
    coef = np.atleast_2d(np.asarray(clf.coef_ * scale, dtype=np.float32))  # fold the block weights in
    intercept = np.atleast_1d(np.asarray(clf.intercept_, dtype=np.float32))
    if coef.shape[0] == 1:  # binary: sklearn keeps one row for the positive class
        coef, intercept = np.vstack([-coef / 2, coef / 2]), np.array([-intercept[0] / 2, intercept[0] / 2], np.float32)
    a_mat, b_vec = _calibration_matrix(calib, len(classes))
    model = LinearTextModel(
        labels=classes,
        tables=featurizer.tables_,
        coef=np.ascontiguousarray(coef.T),
        intercept=intercept,
        calib_a=a_mat,
        calib_b=b_vec,
        extra_words=featurizer.tokenizer.extra_words,
        backend=backend,
    )
    model.metadata = {
        **_data_metadata(data, task, classes, counts, groups),
        "classifier": classifier,
        "alpha": best,
        "seed": seed,
        "features": _feature_metadata(featurizer, block_weights, int(coef.shape[1]), backend, len(model.extra_words)),
        "metrics": {"grouped_cv_macro_f1": round(cv_f1[best], 4), "grouped_cv_folds": n_folds,
                    "grouped_cv_macro_f1_by_alpha": {str(a): round(f, 4) for a, f in cv_f1.items()},
                    "grouped_cv_accuracy": round(float(accuracy_score(y, _argmax(oof[best], len(classes)))), 4),
                    "calibration_log_loss": round(_log_loss(proba, y), 4)},
        "versions": versions(),
    }
    log.info("[4/4] refit on all %d rows: %d features (%.1fs); total %.1fs",
             len(y), coef.shape[1], time.perf_counter() - t0, time.perf_counter() - started)
    return model


@dataclass(frozen=True)
class LinearForm:
    """A fitted member as scores ``x · coef.T + intercept``: coef (n_classes, n_features)."""

    coef: np.ndarray
    intercept: np.ndarray

    def scores(self, x: sp.csr_matrix) -> np.ndarray:
        return np.asarray(x @ self.coef.T, dtype=np.float64) + self.intercept

    def scaled(self, scale: np.ndarray) -> LinearForm:
        """The same scores on unscaled features: ``coef · diag(scale)``."""
        return LinearForm(self.coef * scale, self.intercept)


def _linear_form(clf: Any, n_classes: int) -> LinearForm:
    """Coefficients and intercept of a fitted member (binary: two symmetric class rows)."""
    if isinstance(clf, ComplementNB):  # joint log-likelihood X · feature_log_prob_.T, no prior for ≥ 2 classes
        return LinearForm(np.asarray(clf.feature_log_prob_, np.float64), np.zeros(n_classes))
    coef, icpt = np.atleast_2d(np.asarray(clf.coef_, np.float64)), np.atleast_1d(np.asarray(clf.intercept_, np.float64))
    if coef.shape[0] == 1 and n_classes == 2:
        return LinearForm(np.vstack([-coef / 2, coef / 2]), np.array([-icpt[0] / 2, icpt[0] / 2]))
    return LinearForm(coef, icpt)


def _check_members(members: Sequence[str]) -> tuple[str, ...]:
    names = tuple(m.strip() for m in members if m.strip())
    unknown = [m for m in names if m not in MEMBERS]
    if unknown or len(set(names)) != len(names):
        raise TrainingError(f"成员无效 members must be distinct names of {MEMBERS}, got {list(members)!r}")
    if len(names) == 1 and names[0] not in CLASSIFIERS:
        raise TrainingError(f"{names[0]} 只能作为堆叠成员 can only be a stack member, expected one of {CLASSIFIERS}")
    return names


def _centred(scores: np.ndarray) -> np.ndarray:
    return scores - scores.mean(axis=1, keepdims=True)


def _member_scale(oof: np.ndarray) -> float:
    """One scalar per member: the std of its row-centred out-of-fold scores."""
    sd = float(_centred(oof).std())
    return sd if np.isfinite(sd) and sd > 0 else 1.0


def stack_inputs(scores: Sequence[np.ndarray], scales: Sequence[float]) -> np.ndarray:
    """The stacker's input: each member's scores row-centred, over its scale, side by side."""
    return np.hstack([_centred(s) / sd for s, sd in zip(scores, scales)])


def _stacker(seed: int) -> LogisticRegression:
    return LogisticRegression(C=STACKER_C, max_iter=5000, random_state=seed)


def fold_stack(forms: Sequence[LinearForm], scales: Sequence[float], stacker: LogisticRegression,
               n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """One (n_features, n_classes) matrix and intercept whose scores are the stacker's logits:
    ``Σ_m W_m · (C · A_mᵀ / sd_m)`` with ``C = I − 1/K`` (row-centring), ``A_m`` the member's block
    of the stacker's coefficients; the intercept likewise plus the stacker's own."""
    a_mat, b_vec = _calibration_matrix(stacker, n_classes)
    centre = np.eye(n_classes) - 1.0 / n_classes
    coef = np.zeros((forms[0].coef.shape[1], n_classes))
    intercept = np.array(b_vec, dtype=np.float64)
    for m, (form, sd) in enumerate(zip(forms, scales)):
        mix = centre @ a_mat[:, m * n_classes : (m + 1) * n_classes].T / sd
        coef += form.coef.T @ mix
        intercept += form.intercept @ mix
    return coef, intercept


def _stack_cv(inputs: np.ndarray, y: np.ndarray, folds: Sequence[tuple[np.ndarray, np.ndarray]], seed: int) -> np.ndarray:
    """Out-of-fold stacker probabilities over the same grouped folds (for an honest CV figure)."""
    proba = np.zeros((len(y), int(y.max()) + 1))
    for tr, va in folds:
        fitted = _stacker(seed).fit(inputs[tr], y[tr])
        proba[np.ix_(va, fitted.classes_)] = fitted.predict_proba(inputs[va])
    return proba


def _train_stack(
    data: Dataset,
    *,
    members: tuple[str, ...],
    alphas: Sequence[float],
    body_ngrams: tuple[int, int],
    title_ngrams: tuple[int, int],
    min_df: int,
    block_weights: tuple[float, float, float],
    backend: Backend,
    extra_words: Sequence[str],
    folds: int,
    seed: int,
    task: str,
) -> LinearTextModel:
    """``train`` for a stack: members in the same folds, stacker on their out-of-fold scores,
    all folded into one linear model with an identity calibration."""
    started = time.perf_counter()
    classes, y, counts, n_folds = _labels_and_folds(data, folds)
    n_classes = len(classes)
    block_weights = _check_block_weights(block_weights)
    featurizer = PostFeaturizer(
        body_ngrams=body_ngrams, title_ngrams=title_ngrams, min_df=min_df, backend=backend, extra_words=tuple(extra_words)
    )
    posts = data.posts
    t0 = time.perf_counter()
    groups = near_copy_groups(data.titles, data.bodies)
    log.info("[1/4] near-copy groups: %d rows in %d groups (%.1fs)", len(y), len(set(groups.tolist())), time.perf_counter() - t0)

    tuned, fixed = members[0], members[1:]
    runs = [(tuned, a) for a in alphas] + [(m, MEMBER_ALPHAS[m]) for m in fixed]
    oof = {run: np.zeros((len(y), n_classes)) for run in runs}
    fold_rows = list(grouped_folds(data.labels, groups, seed=seed, n_splits=n_folds))
    for k, (tr, va) in enumerate(fold_rows, 1):
        t0 = time.perf_counter()
        feats = featurizer.__class__(**featurizer.get_params()).fit([posts[i] for i in tr])
        scale = _column_scale(feats.tables_, block_weights)
        x_tr, x_va = (_scaled(feats.transform([posts[i] for i in rows]), scale) for rows in (tr, va))
        for kind, a in runs:
            oof[kind, a][va] = _linear_form(_classifier(kind, a, seed).fit(x_tr, y[tr]), n_classes).scores(x_va)
        log.info("[2/4] fold %d/%d: %d features, %s × %d alphas + %s (%.1fs)",
                 k, n_folds, x_tr.shape[1], tuned, len(alphas), ",".join(fixed), time.perf_counter() - t0)

    cv_f1 = {run: float(f1_score(y, s.argmax(axis=1), average="macro")) for run, s in oof.items()}
    best = max(alphas, key=lambda a: (cv_f1[tuned, a], -a))
    chosen = {tuned: best, **{m: MEMBER_ALPHAS[m] for m in fixed}}
    member_oof = [oof[m, a] for m, a in chosen.items()]
    scales = [_member_scale(s) for s in member_oof]
    inputs = stack_inputs(member_oof, scales)
    stacker = _stacker(seed).fit(inputs, y)
    proba = stacker.predict_proba(inputs)
    cv_proba = _stack_cv(inputs, y, fold_rows, seed)
    stack_f1 = float(f1_score(y, cv_proba.argmax(axis=1), average="macro"))
    log.info("[3/4] %s alpha=%s chosen %s; members' grouped CV macro-F1 %s; scales %s; stack grouped CV macro-F1 %.4f, "
             "stacker log-loss %.3f", tuned, best, {a: round(cv_f1[tuned, a], 4) for a in alphas},
             {m: round(cv_f1[m, a], 4) for m, a in chosen.items()}, [round(sd, 4) for sd in scales], stack_f1,
             _log_loss(proba, y))

    t0 = time.perf_counter()
    featurizer.fit(posts)
    scale = _column_scale(featurizer.tables_, block_weights)
    x_all = _scaled(featurizer.transform(posts), scale)
    forms = [_linear_form(_classifier(m, a, seed).fit(x_all, y), n_classes).scaled(scale) for m, a in chosen.items()]
    coef, intercept = fold_stack(forms, scales, stacker, n_classes)
    model = LinearTextModel(
        labels=classes,
        tables=featurizer.tables_,
        coef=np.ascontiguousarray(coef, dtype=np.float32),
        intercept=intercept.astype(np.float32),
        calib_a=np.eye(n_classes),  # the stacker is folded into coef and intercept
        calib_b=np.zeros(n_classes),
        extra_words=featurizer.tokenizer.extra_words,
        backend=backend,
    )
    a_mat, b_vec = _calibration_matrix(stacker, n_classes)
    model.metadata = {
        **_data_metadata(data, task, classes, counts, groups),
        "classifier": "stack",
        "alpha": best,
        "members": list(members),
        "member_alphas": {m: float(a) for m, a in chosen.items()},
        "member_scales": {m: float(sd) for m, sd in zip(members, scales)},
        "stacker": {"model": "multinomial LogisticRegression", "C": STACKER_C,
                    "inputs": "each member's out-of-fold scores, row-centred, over its scale",
                    "coef": a_mat.tolist(), "intercept": b_vec.tolist(), "folded": True},
        "seed": seed,
        "features": _feature_metadata(featurizer, block_weights, int(coef.shape[0]), backend, len(model.extra_words)),
        "metrics": {"grouped_cv_macro_f1": round(stack_f1, 4), "grouped_cv_folds": n_folds,
                    "grouped_cv_accuracy": round(float(accuracy_score(y, cv_proba.argmax(axis=1))), 4),
                    "grouped_cv_macro_f1_by_alpha": {str(a): round(cv_f1[tuned, a], 4) for a in alphas},
                    "grouped_cv_macro_f1_by_member": {m: round(cv_f1[m, a], 4) for m, a in chosen.items()},
                    "calibration_log_loss": round(_log_loss(proba, y), 4)},
        "versions": versions(),
    }
    log.info("[4/4] refit %d members on all %d rows: %d features (%.1fs); total %.1fs",
             len(members), len(y), coef.shape[0], time.perf_counter() - t0, time.perf_counter() - started)
    return model


def _labels_and_folds(data: Dataset, folds: int) -> tuple[list[str], np.ndarray, np.ndarray, int]:
    """Sorted labels, label index per row, rows per label and the number of CV folds."""
    classes = sorted(set(data.labels))
    if len(classes) < 2:
        raise TrainingError(f"至少需要两个类别 need at least two labels, got {classes}")
    y = np.array([classes.index(label) for label in data.labels])
    counts = np.bincount(y, minlength=len(classes))
    n_folds = int(min(folds, counts.min()))
    if n_folds < 2:
        raise TrainingError(f"每个类别至少需要两行 every label needs at least 2 rows: {dict(zip(classes, counts.tolist()))}")
    return classes, y, counts, n_folds


def _data_metadata(data: Dataset, task: str, classes: list[str], counts: np.ndarray, groups: np.ndarray) -> dict[str, Any]:
    return {
        "task": task,
        "labels": classes,
        "label_counts": dict(zip(classes, counts.tolist())),
        "rows": len(data),
        "groups": len(set(groups.tolist())),
        "data_sha256": data.sha256,
        "data_source": Path(data.source).name if data.source else "",
        "text_cols": list(data.text_cols),
        "label_col": data.label_col,
        "trained_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }


def _feature_metadata(featurizer: PostFeaturizer, block_weights: tuple[float, float, float], n_features: int,
                      backend: Backend, user_words: int) -> dict[str, Any]:
    return {"body_ngrams": list(featurizer.body_ngrams), "title_ngrams": list(featurizer.title_ngrams),
            "min_df": featurizer.min_df, "block_weights": list(block_weights), "n_features": n_features,
            "tokenizer": backend, "user_words": user_words}


def evaluate(model: LinearTextModel, data: Dataset, batch: int = 512) -> dict[str, Any]:
    """accuracy, macro_f1 and per-class precision/recall/F1/support of ``model`` on ``data``."""
    predicted: list[str] = []
    posts = data.posts
    for start in range(0, len(posts), batch):
        proba = model.predict_proba(posts[start : start + batch])
        predicted += [model.labels[i] for i in proba.argmax(axis=1)]
    labels = sorted(set(data.labels) | set(predicted))
    p, r, f, s = precision_recall_fscore_support(data.labels, predicted, labels=labels, zero_division=0)
    unknown = sorted(set(data.labels) - set(model.labels))
    return {
        "rows": len(posts),
        "accuracy": round(float(accuracy_score(data.labels, predicted)), 4),
        "macro_f1": round(float(f1_score(data.labels, predicted, labels=sorted(set(data.labels)), average="macro", zero_division=0)), 4),
        "per_class": {lab: {"precision": round(float(pi), 4), "recall": round(float(ri), 4), "f1": round(float(fi), 4), "support": int(si)}
                      for lab, pi, ri, fi, si in zip(labels, p, r, f, s)},
        "labels_unknown_to_model": unknown,
    }


def versions() -> dict[str, str]:
    import scipy
    import skops
    import sklearn

    from importlib.metadata import PackageNotFoundError, version

    try:
        huiyin = version("huiyin")
    except PackageNotFoundError:
        huiyin = "unknown"
    return {"huiyin": huiyin, "python": platform.python_version(), "scikit-learn": sklearn.__version__,
            "numpy": np.__version__, "scipy": scipy.__version__, "skops": skops.__version__}


def _check_block_weights(weights: Sequence[float]) -> tuple[float, float, float]:
    values = tuple(float(w) for w in weights)
    if len(values) != 3 or not all(np.isfinite(w) and w > 0 for w in values):
        raise TrainingError(f"block_weights 需要三个正数 need three positive numbers (word, body, title), got {weights!r}")
    return values  # type: ignore[return-value]


def _column_scale(tables: FeatureTables, weights: tuple[float, float, float]) -> np.ndarray:
    """Per-column factor: each block's weight over its columns."""
    start, body, title, end = tables.offsets
    return np.repeat(np.asarray(weights, dtype=np.float32), [body - start, title - body, end - title])


def _scaled(x: sp.csr_matrix, scale: np.ndarray) -> sp.csr_matrix:
    """``x · diag(scale)`` without building the diagonal matrix."""
    if np.all(scale == 1.0):
        return x
    x = x.copy()
    x.data *= scale[x.indices]
    return x


def _argmax(scores: np.ndarray, n_classes: int) -> np.ndarray:
    return scores.argmax(axis=1)


def _as_matrix(decision: np.ndarray) -> np.ndarray:
    """Binary decision values (one column, positive class) as two symmetric class scores."""
    if decision.ndim == 1:
        return np.column_stack([-decision / 2, decision / 2])
    return decision


def _calibration_matrix(calib: LogisticRegression, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    coef, icpt = calib.coef_, calib.intercept_
    if n_classes == 2 and coef.shape[0] == 1:  # sigmoid ≡ softmax over ±z/2
        return np.vstack([-coef / 2, coef / 2]), np.array([-icpt[0] / 2, icpt[0] / 2])
    return np.asarray(coef, dtype=np.float64), np.asarray(icpt, dtype=np.float64)


def _log_loss(proba: np.ndarray, y: np.ndarray) -> float:
    return float(-np.mean(np.log(np.clip(proba[np.arange(len(y)), y], 1e-12, 1.0))))
