"""The ``mlarray`` command and its plugin mechanism.

Built-in subcommands: ``header``, ``info``, ``verify``, ``index``. Other packages add
subcommands through the entry-point group ``mlarray.commands``: each entry point
names a function ``register(subcommands)`` that adds its parser to the
``argparse`` sub-parsers and sets ``func`` on it (``mlarray-io`` adds
``convert`` and ``demo`` this way).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from importlib.metadata import entry_points
from typing import Any

from mlarray._version import __version__
from mlarray.cli import header, index, info, verify
from mlarray.errors import MLArrayError

__all__ = ["ENTRY_POINT_GROUP", "build_parser", "header_main", "main"]

ENTRY_POINT_GROUP = "mlarray.commands"
FAILED = 1
"""Exit status: an error (a file that cannot be read, ``verify`` found a problem)."""
USAGE = 2
"""Exit status: bad arguments, or a command whose package is not installed."""
INTERRUPTED = 130
"""Exit status: interrupted with Ctrl-C (128 + SIGINT)."""
BROKEN_PIPE = 141
"""Exit status: the reader of the output went away (128 + SIGPIPE)."""
# Subcommands that live in other distributions, and which one to install for them.
OPTIONAL_COMMANDS = {"convert": "mlarray-io", "demo": "mlarray-io"}

Register = Callable[[Any], None]


def _missing_command(name: str, package: str) -> Register:
    def register(subcommands: Any) -> None:
        parser = subcommands.add_parser(name, help=f"(needs {package}: pip install {package})")
        parser.add_argument("args", nargs=argparse.REMAINDER)

        def run(arguments: argparse.Namespace) -> int:
            print(
                f"mlarray: error: '{name}' needs the {package} package: pip install {package}",
                file=sys.stderr,
            )
            return USAGE

        parser.set_defaults(func=run)

    return register


def build_parser() -> argparse.ArgumentParser:
    """Build the ``mlarray`` argument parser with built-in and plugin subcommands."""
    parser = argparse.ArgumentParser(
        prog="mlarray", description="Inspect, verify and convert .mla files."
    )
    parser.add_argument("--version", action="version", version=f"mlarray {__version__}")
    subcommands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (header, info, verify, index):
        module.register(subcommands)
    registered = set(subcommands.choices)
    for entry_point in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name):
        if entry_point.name not in registered:
            entry_point.load()(subcommands)
            registered.add(entry_point.name)
    for name, package in OPTIONAL_COMMANDS.items():
        if name not in registered:
            _missing_command(name, package)(subcommands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``mlarray`` command; returns the exit status.

    Every subcommand, plugins included, runs through here: errors of the mlarray
    hierarchy are printed as one line naming the problem (status 1), Ctrl-C as
    one line (status 130), and a reader of the output that went away (``| head``)
    ends the command quietly (status 141, as if killed by SIGPIPE). Usage errors
    exit with status 2 (argparse). The statuses are listed in docs/cli.md.

    Only the first Ctrl-C interrupts; once the command has finished, Ctrl-C is
    ignored. Run as the ``mlarray`` program (``argv`` None) it stays ignored, so
    that a Ctrl-C while the interpreter shuts down cannot turn a finished command
    into a traceback or a death by signal; called with ``argv`` from Python, the
    caller's SIGINT handler is restored.
    """
    with _interrupted_once(restore=argv is not None):
        return _run(argv)


def _run(argv: Sequence[str] | None) -> int:
    command = "mlarray"
    try:
        try:
            arguments = build_parser().parse_args(argv)
            command = f"mlarray {arguments.command}"
            status: int = arguments.func(arguments)
            sys.stdout.flush()  # a broken pipe shows here, not at interpreter exit
        finally:
            _ignore_sigint()  # finished: a Ctrl-C from now on changes nothing
    except MLArrayError as exc:
        print(f"{command}: error: {exc}", file=sys.stderr)
        return FAILED
    except KeyboardInterrupt:
        print(f"{command}: interrupted", file=sys.stderr)
        return INTERRUPTED
    except BrokenPipeError:
        # Nobody reads the output any more; Python would complain again when it
        # flushes stdout at exit, so point stdout at /dev/null.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return BROKEN_PIPE
    return status


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _ignore_sigint() -> None:
    if _in_main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def _interrupt(signum: int, frame: object) -> None:
    """The first Ctrl-C: ignore any further one, then interrupt the command."""
    _ignore_sigint()
    raise KeyboardInterrupt


@contextmanager
def _interrupted_once(*, restore: bool) -> Iterator[None]:
    """Make Ctrl-C raise KeyboardInterrupt once; afterwards restore the handler if asked.

    Outside the main thread signals cannot be handled, and nothing changes.
    """
    if not _in_main_thread() or signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        yield  # not ours to handle (a thread, or a caller that ignores Ctrl-C)
        return
    previous = signal.signal(signal.SIGINT, _interrupt)
    try:
        yield
    finally:
        if restore:
            signal.signal(signal.SIGINT, previous)


def header_main(argv: Sequence[str] | None = None) -> int:
    """The legacy ``mlarray_header FILE`` command: same as ``mlarray header FILE``."""
    return main(["header", *(sys.argv[1:] if argv is None else argv)])
