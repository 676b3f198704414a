"""Checks for docker-compose files: each service becomes a `Container`, plus what only
compose says (published ports, bind mounts, privileged mode, deploy limits)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from dozor.findings import Severity
from dozor.scan.base import printable
from dozor.scan.iac import rules as r
from dozor.scan.iac.containers import (
    Container,
    EnvVar,
    Mount,
    common_checks,
    is_model_cache,
    is_serving,
)
from dozor.scan.iac.kubernetes import PORTS
from dozor.scan.iac.loader import get, is_true, line_of, mapping, sequence, text
from dozor.scan.iac.rules import Hit, hit

_DANGEROUS_CAPS = frozenset({"ALL", "SYS_ADMIN", "SYS_MODULE", "SYS_PTRACE", "SYS_RAWIO",
                             "DAC_READ_SEARCH", "NET_ADMIN", "BPF", "SYS_BOOT"})
_LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
_SOCKET = re.compile(r"(docker|containerd|podman)\.sock$|^/$")


def is_compose(doc: Any) -> bool:
    """A compose file: a `services` mapping whose entries name an image or a build."""
    services = doc.get("services") if isinstance(doc, dict) else None
    if not isinstance(services, dict) or not services:
        return False
    return any(isinstance(s, dict) and ("image" in s or "build" in s) for s in services.values())


def _env(service: dict[Any, Any]) -> list[EnvVar]:
    env = service.get("environment")
    out: list[EnvVar] = []
    if isinstance(env, dict):
        for key, value in list(env.items())[:1000]:
            name = text(key)
            if name:
                out.append(EnvVar(name, text(value), line_of(env, key)))
    else:
        items = sequence(env)
        for i, item in enumerate(items[:1000]):
            entry = text(item)
            if entry and "=" in entry:
                name, _, value = entry.partition("=")
                out.append(EnvVar(name.strip(), value, line_of(items, i)))
    return out


def _mounts(service: dict[Any, Any]) -> list[Mount]:
    items = sequence(service.get("volumes"))
    out: list[Mount] = []
    for i, item in enumerate(items[:500]):
        line = line_of(items, i)
        if isinstance(item, dict):
            source, target = text(item.get("source")), text(item.get("target"))
            bind = item.get("type") == "bind"
            ro = is_true(item.get("read_only"))
        else:
            spec = text(item) or ""
            parts = spec.split(":")
            if len(parts) == 1:
                continue  # anonymous volume
            source, target = parts[0], parts[1]
            ro = len(parts) > 2 and "ro" in parts[2].split(",")
            bind = source.startswith(("/", ".", "~", "$"))
        if not target:
            continue
        out.append(Mount(target, source if bind and source else None, ro, line))
    return out


def _published(service: dict[Any, Any]) -> Iterator[tuple[int | None, str, int]]:
    """Container ports published on all host interfaces, with their lines."""
    items = sequence(service.get("ports"))
    for i, item in enumerate(items[:500]):
        line = line_of(items, i)
        if isinstance(item, dict):
            if text(item.get("host_ip")) in _LOCAL_HOSTS:
                continue
            target = item.get("target")
            shown = f"{text(item.get('published')) or '?'}:{text(target) or '?'}"
            yield (target if isinstance(target, int) else None), shown, line
            continue
        spec = (text(item) or "").split("/", 1)[0]
        shown = spec
        if spec.startswith("["):  # [::1]:8000:8000
            host, _, rest = spec[1:].partition("]:")
            if f"[{host}]" in _LOCAL_HOSTS or host in _LOCAL_HOSTS:
                continue
            spec = rest
        parts = spec.rsplit(":", 2)
        if len(parts) == 3 and parts[0] in _LOCAL_HOSTS:
            continue
        container = parts[-1].split("-", 1)[0]
        yield (int(container) if container.isdigit() else None), shown, line


def check_compose(doc: dict[Any, Any]) -> Iterator[Hit]:
    services = mapping(doc.get("services"))
    for sname, service in list(services.items())[:500]:
        if not isinstance(service, dict):
            continue
        where = f"service {printable(str(sname), 60)}"
        c = Container(where=where, line=line_of(services, sname))
        image = service.get("image")
        if isinstance(image, str):
            c.image, c.image_line = image, line_of(service, "image")
        for key in ("entrypoint", "command"):
            value = service.get(key)
            items = [value] if isinstance(value, str) else sequence(value)
            if items:
                c.argv.extend(items)
                c.argv_line = c.argv_line or line_of(service, key)
        c.env = _env(service)
        c.mounts = _mounts(service)
        c.gpu = _wants_gpu(service)
        yield from common_checks(c)
        serving = is_serving(c)
        yield from _host_access(c, service)
        yield from _cache_binds(c)
        if serving and not _has_limits(service):
            yield hit(r.COMPOSE_NO_LIMITS, c.line, f"{where}: no deploy.resources.limits")
        yield from _ports(c, service, serving)


def _wants_gpu(service: dict[Any, Any]) -> bool:
    devices = sequence(get(service, "deploy", "resources", "reservations", "devices"))
    return service.get("runtime") == "nvidia" or any(
        "gpu" in str(get(d, "capabilities")).lower() for d in devices
    )


def _has_limits(service: dict[Any, Any]) -> bool:
    limits = mapping(get(service, "deploy", "resources", "limits"))
    return bool(limits) or any(k in service for k in ("mem_limit", "cpus", "cpu_quota"))


def _host_access(c: Container, service: dict[Any, Any]) -> Iterator[Hit]:
    if is_true(service.get("privileged")):
        yield hit(r.HOST_ACCESS, line_of(service, "privileged"), f"{c.where}: privileged: true")
    for key in ("network_mode", "pid", "ipc"):
        if text(service.get(key)) == "host":
            yield hit(r.HOST_ACCESS, line_of(service, key), f"{c.where}: {key}: host")
    caps = {(text(x) or "").upper().removeprefix("CAP_") for x in sequence(service.get("cap_add"))}
    bad = sorted(caps & _DANGEROUS_CAPS)
    if bad:
        yield hit(r.HOST_ACCESS, line_of(service, "cap_add"),
                  f"{c.where}: cap_add {', '.join(bad)}")
    user = text(service.get("user"))
    if user is not None and user.split(":")[0] in ("root", "0"):
        yield hit(r.RUNS_AS_ROOT, line_of(service, "user"), f"{c.where}: user: {user}",
                  Severity.MEDIUM)
    for m in c.mounts:
        if m.host and _SOCKET.search(m.host.rstrip("/") or "/"):
            yield hit(r.HOST_ACCESS, m.line, f"{c.where}: bind mount {printable(m.host)}")


def _cache_binds(c: Container) -> Iterator[Hit]:
    for m in c.mounts:
        if m.host and is_model_cache(c, m.target, m.host):
            yield hit(
                r.SHARED_MODEL_CACHE, m.line,
                f"{c.where}: host path {printable(m.host)} bound to {printable(m.target)}"
                + (" (read-only)" if m.read_only else ""),
                Severity.LOW if m.read_only else Severity.MEDIUM,
            )


def _ports(c: Container, service: dict[Any, Any], serving: bool) -> Iterator[Hit]:
    for port, shown, line in _published(service):
        known = PORTS.get(port) if port is not None else None
        if not serving and not (known and known[1]):
            continue
        what = known[0] if known else "model server"
        yield hit(
            r.PUBLISHED, line,
            f"{c.where}: ports {printable(shown, 40)} ({what}) published on all host "
            "interfaces",
            Severity.HIGH if known and known[2] else Severity.LOW,
        )
