"""The ``mlarray`` command and its plugin mechanism.

Built-in subcommands: ``header``, ``info``, ``verify``, ``index``. Other packages add
subcommands through the entry-point group ``mlarray.commands``: each entry point
names a function ``register(subcommands)`` that adds its parser to the
``argparse`` sub-parsers and sets ``func`` on it (``mlarray-io`` adds
``convert`` and ``demo`` this way).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from importlib.metadata import entry_points
from typing import Any

from mlarray._version import __version__
from mlarray.cli import header, index, info, verify
from mlarray.errors import MLArrayError

__all__ = ["ENTRY_POINT_GROUP", "build_parser", "header_main", "main"]

ENTRY_POINT_GROUP = "mlarray.commands"
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
            return 2

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

    Errors of the mlarray hierarchy are printed as one line naming the problem,
    with exit status 1.
    """
    arguments = build_parser().parse_args(argv)
    try:
        status: int = arguments.func(arguments)
    except MLArrayError as exc:
        print(f"mlarray {arguments.command}: error: {exc}", file=sys.stderr)
        return 1
    return status


def header_main(argv: Sequence[str] | None = None) -> int:
    """The legacy ``mlarray_header FILE`` command: same as ``mlarray header FILE``."""
    return main(["header", *(sys.argv[1:] if argv is None else argv)])
