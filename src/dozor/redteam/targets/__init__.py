"""Targets: what the red team attacks. One module per kind, one interface (`Target`).

- `OpenAIChatTarget`: any OpenAI-compatible chat endpoint (the default);
- `HTTPJSONTarget`: any HTTP JSON endpoint, by a request template and a response path;
- `CallableTarget`: a Python function ``module:function``, in-process.

Multi-turn memory and tool calls are part of the interface: the harness sends the
whole history each turn, and a `Reply` carries the application's tool calls.
"""

from __future__ import annotations

from dozor.redteam.targets.base import Target, TargetError


def make_target(spec: str, **options: object) -> Target:
    """A target from a command-line spec: a URL (OpenAI unless a template is given) or
    ``module:function``."""
    if "://" in spec:
        if options.get("template"):
            from dozor.redteam.targets.http import HTTPJSONTarget

            return HTTPJSONTarget(spec, **options)  # type: ignore[arg-type]
        from dozor.redteam.targets.openai import OpenAIChatTarget

        opts = {k: v for k, v in options.items()
                if k not in ("template", "response_path", "tool_calls_path")}
        return OpenAIChatTarget(spec, **opts)  # type: ignore[arg-type]
    from dozor.redteam.targets.python import CallableTarget

    return CallableTarget(spec)


__all__ = ["Target", "TargetError", "make_target"]
