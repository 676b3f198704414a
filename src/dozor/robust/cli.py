"""`dozor robust`: attack a model file with its data and report what is left.

Only typer and the standard library at module level: `dozor --help` must stay fast.
"""

from __future__ import annotations

import json
import sys
import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from dozor.cli_support import EXIT_CLEAN, EXIT_FINDINGS, fail, require


class Attack(StrEnum):
    fgsm = "fgsm"
    pgd = "pgd"
    blackbox = "blackbox"
    membership = "membership"
    extraction = "extraction"
    backdoor = "backdoor"


class Fmt(StrEnum):
    console = "console"
    json = "json"
    html = "html"
    sarif = "sarif"


def register(app: typer.Typer) -> None:
    app.command("robust")(robust)


def robust(
    model: Annotated[Path, typer.Argument(help="Model file: scikit-learn (joblib/pickle) or "
                                          "torch (TorchScript, whole module, or state dict with "
                                          "--arch). Scanned statically first; loaded only if "
                                          "clean.", show_default=False)],
    data: Annotated[Path, typer.Option("--data", "-d", help="Evaluation rows the model was NOT "
                                       "trained on: .csv, .parquet or .npz.",
                                       show_default=False)],
    label: Annotated[str, typer.Option("--label", "-l", help="Label column (CSV/Parquet) or "
                                       "label array name (NPZ).", show_default=False)],
    attack: Annotated[list[Attack] | None, typer.Option(
        "--attack", "-a", help="Attack(s) to run; repeat the option. Default: pgd for torch "
        "models, blackbox for others. membership needs --train; backdoor scans --data as "
        "training rows.")] = None,
    eps: Annotated[list[float] | None, typer.Option(
        "--eps", "-e", help="Perturbation budget(s); repeat for a curve. For tabular data "
        "eps is a fraction of each feature's range (see --absolute). Default: 0.05 0.1 0.2 "
        "(L-inf) or 0.5 1 2 (L2).")] = None,
    norm: Annotated[str, typer.Option("--norm", help="Budget norm: inf or 2.")] = "inf",
    steps: Annotated[int, typer.Option("--steps", help="PGD iterations.", min=1)] = 40,
    queries: Annotated[int, typer.Option(
        "--queries", help="Black-box attack: iterations (queries) per row; extraction: "
        "number of queries N.", min=1)] = 500,
    train: Annotated[Path | None, typer.Option(
        "--train", help="Rows the model WAS trained on (membership inference members), same "
        "format as --data.", show_default=False)] = None,
    input_shape: Annotated[str | None, typer.Option(
        "--input-shape", help="Torch: shape of one input, e.g. 1,8,8 (default: the data's "
        "row shape).", show_default=False)] = None,
    clip: Annotated[str | None, typer.Option(
        "--clip", help="Torch: valid input range LO,HI, e.g. 0,1 for images.",
        show_default=False)] = None,
    immutable: Annotated[list[str] | None, typer.Option(
        "--immutable", help="Column an attacker cannot change (repeat).")] = None,
    one_hot: Annotated[list[str] | None, typer.Option(
        "--one-hot", help="Column-name prefix of a one-hot group, e.g. 'employment_' "
        "(repeat).")] = None,
    absolute: Annotated[bool, typer.Option(
        "--absolute", help="Measure eps in the data's own units instead of a fraction of each "
        "feature's range.")] = False,
    arch: Annotated[str | None, typer.Option(
        "--arch", help="Torch state dict: your architecture as file.py:ClassName (built "
        "without arguments).", show_default=False)] = None,
    max_rows: Annotated[int, typer.Option("--max-rows", help="Use at most this many rows.",
                                          min=10)] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
    fmt: Annotated[Fmt, typer.Option("--format", "-f", help="Report format.")] = Fmt.console,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Write the report here instead of standard output.",
        dir_okay=False, show_default=False)] = None,
    policy_file: Annotated[Path | None, typer.Option(
        "--policy", "-p", help="Policy file (fail_on for the model scan, robust: thresholds) "
        "[default: .dozor.yaml if present].", dir_okay=False, show_default=False)] = None,
) -> None:
    """Attack a model: evasion (FGSM, PGD, black-box Square), membership inference,
    extraction, backdoor scan; report robust accuracy per budget and findings.

    [b]Examples[/b]

      dozor robust model.joblib --data test.csv --label y --eps 0.05 --eps 0.1

      dozor robust cnn.pt --data test.npz --label y --clip 0,1 --attack pgd -f html -o r.html

      dozor robust model.joblib --data test.csv --label y --train train.csv -a membership
    """
    require("numpy", "robust")
    require("sklearn", "robust")
    from dozor.robust import loading
    from dozor.robust.report import ThresholdError, load_thresholds

    if output is not None and not output.parent.is_dir():
        raise fail(f"--output: folder {output.parent} does not exist")
    if not model.is_file():
        raise fail(f"model file {model} does not exist")
    if norm not in ("inf", "2"):
        raise fail("--norm must be inf or 2")
    policy = str(policy_file) if policy_file else None
    try:
        thresholds = load_thresholds(policy)
        clean, why, fail_on = loading.scan_model(model, policy)
    except (loading.LoadError, ThresholdError) as exc:
        raise fail(str(exc)) from None
    if not clean:
        typer.echo(f"dozor: refused to load {model}: {why}", err=True)
        raise typer.Exit(EXIT_FINDINGS)
    try:
        x, y_raw, names = loading.load_data(data, label, max_rows=max_rows)
        x_train = y_train_raw = None
        if train is not None:
            x_train, y_train_raw, _ = loading.load_data(train, label, max_rows=max_rows)
        kind, obj = loading.load_model(model, arch)
    except loading.LoadError as exc:
        raise fail(str(exc)) from None
    try:
        data_out, report, evasions = _run(
            kind, obj, x, y_raw, names, x_train, y_train_raw, attack, eps, norm, steps,
            queries, input_shape, clip, immutable or [], one_hot or [], absolute, seed,
            str(model), thresholds)
    except ValueError as exc:
        raise fail(str(exc)) from None
    _write(report, data_out, evasions, fmt, output)
    raise typer.Exit(EXIT_FINDINGS if report.at_least(fail_on) else EXIT_CLEAN)


def _shape(text: str | None, x: Any) -> tuple[int, ...]:
    if not text:
        return tuple(int(s) for s in x.shape[1:])
    try:
        return tuple(int(p) for p in text.split(","))
    except ValueError:
        raise ValueError(f"--input-shape {text!r}: give integers like 1,8,8") from None


def _run(kind: str, obj: Any, x: Any, y_raw: Any, names: list[str], x_train: Any,
         y_train_raw: Any, attacks: list[Attack] | None, eps: list[float] | None, norm: str,
         steps: int, queries: int, input_shape: str | None, clip: str | None,
         immutable: list[str], one_hot: list[str], absolute: bool, seed: int, path: str,
         thresholds: Any) -> tuple[dict[str, Any], Any, list[Any]]:
    import numpy as np

    from dozor.findings import Report
    from dozor.robust import evasion
    from dozor.robust import report as rep
    from dozor.robust.constraints import Constraints
    from dozor.robust.models import SklearnClassifier, TorchClassifier

    t0 = time.perf_counter()
    clf: Any
    if kind == "torch":
        clip_values = None
        if clip:
            try:
                lo, hi = (float(v) for v in clip.split(","))
            except ValueError:
                raise ValueError(f"--clip {clip!r}: give LO,HI like 0,1") from None
            clip_values = (lo, hi)
        clf = TorchClassifier.wrap(obj, _shape(input_shape, x), clip_values=clip_values)
        y = _as_index(y_raw, clf.n_classes)
        y_train = _as_index(y_train_raw, clf.n_classes) if y_train_raw is not None else None
    else:
        clf = SklearnClassifier(obj)
        y = clf.labels_to_index(y_raw)
        y_train = clf.labels_to_index(y_train_raw) if y_train_raw is not None else None
    x = np.asarray(x, dtype=np.float32)
    chosen = list(attacks or [Attack.pgd if kind == "torch" else Attack.blackbox])
    budgets = eps or ([0.05, 0.1, 0.2] if norm == "inf" else [0.5, 1.0, 2.0])
    constraints = None
    if x.ndim == 2 and kind != "torch" or immutable or one_hot:
        idx = {n: i for i, n in enumerate(names)}
        bad = [c for c in immutable if c not in idx]
        if bad:
            raise ValueError(f"--immutable: no column {bad[0]!r}")
        groups = []
        for prefix in one_hot:
            g = tuple(i for n, i in idx.items() if n.startswith(prefix))
            if len(g) < 2:
                raise ValueError(f"--one-hot {prefix!r}: fewer than two columns start with it")
            groups.append(g)
        constraints = Constraints.from_data(
            x.reshape(len(x), -1), categorical=tuple(groups),
            immutable=tuple(idx[c] for c in immutable), relative=not absolute)
        if kind == "torch" and clf.clip_values is not None:
            lo_c, hi_c = clf.clip_values
            constraints = Constraints(np.maximum(constraints._bounds(x[0].size)[0], lo_c),
                                      np.minimum(constraints._bounds(x[0].size)[1], hi_c),
                                      constraints.integer, constraints.categorical,
                                      constraints.immutable, constraints.scale)
    out: dict[str, Any] = {"model": path, "model_kind": kind, "rows": int(len(x)),
                           "clean_accuracy": float((clf.predict_proba(x).argmax(1) == y).mean())}
    report = Report(version=_version())
    evasions = []
    for a in chosen:
        if a in (Attack.fgsm, Attack.pgd, Attack.blackbox):
            if a != Attack.blackbox and kind != "torch":
                raise ValueError(f"{a.value} needs gradients: use --attack blackbox for "
                                 "scikit-learn models")
            r = _with_progress(f"{a.value}", len(budgets), lambda cb, a=a: evasion.evaluate(
                clf, x, y, attack=a.value, eps=budgets, norm=norm, steps=steps,
                queries=queries, constraints=constraints, seed=seed, on_budget=cb))
            evasions.append(r)
            out.setdefault("evasion", []).append(r.to_dict())
            report.findings.extend(rep.evasion_findings(r, path, thresholds))
        elif a == Attack.membership:
            if x_train is None or y_train is None:
                raise ValueError("membership inference needs the training rows: --train FILE")
            from dozor.robust import privacy

            xt = np.asarray(x_train, dtype=np.float32)
            n = min(len(xt), len(x) // 2)
            rng = np.random.default_rng(seed)
            perm = rng.permutation(len(x))
            out_idx, pool_idx = perm[:n], perm[n:]
            mem = rng.choice(len(xt), n, replace=False)
            res = [privacy.threshold_attack(clf, xt[mem], y_train[mem], x[out_idx], y[out_idx])]
            if len(pool_idx) >= 20:
                res.append(privacy.shadow_attack(
                    clf, xt[mem], y_train[mem], x[out_idx], y[out_idx], x_pool=x[pool_idx],
                    y_pool=y[pool_idx], make_shadow=privacy.default_shadow(clf), seed=seed))
            out["membership"] = [r.to_dict() for r in res]
            report.findings.extend(rep.membership_findings(res, path, thresholds))
        elif a == Attack.extraction:
            from dozor.robust.extraction import extract

            half = len(x) // 2
            er = extract(clf, x[:half], x[half:], y[half:], queries=queries, seed=seed)
            out["extraction"] = er.to_dict()
            report.findings.extend(rep.extraction_findings(er, path, thresholds))
        elif a == Attack.backdoor:
            if kind != "torch":
                raise ValueError("the backdoor scan needs a torch classifier")
            from dozor.robust.backdoor import scan_backdoor

            br = scan_backdoor(clf, x, y, seed=seed)
            out["backdoor"] = br.to_dict()
            report.findings.extend(rep.backdoor_findings(br, path))
    if evasions:
        out["robust_accuracy"] = {str(b.eps): b.robust_accuracy for b in evasions[0].budgets}
    report.seconds = time.perf_counter() - t0
    return out, report, evasions


def _as_index(y: Any, n: int) -> Any:
    import numpy as np

    try:
        idx = np.asarray(y).astype(np.int64)
    except (TypeError, ValueError):
        raise ValueError("torch models need integer class labels 0..n-1") from None
    if len(idx) and (idx.min() < 0 or idx.max() >= n):
        raise ValueError(f"labels must be class indices 0..{n - 1} for this model")
    return idx


def _with_progress(name: str, total: int, fn: Any) -> Any:
    if not sys.stderr.isatty():
        return fn(None)
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(f"{name} budgets", total=total)
        return fn(lambda _r: bar.advance(task))


def _version() -> str:
    from dozor import __version__

    return __version__


def _write(report: Any, data: dict[str, Any], evasions: list[Any], fmt: Fmt,
           output: Path | None) -> None:
    from dozor.report import render_to

    if fmt == Fmt.json:
        text = json.dumps(report.to_dict() | {"robust": data}, indent=2, default=str) + "\n"
    elif fmt == Fmt.html:
        from dozor.robust.report import render_page

        text = render_page(report, data, evasions)
    else:
        if fmt == Fmt.console:
            _console_summary(data)
        try:
            render_to(report, fmt.value, output or sys.stdout, base_dir=Path.cwd())
        except OSError as exc:
            raise fail(f"cannot write report: {exc.strerror or exc}") from None
        return
    if output is None:
        sys.stdout.write(text)
        return
    tmp = output.with_name(output.name + ".tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(output)
    except OSError as exc:
        raise fail(f"cannot write report: {exc.strerror or exc}") from None


def _console_summary(data: dict[str, Any]) -> None:
    lines = [f"model {data['model']} ({data['model_kind']}), {data['rows']} rows, clean "
             f"accuracy {100 * data['clean_accuracy']:.1f}%"]
    for e in data.get("evasion", []):
        curve = ", ".join(f"eps={k}: {100 * v:.1f}%" for k, v in e["robust_accuracy"].items())
        lines.append(f"  {e['attack']} L{e['norm']}: {curve}")
    for m in data.get("membership", []):
        lines.append(f"  membership {m['attack']}: AUC {m['auc']:.3f}, TPR@1%FPR "
                     f"{100 * m['tpr_at_fpr']['0.01']:.1f}%")
    if "extraction" in data:
        e = data["extraction"]
        lines.append(f"  extraction with {e['queries']} queries: agreement "
                     f"{100 * e['agreement']:.1f}%")
    if "backdoor" in data:
        b = data["backdoor"]
        lines.append(f"  backdoor: suspect classes {b['suspect_classes'] or 'none'}, "
                     f"{b['suspected_rows']} rows")
    typer.echo("\n".join(lines), err=True)
