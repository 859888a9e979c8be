"""The ``pytest11`` entry point: options, hook wiring, and nothing else.

Domain code lives in the modules named after what they hold; see ``docs/architecture.md``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from . import config as cfg
from .items import CASSETTES_KEY, RULE_KEY, SETTINGS_KEY, CaseFile


def pytest_addoption(parser: pytest.Parser) -> None:
    cfg.add_options(parser)


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from . import hookspecs

    pluginmanager.add_hookspecs(hookspecs)
    from . import builtin

    # The built-in extractor, in a module of its own registered by name: the engine never looks for it.
    pluginmanager.register(builtin, builtin.NAME)


def pytest_configure(config: pytest.Config) -> None:
    from . import fixture

    # The llm fixture and its marker: a plugin of their own, registered always (a fixture is found by its name).
    config.addinivalue_line("markers", fixture.MARKER)
    if not config.pluginmanager.has_plugin(fixture.NAME):
        config.pluginmanager.register(fixture, fixture.NAME)
    settings = cfg.resolve(config)  # always: a bad value is a usage error whether or not cases are collected
    if not (config.option.help or config.option.collectonly or hasattr(config, "workerinput")):
        cfg.check_outputs(config, settings)  # the controller writes the outputs
    config.stash[SETTINGS_KEY] = settings
    config.stash[CASSETTES_KEY] = cfg.cassette_root(config, settings)
    config.stash[RULE_KEY] = cfg.case_file_rule(config, settings)
    if cfg.any_given(config):
        from .session import ensure_session

        ensure_session(config)  # else the first case file collected registers it
    if getattr(config.option, "dist", "no") != "no" and not hasattr(config, "workerinput"):
        # An xdist controller (-n N, --dist, -d --tx): the bridge merges its workers' results. Nowhere else.
        from .distributed import NAME, XdistBridge

        config.pluginmanager.register(XdistBridge(config), NAME)


def pytest_unconfigure(config: pytest.Config) -> None:
    session = config.pluginmanager.get_plugin("llmcmp-session")  # session.SESSION, not imported for this
    if session is not None:
        session.close()
        config.pluginmanager.unregister(session)
    bridge = config.pluginmanager.get_plugin("llmcmp-xdist")
    if bridge is not None:
        config.pluginmanager.unregister(bridge)
    fixture = config.pluginmanager.get_plugin("llmcmp-fixture")
    if fixture is not None:
        config.pluginmanager.unregister(fixture)


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Do not walk into the cassette directory: thousands of YAML files that are never tests."""
    if collection_path == config.stash.get(CASSETTES_KEY, None):
        return True
    return None


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> CaseFile | None:
    if file_path.suffix not in (".yaml", ".yml"):
        return None
    cassettes = parent.config.stash.get(CASSETTES_KEY, None)
    # Cassettes are YAML too, and never case files. (A string prefix: walking Path.parents for every YAML file of a
    # large repository cost more than recognizing the file.)
    if cassettes is not None and _normcase(file_path).startswith(_normcase(os.path.join(cassettes, ""))):
        return None

    rule = parent.config.stash.get(RULE_KEY, None)
    if rule is None or not rule(file_path):  # see recognition.py: only files that are clearly case files
        return None
    result: Any = CaseFile.from_parent(parent, path=file_path)
    return result  # type: ignore[no-any-return]


def _normcase(path: str | os.PathLike[str]) -> str:
    return os.path.normcase(os.fspath(path))


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test of the llm fixture uses the plugin as a case file does: the session starts with the collection (its
    header comes after "collected N items"), not at the first test's setup."""
    if any("llm" in getattr(item, "fixturenames", ()) for item in items):
        from .session import ensure_session

        ensure_session(config, late=True)
