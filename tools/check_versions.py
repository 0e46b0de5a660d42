"""Check that the three packages share one version and pin each other exactly.

Run by ``nox -s versions`` (and therefore by ``nox -s tests``). Exits non-zero and
names every disagreement it finds.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = {
    "mlarray-meta": "mlarray_meta",
    "mlarray-core": "mlarray",
    "mlarray-io": "mlarray_io",
}
VERSION_RE = re.compile(r'^__version__\s*=\s*"([^"]+)"\s*$', re.MULTILINE)
PIN_RE = re.compile(r"^\s*(mlarray-[a-z]+)\s*(==|>=|~=|<=|>|<|!=)?\s*([^;\s]*)")


def read_version(dist: str, module: str, root: Path = ROOT) -> str:
    """Return the version written in a package's ``_version.py``."""
    path = root / "packages" / dist / "src" / module / "_version.py"
    match = VERSION_RE.search(path.read_text(encoding="utf-8"))
    if match is None:
        raise SystemExit(f'{path}: no __version__ = "..." line found')
    return match.group(1)


def find_problems(root: Path = ROOT) -> list[str]:
    """Collect every version or pin disagreement across the packages under ``root``."""
    versions = {dist: read_version(dist, module, root) for dist, module in PACKAGES.items()}
    problems: list[str] = []
    if len(set(versions.values())) != 1:
        problems.append(f"versions differ: {versions}")
    for dist in PACKAGES:
        pyproject = root / "packages" / dist / "pyproject.toml"
        project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
        requirements = list(project.get("dependencies", []))
        for extra in project.get("optional-dependencies", {}).values():
            requirements.extend(extra)
        for requirement in requirements:
            match = PIN_RE.match(requirement)
            if match is None or match.group(1) not in PACKAGES:
                continue
            sibling, operator, pinned = match.groups()
            expected = versions[sibling]
            if operator != "==" or pinned != expected:
                problems.append(
                    f"{pyproject.relative_to(root)}: requirement {requirement!r} must be "
                    f"'{sibling}=={expected}' (exact pin on the sibling's version)"
                )
    return problems


def main() -> int:
    """Print the problems found and return the process exit status."""
    problems = find_problems()
    for problem in problems:
        print(f"version check: {problem}", file=sys.stderr)
    if not problems:
        print(f"version check: all packages at {read_version('mlarray-meta', 'mlarray_meta')}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
