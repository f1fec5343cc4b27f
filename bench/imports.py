"""What `occ-bot serve` imports before it serves, per package, and what the libraries it
loads later, where they are used, cost.

Every measurement runs in a new interpreter that has imported nothing else (PYTHONPATH =
the repository, like the benchmark's occ-bot):

- `python -X importtime` of the serve entry (`SERVE_ENTRY`: what `occ-bot serve` imports
  before its event loop starts), `runs` times: a package's import time is the sum of its
  modules' own ("self") times, median of the runs;
- once, the same imports under an import hook that reads VmRSS before and after each
  package's imports: a package's resident memory is what its own imports added (what the
  packages it pulls in add is theirs), and "pulled in by" names the bot module whose import
  statement led to it;
- per library loaded later, where used (`LAZY`): the serve entry first, then the library; its
  import time and the RSS it adds (median of `runs`).

`python -m bench.imports [--runs N]` prints the tables alone.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
from typing import Any

from bench.procs import PYTHON, REPO, child_env

SERVE_ENTRY = ("bot.cli.main", "bot.runtime.eventloop", "bot.serve")
BARE_BOLT = ("bench.bare_bolt",)
# (library, what loads it, the modules to import): what loads after the serve entry's imports,
# where it is used; the heavy ones are never loaded by a replica that does not use them.
LAZY = (
    (
        "SQLAlchemy's asyncio engine (without its ORM: `bot.store.async_engine`)",
        "the SQL store, when services are built (every DATABASE_URL)",
        ("bot.store.sql",),
    ),
    ("aiosqlite", "a SQLite DATABASE_URL (the default), on first connection", ("aiosqlite",)),
    ("psycopg", "a PostgreSQL DATABASE_URL, on first connection", ("psycopg",)),
    ("alembic (+ mako)", "applying migrations (a new or older database)", ("bot.store.migrate",)),
    (
        "llama-index + bm25s",
        "the first customer message or draft (the knowledge base's index)",
        ("llama_index.core.schema", "llama_index.retrievers.bm25"),
    ),
    ("openai", "with OPENAI_API_KEY: the first customer message or draft", ("openai",)),
    (
        "matplotlib",
        "the first chart (digest, alert trend, `/occ pulse`)",
        ("matplotlib.figure", "matplotlib.backends.backend_agg"),
    ),
    ("supabase", "the Supabase REST backend (no DATABASE_URL)", ("bot.store.supabase",)),
    ("httpx", "Shopify configured (its client)", ("bot.integrations.shopify",)),
    ("graphql-core", "only the demo's Shopify stand-in", ("graphql",)),
)
TOP = 15

# Runs in the child: VmRSS around each package's imports, nested packages subtracted.
_RSS_PROBE = r"""
import builtins, sys, time
def rss():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
def package(name):
    parts = name.split(".")
    return ".".join(parts[:2]) if parts[0] == "bot" else parts[0]
original, stack, own = builtins.__import__, [], {}
def hooked(name, globals=None, locals=None, fromlist=(), level=0):
    importer = (globals or {}).get("__name__") or "?"
    if level:
        base = ((globals or {}).get("__package__") or "").rsplit(".", level - 1)[0]
        name = f"{base}.{name}" if name else base
        level = 0
    loaded = sys.modules.get(name)
    if loaded is not None and all(hasattr(loaded, f) for f in fromlist or () if f != "*"):
        return original(name, globals, locals, fromlist, level)
    pkg = package(name)
    if stack and stack[-1][0] == pkg:
        return original(name, globals, locals, fromlist, level)
    ours = importer == "bot" or importer.startswith("bot.")
    by = importer if ours or not stack else stack[-1][3]
    entry = [pkg, rss(), 0, by]
    stack.append(entry)
    try:
        return original(name, globals, locals, fromlist, level)
    finally:
        stack.pop()
        grew = rss() - entry[1]
        mine = own.setdefault(pkg, [0, by])
        mine[0] += grew - entry[2]
        if stack:
            stack[-1][2] += grew
start = rss()
builtins.__import__ = hooked
for module in sys.argv[1:]:
    __import__(module)
builtins.__import__ = original
import json
print(json.dumps({"start_kb": start, "end_kb": rss(), "own": own}))
"""
_LAZY_PROBE = r"""
import sys, time
def rss():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
split = sys.argv.index("--")
for module in sys.argv[1:split]:
    __import__(module)
before, started = rss(), time.perf_counter()
for module in sys.argv[split + 1:]:
    __import__(module)
import json
print(json.dumps({"seconds": time.perf_counter() - started, "kb": rss() - before}))
"""
_IMPORTTIME = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)")


def _package(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "bot" else parts[0]


def _child(argv: list[str], *, stderr: bool = False) -> str:
    done = subprocess.run(
        [PYTHON, *argv],
        env=child_env({}),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stderr if stderr else done.stdout


def _probe(script: str, args: list[str]) -> dict[str, Any]:
    out = _child(["-c", script, *args])
    return dict(json.loads(out.strip().splitlines()[-1]))


def import_times(modules: tuple[str, ...]) -> tuple[dict[str, float], float]:
    """One `-X importtime` run: (seconds per package, total seconds)."""
    err = _child(["-X", "importtime", "-c", f"import {', '.join(modules)}"], stderr=True)
    per: dict[str, float] = {}
    total = 0.0
    for line in err.splitlines():
        match = _IMPORTTIME.match(line)
        if match is None:
            continue
        own, cumulative, indent, module = match.groups()
        per[_package(module)] = per.get(_package(module), 0.0) + int(own) / 1e6
        if not indent:  # a top-level import of the -c statement: its cumulative time
            total += int(cumulative) / 1e6
    return per, total


def measure(runs: int = 3) -> dict[str, Any]:
    """The serve entry's imports per package, bare Bolt's for comparison, and `LAZY`."""
    timed = [import_times(SERVE_ENTRY) for _ in range(runs)]
    names = {name for per, _ in timed for name in per}
    seconds = {name: statistics.median(per.get(name, 0.0) for per, _ in timed) for name in names}
    memory = _probe(_RSS_PROBE, list(SERVE_ENTRY))
    bolt, bolt_total = import_times(BARE_BOLT)
    packages = [
        {
            "package": name,
            "ms": round(seconds[name] * 1000, 1),
            "rss_mb": round(memory["own"].get(name, [0, ""])[0] / 1024, 1),
            "pulled_in_by": memory["own"].get(name, [0, ""])[1],
            "bare_bolt_too": name in bolt,
        }
        for name in names
    ]
    packages.sort(key=lambda row: -row["ms"])
    lazy = []
    for library, when, modules in LAZY:
        found = [_probe(_LAZY_PROBE, [*SERVE_ENTRY, "--", *modules]) for _ in range(runs)]
        lazy.append(
            {
                "library": library,
                "loaded": when,
                "ms": round(statistics.median(f["seconds"] for f in found) * 1000, 1),
                "rss_mb": round(statistics.median(f["kb"] for f in found) / 1024, 1),
            }
        )
    return {
        "serve_entry": list(SERVE_ENTRY),
        "import_seconds": round(statistics.median(total for _, total in timed), 3),
        "bare_bolt_import_seconds": round(bolt_total, 3),
        "rss_mb_before": round(memory["start_kb"] / 1024, 1),
        "rss_mb_after": round(memory["end_kb"] / 1024, 1),
        "packages": packages,
        "lazy": lazy,
    }


def markdown(found: dict[str, Any]) -> list[str]:
    out = [
        f"**What `occ-bot serve` imports before it serves** (`{', '.join(found['serve_entry'])}` "
        f"in a new interpreter): {found['import_seconds'] * 1000:.0f} ms (bare Bolt's "
        f"`bench.bare_bolt`: {found['bare_bolt_import_seconds'] * 1000:.0f} ms, one run), RSS "
        f"{found['rss_mb_before']:.0f} → {found['rss_mb_after']:.0f} MB. The {TOP} slowest "
        "packages (own import time, median of the runs; own RSS: what its imports added, "
        "the packages it pulls in counted as theirs):",
        "",
        "| package | import time | RSS | pulled in by | bare Bolt imports it too |",
        "| --- | --- | --- | --- | --- |",
    ]
    for row in found["packages"][:TOP]:
        out.append(
            f"| `{row['package']}` | {row['ms']:.1f} ms | {row['rss_mb']:.1f} MB "
            f"| `{row['pulled_in_by']}` | {'yes' if row['bare_bolt_too'] else ''} |"
        )
    out += [
        "",
        "**Loaded where used, after those imports** (the serve entry first, then the library; "
        "what it adds):",
        "",
        "| library | loaded by | import time | RSS |",
        "| --- | --- | --- | --- |",
    ]
    for row in found["lazy"]:
        out.append(
            f"| {row['library']} | {row['loaded']} | {row['ms']:.0f} ms | {row['rss_mb']:.1f} MB |"
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.imports", description=__doc__)
    parser.add_argument("--runs", type=int, default=3, help="runs per measurement (median)")
    args = parser.parse_args(argv)
    if not 1 <= args.runs <= 9:
        parser.error("keep it bounded: --runs 1..9")
    sys.stdout.write("\n".join(markdown(measure(args.runs))) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
