"""Shared by the end-to-end tests: the wire suite's helpers (kwire) and the built ktop binary."""

from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Wire"))

import kwire  # noqa: E402


@pytest.fixture(scope="session")
def ktop_bin() -> str:
    """$KTOP_BIN, else the binary `swift build --product ktop` makes (built once per session)."""
    try:
        return kwire.find_ktop_binary()
    except RuntimeError as e:
        pytest.fail(str(e), pytrace=False)
