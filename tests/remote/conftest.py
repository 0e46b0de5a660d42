"""Real servers on the loopback interface and the files they serve, made once per session.

* ``big``: a 256x512x512 uint8 volume (ramps plus two bits of noise, LZ4 with
  bitshuffle: about 50 MiB, fast to write), in the default layout (chunks 96^3,
  blocks 32^3) as users get it;
* ``medium``: its 64x256x256 corner (what the S3 server holds: moto stores slowly);
* ``small``: a 20x30x40 int16 volume with geometry and metadata;
* an HTTP server with range support that can misbehave on purpose, and an S3
  server (moto in server mode), both counting what they send.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import blosc2
import numpy as np
import pytest

from mlarray import MLArray
from tests.remote._http_server import RangeServer

BIG_SHAPE = (256, 512, 512)
BUCKET = "scans"
S3_CREDENTIALS = {"key": "testing", "secret": "testing"}


def big_volume() -> np.ndarray[Any, Any]:
    """Ramps along every axis plus two bits of seeded noise: compresses, but not to nothing."""
    volume = np.random.default_rng(0).integers(0, 4, size=BIG_SHAPE, dtype=np.uint8)
    for axis, step in enumerate((3, 5, 7)):
        ramp = np.arange(BIG_SHAPE[axis], dtype=np.uint8) * np.uint8(step)
        volume += ramp.reshape([-1 if a == axis else 1 for a in range(3)])
    return volume


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder the servers serve: ``big.mla``, ``medium.mla`` and ``small.mla``."""
    folder = tmp_path_factory.mktemp("served")
    cparams = {"codec": blosc2.Codec.LZ4, "clevel": 5, "filters": [blosc2.Filter.BITSHUFFLE]}
    volume = big_volume()
    MLArray(volume, cparams=cparams).save(folder / "big.mla")
    MLArray(volume[:64, :256, :256].copy(), cparams=cparams).save(folder / "medium.mla")
    small = np.random.default_rng(1).integers(-1000, 3000, (20, 30, 40)).astype(np.int16)
    image = MLArray(
        small,
        spacing=(0.5, 0.75, 2.0),
        origin=(1.0, 2.0, 3.0),
        meta={"patient": "anonymous"},
        chunk_size=(10, 16, 16),
        block_size=(5, 8, 8),
        patch_size=None,
    )
    image.save(folder / "small.mla")
    return folder


@pytest.fixture(scope="session")
def local(served: Path) -> Callable[[str], MLArray]:
    """The served files opened locally, to compare remote reads with."""
    opened: dict[str, MLArray] = {}

    def open_local(name: str) -> MLArray:
        if name not in opened:
            opened[name] = MLArray.open(served / name)
        return opened[name]

    return open_local


@pytest.fixture(scope="session")
def _http_server(served: Path) -> Iterator[RangeServer]:
    with RangeServer(served) as server:
        yield server


@pytest.fixture
def http(_http_server: RangeServer) -> Iterator[RangeServer]:
    """The HTTP server, behaving and with its traffic counts at zero."""
    _http_server.reset()
    yield _http_server
    _http_server.reset()


@pytest.fixture
def scratch(http: RangeServer) -> Iterator[Path]:
    """A folder served by the HTTP server that tests may change (``scratch/`` in URLs)."""
    folder = http.root / "scratch"
    folder.mkdir()
    yield folder
    shutil.rmtree(folder)


class _CountingApp:
    """WSGI middleware counting the body bytes of GET answers (as the HTTP server does)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.requests = 0
        self.body_bytes = 0
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        for piece in self.app(environ, start_response):
            if environ["REQUEST_METHOD"] == "GET":
                with self._lock:
                    self.body_bytes += len(piece)
            yield piece
        if environ["REQUEST_METHOD"] == "GET":
            with self._lock:
                self.requests += 1


class S3Server:
    """moto's S3 in server mode on 127.0.0.1, its answers counted, holding ``served``."""

    def __init__(self, served: Path) -> None:
        from moto.server import ThreadedMotoServer
        from werkzeug.serving import make_server

        counting: list[_CountingApp] = []

        class Server(ThreadedMotoServer):  # type: ignore[misc]
            def _server_entry(self) -> None:  # moto's own, with the app wrapped
                from moto.moto_server.werkzeug_app import (
                    DomainDispatcherApplication,
                    MotoRequestHandler,
                    create_backend_app,
                )

                counting.append(_CountingApp(DomainDispatcherApplication(create_backend_app)))
                self._server = make_server(
                    "127.0.0.1", 0, counting[0], True, request_handler=MotoRequestHandler
                )
                self._server_ready_event.set()
                self._server.serve_forever()

        self._server = Server(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        self.counts = counting[0]
        host, port = self._server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        self.options = {
            **S3_CREDENTIALS,
            "endpoint_url": self.endpoint,
            "client_kwargs": {"region_name": "us-east-1"},
        }
        self.upload(served)

    def filesystem(self) -> Any:
        import s3fs

        return s3fs.S3FileSystem(skip_instance_cache=True, **self.options)

    def upload(self, served: Path) -> None:
        import boto3

        client = boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=S3_CREDENTIALS["key"],
            aws_secret_access_key=S3_CREDENTIALS["secret"],
            region_name="us-east-1",
        )
        client.create_bucket(Bucket=BUCKET)
        fs = self.filesystem()
        for name in ("medium.mla", "small.mla"):
            fs.put_file(str(served / name), f"{BUCKET}/{name}")

    def stop(self) -> None:
        self._server.stop()


@pytest.fixture(scope="session")
def s3(served: Path) -> Iterator[S3Server]:
    """The S3 server holding ``s3://scans/medium.mla`` and ``s3://scans/small.mla``."""
    server = S3Server(served)
    yield server
    server.stop()
