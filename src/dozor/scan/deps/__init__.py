"""Offline audit of Python dependencies against a bundled advisory snapshot.

Parsers for requirements, pyproject, setup.cfg, lock files and Pipfiles turn a file
into `Dependency` records; `audit` judges them against an `AdvisoryDatabase` (the
bundled PyPA snapshot, or a newer OSV export given with ``--advisory-db``). The handler
is `dozor.scan.deps.scan.scan_dependency_file`; the running environment is audited by
`dozor.scan.deps.environment.scan_installed`. Importing this package loads no data.
"""
