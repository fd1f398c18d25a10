"""Shared test fixtures: a genpage home kept between runs (converted models are reused), real stores in tmp dirs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
ONLINE_RETAIL = SHARED_DATA / "online-retail" / "online_retail.csv.gz"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
TEST_HOME = Path(os.environ.get("GENPAGE_TEST_HOME", REPO / ".genpage-test-home"))
os.environ["GENPAGE_HOME"] = str(TEST_HOME)


@pytest.fixture(scope="session")
def genpage_home() -> Path:
    """The genpage home of the test session (models converted once and kept between runs)."""
    TEST_HOME.mkdir(parents=True, exist_ok=True)
    return TEST_HOME


@pytest.fixture(scope="session")
def online_retail_csv() -> Path:
    if not ONLINE_RETAIL.is_file():
        pytest.skip(f"the real Online Retail data is not at {ONLINE_RETAIL}")
    return ONLINE_RETAIL


@pytest.fixture
def store(tmp_path):
    """An empty real store in the test's own folder."""
    from genpage.store import Store

    with Store(tmp_path / "genpage.sqlite") as opened:
        yield opened


@pytest.fixture
def config(tmp_path):
    """Settings with the deterministic echo backend and the test's own folder as home."""
    from genpage.config import Config

    return Config(home=tmp_path, backend="echo")
