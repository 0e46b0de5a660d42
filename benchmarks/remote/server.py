"""The benchmark's HTTP server: aiohttp's static files (ranges, ETag), counting what it sends.

Usage: ``python server.py FOLDER`` prints the base URL and serves until its
standard input is closed. ``GET /__traffic__`` answers with the requests and
body bytes sent so far as JSON (``?reset`` starts counting again). The tests'
server (``tests/remote/_http_server.py``) is simpler and can misbehave on
purpose, but handles one request per thread under the GIL; this one serves
concurrent requests the way production servers do, so request counts do not
dominate the timings.
"""

from __future__ import annotations

import asyncio
import socket
import sys
from pathlib import Path

from aiohttp import web

TRAFFIC = "/__traffic__"


def make_app(folder: Path) -> web.Application:
    counts = {"requests": 0, "bytes": 0}

    async def traffic(request: web.Request) -> web.Response:
        body = dict(counts)
        if "reset" in request.query_string:
            counts.update(requests=0, bytes=0)
        return web.json_response(body)

    async def count(request: web.Request, response: web.StreamResponse) -> None:
        if request.path != TRAFFIC and request.method == "GET":
            counts["requests"] += 1
            counts["bytes"] += response.content_length or 0

    app = web.Application()
    app.router.add_get(TRAFFIC, traffic)
    app.router.add_static("/", folder)
    app.on_response_prepare.append(count)
    return app


async def serve(folder: Path) -> None:
    runner = web.AppRunner(make_app(folder), access_log=None)
    await runner.setup()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    site = web.SockSite(runner, listener)
    await site.start()
    print(f"http://127.0.0.1:{listener.getsockname()[1]}", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(serve(Path(sys.argv[1])))
