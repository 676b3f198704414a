"""``python -m dozor.redteam.demo [--host H] [--port P]``: serve the vulnerable demo app."""

from __future__ import annotations

import argparse

from dozor.redteam.demo.server import DemoServer


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve dozor's vulnerable demo LLM app.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    server = DemoServer(args.host, args.port)
    print(f"demo app (vulnerable on purpose) at {server.url}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.httpd.server_close()


if __name__ == "__main__":
    main()
