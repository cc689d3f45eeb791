"""What a worker process does for the workflow sandbox. No Django: benchmarks use it bare."""

import compileall
import inspect
from collections.abc import Iterable
from pathlib import Path


def compile_workflow_modules(workflows: Iterable[type]) -> None:
    """Write the bytecode of the modules that define `workflows` when it is missing or stale.

    The workflow sandbox re-imports a workflow's module for every workflow run it hosts. Under
    PYTHONDONTWRITEBYTECODE=1 (usual in containers) nothing else writes that bytecode, and each
    run compiles the module's source again: more CPU than the rest of a short workflow. The
    modules beside it (a workflow package's shared pieces) are compiled too. An unwritable
    source tree only loses the speed-up.
    """
    for folder in sorted({Path(inspect.getfile(workflow)).parent for workflow in workflows}):
        compileall.compile_dir(folder, maxlevels=0, quiet=2)
