"""Shared fixtures. TensorFlow-heavy tests import it lazily so the fast tests stay fast."""

import os

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    """A copy of the project's data folder that a test may damage."""
    import shutil

    from lstm_lessons import data

    copy = tmp_path / "data"
    shutil.copytree(data.DATA_DIR, copy)
    monkeypatch.setattr(data, "DATA_DIR", copy)
    return copy
