"""Poisoning and label checks on one labelled dataset, as `Finding`s.

`load_labelled` reads a table (CSV, TSV, Parquet, JSON Lines, through
`dozor.data.readers`) or a NumPy ``.npz`` (``x``/``X``/``images`` and ``y``/``labels``)
into labels, text, numeric features and raw column values; `check_labels` runs every
check on it and returns findings with rule ids DZ-DAT-001..009. Label checks need the
whole label column at once (cross-validation), so at most `max_rows` rows are read;
the finding says when a file was longer.
"""

from __future__ import annotations

import os
import time
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dozor.findings import Finding, Location, Report, ScannedFile, Severity

EXACT_CONFLICT = "DZ-DAT-001"
NEAR_CONFLICT = "DZ-DAT-002"
LABEL_ERRORS = "DZ-DAT-003"
OUTLIERS = "DZ-DAT-004"
BALANCE_SHIFT = "DZ-DAT-005"
TOKEN_TRIGGER = "DZ-DAT-006"
VALUE_TRIGGER = "DZ-DAT-007"
PATCH_TRIGGER = "DZ-DAT-008"
NOT_CHECKED = "DZ-DAT-009"

POISONING = ("ML02:2023", "LLM04:2025", "AML.T0020")
BACKDOOR = ("ML02:2023", "ML10:2023", "LLM04:2025", "AML.T0020")
SCANNER = "data-labels"
MAX_ROWS = 1_000_000
MAX_NPZ_BYTES = 2 << 30
MAX_LISTED = 20
"""Groups or rows listed one by one before the rest is summarised."""


class DataError(ValueError):
    """The data cannot be checked as asked (no such column, unreadable); one sentence."""


@dataclass
class LabelledData:
    path: str
    labels: np.ndarray
    """Label codes 0..k-1."""
    names: list[str]
    """The label value of each code."""
    texts: list[str | None] | None = None
    text_column: str | None = None
    numeric: np.ndarray | None = None
    numeric_names: list[str] = field(default_factory=list)
    categorical: dict[str, list[Any]] = field(default_factory=dict)
    images: np.ndarray | None = None
    row_ids: np.ndarray | None = None
    """File row of each example when rows without a label were dropped."""
    truncated: bool = False
    rows_total: int | None = None

    def __len__(self) -> int:
        return len(self.labels)

    def feature_rows(self) -> list[tuple[object, ...]]:
        """Each row's features (everything but the label), for exact duplicates."""
        parts: list[Sequence[Any]] = []
        if self.texts is not None:
            parts.append(self.texts)
        if self.numeric is not None:
            parts.extend(self.numeric.T.tolist())
        parts.extend(self.categorical.values())
        if self.images is not None:
            flat = self.images.reshape(len(self.images), -1)
            return [(r.tobytes(),) for r in flat]
        return list(zip(*parts, strict=True)) if parts else [()] * len(self)


def _encode(values: Sequence[Any]) -> tuple[np.ndarray, list[str]]:
    names = sorted({str(v) for v in values})
    index = {n: i for i, n in enumerate(names)}
    return np.array([index[str(v)] for v in values], dtype=np.int64), names


def load_labelled(path: str | os.PathLike[str], label: str | None, *,
                  text: str | None = None, max_rows: int = MAX_ROWS,
                  fmt: str | None = None) -> LabelledData:
    """Read `path` into a `LabelledData`; raises DataError with one sentence."""
    p = Path(path)
    if p.suffix.lower() == ".npz":
        return _load_npz(p, max_rows)
    if label is None:
        raise DataError("give the label column with --label COLUMN")
    import pyarrow as pa

    from dozor.data.readers import open_table

    columns: dict[str, list[Any]] = {}
    rows = 0
    truncated = False
    try:
        with open_table(p, fmt=fmt) as reader:
            names = [n for n, _ in reader.schema]
            if label not in names:
                raise DataError(f"{p} has no column {label!r}; columns: "
                                f"{', '.join(names[:20])}")
            if text is not None and text not in names:
                raise DataError(f"{p} has no column {text!r} for --text")
            types: dict[str, Any] = {}
            for batch in reader.iter_batches(rows=65_536):
                take = min(batch.num_rows, max_rows - rows)
                batch = batch.slice(0, take)
                for i, name in enumerate(batch.schema.names):
                    types[name] = batch.schema.field(i).type
                    columns.setdefault(name, []).extend(batch.column(i).to_pylist())
                rows += take
                if rows >= max_rows:
                    truncated = True
                    break
            total = reader.num_rows
    except DataError:
        raise
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise DataError(f"cannot read {p}: {str(exc).splitlines()[0] if str(exc) else exc}") \
            from None
    labels_raw = columns.pop(label, [])
    keep = [i for i, v in enumerate(labels_raw) if v is not None and v != ""]
    row_ids = None
    if len(keep) != len(labels_raw):
        labels_raw = [labels_raw[i] for i in keep]
        columns = {k: [v[i] for i in keep] for k, v in columns.items()}
        row_ids = np.asarray(keep, dtype=np.int64)
    codes, label_names = _encode(labels_raw)
    data = LabelledData(str(p), codes, label_names, row_ids=row_ids, truncated=truncated,
                        rows_total=total)
    numeric_cols = []
    for name, values in list(columns.items()):
        kind = types.get(name)
        if kind is not None and (pa.types.is_integer(kind) or pa.types.is_floating(kind)
                                 or pa.types.is_boolean(kind)):
            numeric_cols.append(name)
        elif kind is not None and pa.types.is_string(kind) and name != text:
            parsed = _as_numbers(values)
            if parsed is not None:
                columns[name] = parsed
                numeric_cols.append(name)
    if text is None:
        text = _guess_text_column(columns, set(numeric_cols))
    if text is not None:
        data.texts = [None if v is None else str(v) for v in columns[text]]
        data.text_column = text
    if numeric_cols:
        data.numeric = np.array([[np.nan if v is None else float(v) for v in columns[c]]
                                 for c in numeric_cols], dtype=float).T
        data.numeric_names = numeric_cols
    for name, values in columns.items():
        if name == text or name in numeric_cols:
            continue
        if len({str(v) for v in values[:50_000]}) <= 1000:
            data.categorical[name] = values
    return data


def _as_numbers(values: Sequence[Any]) -> list[float | None] | None:
    """A text column read from CSV as numbers, when (nearly) every value is one."""
    out: list[float | None] = []
    bad = 0
    for v in values:
        if v is None or (isinstance(v, str) and not v.strip()):
            out.append(None)
            continue
        try:
            out.append(float(v))
        except (TypeError, ValueError):
            bad += 1
            out.append(None)
            if bad > len(values) // 100:
                return None
    return out if len(out) > bad else None


def _guess_text_column(columns: dict[str, list[Any]], numeric: set[str]) -> str | None:
    best, best_len = None, 0.0
    for name, values in columns.items():
        if name in numeric:
            continue
        sample = [v for v in values[:2000] if isinstance(v, str)]
        if not sample:
            continue
        words = sum(len(v.split()) for v in sample) / len(sample)
        if words >= 3 and words > best_len:
            best, best_len = name, words
    return best


def _load_npz(path: Path, max_rows: int) -> LabelledData:
    try:
        if path.stat().st_size > MAX_NPZ_BYTES:
            raise DataError(f"{path} is larger than {MAX_NPZ_BYTES >> 30} GiB")
        with np.load(path, allow_pickle=False) as npz:
            keys = set(npz.files)
            xkey = next((k for k in ("x", "X", "images", "data", "features") if k in keys),
                        None)
            ykey = next((k for k in ("y", "labels", "label", "targets", "target")
                         if k in keys), None)
            if xkey is None or ykey is None:
                raise DataError(f"{path} needs arrays named x (or images) and y (or labels); "
                                f"it has {', '.join(sorted(keys)) or 'none'}")
            for key in (xkey, ykey):  # a compressed member may inflate to anything
                if npz.zip.getinfo(f"{key}.npy").file_size > MAX_NPZ_BYTES:
                    raise DataError(f"{path}: array {key} is larger than "
                                    f"{MAX_NPZ_BYTES >> 30} GiB unpacked")
            x = np.asarray(npz[xkey])[:max_rows]
            y = np.asarray(npz[ykey])[:max_rows].reshape(-1)
    except DataError:
        raise
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as exc:
        raise DataError(f"cannot read {path}: {str(exc).splitlines()[0] if str(exc) else exc}"
                        ) from None
    if len(x) != len(y):
        raise DataError(f"{path}: {len(x)} examples but {len(y)} labels")
    codes, names = _encode(y.tolist())
    data = LabelledData(str(path), codes, names)
    try:
        numeric = x.reshape(len(x), -1).astype(float)
    except (TypeError, ValueError):
        raise DataError(f"{path}: the features are not numbers ({x.dtype})") from None
    data.numeric = numeric
    if x.ndim >= 3:
        data.images = x
    else:
        data.numeric_names = [f"x[{i}]" for i in range(numeric.shape[1])]
    return data


def _finding(rule: str, title: str, severity: Severity, location: Location, evidence: str,
             remediation: str, taxonomy: tuple[str, ...] = POISONING,
             confidence: float = 0.8, **details: object) -> Finding:
    return Finding(rule, title, severity, location, evidence, remediation, confidence,
                   taxonomy, SCANNER, tuple((k, str(v)) for k, v in details.items()))


def _rows_text(rows: Sequence[int], limit: int = 10) -> str:
    shown = ", ".join(str(r) for r in rows[:limit])
    return shown + (f" and {len(rows) - limit} more" if len(rows) > limit else "")


def model_features(data: LabelledData) -> Any:
    """The feature matrix for the cross-validated model: TF-IDF text plus scaled numbers
    and one-hot categories (sparse when text is present)."""
    from scipy import sparse

    blocks: list[Any] = []
    if data.numeric is not None:
        x = data.numeric.copy()
        med = np.nanmedian(x, axis=0) if len(x) else np.zeros(x.shape[1])
        nan = np.isnan(x)
        if nan.any():
            x[nan] = np.take(np.nan_to_num(med), np.nonzero(nan)[1])
        blocks.append(x)
    for values in data.categorical.values():
        codes, names = _encode(values)
        if 1 < len(names) <= 200:
            blocks.append(np.eye(len(names))[codes])
    if data.texts is not None:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.preprocessing import StandardScaler

        tfidf = TfidfVectorizer(max_features=50_000, ngram_range=(1, 2), sublinear_tf=True,
                                min_df=2)
        try:
            text_x = tfidf.fit_transform([t or "" for t in data.texts])
        except ValueError:  # empty vocabulary
            text_x = sparse.csr_matrix((len(data), 0))
        dense = [StandardScaler().fit_transform(b) for b in blocks]
        return sparse.hstack([text_x, *[sparse.csr_matrix(d) for d in dense]]).tocsr()
    if not blocks:
        return None
    return np.hstack(blocks)


def check_labels(data: LabelledData, *, against: LabelledData | None = None,
                 folds: int = 5, model: Any = None, probabilities: np.ndarray | None = None,
                 outliers: bool = True, triggers: bool = True,
                 label_errors: bool = True,
                 stage: Callable[[str], None] | None = None) -> list[Finding]:
    """Run every check on `data` (and the balance check against `against`).

    `stage` is told the name of each step as it starts (for a progress display).
    """
    say = stage or (lambda _name: None)
    from dozor.data.labels.balance import balance_shift
    from dozor.data.labels.confident import find_label_issues, out_of_fold_probabilities
    from dozor.data.labels.duplicates import (
        exact_conflicts,
        exact_numeric_conflicts,
        rounded_conflicts,
        text_conflicts,
    )
    from dozor.data.labels.outliers import robust_z_outliers
    from dozor.data.labels.triggers import patch_triggers, token_triggers, value_triggers

    loc = Location(data.path)
    found: list[Finding] = []
    n = len(data)
    if data.truncated:
        found.append(_finding(
            NOT_CHECKED, "only the first rows were checked", Severity.INFO, loc,
            f"{n} of {data.rows_total or 'more'} rows", "Raise --max-rows, or check a "
            "sample that represents the whole file.", (), 1.0, rows=n))
    labels = data.labels
    names = data.names

    # duplicates with conflicting labels
    say("duplicates")
    label_list = [names[c] for c in labels.tolist()]
    if data.numeric is not None and data.texts is None and not data.categorical:
        exact = exact_numeric_conflicts(data.numeric, label_list)
    else:
        exact = exact_conflicts(data.feature_rows(), label_list)
    exact_rows = {frozenset(g.rows) for g in exact}

    def rows_of(rows: Sequence[int]) -> list[int]:
        """Positions among labelled examples -> rows of the file."""
        ids = data.row_ids
        return [int(r) if ids is None else int(ids[r]) for r in rows]

    for g in exact[:MAX_LISTED]:
        found.append(_finding(
            EXACT_CONFLICT, "identical examples carry different labels", Severity.MEDIUM,
            loc, f"rows {_rows_text(rows_of(g.rows))}: labels "
            f"{', '.join(sorted(set(g.labels)))}",
            "Keep one copy with the right label; many such groups point to a labelling "
            "fault or deliberate poisoning.", confidence=1.0, rows=rows_of(g.rows)))
    if len(exact) > MAX_LISTED:
        found.append(_finding(
            EXACT_CONFLICT, f"{len(exact) - MAX_LISTED} more groups of identical examples "
            "with different labels", Severity.MEDIUM, loc, f"{len(exact)} groups in all",
            "Deduplicate the dataset and relabel the conflicts.", confidence=1.0))
    near = []
    if data.texts is not None:
        near = text_conflicts(data.texts, label_list)
    elif data.numeric is not None and data.images is None:
        near = rounded_conflicts(data.numeric, label_list)
    near = [g for g in near if frozenset(g.rows) not in exact_rows]
    for g in near[:MAX_LISTED]:
        found.append(_finding(
            NEAR_CONFLICT, "near-identical examples carry different labels", Severity.LOW,
            loc, f"rows {_rows_text(rows_of(g.rows))}: labels "
            f"{', '.join(sorted(set(g.labels)))} "
            f"({g.kind}, similarity {g.similarity:.2f})",
            "Check whether these are the same example; relabel or drop the wrong ones.",
            confidence=0.7, rows=rows_of(g.rows), match=g.kind))
    if len(near) > MAX_LISTED:
        found.append(_finding(
            NEAR_CONFLICT, f"{len(near) - MAX_LISTED} more near-duplicate groups with "
            "different labels", Severity.LOW, loc, f"{len(near)} groups in all",
            "Deduplicate near copies and relabel the conflicts.", confidence=0.7))

    # label errors by confident learning
    say("label errors (cross-validation)")
    counts = np.bincount(labels, minlength=len(names))
    if label_errors and len(names) >= 2 and counts.min() >= 2 and n >= 20:
        probs = probabilities
        if probs is None:
            features = model_features(data)
            probs = None if features is None else out_of_fold_probabilities(
                features, labels, folds=folds, model=model)
        if probs is not None:
            result = find_label_issues(labels, probs)
            share = len(result.issues) / max(n, 1)
            if len(result.issues):
                listed = [f"{rows_of([r])[0]} ({names[labels[r]]} -> {names[s]})"
                          for r, s in zip(result.issues[:MAX_LISTED],
                                          result.suggested[:MAX_LISTED], strict=True)]
                found.append(_finding(
                    LABEL_ERRORS, f"{len(result.issues)} examples are likely mislabelled "
                    f"({share:.1%})", Severity.MEDIUM if share >= 0.01 else Severity.LOW, loc,
                    "rows (given -> likely): " + ", ".join(listed)
                    + (" ..." if len(result.issues) > MAX_LISTED else ""),
                    "Review these rows first (most likely first); relabel or drop them. A "
                    "sudden rise against an earlier version suggests label flipping.",
                    confidence=0.7, rows=rows_of(result.issues.tolist()),
                    suggested=[names[s] for s in result.suggested.tolist()],
                    estimated_noise_rate=round(result.noise_rate, 4)))
    elif label_errors:
        found.append(_finding(
            NOT_CHECKED, "label errors not checked: too few examples per class",
            Severity.INFO, loc,
            f"{n} rows, smallest class {int(counts.min()) if len(counts) else 0}",
            "Cross-validation needs at least two examples of every class.", (), 1.0))

    # outliers
    say("outliers")
    if outliers and data.numeric is not None and data.images is None:
        out = robust_z_outliers(data.numeric)
        if out:
            worst = ", ".join(f"{rows_of([o.row])[0]} ({data.numeric_names[o.feature]}, "
                              f"z={o.score:.0f})"
                              for o in out[:10])
            found.append(_finding(
                OUTLIERS, f"{len(out)} rows are far outside the rest", Severity.LOW, loc,
                f"rows (feature, robust z): {worst}",
                "Check the rows for entry errors or injected points before training.",
                confidence=0.6, rows=rows_of([o.row for o in out])))

    # backdoor-trigger hints
    say("trigger hints")
    if triggers:
        hints = []
        if data.texts is not None:
            hints += [(TOKEN_TRIGGER, h) for h in token_triggers(data.texts, labels, names)]
        raw: dict[str, Sequence[Any]] = dict(data.categorical)
        if data.numeric is not None and data.images is None:
            for i, name in enumerate(data.numeric_names):
                raw[name] = data.numeric[:, i].tolist()
        hints += [(VALUE_TRIGGER, h) for h in value_triggers(raw, labels, names)]
        if data.images is not None:
            hints += [(PATCH_TRIGGER, h) for h in patch_triggers(data.images, labels, names)]
        for rule, h in hints[:MAX_LISTED]:
            what = {"token": "token", "value": "feature value", "patch": "pixel patch"}[h.kind]
            shown = h.pattern if h.kind != "token" else repr(h.pattern[:40])
            found.append(_finding(
                rule, f"possible backdoor trigger: a rare {what} almost always comes with "
                f"label {h.label!r}", Severity.HIGH, loc,
                f"{shown}: {h.support} rows, {h.purity:.0%} labelled {h.label!r} (base rate "
                f"{h.base_rate:.0%}), e.g. rows {_rows_text(rows_of(h.rows), 5)}",
                "Look at these rows: if the pattern has no reason to decide the label, drop "
                "them (or the pattern) and retrain; test the model with the pattern added "
                "to examples of other classes.", BACKDOOR, 0.6,
                pattern=h.pattern, label=h.label, support=h.support,
                purity=round(h.purity, 4), p_value=f"{h.p_value:.2e}"))

    # class balance against an earlier version
    say("class balance")
    if against is not None:
        old = [against.names[c] for c in against.labels]
        new = [names[c] for c in labels]
        shift = balance_shift(old, new)
        if shift.p_value < 1e-3 and shift.total_variation >= 0.02:
            lab, delta = shift.largest
            found.append(_finding(
                BALANCE_SHIFT, f"the label distribution changed by {shift.total_variation:.1%} "
                "(total variation)", Severity.MEDIUM if shift.total_variation >= 0.05
                else Severity.LOW, loc,
                f"largest move: {lab!r} {delta:+.1%}; chi-square {shift.chi2:.1f}, p = "
                f"{shift.p_value:.1e}"
                + (f"; new labels {', '.join(shift.added)}" if shift.added else "")
                + (f"; labels gone {', '.join(shift.removed)}" if shift.removed else ""),
                "Find out why the share of labels moved (new sources, a labelling change, or "
                "injected examples) before training on the new version.", confidence=0.9,
                total_variation=round(shift.total_variation, 4), against=against.path))
    return found


def check_file(path: str | os.PathLike[str], label: str | None, *, text: str | None = None,
               against: str | os.PathLike[str] | None = None, max_rows: int = MAX_ROWS,
               folds: int = 5, model: str = "linear",
               stage: Callable[[str], None] | None = None) -> Report:
    """Load and check `path` (and `against`); one `Report`."""
    from dozor import __version__

    started = time.time()
    if stage is not None:
        stage("reading")
    data = load_labelled(path, label, text=text, max_rows=max_rows)
    old = load_labelled(against, label, text=text, max_rows=max_rows) if against else None
    report = Report(version=__version__, started=started)
    report.findings.extend(check_labels(data, against=old, folds=folds, model=model,
                                        stage=stage))
    report.seconds = time.time() - started
    for item in (path, against):
        if item is not None:
            p = Path(item)
            report.files.append(ScannedFile(str(p), p.stat().st_size if p.is_file() else 0,
                                            ("labelled-data",), report.seconds))
    return report
