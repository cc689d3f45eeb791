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


def test_every_client_comes_from_the_one_factory() -> None:
    """Only aura_site.temporal.connect() makes clients, so all share one data converter (the
    payload codec of AURA_PAYLOAD_KEYS)."""
    makers = re.compile(r"\bClient\.connect\(|\bClient\(")
    found = [
        str(path.relative_to(ROOT))
        for app in APPS
        for path in (ROOT / app).rglob("*.py")
        if makers.search(path.read_text())
    ]
    assert found == ["aura_site/temporal.py"]
