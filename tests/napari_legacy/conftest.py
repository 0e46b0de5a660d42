"""napari, Qt and the plugins warn about their own deprecations; ours still fail the tests."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    for line in (
        "ignore::DeprecationWarning",
        "ignore::PendingDeprecationWarning",
        "ignore::FutureWarning",
        "ignore::UserWarning",
        "error::mlarray_meta.errors.MLArrayWarning",
    ):
        config.addinivalue_line("filterwarnings", line)
