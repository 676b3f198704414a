"""A self-contained HTML report: summary, optional chart sections, findings by severity.

One file with inline CSS and inline SVG charts, no scripts and nothing fetched, so it opens
from a CI artefact store or a mail attachment and can be archived as it is. Charts are
drawn here as SVG (a few dozen lines) instead of pulling a plotting library into the base
install; a part that already depends on matplotlib can embed its PNG with `png_img`.

Everything from a report (paths, evidence, titles) is escaped by Jinja2's autoescape;
only `Section.html`, which dozor's own code builds from escaped parts, is trusted.
"""

from __future__ import annotations

import base64
import html
import time
from collections.abc import Sequence
from dataclasses import dataclass

from jinja2 import Environment
from markupsafe import Markup

from dozor.findings import Report, Severity

__all__ = ["Section", "bar_chart_svg", "line_chart_svg", "png_img", "render", "render_html"]


@dataclass(frozen=True)
class Section:
    title: str
    """Heading shown above the section."""
    html: str
    """Trusted HTML made by dozor (a chart, a table built with `html.escape`)."""


_PALETTE = ("#2f6db5", "#d0582b", "#3c9a5f", "#8e5bb5", "#c49a1c", "#4a9fb0", "#b5476d")
_SEVERITY_COLOURS = {
    "critical": "#8b0000", "high": "#d0342c", "medium": "#e08a00", "low": "#3b7dd8",
    "info": "#6b7280",
}

_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="dozor {{ version }}">
<title>{{ title }}</title>
<style>
body{font:15px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;
max-width:1100px;padding:0 1rem;color:#1f2328}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2rem;
border-bottom:1px solid #d8dee4;padding-bottom:.3rem}
.meta{color:#57606a;font-size:.9rem}
table{border-collapse:collapse;width:100%;margin:.6rem 0}
th,td{border:1px solid #d8dee4;padding:.35rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}td.num{text-align:right;font-variant-numeric:tabular-nums}
.sev{display:inline-block;padding:0 .45rem;border-radius:.6rem;color:#fff;font-size:.8rem;
font-weight:600;text-transform:uppercase}
code,.evidence{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.85rem;
word-break:break-word}
.cards{display:flex;flex-wrap:wrap;gap:.6rem;margin:.8rem 0}
.card{border:1px solid #d8dee4;border-radius:.4rem;padding:.5rem .8rem;min-width:8rem}
.card b{display:block;font-size:1.3rem}
figure{margin:.6rem 0}svg text{font-family:system-ui,sans-serif}
</style></head>
<body>
<h1>{{ title }}</h1>
<p class="meta">dozor {{ version }} &middot; {{ started }} &middot; {{ "%.2f"|format(seconds) }} s
&middot; {{ findings|length }} finding{{ "" if findings|length == 1 else "s" }}</p>
<div class="cards" id="summary">
{% for key, value in summary %}<div class="card"><span>{{ key }}</span><b>{{ value }}</b></div>
{% endfor %}
{% for sev, count in counts %}<div class="card"><span>{{ sev }}</span><b>{{ count }}</b></div>
{% endfor %}
</div>
{% for section in sections %}
<section class="extra"><h2>{{ section.title }}</h2>{{ section.body }}</section>
{% endfor %}
<h2>Findings</h2>
{% if findings %}
<table id="findings"><thead><tr><th>severity</th><th>rule</th><th>finding</th>
<th>location</th><th>taxonomy</th></tr></thead><tbody>
{% for f in findings %}<tr>
<td><span class="sev" style="background:{{ colours[f.severity.name.lower()] }}">{{
f.severity.name.lower() }}</span></td>
<td><code>{{ f.rule_id }}</code></td>
<td>{{ f.title }}{% if f.evidence %}<div class="evidence">{{ f.evidence }}</div>{% endif %}
{% if f.remediation %}<div class="meta">{{ f.remediation }}</div>{% endif %}</td>
<td><code>{{ f.location }}</code></td>
<td>{{ f.taxonomy|join(", ") }}</td>
</tr>{% endfor %}
</tbody></table>
{% else %}<p id="findings">No findings.</p>{% endif %}
{% if errors %}<h2>Errors</h2><ul>{% for e in errors %}<li>{{ e }}</li>{% endfor %}</ul>
{% endif %}
</body></html>
"""

_env = Environment(autoescape=True, trim_blocks=False, lstrip_blocks=False)
_template = _env.from_string(_TEMPLATE)


def render_html(
    report: Report,
    *,
    title: str = "dozor report",
    summary: dict[str, str] | None = None,
    sections: Sequence[Section] | None = None,
) -> str:
    """The whole page as a string."""
    from dozor import __version__

    findings = sorted(report.findings, key=lambda f: (-int(f.severity), f.rule_id))
    counts = []
    for sev in sorted(Severity, reverse=True):
        n = sum(1 for f in report.findings if f.severity == sev)
        if n:
            counts.append((sev.name.lower(), n))
    return _template.render(
        title=title,
        version=report.version or __version__,
        started=time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(report.started)),
        seconds=report.seconds,
        summary=list((summary or {}).items()),
        counts=counts,
        sections=[{"title": s.title, "body": Markup(s.html)} for s in sections or ()],
        findings=findings,
        colours=_SEVERITY_COLOURS,
        errors=report.errors,
    )


def render(report: Report) -> str:
    """The `html` format of `dozor.report.render_to`: findings only."""
    return render_html(report, title="dozor report")


def png_img(data: bytes, alt: str) -> str:
    """An <img> with the PNG inline as a data URI."""
    encoded = base64.b64encode(data).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{encoded}">'


def _fmt(value: float) -> str:
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"


def bar_chart_svg(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    title: str,
    unit: str = "%",
    max_value: float | None = None,
) -> str:
    """A horizontal bar chart, one bar per label, with its value written beside it."""
    if len(labels) != len(values):
        raise ValueError("bar_chart_svg: labels and values differ in length")
    top = max_value if max_value is not None else max([*values, 0.0]) or 1.0
    label_w, bar_w, row_h, pad = 260, 520, 26, 34
    height = pad + row_h * len(labels) + 10
    width = label_w + bar_w + 90
    parts = [
        f'<svg class="chart bar-chart" role="img" xmlns="http://www.w3.org/2000/svg" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}">',
        f"<title>{html.escape(title)}</title>",
        f'<text x="0" y="18" font-size="15" font-weight="600">{html.escape(title)}</text>',
    ]
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = pad + i * row_h
        w = max(0.0, min(1.0, value / top)) * bar_w if top else 0.0
        colour = _PALETTE[i % len(_PALETTE)]
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 16}" font-size="13" text-anchor="end">'
            f"{html.escape(str(label))}</text>"
            f'<rect class="bar" x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row_h - 8}" '
            f'fill="{colour}" data-label="{html.escape(str(label))}" data-value="{value}"/>'
            f'<text x="{label_w + w + 6:.1f}" y="{y + 16}" font-size="12">'
            f"{html.escape(_fmt(value) + unit)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def line_chart_svg(
    series: dict[str, Sequence[tuple[float, float]]],
    *,
    title: str,
    x_label: str,
    y_label: str,
    y_range: tuple[float, float] | None = None,
) -> str:
    """Lines through (x, y) points, one per series, with axes, ticks and a legend."""
    points = [p for pts in series.values() for p in pts]
    width, height, left, right, top, bottom = 720, 380, 64, 170, 36, 52
    plot_w, plot_h = width - left - right, height - top - bottom
    if points:
        x0, x1 = min(p[0] for p in points), max(p[0] for p in points)
        y0, y1 = y_range or (min(p[1] for p in points), max(p[1] for p in points))
    else:
        x0, x1, y0, y1 = 0.0, 1.0, 0.0, 1.0
    if x1 == x0:
        x1 = x0 + 1.0
    if y1 == y0:
        y1 = y0 + 1.0

    def sx(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * plot_w

    def sy(y: float) -> float:
        return top + plot_h - (y - y0) / (y1 - y0) * plot_h

    parts = [
        f'<svg class="chart line-chart" role="img" xmlns="http://www.w3.org/2000/svg" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}">',
        f"<title>{html.escape(title)}</title>",
        f'<text x="{left}" y="20" font-size="15" font-weight="600">{html.escape(title)}</text>',
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" '
        f'stroke="#8c959f"/>',
    ]
    for k in range(5):
        fy = y0 + (y1 - y0) * k / 4
        fx = x0 + (x1 - x0) * k / 4
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{sy(fy):.1f}" y2="{sy(fy):.1f}" '
            f'stroke="#eaeef2"/>'
            f'<text x="{left - 6}" y="{sy(fy) + 4:.1f}" font-size="11" text-anchor="end">'
            f"{_fmt(fy)}</text>"
            f'<text x="{sx(fx):.1f}" y="{top + plot_h + 16}" font-size="11" '
            f'text-anchor="middle">{_fmt(fx)}</text>'
        )
    parts.append(
        f'<text x="{left + plot_w / 2}" y="{height - 12}" font-size="12" text-anchor="middle">'
        f"{html.escape(x_label)}</text>"
        f'<text x="14" y="{top + plot_h / 2}" font-size="12" text-anchor="middle" '
        f'transform="rotate(-90 14 {top + plot_h / 2})">{html.escape(y_label)}</text>'
    )
    for i, (name, pts) in enumerate(series.items()):
        colour = _PALETTE[i % len(_PALETTE)]
        ordered = sorted(pts)
        path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in ordered)
        parts.append(
            f'<polyline class="series" data-name="{html.escape(name)}" fill="none" '
            f'stroke="{colour}" stroke-width="2" points="{path}"/>'
        )
        parts.extend(
            f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="3" fill="{colour}"/>'
            for x, y in ordered
        )
        ly = top + 10 + i * 20
        parts.append(
            f'<rect x="{left + plot_w + 14}" y="{ly - 9}" width="12" height="12" '
            f'fill="{colour}"/><text x="{left + plot_w + 32}" y="{ly + 1}" font-size="12">'
            f"{html.escape(name)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
