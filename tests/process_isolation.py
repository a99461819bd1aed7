"""Loaded with `-p` (pyproject.toml's addopts), so that it runs before pytest-django reads the
settings, which happens before any conftest.py is imported.

Each pytest process (every xdist worker, and the PostgreSQL pass running beside the SQLite one)
gets a data folder of its own (SQLite files, run logs, the secret key) and a Celery queue of its
own, which also names its worker control messages and progress channels: processes sharing one
Redis never see each other's tasks, pings or progress. xdist workers inherit the environment of the
process that started them, hence the worker's own values here.
"""

import os
import tempfile
import uuid
from pathlib import Path

_worker = os.environ.get("PYTEST_XDIST_WORKER")
if _worker:
    os.environ["DATA_DIR"] = str(Path(os.environ.get("DATA_DIR") or tempfile.mkdtemp(prefix="tests-")) / _worker)
os.environ["CELERY_QUEUE"] = f"prefetch-test-{uuid.uuid4().hex[:10]}"
