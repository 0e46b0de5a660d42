"""``mlarray header FILE [--json]``: print a file's metadata."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from mlarray._file_metadata import read_file_header
from mlarray._paths import check_mla_path
from mlarray._remote import is_url
from mlarray_meta.header import Header

__all__ = ["header_document", "read_checked", "register", "run"]


def register(subcommands: Any) -> None:
    """Add the ``header`` subcommand."""
    parser = subcommands.add_parser(
        "header",
        help="print the metadata header of a .mla file",
        description="Print shape, dtype, layout and metadata, read from the header only.",
    )
    parser.add_argument("file", metavar="FILE", help="a .mla file, or its URL")
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")
    parser.set_defaults(func=run)


def read_checked(name: str) -> Header:
    """Read the header of the ``.mla`` file ``name`` (suffix and existence checked), or of a URL."""
    if is_url(name):
        from mlarray._remote._verify import read_remote_header

        return read_remote_header(name)
    return read_file_header(check_mla_path(Path(name), must_exist=True))


def header_document(header: Header) -> dict[str, Any]:
    """Everything the header says, as plain JSON data."""
    mapping = header.mapping
    version = mapping.format_version
    return {
        "file": mapping.path,
        "shape": list(mapping.shape),
        "dtype": mapping.dtype,
        "chunks": list(mapping.chunks),
        "blocks": list(mapping.blocks),
        "metadata_format": mapping.origin,
        "format_version": None if version is None else f"{version[0]}.{version[1]}",
        "meta": header.meta.to_mapping(),
    }


def run(arguments: argparse.Namespace) -> int:
    """Print the header of one file."""
    header = read_checked(arguments.file)
    document = header_document(header)
    if arguments.json:
        print(json.dumps(document, indent=2))
        return 0
    origin = document["metadata_format"] or "none"
    if document["format_version"]:
        origin += f" {document['format_version']}"
    print(f"file:   {document['file']}")
    print(f"shape:  {document['shape']}  dtype: {document['dtype']}")
    print(f"chunks: {document['chunks']}  blocks: {document['blocks']}")
    print(f"metadata ({origin}):")
    print(json.dumps(header.meta.to_plain(), indent=2))
    return 0
