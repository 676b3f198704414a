"""Open a page in a real headless Chromium (Debian's /usr/bin/chromium) for report tests.

`.ci/run` installs Chromium; elsewhere the tests that need it skip with the reason.
The flags keep Chromium off the network (this machine has none) and out of the user's
profile.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("DOZOR_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-extensions", "--mute-audio",
)


def require_chromium() -> str:
    if not os.path.exists(CHROMIUM):
        pytest.skip("headless Chromium is not installed (apt-get install chromium)")
    return CHROMIUM


def _run(page: Path, extra: list[str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    chromium = require_chromium()
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run(
            [chromium, *FLAGS, f"--user-data-dir={profile}", *extra, page.resolve().as_uri()],
            capture_output=True, text=True, timeout=timeout, check=False,
        )


def dump_dom(page: Path) -> str:
    """The DOM after Chromium parsed and laid out the page (its serialisation)."""
    result = _run(page, ["--dump-dom"])
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def screenshot(page: Path, png: Path, size: str = "1200,1600") -> bytes:
    """A PNG screenshot of the page, checked to be a real non-trivial image."""
    result = _run(page, [f"--screenshot={png}", f"--window-size={size}"])
    assert result.returncode == 0, result.stderr[-2000:]
    data = png.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 2000
    return data
