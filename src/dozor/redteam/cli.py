"""`dozor redteam`: attack an LLM application and measure how well it holds.

Only typer and the standard library at import time; the harness, httpx and the
renderers load inside the command.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from dozor.cli_support import EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS, fail, require


class Format(StrEnum):
    console = "console"
    json = "json"
    html = "html"
    sarif = "sarif"
    junit = "junit"


app = typer.Typer(
    help="Red-team an LLM application: prompt injection, jailbreaks, leaks, unsafe output, "
    "tool misuse, invented packages, unbounded consumption; English and Russian probes.",
    invoke_without_command=True,
    rich_markup_mode="rich",
)


def parse_rate(text: str) -> float:
    """``0.05`` or ``5%`` -> 0.05; raises ValueError outside 0..1."""
    t = text.strip()
    value = float(t[:-1]) / 100 if t.endswith("%") else float(t)
    if not 0.0 <= value <= 1.0:
        raise ValueError("a rate between 0 and 1 (or 0% and 100%)")
    return value


@app.callback()
def redteam(
    ctx: typer.Context,
    target: Annotated[str | None, typer.Option(
        "--target", "-t", help="What to attack: an OpenAI-compatible base URL "
        "(http://HOST:PORT/v1), any HTTP JSON endpoint together with --request-template, "
        "or a Python callable module:function.", show_default=False)] = None,
    model: Annotated[str, typer.Option(help="Model name sent to an OpenAI-compatible "
                                       "target.")] = "default",
    probes: Annotated[str, typer.Option(
        "--probes", "-p", help="Comma list of probe families (injection, leakage, output, "
        "agency, sysprompt, packages, consumption, roleplay, fiction, manyshot, splitting, "
        "suppression, langswitch, crescendo), 'jailbreak' for all jailbreak families, probe "
        "ids, and filters owasp:LLM07 or lang:ru. 'all' runs everything.")] = "all",
    converters: Annotated[str, typer.Option(
        "--converters", "-c", help="Comma list of converter chains applied to each probe: "
        "none, base64, hex, leetspeak, homoglyph, tags, spacing, translate; chain with + "
        "(base64+leetspeak); 'all' = none plus each converter alone.")] = "none",
    fmt: Annotated[Format, typer.Option("--format", "-f", help="Report format.")] =
        Format.console,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Write the report to this file instead of standard output.",
        dir_okay=False, show_default=False)] = None,
    fail_above: Annotated[str | None, typer.Option(
        "--fail-above", help="Exit 1 when the overall attack-success rate is above this "
        "rate (0.05 or 5%): the CI gate.", show_default=False)] = None,
    concurrency: Annotated[int, typer.Option("--concurrency", "-j", min=1, max=1024,
                                             help="Attempts in flight at once.")] = 16,
    rate: Annotated[float, typer.Option(min=0, help="At most this many requests per second "
                                        "(0: no limit).")] = 0.0,
    retries: Annotated[int, typer.Option(min=0, max=20, help="Retries on 429, 5xx and "
                                         "connection errors, with exponential backoff.")] = 4,
    max_requests: Annotated[int, typer.Option(min=0, help="Request budget: stop after this "
                                              "many requests (0: none).")] = 0,
    max_tokens: Annotated[int, typer.Option(min=0, help="Token budget, as the target "
                                            "reports usage or estimated (0: none).")] = 0,
    limit: Annotated[int, typer.Option(min=0, help="Run a seeded random sample of this many "
                                       "attempts (0: all).")] = 0,
    seed: Annotated[int, typer.Option(help="Seed for sampling, canaries and backoff "
                                      "jitter: the same seed gives the same run.")] = 0,
    timeout: Annotated[float, typer.Option(min=0.1, help="Seconds to wait for one "
                                           "answer.")] = 60.0,
    request_template: Annotated[str | None, typer.Option(
        help="HTTP JSON target: the request body as JSON with {{prompt}}, {{messages}}, "
        "{{conversation_id}} or {{system}}, e.g. '{\"question\": \"{{prompt}}\"}'.",
        show_default=False)] = None,
    response_path: Annotated[str, typer.Option(
        help="HTTP JSON target: dotted path to the answer text, e.g. data.answer or "
        "choices.0.message.content.")] = "response",
    tool_calls_path: Annotated[str, typer.Option(
        help="HTTP JSON target: dotted path to OpenAI-style tool calls, if it returns "
        "them.")] = "",
    header: Annotated[list[str] | None, typer.Option(
        "--header", "-H", help="Extra request header 'Name: value'; write the value as "
        "env:VAR to read it from the environment (keys stay off the command line).",
        show_default=False)] = None,
    api_key_env: Annotated[str, typer.Option(
        help="Environment variable holding the bearer key of an OpenAI-compatible "
        "target.")] = "OPENAI_API_KEY",
    judge: Annotated[str | None, typer.Option(
        help="Also ask a judge model (an OpenAI-compatible URL) whether each answer met "
        "the attack goal; one extra request per attempt.", show_default=False)] = None,
    judge_model: Annotated[str, typer.Option(help="Model name for --judge.")] = "default",
    tool_policy: Annotated[Path | None, typer.Option(
        help="YAML or JSON tool-call policy: forbidden_tools, allowed_domains, "
        "allowed_paths, sql_read_only.", exists=True, dir_okay=False,
        show_default=False)] = None,
    plant: Annotated[bool, typer.Option(
        "--plant/--no-plant", help="Send a system prompt holding a canary secret, so leaks "
        "can be proven; turn off for applications that reject system messages.")] = True,
    store: Annotated[str | None, typer.Option(
        help="Store URL for resumable runs [default: $DOZOR_STORE or .dozor/dozor.db].",
        show_default=False)] = None,
    no_store: Annotated[bool, typer.Option("--no-store", help="Keep results in memory "
                                           "only (no resume).")] = False,
    run_id: Annotated[str | None, typer.Option(
        help="Resume or name a run [default: derived from target, attempts and seed, so "
        "rerunning the same command resumes].", show_default=False)] = None,
    fresh: Annotated[bool, typer.Option("--fresh", help="Ignore saved results of this "
                                        "run and attack again.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Console: show more "
                                          "transcripts.")] = False,
) -> None:
    """Attack an LLM application and report the attack-success rate per OWASP category.

    [b]Examples[/b]

      dozor redteam demo-app --port 8000 &        (a vulnerable app to try it on)

      dozor redteam --target http://127.0.0.1:8000/v1

      dozor redteam -t http://127.0.0.1:8000/v1 --probes injection,jailbreak -c all

      dozor redteam -t http://127.0.0.1:8000/v1 -f html -o redteam.html

      dozor redteam -t http://127.0.0.1:8000/v1 -f junit -o rt.xml --fail-above 5%

      dozor redteam -t https://bot.example/api --request-template '{"q": "{{prompt}}"}'
      --response-path data.answer -H 'X-Api-Key: env:BOT_KEY'

      dozor redteam -t myapp.chains:answer          (a Python function, in-process)
    """
    if ctx.invoked_subcommand is not None:
        return
    if target is None:
        typer.echo(ctx.get_help())
        raise typer.Exit(EXIT_ERROR)
    require("httpx", "redteam")
    threshold = None
    if fail_above is not None:
        try:
            threshold = parse_rate(fail_above)
        except ValueError as exc:
            raise fail(f"--fail-above: {fail_above!r} is not {exc}") from None
    if output is not None and not output.parent.is_dir():
        raise fail(f"--output: folder {output.parent} does not exist")
    from dozor.redteam.converters import UnknownConverter, parse_chains
    from dozor.redteam.probes import UnknownProbe, select

    try:
        chosen = select(probes)
        chains = parse_chains(converters)
    except (UnknownProbe, UnknownConverter) as exc:
        raise fail(str(exc)) from None
    policy = _load_policy(tool_policy) if tool_policy else None
    the_target, the_judge = _targets(target, model, request_template, response_path,
                                     tool_calls_path, header or [], api_key_env, timeout,
                                     concurrency, judge, judge_model)
    _run(the_target, the_judge, chosen, chains, fmt, output, threshold, policy, verbose,
         dict(seed=seed, concurrency=concurrency, rate=rate, retries=retries,
              max_requests=max_requests, max_tokens=max_tokens, plant=plant),
         limit, store, no_store, run_id, fresh, target)


def _load_policy(path: Path) -> dict[str, object]:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise fail(f"--tool-policy: cannot read {path}: {exc}") from None
    if not isinstance(data, dict):
        raise fail(f"--tool-policy: {path} is not a mapping")
    return data


def _targets(target: str, model: str, template: str | None, response_path: str,
             tool_calls_path: str, headers: list[str], api_key_env: str, timeout: float,
             concurrency: int, judge: str | None, judge_model: str):  # type: ignore[no-untyped-def]
    from dozor.redteam.targets import Target, make_target
    from dozor.redteam.targets.http import TemplateError, resolve_headers

    try:
        hdrs = resolve_headers(headers)
        if "://" in target and template:
            from dozor.redteam.targets.http import HTTPJSONTarget

            the_target: Target = HTTPJSONTarget(
                target, template=template, response_path=response_path,
                tool_calls_path=tool_calls_path, headers=hdrs,
                                        timeout=timeout, max_connections=concurrency)
        elif "://" in target:
            from dozor.redteam.targets.openai import OpenAIChatTarget

            the_target = OpenAIChatTarget(target, model=model, api_key_env=api_key_env,
                                          headers=hdrs, timeout=timeout,
                                          max_connections=concurrency)
        else:
            the_target = make_target(target)
    except TemplateError as exc:
        raise fail(str(exc)) from None
    except (ImportError, AttributeError, ValueError) as exc:
        raise fail(f"--target: cannot load {target!r}: {exc}") from None
    the_judge = None
    if judge:
        from dozor.redteam.detectors.judge import JudgeDetector
        from dozor.redteam.targets.openai import OpenAIChatTarget

        the_judge = JudgeDetector(OpenAIChatTarget(judge, model=judge_model, timeout=timeout))
    return the_target, the_judge


def _run(target, judge, chosen, chains, fmt: Format, output: Path | None,  # type: ignore[no-untyped-def]
         threshold: float | None, policy, verbose: bool, cfg: dict[str, object], limit: int,
         store_url: str | None, no_store: bool, run_id: str | None, fresh: bool,
         target_spec: str) -> None:
    import asyncio
    import time

    from dozor.redteam.detectors import make_detectors
    from dozor.redteam.harness import Harness, MemoryStore, RunConfig, plan, run_id_for
    from dozor.redteam.report import summarize, to_report

    attempts = plan(chosen, chains, seed=int(cfg["seed"]), limit=limit,  # type: ignore[call-overload]
                    plant=bool(cfg["plant"]))
    rid = run_id or run_id_for(target.name, attempts, int(cfg["seed"]))  # type: ignore[call-overload]
    if fresh:
        rid = f"{rid}-{int(time.time())}"
    store = MemoryStore() if no_store else _open_store(store_url)
    harness = Harness(target, config=RunConfig(run_id=rid, **cfg),  # type: ignore[arg-type]
                      detectors=make_detectors(policy), store=store, judge=judge)
    results = []
    started = time.time()
    interrupted = False
    show = sys.stderr.isatty()

    async def go() -> None:
        try:
            if show:
                from rich.console import Console
                from rich.progress import (
                    BarColumn,
                    MofNCompleteColumn,
                    Progress,
                    TextColumn,
                    TimeElapsedColumn,
                )

                with Progress(TextColumn("attacking"), BarColumn(), MofNCompleteColumn(),
                              TextColumn("{task.fields[asr]}"), TimeElapsedColumn(),
                              transient=True, console=Console(stderr=True)) as bar:
                    task = bar.add_task("rt", total=len(attempts), asr="")
                    wins = [0, 0]

                    def tick(r):  # type: ignore[no-untyped-def]
                        results.append(r)
                        wins[0] += 1
                        wins[1] += int(r.success)
                        bar.update(task, advance=1, asr=f"ASR {100 * wins[1] / wins[0]:.0f}%")

                    await harness.run(attempts, on_result=tick)
            else:
                await harness.run(attempts, on_result=results.append)
        finally:
            await target.aclose()
            if judge is not None:
                await judge.target.aclose()

    try:
        asyncio.run(go())
    except KeyboardInterrupt:
        interrupted = True
        typer.echo(f"dozor: interrupted; {len(results)} attempts kept (run id {rid}, rerun "
                   "the same command to resume)", err=True)
    order = {a.id: i for i, a in enumerate(attempts)}
    results.sort(key=lambda r: order.get(r.attempt_id, 0))
    summary = summarize(results)
    errors = []
    if harness.stats.budget_hit:
        errors.append(f"{harness.stats.budget_hit}; {harness.stats.skipped_budget} attempts "
                      "not sent")
    report = to_report(results, target=target_spec, seconds=time.time() - started,
                       started=started, errors=errors)
    meta = {"target": target_spec, "run_id": rid, "seed": cfg["seed"],
            "attempts_planned": len(attempts), "resumed": harness.stats.resumed,
            "retries": harness.stats.retries, "seconds": round(time.time() - started, 3)}
    _write(fmt, output, results, report, summary, meta, verbose)
    if summary.errors and summary.overall.attempts == 0:
        typer.echo("dozor: error: no attempt got an answer from the target: "
                   f"{next((r.error for r in results if r.error), 'no results')}", err=True)
        raise typer.Exit(EXIT_ERROR)
    if interrupted:
        raise typer.Exit(EXIT_ERROR)
    if threshold is not None and summary.overall.rate > threshold:
        typer.echo(f"dozor: attack-success rate {100 * summary.overall.rate:.1f} % is above "
                   f"{100 * threshold:.1f} %", err=True)
        raise typer.Exit(EXIT_FINDINGS)
    raise typer.Exit(EXIT_CLEAN)


def _open_store(url: str | None):  # type: ignore[no-untyped-def]
    try:
        from dozor.store import open_store
    except ImportError:
        from dozor.redteam.harness import MemoryStore

        return MemoryStore()
    try:
        return open_store(url)
    except Exception as exc:
        raise fail(f"--store: {exc}") from None


def _write(fmt: Format, output: Path | None, results, report, summary, meta,  # type: ignore[no-untyped-def]
           verbose: bool) -> None:
    from dozor.redteam import report as rt

    if fmt is Format.console and output is None:
        rt.render_console(summary, report, sys.stdout, verbose=verbose, meta=meta)
        return
    if fmt is Format.sarif or fmt is Format.console:
        from dozor.report import render_to

        try:
            render_to(report, fmt.value, output if output is not None else sys.stdout,
                      base_dir=Path.cwd(), verbose=verbose)
        except OSError as exc:
            raise fail(f"cannot write report: {exc.strerror or exc}") from None
        return
    if fmt is Format.json:
        text = rt.render_json(results, report, summary, meta)
    elif fmt is Format.html:
        text = rt.render_html_page(results, report, summary, meta)
    else:
        text = rt.render_junit(results, target=str(meta["target"]))
    if output is None:
        sys.stdout.write(text)
        return
    import os
    import tempfile

    try:
        fd, tmp = tempfile.mkstemp(dir=output.parent or ".", prefix=".dozor-", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, output)
    except OSError as exc:
        raise fail(f"cannot write report: {exc.strerror or exc}") from None


@app.command("demo-app")
def demo_app(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port (0: any free port).")] =
        8000,
) -> None:
    """Serve the bundled, deliberately vulnerable demo LLM app (OpenAI-compatible).

    Deterministic rules, no model: it leaks its system prompt and secrets, obeys injected
    instructions and calls tools unsafely. For trying dozor redteam and dozor guard.
    """
    from dozor.redteam.demo.server import DemoServer

    try:
        server = DemoServer(host, port)
    except OSError as exc:
        raise fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    typer.echo(f"demo app (vulnerable on purpose) at {server.url}", err=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.httpd.server_close()


@app.command("probes")
def list_probes(
    probes: Annotated[str, typer.Option("--probes", "-p", help="Filter as in dozor "
                                        "redteam --probes.")] = "all",
    ids: Annotated[bool, typer.Option("--ids", help="List every probe id.")] = False,
) -> None:
    """List probe families with their OWASP and ATLAS ids, languages and counts."""
    from collections import Counter

    from dozor.redteam.probes import UnknownProbe, family_module, select

    try:
        chosen = select(probes)
    except UnknownProbe as exc:
        raise fail(str(exc)) from None
    if ids:
        for p in chosen:
            typer.echo(f"{p.id}\t{p.owasp}\t{','.join(p.atlas)}\t{p.goal}")
        return
    counts = Counter(p.family for p in chosen)
    langs: dict[str, set[str]] = {}
    for p in chosen:
        langs.setdefault(p.family, set()).add(p.language)
    for fam, n in counts.items():
        mod = family_module(fam)
        typer.echo(f"{fam:12} {n:4}  {mod.OWASP:11} {','.join(mod.ATLAS):22} "
                   f"{','.join(sorted(langs[fam])):6} {mod.DESCRIPTION}")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="redteam")
