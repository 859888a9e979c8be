"""VCR cassettes: layout on disk, a fast replay index, and atomic, scrubbed writes.

The plugin does not use vcrpy's global HTTP patching: it is not safe for concurrent recording and
its matcher scans every interaction for every request. The client makes its requests itself and
hands each successful exchange to :class:`Cassette`, which stores it in the standard vcrpy cassette
format (so plain vcrpy can replay the files) and finds it again through a dict keyed by
:func:`request_key`.

File format (one file per model, prompt and case)::

    interactions:
    - request:
        body: |-
          {
            "messages": [ ... ],
            "model": "..."
          }
        headers:
          Content-Type:
          - application/json
          X-Llmcmp-Sample:
          - '1'
        method: POST
        uri: http://host/v1/chat/completions
      response:
        body:
          string: |-
            { ... pretty JSON, readable Chinese ... }
        headers:
          Content-Type:
          - application/json
        status:
          code: 200
          message: OK
    version: 1

Mapping keys are sorted (this is also vcrpy's own order), so ``version`` comes last and a file cut
short anywhere is detected as missing it. Interactions are sorted by (canonical request body, sample
index) rather than kept in insertion order: concurrent recording finishes requests in a random
order, and sorting makes re-recording the same cases produce the same order, hence minimal diffs.
Identical requests end up in sample order, which is the order vcrpy plays them back in.

Loading is defensive because cassettes arrive in pull requests: the size is capped before
reading, only plain YAML is accepted (no ``!!python`` tags, no anchors or aliases), and every
field is checked, each problem reported as one :class:`CassetteError` line naming the file.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import hashlib
import http
import json
import os
import re
import threading
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote, unquote

import yaml

from . import yamlerrors
from .atomic import write_if_changed
from .redaction import contains_secret, public_url
from .redaction import secret_pattern as secret_pattern
from .safefiles import FileTooLarge, NotRegularFile, read_regular
from .wire import SAMPLE_HEADER as SAMPLE_HEADER
from .wire import Exchange as Exchange
from .wire import Reply, reply_of
from .wire import content_of as content_of

# The C implementations are several times faster; both are safe (no python/* constructors).
_YAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_YAML_DUMPER: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

#: Files larger than this are refused before being read; a recorded case is a few kilobytes.
MAX_CASSETTE_BYTES: Final = 20 * 1024 * 1024

CASSETTE_FORMAT_VERSION: Final = 1
JSON_CONTENT_TYPE: Final = "application/json"

#: Response fields that differ on every request even when the answer does not, stored as these fixed values (the
#: body stays a valid chat completion: the OpenAI client requires ``id`` and ``created``), so that recording the
#: same answer again writes the same bytes.
STABLE_RESPONSE_FIELDS: Final = {"id": "chatcmpl-llmcmp", "created": 0}
#: Response fields left out of a recording: optional in the OpenAI format and volatile (``timings`` is llama.cpp's).
DROPPED_RESPONSE_FIELDS: Final = ("system_fingerprint", "timings")


def stable_response(body: Mapping[str, Any]) -> dict[str, Any]:
    """The response as it is recorded: :data:`STABLE_RESPONSE_FIELDS` fixed (where present),
    :data:`DROPPED_RESPONSE_FIELDS` left out, everything else as the server sent it."""
    stable = {name: value for name, value in body.items() if name not in DROPPED_RESPONSE_FIELDS}
    for name, value in STABLE_RESPONSE_FIELDS.items():
        if name in stable:
            stable[name] = value
    return stable


# Characters YAML treats as line breaks or that the emitters (libyaml in particular: anything
# beyond the BMP, emoji included) consider non-printable and would answer by switching the whole
# body to an unreadable double-quoted string. JSON leaves them raw with ensure_ascii=False;
# escaping just them keeps the body a literal block and the JSON value unchanged.
_YAML_UNSAFE_CHARS = re.compile("[\x7f-\x9f\u2028\u2029\ud800-\udfff\ufeff\ufffe\uffff\U00010000-\U0010ffff]")

# Path components: characters that would create subdirectories, escape the tree or be refused by
# common filesystems are percent-encoded, everything else (Chinese included) is kept readable.
_PATH_UNSAFE_CHARS = re.compile(r'[%/\\:*?"<>|\x00-\x1f\x7f]')


class CassetteError(Exception):
    """A cassette that cannot be read or written; ``str(e)`` is one line: ``"{path}: {message}"``."""

    def __init__(self, path: Path | str, message: str) -> None:
        self.path = Path(path)
        self.message = " ".join(message.split())  # one line, whatever the cause said
        super().__init__(f"{self.path}: {self.message}")


def _path_component(text: str, what: str) -> str:
    if not text:
        raise ValueError(f"{what} must not be empty")
    escaped = _PATH_UNSAFE_CHARS.sub(lambda m: f"%{ord(m.group()):02X}", text)
    if escaped in (".", ".."):
        escaped = escaped.replace(".", "%2E")
    return escaped


#: What a model file's name ends with (llama.cpp, GGML, Hugging Face and PyTorch weights, ONNX, llamafile).
MODEL_FILE_SUFFIXES: Final = (".gguf", ".ggml", ".bin", ".safetensors", ".pt", ".pth", ".onnx", ".llamafile")


def model_file_name(model: str) -> str | None:
    """The name a model id that is a path to a model file is known by (the file's stem), else ``None``.

    llama.cpp's server started by hand reports ``--model`` as given (``/abs/SmolLM2-135M-Instruct.Q4_1.gguf``,
    ``.venv/lib/.../x.gguf``): a path holding a separator that ends in a model file's suffix, or any absolute path.
    Ids such as ``meta-llama/Llama-3-8B`` or ``gpt-4o`` are not paths."""
    if "/" not in model and "\\" not in model:
        return None
    name = re.split(r"[\\/]", model.rstrip("/\\"))[-1]
    suffix = next((s for s in MODEL_FILE_SUFFIXES if name.lower().endswith(s)), None)
    absolute = model.startswith(("/", "\\")) or re.match(r"[A-Za-z]:[\\/]", model) is not None
    if suffix is None and not absolute:
        return None
    stem = name[: -len(suffix)] if suffix else name
    return stem if stem.strip() else None


def model_dir(root: Path, model: str) -> Path:
    """The directory of one model's cassettes: ``root/<model percent-encoded>``."""
    name = quote(model, safe="")
    if not name:
        raise ValueError("model must not be empty")
    if name in (".", ".."):
        name = name.replace(".", "%2E")
    return Path(root) / name


def prompt_dir(root: Path, model: str, prompt_name: str, prompt_sha256: str | None) -> Path:
    """The directory of one (model, prompt): ``<prompt_name>-<sha256[:12]>``, or ``<prompt_name>`` when
    ``prompt_sha256`` is None (the prompt ``none``), under :func:`model_dir`."""
    name = _path_component(prompt_name, "prompt name")
    if prompt_sha256 is not None:
        name = f"{name}-{prompt_sha256[:12]}"
    return model_dir(root, model) / name


def prompt_dirs(model_directory: Path, prompt_name: str) -> list[Path]:
    """Every recorded version of a prompt under a model's directory (``<prompt_name>-<sha256[:12]>``), sorted."""
    if not model_directory.is_dir():
        return []
    prefix = _path_component(prompt_name, "prompt name") + "-"
    return sorted(d for d in model_directory.iterdir() if d.name.startswith(prefix) and d.is_dir())


_PROMPT_DIR: Final = re.compile(r"(?P<name>.+)-(?P<sha>[0-9a-f]{12})")


def recorded_prompts(model_directory: Path) -> list[tuple[str, str | None]]:
    """The prompts recorded under a model's directory, each ``(name, sha256[:12])`` (``None`` for ``none``), for
    the directories that hold at least one cassette; sorted."""
    if not model_directory.is_dir():
        return []
    found = []
    for folder in sorted(model_directory.iterdir()):
        if not folder.is_dir() or not any(folder.glob("*.yaml")):
            continue
        prompt = prompt_of(folder.name)
        if prompt is not None:
            found.append(prompt)
    return found


def prompt_of(directory_name: str) -> tuple[str, str | None] | None:
    """The prompt a directory of :func:`prompt_dir`'s naming stands for: ``(name, sha256[:12])``, ``("none", None)``
    for ``none``; ``None`` for a directory named otherwise."""
    match = _PROMPT_DIR.fullmatch(directory_name)
    if match is not None:
        return unquote(match["name"]), match["sha"]
    return ("none", None) if directory_name == "none" else None


def cassette_path(root: Path, model: str, prompt_name: str, prompt_sha256: str | None, case_id: str) -> Path:
    """Where the cassette of one (model, prompt, case) lives.

    ``root/<model percent-encoded>/<prompt_name>-<sha256[:12]>/<case_id>.yaml``; the directory is just
    ``<prompt_name>`` when ``prompt_sha256`` is None (the prompt ``none``). Characters in the prompt
    name or case id that would change the directory structure (``/``, ``\\``, ``..``) or that common
    filesystems refuse are percent-encoded.
    """
    return prompt_dir(root, model, prompt_name, prompt_sha256) / cassette_name(case_id)


#: The longest file or directory name common filesystems take, in bytes.
MAX_NAME_BYTES: Final = 255


def model_id_problem(model: object) -> str | None:
    """Why ``model`` cannot name a cassette directory (one sentence), or ``None`` when it can."""
    if not isinstance(model, str):
        return f"the model id is not a string ({type(model).__name__})"
    if not model.strip():
        return "the model id is empty"
    size = len(quote(model, safe="").encode("utf-8"))
    if size > MAX_NAME_BYTES:
        return (
            f"the model id is {size:,} bytes long as a directory name, more than the {MAX_NAME_BYTES} a file name "
            "may have; choose a shorter --llm-model"
        )
    return None


def check_inside(root: Path, path: Path) -> None:
    """Refuse (:class:`CassetteError`) a cassette that, once symlinks are resolved, is not under ``root``: a
    directory symlink committed in ``cassettes/`` must not make recording write elsewhere."""
    real_root = os.path.realpath(root)
    real = os.path.realpath(path)
    if os.path.commonpath([real_root, real]) != real_root:
        raise CassetteError(path, "refusing to write: through a symlink, it is outside the cassette directory")


def cassette_name(case_id: str) -> str:
    """The file name of a case's cassette within its prompt's directory (see :func:`cassette_path`)."""
    return f"{_path_component(case_id, 'case id')}.yaml"


def model_dirs(root: Path) -> list[str]:
    """The model ids (decoded directory names) under ``root`` that hold at least one cassette."""
    root = Path(root)
    if not root.is_dir():
        return []
    return sorted(
        unquote(entry.name)
        for entry in root.iterdir()
        if entry.is_dir() and any(p.is_file() for p in entry.rglob("*.yaml"))
    )


def recorded_cases(root: Path, model: str, prompts: Sequence[tuple[str, str | None]]) -> set[tuple[str, str]]:
    """The cassettes of a model under the given prompts (``(name, sha256)``), as ``(prompt name, file name)``."""
    found: set[tuple[str, str]] = set()
    for name, sha256 in prompts:
        directory = prompt_dir(root, model, name, sha256)
        if directory.is_dir():
            found.update((name, path.name) for path in directory.glob("*.yaml") if path.is_file())
    return found


def unused_cassettes(root: Path, used: set[Path]) -> list[Path]:
    """All ``*.yaml`` files under ``root`` that are not in ``used`` (relative paths count from the cwd), sorted."""
    root = Path(root)
    if not root.is_dir():
        return []
    # Compared as absolute path strings (pathlib objects would cost more than the walk itself); only the files not
    # found that way are compared once more, resolved, in case a used path names them through a symlink.
    used_names = {os.path.abspath(p) for p in used}
    unused = [
        os.path.join(folder, name)
        for folder, _dirs, files in os.walk(os.path.abspath(root))
        for name in files
        if name.endswith(".yaml") and os.path.join(folder, name) not in used_names
    ]
    if unused:
        resolved = {os.path.realpath(p) for p in used_names}
        unused = [p for p in unused if os.path.realpath(p) not in resolved]
    return sorted(Path(p) for p in unused)


def _normalized(value: Any) -> Any:
    # 0 and 0.0 are the same JSON number to every server (and to vcrpy's body matcher).
    if type(value) is str:  # most of a request: the messages' texts (checked first, no isinstance chain)
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, Mapping):
        return {key: item if type(item) is str else _normalized(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [item if type(item) is str else _normalized(item) for item in value]
    return value


#: ``json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))`` without building an encoder per
#: call (``json.dumps`` makes a new one whenever it is given options: a third of a request key's cost).
_CANONICAL_ENCODE: Final = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode
#: ``json.dumps(name, ensure_ascii=False)`` of a field name, likewise.
_NAME_ENCODE: Final = json.JSONEncoder(ensure_ascii=False).encode


def _canonical_json(request_body: Any) -> str:
    return _CANONICAL_ENCODE(_normalized(request_body))


def request_key(request_body: Mapping[str, Any], sample: int) -> str:
    """The replay key: the canonical JSON of the request body plus the 1-based sample index.

    Key order, whitespace and integral floats (``0`` vs ``0.0``) do not change the key; the URL
    does not take part, so recordings replay whatever endpoint recorded them.
    """
    return f"{_canonical_json(request_body)}#{sample}"


#: Immutable field values whose encoded piece is kept for the session, keyed by (field, type, value): ``1`` and
#: ``1.0`` (and ``True``) are equal as keys but encode differently, hence the type.
_SCALARS: Final = frozenset({str, int, float, bool, type(None)})
_SCALAR_PIECES: dict[tuple[str, type, Any], str] = {}
_MAX_SCALAR_PIECES: Final = 256


def request_keys(bodies: Sequence[Mapping[str, Any]], samples: int) -> list[list[str]]:
    """Per body, the :func:`request_key` of samples 1 to ``samples``: each canonical JSON made once, not once per
    sample, and a field's value that several bodies share (an item's request and its variants, which differ in one
    field) encoded once for all of them."""
    pieces: dict[tuple[str, int], str] = {}  # (field, id of its value) -> '"field":value', all bodies alive meanwhile
    keys = []
    for body in bodies:
        parts = []
        for name in sorted(body):  # the order json.dumps(sort_keys=True) writes them in
            value = body[name]
            kind = type(value)
            if kind in _SCALARS:  # the settings' fields (model, temperature, max_tokens, seed): the same every item
                scalar = (name, kind, value)
                piece = _SCALAR_PIECES.get(scalar)
                if piece is None:
                    if len(_SCALAR_PIECES) >= _MAX_SCALAR_PIECES:
                        _SCALAR_PIECES.clear()
                    piece = _SCALAR_PIECES[scalar] = _NAME_ENCODE(name) + ":" + _canonical_json(value)
                parts.append(piece)
                continue
            piece = pieces.get((name, id(value)))
            if piece is None:
                piece = _NAME_ENCODE(name) + ":" + _canonical_json(value)
                pieces[(name, id(value))] = piece
            parts.append(piece)
        canonical = "{" + ",".join(parts) + "}"
        keys.append([f"{canonical}#{sample}" for sample in range(1, samples + 1)])
    return keys


#: The request fields a miss names first, in this order; any other field that differs follows.
_SETTINGS_SHOWN: Final = ("model", "messages", "temperature", "max_tokens", "seed")


def _setting(name: str, value: Any) -> str:
    if value is None:
        return f"{name} unset"
    if name == "response_format" and isinstance(value, dict) and isinstance(value.get("type"), str):
        return f"{name} {value['type']}"  # its type says which --llm-answer-format; the schema follows the case
    text = json.dumps(value, ensure_ascii=False)
    return f"{name} {text if len(text) <= 60 else text[:59] + '…'}"


def _messages_difference(recorded: Any, asked: Any) -> tuple[str, str]:
    """What differs between two message lists, as (the recorded side, the asked side)."""
    if not isinstance(recorded, list) or not isinstance(asked, list) or len(recorded) != len(asked):
        return _message_count(recorded), _message_count(asked)
    for old, new in zip(recorded, asked, strict=True):
        if old != new:
            role = new.get("role") if isinstance(new, dict) else None
            name = f"{role if isinstance(role, str) else 'a'} message"
            return _setting(name, _content(old)), _setting(name, _content(new))
    return "the same messages", "the same messages"


def _message_count(messages: Any) -> str:
    return f"{len(messages)} messages" if isinstance(messages, list) else _setting("messages", messages)


def _content(message: Any) -> Any:
    return message.get("content") if isinstance(message, dict) else message


def request_difference(
    asked: Mapping[str, Any], recorded: Sequence[Mapping[str, Any]], also: Sequence[Mapping[str, Any]] = ()
) -> str | None:
    """How the asked request body differs from the closest recorded one, e.g. ``"recorded with max_tokens 48,
    asked with max_tokens unset"``; ``None`` when nothing is recorded or a recorded body is the same. ``also``: other
    forms of the asked request a recording of it may hold (the request without the default ``max_tokens``); the
    closest pair is described."""
    best: list[str] | None = None
    for form in [asked, *also]:
        form = _normalized(form)
        for body in recorded:
            body = _normalized(body)
            names = [n for n in _SETTINGS_SHOWN if n in form or n in body]
            names += sorted((set(form) | set(body)) - set(_SETTINGS_SHOWN))
            differing = [n for n in names if form.get(n) != body.get(n)]
            if best is None or len(differing) < len(best):
                best, closest, chosen = differing, body, form
    if not best:
        return None
    was, now = [], []
    for name in best:
        if name == "messages":
            old, new = _messages_difference(closest.get(name), chosen.get(name))
        else:
            old, new = _setting(name, closest.get(name)), _setting(name, chosen.get(name))
        was.append(old)
        now.append(new)
    return f"recorded with {' and '.join(was)}, asked with {' and '.join(now)}"


def recorded_answer(response: Mapping[str, Any] | None, latency: float | None = None) -> Reply | None:
    """What replay takes from a recorded response (:func:`~pytest_llmcmp.wire.reply_of`: its answer text, finish
    reason and cost, with the ``latency`` recorded beside it), ``None`` when nothing is recorded."""
    return None if response is None else reply_of(response, latency)


def key_digest(key: str) -> bytes:
    """A fixed-size stand-in for a :func:`request_key` (which holds the whole prompt)."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()


def _json_escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code > 0xFFFF:  # JSON spells these as a UTF-16 surrogate pair
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"


def _pretty_json(value: Any) -> str:
    try:
        text = _indented(value, "\n")
    except _Unusual:  # a key that is not a string, a value JSON writes by conversion: json itself decides
        text = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)
    return _YAML_UNSAFE_CHARS.sub(_json_escape, text)


class _Unusual(Exception):
    """A value :func:`_indented` leaves to :func:`json.dumps`."""


_encode_string: Any = json.encoder.encode_basestring  # the C function when there is one (ensure_ascii=False)
_float_repr = float.__repr__
_int_repr = int.__repr__


def _indented(value: Any, newline: str) -> str:
    """``json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)``, the same text, written without json's
    generator per level (json uses its pure-Python encoder whenever ``indent`` is given: most of a cassette's
    writing went there). ``newline`` is a line break and the indentation of the current level. Anything but plain
    JSON values with string keys raises :class:`_Unusual` (``tests/test_cassettes.py`` compares the two on
    generated values)."""
    kind = type(value)
    if kind is str:
        return _encode_string(value)  # type: ignore[no-any-return]
    if kind is dict:
        if not value:
            return "{}"
        inner = newline + "  "
        try:
            items = sorted(value.items())
        except TypeError:
            raise _Unusual from None
        parts = []
        for key, item in items:
            if type(key) is not str:
                raise _Unusual
            parts.append(_encode_string(key) + ": " + _indented(item, inner))
        return "{" + inner + ("," + inner).join(parts) + newline + "}"
    if kind is list:
        if not value:
            return "[]"
        inner = newline + "  "
        return "[" + inner + ("," + inner).join([_indented(item, inner) for item in value]) + newline + "]"
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if kind is int:
        return _int_repr(value)
    if kind is float and value == value and value not in (_INFINITY, -_INFINITY):
        return _float_repr(value)
    raise _Unusual


_INFINITY: Final = float("inf")


@dataclass(frozen=True)
class _Interaction:
    canonical_body: str
    sample: int
    method: str
    uri: str
    request_body: dict[str, Any]
    status: int
    message: str
    response_body: dict[str, Any]
    response_content_type: str
    latency: float | None = None

    @property
    def key(self) -> str:
        return f"{self.canonical_body}#{self.sample}"

    def to_vcr(self) -> dict[str, Any]:
        # The latency (--llm-record-latency) is metadata of the response: vcrpy reads only its body, headers and
        # status, and replay's key (body and sample) does not include it.
        latency = {} if self.latency is None else {"latency": round(self.latency, 3)}
        return {
            "request": {
                "body": _pretty_json(self.request_body),
                "headers": {"Content-Type": [JSON_CONTENT_TYPE], SAMPLE_HEADER: [str(self.sample)]},
                "method": self.method,
                "uri": self.uri,
            },
            "response": {
                "body": {"string": _pretty_json(self.response_body)},
                "headers": {"Content-Type": [self.response_content_type]},
                **latency,
                "status": {"code": self.status, "message": self.message},
            },
        }


class _CassetteDumper(_YAML_DUMPER):  # type: ignore[misc]
    """Literal blocks for multi-line text (readable diffs), and never an anchor or alias."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _represent_str(dumper: Any, text: str) -> Any:
    style = "|" if "\n" in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_CassetteDumper.add_representer(str, _represent_str)


def _status_message(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return ""


class Cassette:
    """The recorded exchanges of one case, indexed by :func:`request_key`.

    Safe to share between threads: samples recorded concurrently may be added (and the file saved)
    from several threads at once.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._interactions: dict[str, _Interaction] = {}
        self._lock = threading.RLock()

    @classmethod
    def load(cls, path: Path) -> Cassette:
        """Read a cassette; a missing file gives an empty one, anything invalid a :class:`CassetteError`.

        Cassettes written by plain vcrpy are accepted too: a request without the sample header is
        sample N when it is the N-th occurrence of that request body in the file (vcrpy's order).
        """
        cassette = cls(path)
        text = _read_text(cassette.path)
        if text is None:
            return cassette
        for interaction in _parse(cassette.path, text):
            if interaction.key in cassette._interactions:
                raise CassetteError(
                    cassette.path, f"two interactions record sample {interaction.sample} of the same request"
                )
            cassette._interactions[interaction.key] = interaction
        return cassette

    def find(self, request_body: Mapping[str, Any], sample: int) -> dict[str, Any] | None:
        """The recorded response JSON for this request and sample, or None. Read it, do not change it."""
        return self.find_key(request_key(request_body, sample))

    def find_key(self, key: str) -> dict[str, Any] | None:
        """The recorded response JSON for a :func:`request_key`, or None. Read it, do not change it."""
        interaction = self._interactions.get(key)
        return None if interaction is None else interaction.response_body

    def latency(self, request_body: Mapping[str, Any], sample: int) -> float | None:
        """The seconds the recorded answer took, as recorded beside it (``None``: not recorded)."""
        return self.latency_key(request_key(request_body, sample))

    def latency_key(self, key: str) -> float | None:
        """:meth:`latency` for a :func:`request_key`."""
        interaction = self._interactions.get(key)
        return None if interaction is None else interaction.latency

    def request_bodies(self) -> list[dict[str, Any]]:
        """The distinct request bodies recorded, in file order. Read them, do not change them."""
        bodies: dict[str, dict[str, Any]] = {}
        for interaction in self._sorted():
            bodies.setdefault(interaction.canonical_body, interaction.request_body)
        return list(bodies.values())

    def add(self, exchange: Exchange, *, owned: bool = False) -> None:
        """Record an exchange, replacing any earlier recording of the same request and sample. The cassette keeps a
        copy of its bodies unless ``owned``: the caller hands them over and never changes them (the recorder, whose
        bodies are a plan's request and an answer's response, each written once)."""
        if not 200 <= exchange.status <= 299:
            raise ValueError(f"only 2xx responses are recorded, got HTTP {exchange.status}")
        if isinstance(exchange.sample, bool) or not isinstance(exchange.sample, int) or exchange.sample < 1:
            raise ValueError(f"sample must be an integer >= 1, got {exchange.sample!r}")
        content_type = JSON_CONTENT_TYPE
        for name, value in exchange.response_headers.items():
            if name.lower() == "content-type" and value.strip():
                content_type = " ".join(value.split())
        interaction = _Interaction(
            canonical_body=_canonical_json(exchange.request_body),
            sample=exchange.sample,
            method="POST",
            uri=public_url(exchange.uri),  # never credentials (http://user:secret@host)
            request_body=exchange.request_body if owned else copy.deepcopy(exchange.request_body),
            status=exchange.status,
            message=_status_message(exchange.status),
            response_body=exchange.response_body if owned else copy.deepcopy(exchange.response_body),
            response_content_type=content_type,
            latency=exchange.latency,
        )
        with self._lock:
            old = self._interactions.get(interaction.key)
            if old is not None and old.response_body == interaction.response_body and old.latency is not None:
                # The same answer again: the file keeps its bytes (the latency it was first recorded with).
                interaction = dataclasses.replace(interaction, latency=old.latency)
            self._interactions[interaction.key] = interaction

    def rename_model(self, old: str, new: str) -> None:
        """Record every exchange of model ``old`` (the request's ``model``, and the response's) as model ``new``."""
        with self._lock:
            renamed: dict[str, _Interaction] = {}
            for interaction in self._interactions.values():
                request = dict(interaction.request_body)
                response = dict(interaction.response_body)
                for body in (request, response):
                    if body.get("model") == old:
                        body["model"] = new
                interaction = dataclasses.replace(
                    interaction,
                    canonical_body=_canonical_json(request),
                    request_body=request,
                    response_body=response,
                )
                renamed[interaction.key] = interaction
            self._interactions = renamed

    def merge(self, other: Cassette) -> int:
        """Add the exchanges of ``other`` this cassette does not record (the same request and sample: this one's
        is kept); returns how many were added."""
        with self._lock:
            added = 0
            for key, interaction in other._interactions.items():
                if key not in self._interactions:
                    self._interactions[key] = interaction
                    added += 1
            return added

    def discard(self, request_body: Mapping[str, Any], sample: int) -> None:
        """Forget the recording of this request and sample, if there is one (it is being replaced)."""
        with self._lock:
            self._interactions.pop(request_key(request_body, sample), None)

    def _sorted(self) -> list[_Interaction]:
        with self._lock:
            interactions = list(self._interactions.values())
        return sorted(interactions, key=lambda i: (i.canonical_body, i.sample))

    def keys(self) -> list[str]:
        """The request keys, in the order they are written to the file."""
        return [interaction.key for interaction in self._sorted()]

    def __len__(self) -> int:
        return len(self._interactions)

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def to_yaml(self) -> str:
        """The cassette as vcrpy YAML text (what :meth:`save` writes)."""
        interactions = self._sorted()
        fast = _written(interactions)
        if fast is not None:
            return fast
        return _dumped(interactions)

    def save(self, secrets: Sequence[str]) -> bool:
        """Write the cassette atomically (temp file in the same directory, fsync, rename); ``False`` (and the file
        left alone, its modification time too) when it already holds exactly these bytes.

        Refuses with :class:`CassetteError`, leaving any existing file untouched, when a non-empty
        string of ``secrets`` (e.g. the API key) occurs in the text that would be written.
        """
        if isinstance(secrets, str):
            raise TypeError("secrets must be a sequence of strings, not one string")
        with self._lock:  # concurrent saves of one cassette must not finish in the wrong order
            text = self.to_yaml()
            for secret in secrets:
                if contains_secret(text, secret):
                    raise CassetteError(
                        self.path, "refusing to write: the cassette would contain a secret (API key or token)"
                    )
            data = text.encode("utf-8")
            if len(data) > MAX_CASSETTE_BYTES:  # what replay would refuse is never recorded
                raise CassetteError(
                    self.path,
                    f"refusing to write: the cassette would be larger than {MAX_CASSETTE_BYTES // (1024 * 1024)} MB, "
                    "more than replay reads",
                )
            try:
                return write_if_changed(self.path, data)
            except OSError as e:
                raise CassetteError(self.path, f"cannot write: {e.strerror or e}") from e


def _dumped(interactions: Sequence[_Interaction]) -> str:
    """The cassette's text as PyYAML writes it: the definition of the format (:func:`_written` is its fast path)."""
    document = {
        "interactions": [interaction.to_vcr() for interaction in interactions],
        "version": CASSETTE_FORMAT_VERSION,
    }
    text: str = yaml.dump(
        document,
        Dumper=_CassetteDumper,
        sort_keys=True,
        allow_unicode=True,
        default_flow_style=False,
        width=2**30,  # never fold a line: a folded secret would slip past the check in save()
    )
    return text


# A multi-line text libyaml writes as a literal block ``|-`` with each line indented as it is: printable for libyaml
# (no tab, nothing beyond the BMP, no U+0085/U+2028/U+2029/U+FEFF), not starting with a space or a line break, no
# empty line, no space before a line break, and no line break or space at its end. The pretty JSON of a body always
# is (the characters that are not, JSON escapes or _YAML_UNSAFE_CHARS does); anything else goes through PyYAML.
_LITERAL_BLOCK = re.compile(
    "[\x21-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd]"
    "(?:[\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd]|(?<! )\n(?=[^\n]))*"
    "(?<! )"
)


@functools.lru_cache(maxsize=256)
def _scalar(text: str) -> str | None:
    """A one-line string as PyYAML writes it as a mapping's value (plain, quoted: its rules, asked once per text:
    the URL, the content type, the status message and the sample index repeat from one cassette to the next);
    ``None`` when it would not be one line."""
    if "\n" in text or "\r" in text:
        return None
    written = yaml.dump({"k": text}, Dumper=_CassetteDumper, allow_unicode=True, width=2**30)
    if not written.startswith("k: ") or written.count("\n") != 1:
        return None
    return written[3:-1]


def _block(text: str, indent: str) -> str | None:
    """A pretty JSON body as a literal block under a key (``indent``: its lines' indentation), or ``None``."""
    if "\n" not in text or _LITERAL_BLOCK.fullmatch(text) is None:
        return None
    return "|-\n" + indent + text.replace("\n", "\n" + indent) + "\n"


def _written(interactions: Sequence[_Interaction]) -> str | None:
    """:func:`_dumped`'s very text, written directly for the interactions of the usual form (bodies that are literal
    blocks, one-line scalars, a latency that is a plain number), ``None`` for anything else: PyYAML's representer
    (pure Python, one node per value) was most of a recording's cost. ``tests/test_cassettes.py`` compares the two
    on generated exchanges."""
    if not interactions:
        return None
    out = ["interactions:\n"]
    for interaction in interactions:
        request = _block(_pretty_json(interaction.request_body), "      ")
        response = _block(_pretty_json(interaction.response_body), "        ")
        uri = _scalar(interaction.uri)
        content_type = _scalar(interaction.response_content_type)
        message = _scalar(interaction.message)
        sample = _scalar(str(interaction.sample))
        method = _scalar(interaction.method)
        latency = interaction.latency
        if latency is not None:
            if type(latency) not in (int, float):
                return None
            latency = round(latency, 3)
            if not 0.0 <= latency < 1e15:  # repr() then writes what PyYAML writes: digits, a point, no exponent
                return None
        if type(interaction.status) is not int or None in (request, response, uri, content_type, message, sample):
            return None
        if method is None:
            return None
        out.append(
            f"- request:\n    body: {request}    headers:\n      Content-Type:\n      - {_JSON_SCALAR}\n"
            f"      {SAMPLE_HEADER}:\n      - {sample}\n    method: {method}\n    uri: {uri}\n"
            f"  response:\n    body:\n      string: {response}    headers:\n      Content-Type:\n"
            f"      - {content_type}\n"
            + ("" if latency is None else f"    latency: {latency!r}\n")
            + f"    status:\n      code: {interaction.status}\n      message: {message}\n"
        )
    out.append(f"version: {CASSETTE_FORMAT_VERSION}\n")
    return "".join(out)


_JSON_SCALAR: Final = JSON_CONTENT_TYPE  # written plain (the tests compare the two writers)


# --- reading -----------------------------------------------------------------------------------


def _read_text(path: Path) -> str | None:
    try:
        data = read_regular(path, MAX_CASSETTE_BYTES)
    except FileNotFoundError:
        return None
    except NotRegularFile as e:
        raise CassetteError(path, f"cannot read: it {e.strerror}") from e
    except FileTooLarge as e:
        raise CassetteError(path, e.strerror or str(e)) from e
    except OSError as e:
        raise CassetteError(path, f"cannot read: {e.strerror or e}") from e
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise CassetteError(path, "is UTF-16/UTF-32 encoded; cassettes must be UTF-8")
    if b"\x00" in data:
        raise CassetteError(path, "contains NUL bytes (UTF-16 without BOM, or a binary file?)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise CassetteError(path, f"is not valid UTF-8 (bad byte at offset {e.start})") from e
    return text.removeprefix("\ufeff")


def _yaml_problem(e: yaml.YAMLError, text: str) -> str:
    line, problem = yamlerrors.describe(e, text)
    where = f" at line {line}" if line is not None else ""
    if isinstance(e, yaml.constructor.ConstructorError):
        return f"unsupported YAML{where}: {problem} (cassettes are plain YAML; no !!python tags)"
    return f"invalid YAML{where}: {problem} (file truncated or hand-edited?)"


def _reject_aliases(path: Path, root: yaml.Node) -> None:
    # An alias makes the composer reuse a node. Rejecting any reuse before construction keeps a
    # billion-laughs document from ever being expanded (its node graph is small, its tree is not).
    seen: set[int] = set()
    stack: list[yaml.Node] = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            raise CassetteError(
                path, f"YAML anchors/aliases are not allowed in cassettes (line {node.start_mark.line + 1})"
            )
        seen.add(id(node))
        if isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
        elif isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                stack.append(key_node)
                stack.append(value_node)


_STR_TAG: Final = "tag:yaml.org,2002:str"
_INT_TAG: Final = "tag:yaml.org,2002:int"
_MAP_TAG: Final = "tag:yaml.org,2002:map"
_SEQ_TAG: Final = "tag:yaml.org,2002:seq"


def _construct(loader: Any, node: yaml.Node) -> Any:
    # Cassettes are almost only mappings, lists and strings: building those directly is about
    # twice as fast as PyYAML's generic constructor, which still handles every other tag (and
    # refuses the unsafe ones, since the loader is a safe one).
    if node.tag == _STR_TAG and isinstance(node, yaml.ScalarNode):
        return node.value
    if node.tag == _MAP_TAG and isinstance(node, yaml.MappingNode):
        mapping: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _construct(loader, key_node)
            if key in mapping:  # YAML keeps the last; a reviewer reads the first
                raise _StructureError(f"duplicate key {str(key)[:40]!r} at line {key_node.start_mark.line + 1}")
            mapping[key] = _construct(loader, value_node)
        return mapping
    if node.tag == _SEQ_TAG and isinstance(node, yaml.SequenceNode):
        return [_construct(loader, item) for item in node.value]
    if node.tag == _INT_TAG and isinstance(node, yaml.ScalarNode):
        if len(node.value) > _MAX_INT_CHARS:  # int() of thousands of digits is slow, then refused by Python
            raise _StructureError(
                f"an integer of {len(node.value):,} characters at line {node.start_mark.line + 1}; "
                f"at most {_MAX_INT_CHARS} are accepted"
            )
        return loader.construct_yaml_int(node)
    return loader.construct_object(node, deep=True)


class _StructureError(Exception):
    """Something a cassette may not hold (a duplicate key, an absurd integer)."""


#: The longest integer literal in a cassette (status codes, sample numbers are short).
_MAX_INT_CHARS: Final = 20


def _load_yaml(path: Path, text: str) -> Any:
    loader = _YAML_LOADER(text)
    try:
        root = loader.get_single_node()
        if root is None:
            raise CassetteError(path, "is empty; expected a vcrpy cassette (version: 1, interactions: [...])")
        if "*" in text or "&" in text:  # an alias needs both; without either there is nothing to check
            _reject_aliases(path, root)
        return _construct(loader, root)
    except yaml.YAMLError as e:
        raise CassetteError(path, _yaml_problem(e, text)) from e
    except RecursionError as e:
        raise CassetteError(path, "YAML nested too deeply") from e
    except TypeError as e:  # e.g. a list used as a mapping key
        raise CassetteError(path, f"invalid YAML structure: {e}") from e
    except _StructureError as e:
        raise CassetteError(path, f"invalid cassette: {e}") from e
    except ValueError as e:  # whatever else a constructor refuses (e.g. an absurd number under another tag)
        raise CassetteError(path, f"invalid YAML value: {str(e)[:100]}") from e
    finally:
        loader.dispose()


def _parse(path: Path, text: str) -> list[_Interaction]:
    document = _load_yaml(path, text)
    if not isinstance(document, dict):
        raise CassetteError(path, f"top level must be a mapping, got {_type_name(document)}")
    if "version" not in document:
        raise CassetteError(path, "missing 'version' (vcrpy writes it last: file truncated?)")
    if document["version"] != CASSETTE_FORMAT_VERSION:
        raise CassetteError(path, f"unsupported cassette version {document['version']!r}, expected 1")
    interactions = document.get("interactions")
    if not isinstance(interactions, list):
        raise CassetteError(path, f"'interactions' must be a list, got {_type_name(interactions)}")
    occurrences: dict[str, int] = {}
    parsed = []
    for number, raw in enumerate(interactions, start=1):
        try:
            parsed.append(_parse_interaction(raw, occurrences))
        except _FieldError as e:
            raise CassetteError(path, f"interaction {number}: {e}") from e
    return parsed


class _FieldError(Exception):
    pass


def _type_name(value: Any) -> str:
    return "nothing" if value is None else type(value).__name__


def _get(mapping: Any, key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if not isinstance(mapping, dict):
        raise _FieldError(f"{where} must be a mapping, got {_type_name(mapping)}")
    if key not in mapping:
        raise _FieldError(f"{where} has no '{key}'")
    value = mapping[key]
    if not isinstance(value, kind) or isinstance(value, bool):
        expected = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise _FieldError(f"{where}.{key} must be {expected}, got {_type_name(value)}")
    return value


def _header(headers: Any, name: str, where: str) -> str | None:
    if headers is None:
        return None
    if not isinstance(headers, dict):
        raise _FieldError(f"{where}.headers must be a mapping, got {_type_name(headers)}")
    for key, value in headers.items():
        if isinstance(key, str) and key.lower() == name.lower():
            first = value[0] if isinstance(value, list) and value else value
            if isinstance(first, int) and not isinstance(first, bool):
                first = str(first)
            if not isinstance(first, str):
                raise _FieldError(f"{where}.headers.{key} must be a string, got {_type_name(first)}")
            return first
    return None


def _decompress(data: bytes, encoding: str) -> bytes:
    # Bounded, so a compression bomb in a hand-made cassette cannot exhaust memory.
    if encoding in ("gzip", "x-gzip"):
        attempts = [zlib.MAX_WBITS | 16]
    elif encoding == "deflate":
        attempts = [zlib.MAX_WBITS, -zlib.MAX_WBITS]
    else:
        raise _FieldError(f"response is {encoding}-encoded; only gzip and deflate can be read")
    for wbits in attempts:
        decompressor = zlib.decompressobj(wbits)
        try:
            result = decompressor.decompress(data, MAX_CASSETTE_BYTES)
        except zlib.error:
            continue
        if decompressor.unconsumed_tail:
            raise _FieldError(f"decompressed response is larger than {MAX_CASSETTE_BYTES} bytes")
        return result
    raise _FieldError(f"response body is not valid {encoding} data")


def _json_object(body: Any, where: str, content_encoding: str | None = None) -> dict[str, Any]:
    if isinstance(body, bytes):
        if content_encoding and content_encoding.lower() != "identity":
            body = _decompress(body, content_encoding.lower())
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError as e:
            raise _FieldError(f"{where} is not UTF-8 text") from e
    if not isinstance(body, str):
        raise _FieldError(f"{where} must be JSON text, got {_type_name(body)}")
    try:
        value = json.loads(body)
    except (ValueError, RecursionError) as e:
        raise _FieldError(f"{where} is not valid JSON ({e})") from e
    if not isinstance(value, dict):
        raise _FieldError(f"{where} must be a JSON object, got {type(value).__name__}")
    return value


def _parse_interaction(raw: Any, occurrences: dict[str, int]) -> _Interaction:
    request = _get(raw, "request", dict, "interaction")
    response = _get(raw, "response", dict, "interaction")
    method = _get(request, "method", str, "request")
    uri = _get(request, "uri", str, "request")
    request_body = _json_object(request.get("body"), "request.body")
    canonical = _canonical_json(request_body)

    sample_text = _header(request.get("headers"), SAMPLE_HEADER, "request")
    if sample_text is None:
        sample = occurrences.get(canonical, 0) + 1
    elif sample_text.isascii() and sample_text.isdigit() and len(sample_text) <= 9 and int(sample_text) >= 1:
        sample = int(sample_text)
    else:
        raise _FieldError(f"request header {SAMPLE_HEADER} must be an integer >= 1, got {sample_text[:20]!r}")
    occurrences[canonical] = max(occurrences.get(canonical, 0), sample)

    status = _get(response, "status", dict, "response")
    code = _get(status, "code", int, "response.status")
    if not 200 <= code <= 299:
        raise _FieldError(f"response status {code} recorded; only 2xx responses belong in a cassette")
    message = status.get("message") or ""
    if not isinstance(message, str):
        raise _FieldError(f"response.status.message must be a string, got {_type_name(message)}")

    response_headers = response.get("headers")
    body = _get(response, "body", dict, "response")
    if "string" not in body:
        raise _FieldError("response.body has no 'string'")
    response_body = _json_object(
        body["string"], "response.body.string", _header(response_headers, "Content-Encoding", "response")
    )
    content_type = _header(response_headers, "Content-Type", "response") or JSON_CONTENT_TYPE
    latency = response.get("latency")
    if latency is not None and (isinstance(latency, bool) or not isinstance(latency, int | float) or latency < 0):
        raise _FieldError(f"response.latency must be a number of seconds, got {str(latency)[:20]!r}")
    return _Interaction(
        canonical_body=canonical,
        sample=sample,
        method=method,
        uri=uri,
        request_body=request_body,
        status=code,
        message=message,
        response_body=response_body,
        response_content_type=content_type,
        latency=None if latency is None else float(latency),
    )
