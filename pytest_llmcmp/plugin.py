"""The ``pytest11`` entry point: options, hook wiring, and nothing else.

Domain code lives in the modules named after what they hold; see ``docs/architecture.md``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from . import config as cfg
from .items import RUNNER_KEY, CaseFile

if TYPE_CHECKING:
    from .answers import Extraction
    from .cases import Case
    from .prompts import Prompt


def pytest_addoption(parser: pytest.Parser) -> None:
    cfg.add_options(parser)


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from . import hookspecs

    pluginmanager.add_hookspecs(hookspecs)


@pytest.hookimpl(trylast=True)
def pytest_llmcmp_extract_choice(answer: str, case: Case, prompt: Prompt) -> Extraction:
    """The built-in extractor; a user's implementation runs first and wins when it returns a result."""
    from .answers import extract_choice

    return extract_choice(answer, case.numbers, case.ask)


def pytest_configure(config: pytest.Config) -> None:
    from .prompts import PromptError, load_prompts
    from .session import LlmSession

    settings = cfg.resolve(config)
    if not (config.option.help or config.option.collectonly):
        cfg.check_statistics(settings)
        if not hasattr(config, "workerinput"):  # the controller writes the outputs
            cfg.check_outputs(config, settings)
    try:
        bases = [Path(config.invocation_params.dir), Path(str(config.rootpath))]
        prompts = load_prompts(list(settings.prompts), bases, settings.origin("prompt"))
    except PromptError as exc:
        raise pytest.UsageError(str(exc)) from None
    session = LlmSession(config, settings, prompts)
    config.stash[RUNNER_KEY] = session.runner
    config.pluginmanager.register(session, "llmcmp-session")


def pytest_unconfigure(config: pytest.Config) -> None:
    session = config.pluginmanager.get_plugin("llmcmp-session")
    if session is not None:
        session.close()
        config.pluginmanager.unregister(session)


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Do not walk into the cassette directory: thousands of YAML files that are never tests."""
    runner = config.stash.get(RUNNER_KEY, None)
    if runner is not None and collection_path == runner.cassette_root:
        return True
    return None


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> CaseFile | None:
    if file_path.suffix not in (".yaml", ".yml"):
        return None
    runner = parent.config.stash.get(RUNNER_KEY, None)
    if runner is not None and runner.cassette_root in file_path.parents:
        return None  # cassettes are YAML too, and never case files
    from .collected import is_case_file

    if not is_case_file(file_path, parent.config.rootpath):
        return None
    result: Any = CaseFile.from_parent(parent, path=file_path)
    return result  # type: ignore[no-any-return]
