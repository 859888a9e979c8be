"""The targets of a run: one (endpoint, model) each, asked (or replayed) by a runner of its own.

``--llm-model`` repeated asks one endpoint for several models; ``--llm-endpoint NAME=URL`` repeated names several
servers (``--llm-model NAME=ID`` chooses a model for one of them; a plain ``--llm-model`` applies to every endpoint
without one); a replay without an endpoint replays every model recorded, unless ``--llm-model`` narrows it. Each
target gets :class:`~pytest_llmcmp.settings.Settings` of its own with one endpoint and at most one model, so that a
:class:`~pytest_llmcmp.engine.runner.Runner` is the same for one target as for many.

Node ids gain the target's :func:`label` (the model id, as cassettes know it, made safe for a node id) only when a
run has more than one target.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence

from ..settings import Settings
from .backends import default_concurrency

#: An endpoint name as ``--llm-endpoint NAME=URL`` accepts it (``config.py`` checks it the same way).
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,39}")
#: What a node id keeps of a model id; anything else (``/``, ``:``, spaces, brackets) becomes ``_``.
_UNSAFE = re.compile(r"[^\w.+-]")


def _scoped(model: str) -> tuple[str, str] | None:
    """``NAME=ID`` as (endpoint name, model id), or ``None`` for a plain model id."""
    scope, sep, model_id = model.partition("=")
    return (scope, model_id) if sep and model_id and _NAME.fullmatch(scope) else None


def targets(settings: Settings, recorded: Callable[[], Sequence[str]]) -> list[Settings]:
    """One :class:`Settings` per target, in the order given (endpoints, then models). ``recorded`` lists the models
    the cassette directory holds (asked only for a replay without ``--llm-model``)."""
    if settings.endpoints:
        names = {name for name, _ in settings.endpoints}
        scoped: dict[str, list[str]] = {}
        plain: list[str] = []
        for model in settings.models:
            pair = _scoped(model)
            if pair is not None and pair[0] in names:
                scoped.setdefault(pair[0], []).append(pair[1])
            else:
                plain.append(model)
        found: list[Settings] = []
        for name, url in settings.endpoints:
            wanted: list[str | None] = [*(scoped.get(name) or plain)] or [None]
            found += [_one(settings, name, url, wanted_model) for wanted_model in wanted]
        return found
    if settings.endpoint is not None:
        if len(settings.models) <= 1:
            return [settings]
        return [_one(settings, "", settings.endpoint, model) for model in settings.models]
    models = [pair[1] if (pair := _scoped(model)) is not None else model for model in settings.models]
    if not models:
        on_disk = sorted(recorded())
        models = on_disk if len(on_disk) > 1 else []
    if len(models) <= 1:
        return [dataclasses.replace(settings, model=models[0] if models else None)]
    return [_one(settings, "", None, model) for model in models]


def _one(settings: Settings, name: str, url: str | None, model: str | None) -> Settings:
    concurrency = settings.concurrency if settings.given("concurrency") else default_concurrency(url)
    return dataclasses.replace(
        settings,
        endpoint=url,
        model=model,
        models=(model,) if model else (),
        endpoints=(),
        endpoint_name=name,
        concurrency=concurrency,
    )


def label(model: str) -> str:
    """A model id as a part of a node id: ``internlm2-chat-1_8b`` stays itself, ``Qwen/Qwen2.5-7B`` reads
    ``Qwen_Qwen2.5-7B`` (``::``, ``/``, brackets and spaces would change what the node id means)."""
    return _UNSAFE.sub("_", model) or "_"
