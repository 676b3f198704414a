"""The bundled vulnerable demo application (see `app`), served by `server`.

``python -m dozor.redteam.demo --port 8000`` or ``dozor redteam demo-app``.
"""

from dozor.redteam.demo.app import respond
from dozor.redteam.demo.server import DemoServer

__all__ = ["DemoServer", "respond"]
