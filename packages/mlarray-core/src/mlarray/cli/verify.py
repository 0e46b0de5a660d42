"""``mlarray verify FILE``: decompress everything and report problems."""

from __future__ import annotations

import argparse
from typing import Any

from mlarray._remote import is_url
from mlarray._verify import VerifyReport, verify_file

__all__ = ["register", "run"]


def register(subcommands: Any) -> None:
    """Add the ``verify`` subcommand."""
    parser = subcommands.add_parser(
        "verify",
        help="check checksums, metadata and every chunk of .mla files",
        description="Decompress every chunk, recompute checksums and check that the "
        "metadata matches the array (a URL is downloaded once, streamed). Exit status 1 "
        "if any file has a problem.",
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help=".mla files, or their URLs")
    parser.set_defaults(func=run)


def run(arguments: argparse.Namespace) -> int:
    """Verify each file; print one line per file and one per problem."""
    failed = 0
    for name in arguments.files:
        report = _verify_url(name) if is_url(name) else verify_file(name)
        if report.ok:
            how = "checksums and " if report.checksums else "(no checksums stored) "
            count = report.chunks_checked
            print(f"{name}: OK, {how}{count} chunk{'' if count == 1 else 's'} decompressed")
            continue
        failed += 1
        print(f"{name}: FAILED")
        for problem in report.problems:
            print(f"  - {problem}")
    return 1 if failed else 0


def _verify_url(url: str) -> VerifyReport:
    from mlarray._remote._verify import verify_url

    return verify_url(url)
