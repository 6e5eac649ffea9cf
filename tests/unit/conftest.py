"""Fixtures the unit tests share."""
from __future__ import annotations

import logging

import pytest


@pytest.fixture
def root_logging():
    """The root logger, with the libraries' loggers as a fresh process has them, put back as they were
    after the test (``runtime.logging.configure`` and ``create_app`` change them process-wide)."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    noisy = {name: logging.getLogger(name).level for name in ("aiokafka", "pymongo", "kafka")}
    for name in noisy:  # an earlier configure of this process set them
        logging.getLogger(name).setLevel(logging.NOTSET)
    yield root
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, was in noisy.items():
        logging.getLogger(name).setLevel(was)
