"""Audit the packages installed in the running Python environment.

Every distribution that ``importlib.metadata`` sees on ``sys.path`` is checked by name
and version with the same rules as a lock file (the first of two copies of a name
wins, as it does on import). Nothing is imported and no network is used.
"""

from __future__ import annotations

import sys
from importlib import metadata

from dozor.findings import Finding, Location
from dozor.scan.deps import audit
from dozor.scan.deps.database import AdvisorySourceError, load_database
from dozor.scan.deps.model import Dependency, valid_version
from dozor.scan.deps.osv import normalise


def installed_dependencies(location: Location) -> list[Dependency]:
    """One pinned Dependency per installed distribution, in sys.path order."""
    seen: set[str] = set()
    deps: list[Dependency] = []
    for dist in metadata.distributions():
        try:
            name = dist.metadata["Name"]
            version = dist.version
        except Exception:  # noqa: BLE001 - a broken dist-info must not stop the audit
            continue
        if not isinstance(name, str) or not name or normalise(name) in seen:
            continue
        seen.add(normalise(name))
        where = location.child(name)
        if not isinstance(version, str) or not valid_version(version):
            deps.append(Dependency(name, where, f"{name} {version}",
                                   unchecked=f"version {version!r} is not a PEP 440 version"))
        else:
            deps.append(Dependency(name, where, f"{name}=={version}", version=version))
    return sorted(deps, key=lambda d: d.key)


def scan_installed(options: dict[str, str] | None = None) -> list[Finding]:
    """Findings DZ-DEP-001/003/004 (and 006) for this interpreter's environment;
    ``options["advisory_db"]`` names a newer OSV export to use instead of the bundled one."""
    location = Location(f"<environment: {sys.prefix}>")
    deps = installed_dependencies(location)
    try:
        db = load_database((options or {}).get("advisory_db") or None)
    except AdvisorySourceError as exc:
        return [audit.database_unreadable(str(exc), location),
                *audit.audit(deps, None)]
    return [*audit.audit(deps, db), audit.database_used(db, location)]
