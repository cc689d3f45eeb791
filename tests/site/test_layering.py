"""The apps import each other in one direction only: no cycles between them."""

import re
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = ("aura_site", "audit", "crises", "epochs", "workers")
IMPORT = re.compile(r"^\s*(?:from|import)\s+(\w+)", re.MULTILINE)


def app_imports() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {app: set() for app in APPS}
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            imported = set(IMPORT.findall(path.read_text())) & set(APPS)
            graph[app] |= imported - {app}
    return graph


def test_no_import_cycles_between_apps() -> None:
    graph = app_imports()
    try:
        order = list(TopologicalSorter(graph).static_order())
    except CycleError as exc:
        raise AssertionError(f"import cycle between apps: {exc.args[1]}") from None
    assert order[0] == "aura_site"  # the project package depends on no app
    assert graph["aura_site"] == set() and graph["workers"] == {"aura_site"}
