"""Attack results to findings (DZ-ROB-*) with policy thresholds, and the HTML page.

Thresholds come from the `robust:` section of the policy file (`.dozor.yaml`)::

    robust:
      min_robust_accuracy: 0.5     # DZ-ROB-001 when accuracy at `at_eps` is below this
      at_eps: 0.1                  # the budget that threshold applies to
      max_membership_auc: 0.6      # DZ-ROB-002 above this attack AUC
      max_tpr_at_1pct_fpr: 0.05    # DZ-ROB-002 also when TPR at 1% FPR is above this
      max_extraction_agreement: 0.9  # DZ-ROB-003 at or above this agreement

Read here rather than in `dozor.policy`, so scanners keep a policy that knows nothing
of attacks; `dozor.policy` only accepts the key.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, fields, replace
from typing import Any

from dozor.findings import Finding, Location, Report, Severity

SCANNER = "robust"


@dataclass(frozen=True)
class RobustThresholds:
    min_robust_accuracy: float = 0.5
    at_eps: float = 0.1
    max_membership_auc: float = 0.6
    max_tpr_at_1pct_fpr: float = 0.05
    max_extraction_agreement: float = 0.9


class ThresholdError(ValueError):
    """The policy's robust: section is invalid; the message names the key."""


def load_thresholds(path: str | None = None) -> RobustThresholds:
    """The `robust:` section of the policy at `path` (or ./.dozor.yaml), or defaults."""
    if path is None:
        if not os.path.isfile(".dozor.yaml"):
            return RobustThresholds()
        path = ".dozor.yaml"
    import yaml

    try:
        with open(path, encoding="utf-8") as fh:
            data = yaml.safe_load(fh.read(1 << 20)) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ThresholdError(f"cannot read policy {path}: {exc}") from None
    section = data.get("robust") if isinstance(data, dict) else None
    if section is None:
        return RobustThresholds()
    if not isinstance(section, dict):
        raise ThresholdError(f"{path}: robust must be a mapping")
    names = {f.name for f in fields(RobustThresholds)}
    for key, value in section.items():
        if key not in names:
            raise ThresholdError(f"{path}: unknown robust key {key!r}; known: "
                                 + ", ".join(sorted(names)))
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
            raise ThresholdError(f"{path}: robust.{key} must be a non-negative number")
    return replace(RobustThresholds(), **{k: float(v) for k, v in section.items()})


def _pct(v: float) -> str:
    return f"{100 * v:.1f}%"


def evasion_findings(result: Any, model_path: str, t: RobustThresholds) -> list[Finding]:
    """DZ-ROB-001 for the budget nearest `at_eps` (and every smaller one) whose robust
    accuracy is below the threshold."""
    out = []
    for b in result.budgets:
        if b.eps > t.at_eps + 1e-12 or b.robust_accuracy >= t.min_robust_accuracy:
            continue
        sev = Severity.HIGH if b.robust_accuracy < t.min_robust_accuracy / 2 else Severity.MEDIUM
        out.append(Finding(
            "DZ-ROB-001",
            f"robust accuracy at eps={b.eps:g} ({result.attack}, L{result.norm}) is "
            f"{_pct(b.robust_accuracy)}, below {_pct(t.min_robust_accuracy)}",
            sev, Location(model_path),
            evidence=f"clean accuracy {_pct(result.clean_accuracy)}, robust "
                     f"{_pct(b.robust_accuracy)} on {result.n} rows",
            remediation="train with adversarial examples (PGD adversarial training), "
                        "limit and monitor queries, or validate inputs",
            taxonomy=("ML01:2023", "AML.T0043", "AML.T0015"),
            scanner=SCANNER,
            details=(("attack", result.attack), ("norm", result.norm), ("eps", f"{b.eps:g}"),
                     ("robust_accuracy", f"{b.robust_accuracy:.4f}"))))
    return out


def membership_findings(results: list[Any], model_path: str,
                        t: RobustThresholds) -> list[Finding]:
    out = []
    for r in results:
        tpr1 = dict(r.tpr_at_fpr).get(0.01, 0.0)
        if r.auc <= t.max_membership_auc and tpr1 <= t.max_tpr_at_1pct_fpr:
            continue
        sev = Severity.HIGH if r.auc > 0.75 or tpr1 > 0.2 else Severity.MEDIUM
        out.append(Finding(
            "DZ-ROB-002",
            f"membership inference ({r.attack}) tells members apart: AUC {r.auc:.3f}, "
            f"TPR {_pct(tpr1)} at 1% FPR",
            sev, Location(model_path),
            evidence=f"{r.n_members} members vs {r.n_nonmembers} non-members",
            remediation="regularise (weight decay, early stopping), train with differential "
                        "privacy (DP-SGD), or return labels or rounded scores only",
            taxonomy=("ML04:2023", "AML.T0024.000"), scanner=SCANNER,
            details=(("attack", r.attack), ("auc", f"{r.auc:.4f}"),
                     ("tpr_at_1pct_fpr", f"{tpr1:.4f}"))))
    return out


def extraction_findings(r: Any, model_path: str, t: RobustThresholds) -> list[Finding]:
    if r.agreement < t.max_extraction_agreement:
        return []
    return [Finding(
        "DZ-ROB-003",
        f"a surrogate trained on {r.queries} queries agrees with the model on "
        f"{_pct(r.agreement)} of held-out rows",
        Severity.MEDIUM, Location(model_path),
        evidence=f"surrogate {r.surrogate}; agreement {_pct(r.agreement)}",
        remediation="rate-limit and monitor queries per client, return labels instead of "
                    "scores, watermark the model",
        taxonomy=("ML05:2023", "AML.T0024.002"), scanner=SCANNER,
        details=(("queries", str(r.queries)), ("agreement", f"{r.agreement:.4f}")))]


def backdoor_findings(r: Any, model_path: str) -> list[Finding]:
    out = []
    for c in r.classes:
        if not c.suspect:
            continue
        n = round(c.look_alike * c.rows)
        out.append(Finding(
            "DZ-ROB-004",
            f"suspected backdoor: {n} training rows labelled {c.label} look like other "
            "classes, were learned as this one, and cluster together in activation space",
            Severity.HIGH, Location(model_path),
            evidence=f"class {c.label}: {100 * c.look_alike:.0f}% look-alike rows, "
                     f"activation cohesion {c.cohesion:.2f}",
            remediation="inspect the suspected rows (JSON report lists their indices), remove "
                        "them and retrain; find where the data came from",
            confidence=min(1.0, max(0.5, c.cohesion)),
            taxonomy=("ML10:2023", "ML02:2023", "AML.T0018.000", "AML.T0020"),
            scanner=SCANNER,
            details=(("suspect_class", str(c.label)), ("rows", str(n)))))
    return out


def curve_png(results: list[Any]) -> bytes:
    """Robust accuracy against budget, one line per attack and norm (matplotlib, Agg)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=100)
    for r in results:
        xs = [0.0] + [b.eps for b in r.budgets]
        ys = [100 * r.clean_accuracy] + [100 * b.robust_accuracy for b in r.budgets]
        ax.plot(xs, ys, marker="o", label=f"{r.attack} L{r.norm}")
    ax.set_xlabel("budget eps")
    ax.set_ylabel("accuracy (%)")
    ax.set_ylim(0, 100)
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title("robust accuracy against budget")
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def render_page(report: Report, data: dict[str, Any], evasions: list[Any]) -> str:
    """The HTML report: summary, the curve (PNG and SVG), tables per attack, findings."""
    import html as _html
    import json

    from dozor.report.html import Section, line_chart_svg, png_img, render_html

    sections = []
    if evasions:
        series: dict[str, Any] = {f"{r.attack} L{r.norm}": [(0.0, 100 * r.clean_accuracy)] +
                  [(b.eps, 100 * b.robust_accuracy) for b in r.budgets] for r in evasions}
        body = png_img(curve_png(evasions), "robust accuracy against budget")
        body += line_chart_svg(series, title="robust accuracy (%)", x_label="eps",
                               y_label="accuracy %")
        rows = "".join(
            f"<tr><td>{_html.escape(r.attack)}</td><td>L{r.norm}</td><td>{b.eps:g}</td>"
            f"<td>{_pct(r.clean_accuracy)}</td><td>{_pct(b.robust_accuracy)}</td>"
            f"<td>{b.seconds:.2f}</td><td>{b.queries}</td></tr>"
            for r in evasions for b in r.budgets)
        body += ("<table><tr><th>attack</th><th>norm</th><th>eps</th><th>clean</th>"
                 f"<th>robust</th><th>seconds</th><th>queries</th></tr>{rows}</table>")
        sections.append(Section("Robust accuracy against budget", body))
    for key in ("membership", "extraction", "backdoor"):
        if key in data:
            text = json.dumps(data[key], indent=2, default=str)[:20000]
            sections.append(Section(key.capitalize(), f"<pre>{_html.escape(text)}</pre>"))
    summary = {"model": str(data.get("model", "")), "rows": str(data.get("rows", ""))}
    if "clean_accuracy" in data:
        summary["clean accuracy"] = _pct(data["clean_accuracy"])
    return render_html(report, title="dozor robust", summary=summary, sections=sections)
