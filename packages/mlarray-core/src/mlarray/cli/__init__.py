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
import sys
from collections.abc import Callable, Sequence
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
    """
    command = "mlarray"
    try:
        arguments = build_parser().parse_args(argv)
        command = f"mlarray {arguments.command}"
        status: int = arguments.func(arguments)
        sys.stdout.flush()  # a broken pipe shows here, not at interpreter exit
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


def header_main(argv: Sequence[str] | None = None) -> int:
    """The legacy ``mlarray_header FILE`` command: same as ``mlarray header FILE``."""
    return main(["header", *(sys.argv[1:] if argv is None else argv)])
