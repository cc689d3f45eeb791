"""The worker writes its workflow modules' bytecode, which the sandbox re-imports per run."""

import importlib
import importlib.util
import os
import sys
from pathlib import Path

import pytest

from workers.sandbox import compile_workflow_modules

SAMPLE = """
from temporalio import workflow


@workflow.defn
class Sample:
    @workflow.run
    async def run(self) -> str:
        return "{answer}"
"""


@pytest.fixture
def sample_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A workflow module imported the way PYTHONDONTWRITEBYTECODE=1 imports it: no .pyc."""
    path = tmp_path / "aura_sample_workflows.py"
    path.write_text(SAMPLE.format(answer="first"))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    module = importlib.import_module("aura_sample_workflows")
    yield module, path, Path(importlib.util.cache_from_source(str(path)))
    sys.modules.pop("aura_sample_workflows", None)


def test_writes_missing_bytecode_despite_dont_write_bytecode(sample_module) -> None:
    module, _, cached = sample_module
    assert not cached.exists()

    compile_workflow_modules([module.Sample])

    assert cached.exists()


def test_rewrites_stale_bytecode(sample_module) -> None:
    module, path, cached = sample_module
    compile_workflow_modules([module.Sample])
    path.write_text(SAMPLE.format(answer="second, and longer"))
    later = path.stat().st_mtime + 10  # an edit in the same second keeps its mtime
    os.utime(path, (later, later))

    compile_workflow_modules([module.Sample])

    # A timestamp-based .pyc records its source's size at bytes 12-16.
    assert int.from_bytes(cached.read_bytes()[12:16], "little") == path.stat().st_size
