"""What a worker process does for the workflow sandbox. No Django: benchmarks use it bare."""

import compileall
import inspect
from collections.abc import Iterable


def compile_workflow_modules(workflows: Iterable[type]) -> None:
    """Write the bytecode of the modules that define `workflows` when it is missing or stale.

    The workflow sandbox re-imports a workflow's module for every workflow run it hosts. Under
    PYTHONDONTWRITEBYTECODE=1 (usual in containers) nothing else writes that bytecode, and each
    run compiles the module's source again: more CPU than the rest of a short workflow. An
    unwritable source tree only loses the speed-up.
    """
    for path in sorted({inspect.getfile(workflow) for workflow in workflows}):
        compileall.compile_file(path, quiet=2)
