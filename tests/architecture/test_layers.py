"""No import cycle among bot's modules, imports inside functions included.

`lint-imports` (scripts/test; the contracts are in pyproject.toml) checks the layers of
docs/architecture.md and cycles between sibling packages and modules. This also catches a
cycle through a package's own ``__init__`` (``bot.jobs`` importing a flow that imports
``bot.jobs``), which a contract between siblings does not see. The graph is grimp's, the one
import-linter builds.
"""

from __future__ import annotations

import grimp


def cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Each cycle as ``[a, b, ..., a]``: for every import, the shortest chain back from the
    imported module to its importer, if there is one (each set of modules listed once)."""
    found: dict[frozenset[str], list[str]] = {}
    for module in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            back = graph.find_shortest_chain(importer=imported, imported=module)
            if back:
                found.setdefault(frozenset(back), [module, *back])
    return list(found.values())


def test_no_import_cycle_in_bot():
    found = cycles(grimp.build_graph("bot", cache_dir=None))
    assert not found, "import cycles:\n" + "\n".join(" -> ".join(cycle) for cycle in found)


def test_a_cycle_is_found_and_listed():
    graph = grimp.ImportGraph()
    for module in ("bot", "bot.jobs", "bot.jobs.health", "bot.flows", "bot.flows.health"):
        graph.add_module(module)
    graph.add_import(importer="bot.jobs", imported="bot.jobs.health")
    graph.add_import(importer="bot.jobs.health", imported="bot.flows.health")
    graph.add_import(importer="bot.flows.health", imported="bot.jobs")
    assert cycles(graph) == [
        ["bot.flows.health", "bot.jobs", "bot.jobs.health", "bot.flows.health"]
    ]
