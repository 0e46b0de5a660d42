"""Print the reliability outcome counts at the end of the run."""

from __future__ import annotations

from typing import Any

from tests.reliability._summary import LINES


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Write the corpus size and outcome counts recorded by the reliability tests."""
    if LINES:
        terminalreporter.section("reliability summary")
        for line in LINES:
            terminalreporter.write_line(line)
