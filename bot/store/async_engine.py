"""SQLAlchemy's asyncio engine, imported without SQLAlchemy's ORM.

The store uses only `sqlalchemy.ext.asyncio`'s engine and connection, which live in its
module `engine` and need no ORM. The package's `__init__`, though, also imports its ORM
session (`AsyncSession`), and with it all of `sqlalchemy.orm`: about 6 MB and 0.1 s of
every start. SQLAlchemy 2.0 has no switch for this, so `engine` is imported here under a
placeholder for its package (its `__init__` not run) that is removed right afterwards: a
later `import sqlalchemy.ext.asyncio`, by anyone, runs the package in full and finds this
same `engine` module, so there is one `AsyncEngine` class. Should a SQLAlchemy release move
things, this falls back to the plain import (and only costs the ORM again). The placeholder
lives for the engine module's import, once: another thread importing `sqlalchemy.ext.asyncio`
at that very moment would see it (nothing in occ-bot imports it elsewhere).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from types import ModuleType
from typing import TYPE_CHECKING

_PACKAGE = "sqlalchemy.ext.asyncio"


def _engine_module() -> ModuleType:
    if _PACKAGE not in sys.modules:
        spec = importlib.util.find_spec(_PACKAGE)
        if spec is not None and spec.submodule_search_locations is not None:
            placeholder = importlib.util.module_from_spec(spec)
            sys.modules[_PACKAGE] = placeholder
            try:
                return importlib.import_module(f"{_PACKAGE}.engine")
            except ImportError:
                pass
            finally:
                if sys.modules.get(_PACKAGE) is placeholder:
                    del sys.modules[_PACKAGE]
    return importlib.import_module(_PACKAGE)


if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
else:
    _engine = _engine_module()
    AsyncConnection = _engine.AsyncConnection
    AsyncEngine = _engine.AsyncEngine
    create_async_engine = _engine.create_async_engine

__all__ = ["AsyncConnection", "AsyncEngine", "create_async_engine"]
