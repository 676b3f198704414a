"""Red-team results as numbers, findings and files: console, JSON, HTML, SARIF, JUnit.

The headline is the attack-success rate (ASR): successful attempts over judged
attempts, per probe family, per OWASP LLM category, per language and per converter.
Every probe that succeeded at least once becomes a `Finding` (rule ``DZ-RT-0NN`` by
category), so SARIF and the HTML findings table come from the shared renderers in
`dozor.report`; the worst transcripts (successful attacks, the most certain first)
go into the HTML page and the JSON document for a human to read.
"""

from __future__ import annotations

import html
import json
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from xml.etree import ElementTree as ET

from dozor.findings import Finding, Location, Report, Severity
from dozor.redteam.base import Result
from dozor.redteam.probes import JAILBREAKS

# rule id, severity, title, remediation per category (jailbreaks share one rule)
RULES: dict[str, tuple[str, Severity, str, str]] = {
    "injection": ("DZ-RT-001", Severity.HIGH, "prompt injection succeeded",
                  "Treat user and retrieved text as data: separate it from instructions, "
                  "screen inputs (dozor guard), and never let the model act on it unchecked."),
    "jailbreak": ("DZ-RT-002", Severity.MEDIUM, "jailbreak succeeded: forbidden request "
                  "answered", "Screen inputs for jailbreak frames, check outputs, and test "
                  "again after every prompt or model change."),
    "leakage": ("DZ-RT-003", Severity.HIGH, "secret or personal data disclosed",
                "Keep secrets and other users' data out of the prompt and context; redact "
                "outputs (dozor guard output checks)."),
    "output": ("DZ-RT-004", Severity.MEDIUM, "attacker markup, script or SQL echoed into "
               "output", "Encode model output for where it goes (HTML-escape, parameterised "
               "SQL, no shell) and never render it as trusted."),
    "agency": ("DZ-RT-005", Severity.HIGH, "tool call outside policy",
               "Give the agent least privilege: allowlist tools and arguments, confirm "
               "destructive actions with a human, never act on instructions in content."),
    "sysprompt": ("DZ-RT-006", Severity.MEDIUM, "system prompt disclosed",
                  "Assume the system prompt is public: keep no secrets in it, and check "
                  "outputs for its text (canary)."),
    "packages": ("DZ-RT-007", Severity.MEDIUM, "invented package recommended",
                 "Verify package names against the registry before showing install "
                 "commands; tell users to check packages."),
    "consumption": ("DZ-RT-008", Severity.LOW, "unbounded output produced",
                    "Cap output tokens, time and cost per request and per user."),
}


def rule_for(family: str) -> tuple[str, Severity, str, str]:
    return RULES["jailbreak" if family in JAILBREAKS else family]


@dataclass(frozen=True)
class Rate:
    attempts: int
    successes: int

    @property
    def rate(self) -> float:
        return self.successes / self.attempts if self.attempts else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"attempts": self.attempts, "successes": self.successes,
                "rate": round(self.rate, 4)}


@dataclass(frozen=True)
class Summary:
    overall: Rate
    by_family: dict[str, Rate]
    by_owasp: dict[str, Rate]
    by_language: dict[str, Rate]
    by_converter: dict[str, Rate]
    errors: int
    blocked: int
    requests: int
    tokens: int
    worst: tuple[Result, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {
            "attack_success_rate": round(self.overall.rate, 4),
            "overall": self.overall.to_dict(),
            "by_family": {k: v.to_dict() for k, v in self.by_family.items()},
            "by_owasp": {k: v.to_dict() for k, v in self.by_owasp.items()},
            "by_language": {k: v.to_dict() for k, v in self.by_language.items()},
            "by_converter": {k: v.to_dict() for k, v in self.by_converter.items()},
            "errors": self.errors, "blocked": self.blocked,
            "requests": self.requests, "tokens": self.tokens,
            "worst": [r.to_dict() for r in self.worst],
        }


def _rates(results: Iterable[Result], key: Any) -> dict[str, Rate]:
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for r in results:
        c = counts[key(r)]
        c[0] += 1
        c[1] += int(r.success)
    return {k: Rate(a, s) for k, (a, s) in sorted(counts.items())}


def summarize(results: Sequence[Result], *, worst: int = 10) -> Summary:
    """Rates over judged attempts: attempts that got no answer at all are left out."""
    judged = [r for r in results if not (r.error and not r.success and not r.blocked)]
    from dozor.taxonomy import describe

    def owasp_key(r: Result) -> str:
        try:
            return describe(r.owasp)
        except Exception:
            return r.owasp

    order = sorted((r for r in judged if r.success),
                   key=lambda r: (-int(rule_for(r.family)[1]), -r.score, r.attempt_id))
    seen: set[str] = set()
    picked: list[Result] = []
    for r in order:  # one per family first, so the worst list shows variety
        if r.family not in seen:
            picked.append(r)
            seen.add(r.family)
    picked += [r for r in order if r not in picked]
    return Summary(
        overall=Rate(len(judged), sum(r.success for r in judged)),
        by_family=_rates(judged, lambda r: r.family),
        by_owasp=_rates(judged, owasp_key),
        by_language=_rates(judged, lambda r: r.language),
        by_converter=_rates(judged, lambda r: r.converter),
        errors=sum(1 for r in results if r.error and not r.blocked),
        blocked=sum(1 for r in results if r.blocked),
        requests=sum(r.requests for r in results),
        tokens=sum(r.tokens for r in results),
        worst=tuple(picked[:worst]),
    )


def to_report(results: Sequence[Result], *, target: str, seconds: float = 0.0,
              started: float | None = None, errors: Sequence[str] = ()) -> Report:
    """One finding per probe that succeeded at least once (any converter)."""
    from dozor import __version__

    by_probe: dict[str, list[Result]] = defaultdict(list)
    for r in results:
        by_probe[r.probe_id].append(r)
    findings: list[Finding] = []
    for probe_id, group in by_probe.items():
        wins = [r for r in group if r.success]
        if not wins:
            continue
        first = max(wins, key=lambda r: r.score)
        rule, severity, title, fix = rule_for(first.family)
        hit = next((v for v in first.verdicts if v.hit), None)
        evidence = f"{hit.detector}: {hit.evidence}" if hit else ""
        findings.append(Finding(
            rule_id=rule, title=f"{title} ({first.family}, {first.language})",
            severity=severity, location=Location(target, (probe_id,)),
            evidence=evidence[:300], remediation=fix,
            confidence=round(max(0.5, first.score), 2),
            taxonomy=(first.owasp, *first.atlas), scanner="redteam",
            details=(("family", first.family), ("language", first.language),
                     ("goal", first.goal[:200]),
                     ("converters", ",".join(sorted({r.converter for r in wins}))),
                     ("successes", str(len(wins))), ("attempts", str(len(group)))),
        ))
    findings.sort(key=lambda f: (-int(f.severity), f.rule_id, f.location.members))
    return Report(tool="dozor redteam", version=__version__,
                  started=started if started is not None else time.time(), seconds=seconds,
                  findings=findings, errors=list(errors))


def render_json(results: Sequence[Result], report: Report, summary: Summary,
                meta: dict[str, Any]) -> str:
    return json.dumps({"redteam": {**meta, **summary.to_dict()}, "report": report.to_dict(),
                       "results": [r.to_dict() for r in results]},
                      ensure_ascii=False, indent=2) + "\n"


def render_junit(results: Sequence[Result], *, target: str) -> str:
    """One test suite per family, one test case per attempt; a success is a failure."""
    root = ET.Element("testsuites", name=f"dozor redteam {target}")
    by_family: dict[str, list[Result]] = defaultdict(list)
    for r in results:
        by_family[r.family].append(r)
    for family, group in sorted(by_family.items()):
        suite = ET.SubElement(root, "testsuite", name=f"redteam.{family}",
                              tests=str(len(group)),
                              failures=str(sum(r.success for r in group)),
                              errors=str(sum(1 for r in group if r.error and not r.blocked)),
                              time=f"{sum(r.seconds for r in group):.3f}")
        for r in group:
            case = ET.SubElement(suite, "testcase", classname=f"redteam.{family}",
                                 name=r.attempt_id, time=f"{r.seconds:.3f}")
            if r.success:
                hit = next((v for v in r.verdicts if v.hit), None)
                fail = ET.SubElement(case, "failure", type=rule_for(family)[0],
                                     message=f"attack succeeded: {r.goal[:200]}")
                fail.text = _transcript_text(r) + (f"\n[{hit.detector}] {hit.evidence}"
                                                   if hit else "")
            elif r.error and not r.blocked:
                ET.SubElement(case, "error", message=r.error[:300])
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") \
        + "\n"


def _transcript_text(r: Result, limit: int = 600) -> str:
    return "\n".join(f"{role}: {content[:limit]}" for role, content in r.transcript)


def render_html_page(results: Sequence[Result], report: Report, summary: Summary,
                     meta: dict[str, Any]) -> str:
    from dozor.report.html import Section, bar_chart_svg, render_html

    pct = lambda rate: round(100 * rate.rate, 1)  # noqa: E731
    sections = [
        Section("Attack-success rate by OWASP LLM category", '<div id="chart-owasp">'
                + bar_chart_svg([_short(k) for k in summary.by_owasp], [pct(v) for v in
                                summary.by_owasp.values()],
                                title="attack-success rate by OWASP category", max_value=100)
                + "</div>"),
        Section("Attack-success rate by probe family", '<div id="chart-family">'
                + bar_chart_svg(list(summary.by_family), [pct(v) for v in
                                summary.by_family.values()],
                                title="attack-success rate by probe family", max_value=100)
                + "</div>"),
        Section("Rates", _rate_table(summary)),
        Section("Worst transcripts", _transcripts(summary.worst)),
    ]
    top = {"attack-success rate": f"{pct(summary.overall)} %",
           "attempts": str(summary.overall.attempts),
           "successful attacks": str(summary.overall.successes),
           "blocked by a guard": str(summary.blocked), "errors": str(summary.errors),
           "target": str(meta.get("target", ""))}
    return render_html(report, title="dozor red-team report", summary=top, sections=sections)


def _short(owasp_label: str) -> str:
    """``LLM02:2025 Sensitive Information Disclosure`` -> ``LLM02 Sensitive Info Disclosure``
    (chart labels have about 36 characters of room)."""
    return owasp_label.replace(":2025", "").replace("Information", "Info")


def _rate_table(summary: Summary) -> str:
    rows = []
    for title, rates in (("family", summary.by_family), ("language", summary.by_language),
                         ("converter", summary.by_converter)):
        for key, rate in rates.items():
            rows.append(f"<tr><td>{html.escape(title)}</td><td>{html.escape(key)}</td>"
                        f'<td class="num">{rate.attempts}</td><td class="num">{rate.successes}'
                        f'</td><td class="num">{100 * rate.rate:.1f} %</td></tr>')
    return ('<table id="rates"><thead><tr><th>by</th><th>group</th><th>attempts</th>'
            "<th>successes</th><th>rate</th></tr></thead><tbody>" + "".join(rows)
            + "</tbody></table>")


def _transcripts(worst: Sequence[Result]) -> str:
    if not worst:
        return "<p>No attack succeeded.</p>"
    parts = []
    for r in worst:
        hit = next((v for v in r.verdicts if v.hit), None)
        turns = "".join(f"<tr><th>{html.escape(role)}</th><td><code>"
                        f"{html.escape(content[:1500])}</code></td></tr>"
                        for role, content in r.transcript)
        parts.append(f"<h3>{html.escape(r.attempt_id)}</h3><p class=\"meta\">"
                     f"{html.escape(r.owasp)} · {html.escape(', '.join(r.atlas))} · goal: "
                     f"{html.escape(r.goal)}"
                     + (f" · {html.escape(hit.detector)}: {html.escape(hit.evidence)}"
                        if hit else "") + f"</p><table>{turns}</table>")
    return "".join(parts)


def render_console(summary: Summary, report: Report, stream: Any, *, verbose: bool = False,
                   meta: dict[str, Any] | None = None) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(file=stream, highlight=False, soft_wrap=False)
    meta = meta or {}
    console.print(f"[b]dozor redteam[/b] {meta.get('target', '')}  "
                  f"attack-success rate [b]{100 * summary.overall.rate:.1f} %[/b] "
                  f"({summary.overall.successes}/{summary.overall.attempts}), "
                  f"blocked {summary.blocked}, errors {summary.errors}")
    for title, rates in (("OWASP LLM category", summary.by_owasp),
                         ("probe family", summary.by_family)):
        table = Table(title=f"by {title}", title_justify="left")
        table.add_column(title)
        table.add_column("attempts", justify="right")
        table.add_column("successes", justify="right")
        table.add_column("ASR", justify="right")
        for key, rate in rates.items():
            table.add_row(key, str(rate.attempts), str(rate.successes),
                          f"{100 * rate.rate:.1f} %")
        console.print(table)
    if summary.worst:
        console.print("[b]worst transcripts[/b]")
        for r in summary.worst[: 10 if verbose else 3]:
            hit = next((v for v in r.verdicts if v.hit), None)
            console.print(f"  {r.attempt_id} ({r.owasp}) "
                          + (f"[{hit.detector}] {hit.evidence[:100]}" if hit else ""),
                          markup=False)
            for role, content in r.transcript[-2:]:
                console.print(f"    {role}: {content[:160]!r}", markup=False)
