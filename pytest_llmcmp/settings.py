"""The effective settings of a run (domain: plain values, no pytest). ``config.py`` resolves them once from the
command line, the ini file and the environment; they are frozen and kept in ``config.stash``."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Final

#: ``max_tokens`` sent when ``--llm-max-tokens`` is not given: enough for a reasoned answer to a comparison, and a
#: bound on a server whose own default is unlimited (llama.cpp's server, by version: 128 tokens or the whole context).
DEFAULT_MAX_TOKENS: Final = 512


@dataclass(frozen=True)
class Settings:
    """The effective settings of a run: plain values only (xdist sends them to workers)."""

    endpoint: str | None
    model: str | None
    prompts: tuple[str, ...]
    record_mode: str
    samples: int
    pass_rule: str
    results: str | None
    report: str | None
    html: str | None
    baseline: str | None
    baseline_prompt: str | None
    min_accuracy: tuple[str, ...]
    concurrency: int
    temperature: float
    max_tokens: int | None  # None: not sent (--llm-max-tokens none), the server's default decides
    seed: int | None
    timeout: float
    retries: int
    backoff: float
    cassette_dir: str
    prune: bool
    read_ahead: str
    local_model: str | None
    progress: bool
    gate: str = "significant"
    alpha: float = 0.05
    max_drop: float = 0.0
    max_regressions: int | None = None
    must_pass: tuple[str, ...] = ()
    #: How each option that was set was given, by option name: "--llm-min-accuracy", "llm_min_accuracy" (the ini
    #: file) or "LLMCMP_MIN_ACCURACY", so that messages name the setting the user actually wrote.
    origins: tuple[tuple[str, str], ...] = ()

    #: The options given nowhere (command line, ini file, environment): left at their defaults.
    unset: tuple[str, ...] = ()

    def origin(self, name: str) -> str:
        """How option ``name`` was set (its command-line spelling when it was not)."""
        return dict(self.origins).get(name, "--llm-" + name.replace("_", "-"))

    def given(self, name: str) -> bool:
        """Whether option ``name`` was given (command line, ini file or environment), not left at its default."""
        return name not in self.unset

    #: Every ``--llm-model`` (several: one item per model; ``ENDPOINT=NAME`` for one named endpoint).
    models: tuple[str, ...] = ()
    #: Named endpoints, ``(name, url)`` (``--llm-endpoint small=URL --llm-endpoint big=URL``); empty for the one
    #: unnamed ``--llm-endpoint URL`` (then :attr:`endpoint` is it).
    endpoints: tuple[tuple[str, str], ...] = ()
    #: The named endpoint this run's asks go to (set on each target's settings), for its key variable.
    endpoint_name: str = ""

    max_generated: int = 10_000
    max_generated_suite: int = 100_000
    cases: tuple[str, ...] = ()  # llm_cases: directories whose every YAML file is a case file
    record_latency: bool = False  # llm_record_latency: each live answer's latency goes into its cassette
    ask_process: str = "auto"  # llm_ask_process: auto (live requests asked by a helper process) or off
    #: --llm-answer-format: "text" (free text, the default) or "json" (response_format asks for {"answer": ...}).
    answer_format: str = "text"
    #: --llm-local-threads: the local server's threads (``None``: :func:`~pytest_llmcmp.local.default_threads`).
    local_threads: int | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def live(self) -> bool:
        return self.endpoint is not None
