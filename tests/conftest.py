"""Fixtures shared by the whole suite. Keep this small: per-area fixtures live next to their tests."""

from __future__ import annotations

import pytest

from bot.core.knowledge import Knowledge
from bot.kb import load_knowledge


@pytest.fixture(scope="session")
def kb() -> Knowledge:
    """The shipped knowledge base, loaded (and validated) once per test session."""
    return load_knowledge()
