"""Fixtures locating the real scans that nibabel ships (no download, no hard-coded path)."""

from __future__ import annotations

import importlib.resources
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def nibabel_data() -> Path:
    """nibabel's test data folder: anatomical.nii, example4d.nii.gz and others."""
    return Path(str(importlib.resources.files("nibabel") / "tests" / "data"))


@pytest.fixture(scope="session")
def dicom_data() -> Path:
    """nibabel's DICOM test files (0.dcm and 1.dcm are two slices of one series)."""
    return Path(str(importlib.resources.files("nibabel") / "nicom" / "tests" / "data"))
