"""Tests for the cassette store: layout, replay index, atomic scrubbed writes, defensive loading."""

from __future__ import annotations

import dataclasses
import gzip
import json
import os
import random
import stat
import tempfile
import threading
import time
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_llmcmp import cassettes
from pytest_llmcmp.cassettes import (
    MAX_CASSETTE_BYTES,
    Cassette,
    CassetteError,
    Exchange,
    cassette_path,
    model_dirs,
    request_key,
    request_keys,
    stable_response,
    unused_cassettes,
)

URI = "http://127.0.0.1:23333/v1/chat/completions"
SECRET = "sk-live-0123456789abcdef"


def chat_request(question: str = "13.8和13.11哪个大？", model: str = "qwen2.5:7b") -> dict[str, Any]:
    return {
        "model": model,
        "messages": [
            {"role": "system", "content": "你是一个严谨的数学助手。\n只回答数字。"},
            {"role": "user", "content": question},
        ],
        "temperature": 0.7,
        "max_tokens": 512,
    }


def chat_response(content: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "qwen2.5:7b",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 20, "completion_tokens": 5, "total_tokens": 25},
    }


def exchange(content: str, sample: int = 1, question: str = "13.8和13.11哪个大？", **kw: Any) -> Exchange:
    return Exchange(
        uri=kw.pop("uri", URI),
        request_body=chat_request(question),
        sample=sample,
        status=kw.pop("status", 200),
        response_body=chat_response(content),
        **kw,
    )


def assert_one_line_error(error: pytest.ExceptionInfo[CassetteError], path: Path, fragment: str) -> None:
    message = str(error.value)
    assert message.startswith(f"{path}: "), message
    assert "\n" not in message
    assert fragment in message, message
    assert error.value.path == path


@pytest.fixture
def recorded(tmp_path: Path) -> Path:
    """A saved cassette: two questions, three samples of the first."""
    cassette = Cassette(cassette_path(tmp_path, "qwen2.5:7b", "langgpt", "ab" * 32, "trap-1"))
    for sample in (1, 2, 3):
        cassette.add(exchange(f"13.8更大 (sample {sample})", sample))
    cassette.add(exchange("1.5 is larger", 1, question="Which is larger, 1.5 or 1.25?"))
    cassette.save([SECRET])
    return cassette.path


# --- layout ------------------------------------------------------------------------------------


def test_cassette_path_layout(tmp_path: Path) -> None:
    sha = "0123456789abcdef" * 4
    assert cassette_path(tmp_path, "Qwen/Qwen2.5-7B:q4", "langgpt", sha, "trap-13.8") == (
        tmp_path / "Qwen%2FQwen2.5-7B%3Aq4" / "langgpt-0123456789ab" / "trap-13.8.yaml"
    )
    assert cassette_path(tmp_path, "gpt-4o", "none", None, "c1") == tmp_path / "gpt-4o" / "none" / "c1.yaml"


@pytest.mark.parametrize("case_id", ["../../etc/passwd", "a/b", "a\\b", "..", ".", "x\x00y"])
def test_cassette_path_never_leaves_its_prompt_directory(tmp_path: Path, case_id: str) -> None:
    path = cassette_path(tmp_path, "m", "p", None, case_id)
    assert path.parent == tmp_path / "m" / "p"
    assert path.name.endswith(".yaml")
    assert not set(path.name) & {"/", "\\", "\x00"}


@pytest.mark.parametrize("model", ["..", ".", "../x", "a/../../b"])
def test_model_directory_never_leaves_the_root(tmp_path: Path, model: str) -> None:
    path = cassette_path(tmp_path, model, "p", None, "c")
    assert path.parents[2] == tmp_path
    path.parent.mkdir(parents=True)
    path.write_text("")
    assert model_dirs(tmp_path) == [model]


def test_cassette_path_keeps_readable_names(tmp_path: Path) -> None:
    assert cassette_path(tmp_path, "m", "中文提示", None, "比较-13.8").parts[-2:] == (
        "中文提示",
        "比较-13.8.yaml",
    )


def test_cassette_path_distinct_ids_stay_distinct(tmp_path: Path) -> None:
    ids = ["a/b", "a%2Fb", "a_b", "a%b", "..", "%2E%2E"]
    assert len({cassette_path(tmp_path, "m", "p", None, i) for i in ids}) == len(ids)


def test_model_dirs_decodes_names_and_ignores_empty_dirs(tmp_path: Path) -> None:
    for model in ("Qwen/Qwen2.5-7B", "gpt-4o", "模型 1"):
        path = cassette_path(tmp_path, model, "none", None, "c")
        path.parent.mkdir(parents=True)
        path.write_text("")
    (tmp_path / "no-recordings" / "none").mkdir(parents=True)
    assert model_dirs(tmp_path) == sorted(["Qwen/Qwen2.5-7B", "gpt-4o", "模型 1"])
    assert model_dirs(tmp_path / "missing") == []


def test_unused_cassettes_of_a_prompt_whose_name_is_escaped(tmp_path: Path) -> None:
    # The prompt directory's name is read back with the layout's own function (cassettes.prompt_of), so a prompt
    # whose name had to be escaped (a:b -> a%3Ab-<sha>) finds its old recordings like any other.
    from pytest_llmcmp.cassettes import prompt_dir, prompt_of
    from pytest_llmcmp.housekeeping import unused

    old = prompt_dir(tmp_path, "m", "a:b", "0" * 64) / "gone.yaml"
    other = prompt_dir(tmp_path, "m", "c", "1" * 64) / "gone.yaml"
    for path in (old, other):
        path.parent.mkdir(parents=True)
        path.write_text("interactions: []\nversion: 1\n", encoding="utf-8")
    assert old.parent.name == "a%3Ab-000000000000"
    assert prompt_of(old.parent.name) == ("a:b", "000000000000")
    assert (prompt_of("none"), prompt_of("hand-made")) == (("none", None), None)
    assert unused(tmp_path, "m", set(), {"a:b"}) == ([], [old])


def test_unused_cassettes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    paths = [cassette_path(tmp_path / "cassettes", "m", "p", None, f"c{i}") for i in range(3)]
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("")
    (paths[0].parent / ".c9.yaml.x1y2.tmp").write_text("")  # a crashed write's leftover
    monkeypatch.chdir(tmp_path)
    used = {paths[0], paths[1].relative_to(tmp_path)}  # relative and absolute both count
    assert unused_cassettes(tmp_path / "cassettes", used) == [paths[2]]
    assert unused_cassettes(tmp_path / "missing", set()) == []
    # The same files through a symlinked directory are still the used ones (prune must never delete them).
    (tmp_path / "link").symlink_to(tmp_path / "cassettes", target_is_directory=True)
    assert unused_cassettes(tmp_path / "link", used) == [
        tmp_path / "link" / paths[2].relative_to(tmp_path / "cassettes")
    ]


# --- replay index ------------------------------------------------------------------------------


def test_request_key_ignores_key_order_and_integral_floats() -> None:
    body = chat_request()
    reordered = dict(reversed(list(body.items())))
    assert request_key(reordered, 1) == request_key(body, 1)
    assert request_key({**body, "temperature": 0}, 1) == request_key({**body, "temperature": 0.0}, 1)
    assert "13.8和13.11哪个大" in request_key(body, 1)  # readable, not \\u-escaped


_JSON_LEAVES = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8)
_JSON = st.recursive(
    _JSON_LEAVES,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)


@given(
    body=st.dictionaries(st.sampled_from(["model", "messages", "max_tokens", "seed", "z", "ä"]), _JSON, max_size=5),
    replaced=st.dictionaries(st.sampled_from(["max_tokens", "response_format", "a"]), _JSON, max_size=2),
    dropped=st.sampled_from(["max_tokens", "model", "none"]),
    samples=st.integers(1, 3),
)
@settings(max_examples=150, deadline=None)
def test_request_keys_are_each_bodys_request_key(
    body: dict[str, Any], replaced: dict[str, Any], dropped: str, samples: int
) -> None:
    """The keys of an item's request and its variants (a field dropped, one replaced: sharing the other values),
    made together, are exactly each body's own request keys."""
    bodies = [body, {k: v for k, v in body.items() if k != dropped}, {**body, **replaced}, dict(reversed(body.items()))]
    expected = [[request_key(b, sample) for sample in range(1, samples + 1)] for b in bodies]
    assert request_keys(bodies, samples) == expected
    assert request_keys([chat_request()], 2) == [[request_key(chat_request(), 1), request_key(chat_request(), 2)]]


@pytest.mark.parametrize(
    "other",
    [
        {"temperature": 0.2},
        {"model": "other"},
        {"max_tokens": 64},
        {"messages": [{"role": "user", "content": "13.8和13.11哪个小？"}]},
    ],
)
def test_request_key_distinguishes_requests(other: dict[str, Any]) -> None:
    body = chat_request()
    assert request_key({**body, **other}, 1) != request_key(body, 1)


def test_request_key_distinguishes_samples() -> None:
    keys = {request_key(chat_request(), sample) for sample in (1, 2, 10, 11, 100)}
    assert len(keys) == 5


def test_a_checkout_with_windows_line_endings_replays_the_same(recorded: Path) -> None:
    """git's core.autocrlf turns every committed cassette into CRLF text on a Windows checkout."""
    crlf = recorded.with_name("crlf.yaml")
    crlf.write_bytes(recorded.read_bytes().replace(b"\n", b"\r\n"))
    original, converted = Cassette.load(recorded), Cassette.load(crlf)
    assert converted.keys() == original.keys()
    assert [converted.find_key(key) for key in converted] == [original.find_key(key) for key in original]


def test_round_trip_finds_every_sample(recorded: Path) -> None:
    cassette = Cassette.load(recorded)
    assert len(cassette) == 4
    for sample in (1, 2, 3):
        response = cassette.find(chat_request(), sample)
        assert response is not None
        assert response["choices"][0]["message"]["content"] == f"13.8更大 (sample {sample})"
    other = cassette.find(chat_request("Which is larger, 1.5 or 1.25?"), 1)
    assert other == chat_response("1.5 is larger")
    assert cassette.find(chat_request(), 4) is None
    assert cassette.find({**chat_request(), "temperature": 0.0}, 1) is None
    assert cassette.find(chat_request(model="other"), 1) is None


def test_find_returns_the_recorded_response(recorded: Path) -> None:
    cassette = Cassette.load(recorded)
    assert cassette.find(chat_request(), 1) == chat_response("13.8更大 (sample 1)")
    assert cassette.find(chat_request(), 1) == cassette.find(chat_request(), 1)


def test_add_replaces_the_same_request_and_sample(recorded: Path) -> None:
    cassette = Cassette.load(recorded)
    cassette.add(exchange("re-recorded", 2))
    assert len(cassette) == 4
    cassette.save([SECRET])
    reloaded = Cassette.load(recorded)
    assert reloaded.find(chat_request(), 2) == chat_response("re-recorded")
    assert reloaded.find(chat_request(), 1) == chat_response("13.8更大 (sample 1)")


def test_add_copies_the_exchange(tmp_path: Path) -> None:
    body = chat_request()
    response = chat_response("x")
    cassette = Cassette(tmp_path / "c.yaml")
    cassette.add(Exchange(URI, body, 1, 200, response))
    response["choices"].clear()
    body["temperature"] = 0.1
    assert cassette.find(chat_request(), 1) == chat_response("x")


@pytest.mark.parametrize("status", [199, 301, 400, 429, 500])
def test_add_refuses_non_2xx(tmp_path: Path, status: int) -> None:
    with pytest.raises(ValueError, match=str(status)):
        Cassette(tmp_path / "c.yaml").add(exchange("x", status=status))


@pytest.mark.parametrize("sample", [0, -1, True])
def test_add_refuses_bad_sample(tmp_path: Path, sample: int) -> None:
    with pytest.raises(ValueError, match="sample"):
        Cassette(tmp_path / "c.yaml").add(exchange("x", sample))


def test_missing_file_is_an_empty_cassette(tmp_path: Path) -> None:
    cassette = Cassette.load(tmp_path / "nothing" / "here.yaml")
    assert len(cassette) == 0
    assert cassette.keys() == []
    assert cassette.find(chat_request(), 1) is None


def test_keys_are_in_file_order(recorded: Path) -> None:
    cassette = Cassette.load(recorded)
    keys = cassette.keys()
    assert sorted(keys) == sorted(request_key(b, s) for b, s in _all_requests())
    assert list(cassette) == keys


def _all_requests() -> list[tuple[dict[str, Any], int]]:
    return [(chat_request(), s) for s in (1, 2, 3)] + [(chat_request("Which is larger, 1.5 or 1.25?"), 1)]


# --- format ------------------------------------------------------------------------------------


def test_file_is_a_standard_vcrpy_cassette(recorded: Path) -> None:
    text = recorded.read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    assert list(data) == ["interactions", "version"]
    assert data["version"] == 1
    assert text.rstrip().endswith("version: 1")  # last, so truncation always loses it
    assert len(data["interactions"]) == 4
    for interaction in data["interactions"]:
        request, response = interaction["request"], interaction["response"]
        assert list(request) == ["body", "headers", "method", "uri"]
        assert (request["method"], request["uri"]) == ("POST", URI)
        assert request["headers"]["Content-Type"] == ["application/json"]
        assert isinstance(json.loads(request["body"]), dict)
        assert list(response) == ["body", "headers", "status"]
        assert response["status"] == {"code": 200, "message": "OK"}
        assert response["headers"] == {"Content-Type": ["application/json"]}
        assert isinstance(json.loads(response["body"]["string"]), dict)
    samples = [i["request"]["headers"]["X-Llmcmp-Sample"] for i in data["interactions"]]
    assert sorted(samples) == [["1"], ["1"], ["2"], ["3"]]


def test_bodies_are_readable_pretty_json_in_literal_blocks(recorded: Path) -> None:
    text = recorded.read_text(encoding="utf-8")
    assert "    body: |-\n      {\n" in text
    assert "      string: |-\n        {\n" in text
    assert '"content": "13.8更大 (sample 2)"' in text
    assert "\\u" not in text


def test_identical_requests_are_written_in_sample_order(tmp_path: Path) -> None:
    cassette = Cassette(tmp_path / "c.yaml")
    for sample in (10, 2, 1, 11, 3):
        cassette.add(exchange(f"answer {sample}", sample))
    cassette.save([])
    data = yaml.safe_load((tmp_path / "c.yaml").read_text(encoding="utf-8"))
    samples = [int(i["request"]["headers"]["X-Llmcmp-Sample"][0]) for i in data["interactions"]]
    assert samples == [1, 2, 3, 10, 11]


def test_insertion_order_does_not_change_the_file(tmp_path: Path) -> None:
    exchanges = [exchange(f"a{q}{s}", s, question=f"{q}.8 vs {q}.11?") for q in range(4) for s in (1, 2, 3)]
    texts = set()
    for seed in range(5):
        random.Random(seed).shuffle(exchanges)
        cassette = Cassette(tmp_path / "c.yaml")
        for item in exchanges:
            cassette.add(item)
        texts.add(cassette.to_yaml())
    assert len(texts) == 1


def test_only_content_type_response_header_is_stored(tmp_path: Path) -> None:
    headers = {
        "content-type": "application/json; charset=utf-8",
        "Content-Encoding": "gzip",
        "Set-Cookie": "session=abc123",
        "OpenAI-Organization": "org-secret",
        "x-request-id": "req-42",
        "Authorization": "Bearer sk-x",
    }
    cassette = Cassette(tmp_path / "c.yaml")
    cassette.add(exchange("x", response_headers=headers))
    cassette.save([])
    text = (tmp_path / "c.yaml").read_text(encoding="utf-8").lower()
    for dropped in (
        "content-encoding",
        "gzip",
        "set-cookie",
        "abc123",
        "organization",
        "req-42",
        "authorization",
    ):
        assert dropped not in text
    response = yaml.safe_load(text)["interactions"][0]["response"]
    assert response["headers"] == {"content-type": ["application/json; charset=utf-8"]}
    request_headers = yaml.safe_load(text)["interactions"][0]["request"]["headers"]
    assert sorted(request_headers) == ["content-type", "x-llmcmp-sample"]


_NASTY = st.sampled_from(["\u2028", "\u2029", "\x85", "\ufeff", "\x7f", "\x9f", "\t", "\r", "\n", " ", "'", '"'])
_TEXT = st.text(st.one_of(st.characters(codec="utf-8"), _NASTY), max_size=60)


@settings(max_examples=60, deadline=None)
@given(content=_TEXT, question=_TEXT, extra=st.dictionaries(_TEXT, st.integers() | st.floats() | _TEXT))
def test_any_text_round_trips(
    tmp_path_factory: pytest.TempPathFactory, content: str, question: str, extra: Any
) -> None:
    path = tmp_path_factory.getbasetemp() / "round-trip.yaml"
    request = {**chat_request(question), "extra": extra}
    response = {**chat_response(content), "extra": extra}
    cassette = Cassette(path)
    cassette.add(Exchange(URI, request, 1, 200, response))
    text = cassette.to_yaml()
    assert text.count("    body: |-\n") == 1  # literal blocks whatever the text holds
    assert text.count("      string: |-\n") == 1
    path.write_text(text, encoding="utf-8")  # what save() writes, minus the fsyncs
    found = Cassette.load(path).find(request, 1)
    # NaN != NaN, so compare canonical JSON text
    assert json.dumps(found, sort_keys=True) == json.dumps(response, sort_keys=True)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | _TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT, inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(value=_JSON | st.dictionaries(st.integers() | st.floats() | st.booleans(), _JSON, max_size=3))
def test_pretty_json_is_what_json_writes(value: Any) -> None:
    # The cassette's own indented writer and json.dumps(indent=2, sort_keys=True, ensure_ascii=False): the same
    # text, NaN, infinities and keys that are not strings included (left to json).
    expected = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)
    assert cassettes._YAML_UNSAFE_CHARS.sub(cassettes._json_escape, expected) == cassettes._pretty_json(value)


_SCALAR = st.one_of(
    _TEXT,
    st.sampled_from(["OK", "", "yes", "null", "1", "0x1F", "1e3", "~", "- x", "a: b", "#x", "x #y", " lead", "trail "]),
)


@settings(max_examples=300, deadline=None)
@given(
    content=_TEXT,
    question=_TEXT,
    extra=st.dictionaries(_TEXT, _JSON, max_size=3),
    uri=st.sampled_from([URI, "http://local.llmcmp/v1/chat/completions", "https://h/v1/x?a=b&c=%20"]) | _SCALAR,
    content_type=st.sampled_from(["application/json", "application/json; charset=utf-8"]) | _SCALAR,
    message=_SCALAR,
    latency=st.none() | st.floats(min_value=0, max_value=1e6) | st.floats() | st.integers(-5, 10**17) | st.booleans(),
    samples=st.integers(1, 3),
)
def test_the_cassette_writer_writes_what_pyyaml_writes(
    content: str,
    question: str,
    extra: dict[str, Any],
    uri: str,
    content_type: str,
    message: str,
    latency: float | None,
    samples: int,
) -> None:
    # Cassettes are written directly when every value has its usual form, by PyYAML otherwise: byte for byte the
    # same text either way, whatever the answer, the URL, the headers, the status message or the latency hold.
    cassette = Cassette(Path("c.yaml"))
    for sample in range(1, samples + 1):
        request = {**chat_request(question), "extra": extra}
        response = {**chat_response(content), "extra": extra}
        cassette.add(Exchange(URI, request, sample, 200, response, {"content-type": "x/y"}, latency))
    interactions = [
        dataclasses.replace(i, uri=uri, response_content_type=content_type, message=message) for i in cassette._sorted()
    ]
    written = cassettes._written(interactions)
    if written is not None:
        assert written == cassettes._dumped(interactions)


def test_an_ordinary_cassette_is_written_without_pyyaml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cassette = Cassette(tmp_path / "c.yaml")
    cassette.add(exchange("13.8 更大 ✅ 😀"))
    cassette.add(exchange("13.11", 2, latency=0.25))
    expected = cassettes._dumped(cassette._sorted())
    cassettes._scalar.cache_clear()
    for interaction in cassette._sorted():  # the one-line values, as PyYAML writes them (once per text)
        for text in (interaction.uri, interaction.method, interaction.message, interaction.response_content_type):
            cassettes._scalar(text)
        cassettes._scalar(str(interaction.sample))

    def fail(*args: Any, **kwargs: Any) -> str:
        raise AssertionError("PyYAML was asked")

    monkeypatch.setattr(yaml, "dump", fail)
    assert cassette.to_yaml() == expected
    assert cassette.save([])
    assert (tmp_path / "c.yaml").read_text(encoding="utf-8") == expected


def test_emoji_keep_the_body_a_literal_block(tmp_path: Path) -> None:
    cassette = Cassette(tmp_path / "c.yaml")
    cassette.add(exchange("✅ 13.8 更大 😀"))
    text = cassette.to_yaml()
    assert "      string: |-\n" in text
    assert "✅ 13.8 更大 \\ud83d\\ude00" in text  # only what YAML cannot print is escaped
    cassette.save([])
    assert Cassette.load(cassette.path).find(chat_request(), 1) == chat_response("✅ 13.8 更大 😀")


def test_lone_surrogates_round_trip(tmp_path: Path) -> None:
    response = json.loads('{"content": "half an emoji: \\ud83d", "x": "\\udc00"}')
    cassette = Cassette(tmp_path / "c.yaml")
    cassette.add(Exchange(URI, chat_request(), 1, 200, response))
    cassette.save([])
    assert Cassette.load(tmp_path / "c.yaml").find(chat_request(), 1) == response


def test_concurrent_adds_and_saves(tmp_path: Path) -> None:
    cassette = Cassette(tmp_path / "c.yaml")

    def record(thread: int) -> None:
        for sample in range(1, 26):
            cassette.add(exchange(f"t{thread} s{sample}", sample, question=f"question {thread}"))
            if sample % 12 == 0:
                cassette.save([SECRET])

    threads = [threading.Thread(target=record, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    cassette.save([SECRET])
    reloaded = Cassette.load(tmp_path / "c.yaml")
    assert len(reloaded) == 6 * 25
    assert reloaded.find(chat_request("question 3"), 17) == chat_response("t3 s17")


# --- writing: secrets, atomicity ---------------------------------------------------------------


@pytest.mark.parametrize(
    "where",
    ["uri", "request", "response", "response_escaped"],
)
def test_save_refuses_secrets_and_keeps_the_old_file(recorded: Path, where: str) -> None:
    before = recorded.read_bytes()
    cassette = Cassette.load(recorded)
    secret = 'sk-"quoted"-key' if where == "response_escaped" else SECRET
    if where == "uri":
        cassette.add(exchange("x", 5, uri=f"{URI}?api-key={secret}"))
    elif where == "request":
        cassette.add(exchange("x", 5, question=f"my key is {secret}"))
    else:
        cassette.add(exchange(f"echo: {secret}", 5))
    with pytest.raises(CassetteError) as error:
        cassette.save(["", secret])
    assert_one_line_error(error, recorded, "secret")
    assert secret not in str(error.value)
    assert recorded.read_bytes() == before
    assert os.listdir(recorded.parent) == [recorded.name]


def test_save_ignores_empty_secrets_and_refuses_a_bare_string(tmp_path: Path) -> None:
    cassette = Cassette(tmp_path / "c.yaml")
    cassette.add(exchange("x"))
    cassette.save(["", "not-in-the-file"])
    assert (tmp_path / "c.yaml").exists()
    with pytest.raises(TypeError):
        cassette.save("sk-abc")


def test_save_creates_parent_directories_with_readable_permissions(tmp_path: Path) -> None:
    path = cassette_path(tmp_path, "a/b", "p", "f" * 64, "c")
    cassette = Cassette(path)
    cassette.add(exchange("x"))
    cassette.save([])
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    path.chmod(0o664)
    cassette.save([])
    assert stat.S_IMODE(path.stat().st_mode) == 0o664


@pytest.mark.parametrize(
    ("target", "error"),
    [("replace", OSError("disk on fire")), ("fsync", OSError("EIO")), ("replace", KeyboardInterrupt())],
)
def test_interrupted_write_keeps_the_old_file(
    recorded: Path, monkeypatch: pytest.MonkeyPatch, target: str, error: BaseException
) -> None:
    before = recorded.read_bytes()
    cassette = Cassette.load(recorded)
    cassette.add(exchange("new", 7))
    temp_names: list[str] = []
    real_mkstemp = tempfile.mkstemp

    def spy_mkstemp(*args: Any, **kwargs: Any) -> tuple[int, str]:
        fd, name = real_mkstemp(*args, **kwargs)
        temp_names.append(name)
        return fd, name

    def fail(*args: Any, **kwargs: Any) -> None:
        raise error

    monkeypatch.setattr(tempfile, "mkstemp", spy_mkstemp)
    monkeypatch.setattr(os, target, fail)
    expected: type[BaseException] = CassetteError if isinstance(error, OSError) else type(error)
    with pytest.raises(expected):
        cassette.save([])
    monkeypatch.undo()
    assert recorded.read_bytes() == before
    assert os.listdir(recorded.parent) == [recorded.name]  # the temp file is gone
    assert temp_names
    assert not [name for name in temp_names if name.endswith(".yaml")]
    assert unused_cassettes(recorded.parents[2], set()) == [recorded]


def test_serializer_failure_keeps_the_old_file(recorded: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = recorded.read_bytes()
    cassette = Cassette.load(recorded)
    cassette.add(exchange("new", 7))

    def fail(*args: Any, **kwargs: Any) -> str:
        raise yaml.YAMLError("emitter exploded")

    monkeypatch.setattr(Cassette, "to_yaml", fail)
    with pytest.raises(yaml.YAMLError):
        cassette.save([])
    assert recorded.read_bytes() == before
    assert os.listdir(recorded.parent) == [recorded.name]


def test_unwritable_location_is_a_cassette_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    cassette = Cassette(tmp_path / "file" / "c.yaml")
    cassette.add(exchange("x"))
    with pytest.raises(CassetteError) as error:
        cassette.save([])
    assert_one_line_error(error, tmp_path / "file" / "c.yaml", "cannot write")


# --- reading untrusted files -------------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        "!!python/object/apply:os.system ['touch {marker}']",
        "!!python/object/apply:subprocess.check_call [['touch', '{marker}']]",
        "{{body: !!python/object/apply:builtins.exec [\"open('{marker}', 'w').close()\"]}}",
    ],
)
def test_python_tags_are_refused_without_running_code(tmp_path: Path, payload: str) -> None:
    marker = tmp_path / "pwned"
    text = f"interactions:\n- request: {payload.format(marker=marker)}\nversion: 1\n"
    path = tmp_path / "evil.yaml"
    path.write_text(text)
    with pytest.raises(CassetteError) as error:
        Cassette.load(path)
    assert_one_line_error(error, path, "!!python")
    assert not marker.exists()
    # Control: the payload is live, an unsafe loader really runs it.
    yaml.unsafe_load(text)
    for _ in range(100):
        if marker.exists():
            break
        time.sleep(0.01)
    assert marker.exists()


BILLION_LAUGHS = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
version: 1
interactions: *i
"""


def test_billion_laughs_is_rejected_fast_with_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "laughs.yaml"
    path.write_text(BILLION_LAUGHS)
    tracemalloc.start()
    started = time.process_time()  # CPU time: a loaded machine slows the clock down, not the work
    try:
        with pytest.raises(CassetteError) as error:
            Cassette.load(path)
        elapsed = time.process_time() - started
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert_one_line_error(error, path, "aliases are not allowed")
    assert elapsed < 1.0
    assert peak < 2_000_000


def test_any_alias_is_rejected(recorded: Path) -> None:
    text = recorded.read_text(encoding="utf-8")
    text = text.replace("    method: POST", "    method: &m POST", 1).replace("    method: POST", "    method: *m", 1)
    recorded.write_text(text, encoding="utf-8")
    with pytest.raises(CassetteError) as error:
        Cassette.load(recorded)
    assert_one_line_error(error, recorded, "aliases are not allowed")


def test_gigantic_file_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("wb") as f:
        f.truncate(50 * MAX_CASSETTE_BYTES)  # sparse: costs no disk
    tracemalloc.start()
    try:
        with pytest.raises(CassetteError) as error:
            Cassette.load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert_one_line_error(error, path, "larger than 20 MB")
    assert peak < 1_000_000


def test_file_larger_than_stat_says_is_still_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "growing.yaml"
    path.write_bytes(b"#" * (MAX_CASSETTE_BYTES + 100))
    real_fstat = os.fstat

    def lying_fstat(fd: int) -> Any:
        real = real_fstat(fd)
        return os.stat_result((real[0], *real[1:6], 0, *real[7:]))  # a regular file of size 0

    monkeypatch.setattr(os, "fstat", lying_fstat)
    with pytest.raises(CassetteError) as error:
        Cassette.load(path)
    assert_one_line_error(error, path, "larger than 20 MB")


def test_deep_nesting_is_a_cassette_error(tmp_path: Path) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text("interactions: " + "[" * 100_000 + "]" * 100_000 + "\nversion: 1\n")
    with pytest.raises(CassetteError) as error:
        Cassette.load(path)
    assert_one_line_error(error, path, "YAML")


def _valid_document() -> dict[str, Any]:
    return {
        "interactions": [
            {
                "request": {
                    "body": json.dumps(chat_request()),
                    "headers": {"Content-Type": ["application/json"], "X-Llmcmp-Sample": ["1"]},
                    "method": "POST",
                    "uri": URI,
                },
                "response": {
                    "body": {"string": json.dumps(chat_response("13.8"))},
                    "headers": {"Content-Type": ["application/json"]},
                    "status": {"code": 200, "message": "OK"},
                },
            }
        ],
        "version": 1,
    }


def _set(document: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    *parents, last = dotted.split(".")
    target: Any = document
    for part in parents:
        target = target[int(part)] if isinstance(target, list) else target[part]
    key: Any = int(last) if isinstance(target, list) else last
    if value is _DELETE:
        del target[key]
    else:
        target[key] = value
    return document


_DELETE = object()


@pytest.mark.parametrize(
    ("dotted", "value", "fragment"),
    [
        ("version", _DELETE, "missing 'version'"),
        ("version", 2, "unsupported cassette version 2"),
        ("interactions", _DELETE, "'interactions' must be a list"),
        ("interactions", {"a": 1}, "'interactions' must be a list, got dict"),
        ("interactions.0", "text", "interaction 1: interaction must be a mapping"),
        ("interactions.0.request", _DELETE, "interaction 1: interaction has no 'request'"),
        ("interactions.0.response", [], "interaction 1: interaction.response must be dict, got list"),
        ("interactions.0.request.uri", _DELETE, "request has no 'uri'"),
        ("interactions.0.request.method", 5, "request.method must be str, got int"),
        ("interactions.0.request.body", "not json {", "request.body is not valid JSON"),
        ("interactions.0.request.body", "[1, 2]", "request.body must be a JSON object, got list"),
        ("interactions.0.request.body", None, "request.body must be JSON text, got nothing"),
        ("interactions.0.request.headers.X-Llmcmp-Sample", ["0"], "X-Llmcmp-Sample must be an integer >= 1"),
        (
            "interactions.0.request.headers.X-Llmcmp-Sample",
            ["two"],
            "X-Llmcmp-Sample must be an integer >= 1",
        ),
        ("interactions.0.response.status.code", 404, "response status 404 recorded; only 2xx"),
        ("interactions.0.response.status.code", 500, "response status 500 recorded"),
        ("interactions.0.response.status.code", "200", "response.status.code must be int, got str"),
        ("interactions.0.response.status.code", True, "response.status.code must be int, got bool"),
        ("interactions.0.response.status", _DELETE, "response has no 'status'"),
        ("interactions.0.response.body.string", "<html>502</html>", "response.body.string is not valid JSON"),
        ("interactions.0.response.body", {"text": "{}"}, "response.body has no 'string'"),
        ("interactions.0.response.body.string", 42, "response.body.string must be JSON text, got int"),
        ("interactions.0.response.headers", ["x"], "response.headers must be a mapping"),
    ],
)
def test_wrong_structure_names_file_and_problem(tmp_path: Path, dotted: str, value: Any, fragment: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(_set(_valid_document(), dotted, value), allow_unicode=True), encoding="utf-8")
    with pytest.raises(CassetteError) as error:
        Cassette.load(path)
    assert_one_line_error(error, path, fragment)


def test_valid_reference_document_loads(tmp_path: Path) -> None:
    path = tmp_path / "good.yaml"
    path.write_text(yaml.safe_dump(_valid_document(), allow_unicode=True), encoding="utf-8")
    assert Cassette.load(path).find(chat_request(), 1) == chat_response("13.8")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "is empty"),
        ("- a\n- b\n", "top level must be a mapping, got list"),
        ("version: 1\ninteractions: [\n", "invalid YAML at line"),
        ("version: 1\n\tinteractions: []\n", "invalid YAML at line 2"),
        ("version: 1\ninteractions: !!set {a: 1}\n", "'interactions' must be a list, got set"),
    ],
)
def test_broken_yaml(tmp_path: Path, text: str, fragment: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CassetteError) as error:
        Cassette.load(path)
    assert_one_line_error(error, path, fragment)


@pytest.mark.parametrize(
    "text",
    [
        "version: 1\ninteractions: [\n",
        "version: 1\n\tinteractions: []\n",
        "version: 1\n---\nversion: 2\n",
        "a: 'b\x01'\n",
    ],
)
def test_a_yaml_problem_is_worded_as_in_a_case_file(tmp_path: Path, text: str) -> None:
    # One wording of YAML errors (yamlerrors.describe): the same problem, on the same line, in a case file and a
    # cassette; only the advice around it differs.
    from pytest_llmcmp.cases import CaseFileError, load_case_file

    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CaseFileError) as as_case:
        load_case_file(path)
    with pytest.raises(CassetteError) as as_cassette:
        Cassette.load(path)
    problem = as_case.value.message.removeprefix("invalid YAML: ")
    assert as_case.value.message.startswith("invalid YAML: ")
    assert f"invalid YAML at line {as_case.value.line}: {problem} (file truncated or hand-edited?)" in str(
        as_cassette.value
    )


def test_duplicate_sample_is_refused(recorded: Path) -> None:
    text = recorded.read_text(encoding="utf-8").replace("- '2'", "- '1'")
    recorded.write_text(text, encoding="utf-8")
    with pytest.raises(CassetteError) as error:
        Cassette.load(recorded)
    assert_one_line_error(error, recorded, "two interactions record sample 1")


@pytest.mark.parametrize(
    ("encode", "fragment"),
    [
        (lambda text: text.encode("utf-16"), "UTF-16"),
        (lambda text: text.encode("utf-16-le"), "NUL bytes"),
        (lambda text: text.encode("utf-32"), "UTF-16/UTF-32"),
        (lambda text: text.encode("gb18030"), "not valid UTF-8"),
        (lambda text: text.encode("utf-8").replace("更大".encode(), b"\xff\xfe\xfd", 1), "not valid UTF-8"),
    ],
)
def test_wrong_encoding(recorded: Path, encode: Any, fragment: str) -> None:
    recorded.write_bytes(encode(recorded.read_text(encoding="utf-8")))
    with pytest.raises(CassetteError) as error:
        Cassette.load(recorded)
    assert_one_line_error(error, recorded, fragment)


def test_utf8_bom_is_accepted(recorded: Path) -> None:
    recorded.write_bytes(b"\xef\xbb\xbf" + recorded.read_bytes())
    assert len(Cassette.load(recorded)) == 4


def test_truncated_file_never_loads_partially(recorded: Path) -> None:
    full = recorded.read_bytes()
    complete = Cassette.load(recorded)
    expected = {key: complete.find(*_split_key(key)) for key in complete}
    # Every line start (where a cut could leave well-formed YAML) and a spread of mid-line bytes.
    line_starts = [i + 1 for i, byte in enumerate(full) if byte == ord("\n")]
    cuts = sorted({0, *line_starts, *random.Random(0).sample(range(len(full)), 150)})
    errors = 0
    for cut in cuts:
        recorded.write_bytes(full[:cut])
        partial = _load_or_error(recorded)
        if isinstance(partial, str):
            assert partial.startswith(f"{recorded}: ")
            errors += 1
            continue
        # Only a cut in the final newline(s) may load, and then it must hold everything.
        assert full[:cut].rstrip() == full.rstrip()
        assert {key: partial.find(*_split_key(key)) for key in partial} == expected
    assert errors >= len(cuts) - 2  # the full file, and at most one cut in its last newline


def _load_or_error(path: Path) -> Cassette | str:
    try:
        return Cassette.load(path)
    except CassetteError as e:
        return str(e)


def _split_key(key: str) -> tuple[dict[str, Any], int]:
    body, _, sample = key.rpartition("#")
    return json.loads(body), int(sample)


def test_directory_instead_of_file(tmp_path: Path) -> None:
    (tmp_path / "d.yaml").mkdir()
    with pytest.raises(CassetteError) as error:
        Cassette.load(tmp_path / "d.yaml")
    assert_one_line_error(error, tmp_path / "d.yaml", "cannot read")


# --- cassettes written by plain vcrpy ----------------------------------------------------------


def _vcrpy_style(bodies: list[tuple[dict[str, Any], Any, dict[str, list[str]]]]) -> str:
    interactions = [
        {
            "request": {
                "body": json.dumps(request, separators=(",", ":")),
                "headers": {"authorization": ["Bearer sk-user"], "content-type": ["application/json"]},
                "method": "POST",
                "uri": URI,
            },
            "response": {
                "body": {"string": response},
                "headers": {"date": ["today"], **headers},
                "status": {"code": 200, "message": "OK"},
            },
        }
        for request, response, headers in bodies
    ]
    text: str = yaml.dump({"interactions": interactions, "version": 1}, Dumper=yaml.SafeDumper)
    return text


def test_vcrpy_cassette_without_sample_header_counts_occurrences(tmp_path: Path) -> None:
    path = tmp_path / "vcr.yaml"
    other = chat_request("1.5 or 1.25?")
    path.write_text(
        _vcrpy_style(
            [
                (chat_request(), json.dumps(chat_response("first")), {}),
                (other, json.dumps(chat_response("other")), {}),
                (chat_request(), json.dumps(chat_response("second")), {}),
            ]
        )
    )
    cassette = Cassette.load(path)
    assert cassette.find(chat_request(), 1) == chat_response("first")
    assert cassette.find(chat_request(), 2) == chat_response("second")
    assert cassette.find(other, 1) == chat_response("other")
    assert cassette.find(other, 2) is None


def test_vcrpy_cassette_with_compressed_binary_body(tmp_path: Path) -> None:
    path = tmp_path / "vcr.yaml"
    compressed = gzip.compress(json.dumps(chat_response("压缩的回答")).encode())
    path.write_text(_vcrpy_style([(chat_request(), compressed, {"Content-Encoding": ["gzip"]})]))
    assert "!!binary" in path.read_text()
    cassette = Cassette.load(path)
    assert cassette.find(chat_request(), 1) == chat_response("压缩的回答")
    cassette.save(["sk-user"])  # the Authorization header is not carried over
    text = path.read_text(encoding="utf-8")
    assert "压缩的回答" in text
    for dropped in ("content-encoding", "!!binary", "today"):
        assert dropped not in text.lower()


def test_compression_bomb_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "vcr.yaml"
    bomb = gzip.compress(b" " * (MAX_CASSETTE_BYTES + 10), compresslevel=9)
    path.write_text(_vcrpy_style([(chat_request(), bomb, {"Content-Encoding": ["gzip"]})]))
    with pytest.raises(CassetteError) as error:
        Cassette.load(path)
    assert_one_line_error(error, path, "decompressed response is larger")


@pytest.mark.parametrize(("encoding", "fragment"), [("br", "only gzip and deflate"), ("gzip", "not valid gzip")])
def test_unreadable_compression(tmp_path: Path, encoding: str, fragment: str) -> None:
    path = tmp_path / "vcr.yaml"
    path.write_text(_vcrpy_style([(chat_request(), b"\x8b\x00garbage", {"Content-Encoding": [encoding]})]))
    with pytest.raises(CassetteError) as error:
        Cassette.load(path)
    assert_one_line_error(error, path, fragment)


# --- speed -------------------------------------------------------------------------------------


@pytest.mark.slow
def test_loading_many_small_cassettes(tmp_path: Path) -> None:
    count = 2000
    paths = []
    for index in range(count):
        cassette = Cassette(cassette_path(tmp_path, "qwen2.5:7b", "langgpt", "ab" * 32, f"case-{index}"))
        cassette.add(exchange(f"{index}.8 更大", question=f"{index}.8和{index}.11哪个大？"))
        cassette.path.parent.mkdir(parents=True, exist_ok=True)
        cassette.path.write_text(cassette.to_yaml(), encoding="utf-8")  # setup only; save() fsyncs
        paths.append(cassette.path)
    started = time.perf_counter()
    found = 0
    for index, path in enumerate(paths):
        if Cassette.load(path).find(chat_request(f"{index}.8和{index}.11哪个大？"), 1) is not None:
            found += 1
    elapsed = time.perf_counter() - started
    assert found == count
    print(f"\nload+find: {elapsed * 1000 / count:.3f} ms per cassette ({count} cassettes, {elapsed:.2f} s)")


# --- stable recordings ---------------------------------------------------------------------------------------------


def test_saving_the_same_bytes_again_leaves_the_file_alone(recorded: Path) -> None:
    past = time.time_ns() - 3600 * 10**9  # an hour ago: any write would set the modification time to now
    os.utime(recorded, ns=(past, past))
    before = recorded.read_bytes()
    assert Cassette.load(recorded).save([SECRET]) is False
    assert recorded.read_bytes() == before
    assert recorded.stat().st_mtime_ns == past
    changed = Cassette.load(recorded)
    changed.add(exchange("13.11更大", 2))
    assert changed.save([SECRET]) is True
    assert recorded.stat().st_mtime_ns != past
    assert "13.11更大" in recorded.read_text(encoding="utf-8")


def test_stable_response_fixes_or_drops_only_the_volatile_fields() -> None:
    body = {**chat_response("13.8"), "system_fingerprint": "fp_44709d6fcb", "timings": {"predicted_ms": 81.2}}
    stable = stable_response(body)
    assert stable == {**chat_response("13.8"), "id": "chatcmpl-llmcmp", "created": 0}
    assert body["id"] == "chatcmpl-1"
    assert "system_fingerprint" in body
    assert stable_response({"choices": []}) == {"choices": []}  # fields the server did not send are not invented


def _snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    return {p.relative_to(root).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns) for p in root.rglob("*.yaml")}


def test_recording_the_same_answers_again_leaves_every_cassette_unchanged(suite: pytest.Pytester) -> None:
    from tests.fakeserver import FakeServer, correct_answer

    answers: dict[str, str] = {}

    def answer(request: dict[str, Any]) -> str:
        question = request["messages"][-1]["content"]
        return answers.get(question) or correct_answer(request)

    root = suite.path / "cassettes"
    with FakeServer(models=("fake-model",), answer=answer) as fake:
        url = fake.url
        suite.runpytest_inprocess("-p", "no:cacheprovider", "--llm-endpoint", url).assert_outcomes(passed=3)
        past = time.time_ns() - 3600 * 10**9  # an hour ago: any rewrite would show as a new modification time
        for path in root.rglob("*.yaml"):
            os.utime(path, ns=(past, past))
        first = _snapshot(root)
        assert len(first) == 3
        for text in (data.decode("utf-8") for data, _ in first.values()):
            response = yaml.safe_load(text)["interactions"][0]["response"]["body"]["string"]
            stored = json.loads(response)
            assert (stored["id"], stored["created"]) == ("chatcmpl-llmcmp", 0)
            assert "system_fingerprint" not in stored
            assert "chatcmpl-fake" not in text

        fake.clear()
        again = suite.runpytest_inprocess("-p", "no:cacheprovider", "--llm-endpoint", url, "--llm-record-mode", "all")
        again.assert_outcomes(passed=3)
        assert len(fake.chat_requests) == 3  # asked again, and answered with new ids and times
        assert _snapshot(root) == first

        asked = [r.json["messages"][-1]["content"] for r in fake.chat_requests if r.json is not None]
        answers[next(q for q in asked if "13.8" in q)] = "13.11 is larger."
        changed = suite.runpytest_inprocess("-p", "no:cacheprovider", "--llm-endpoint", url, "--llm-record-mode", "all")
        changed.assert_outcomes(passed=2, failed=1)
    now = _snapshot(root)
    rewritten = sorted(name for name in now if now[name] != first[name])
    assert rewritten == ["fake-model/none/trap.yaml"]
    assert b"13.11 is larger." in now["fake-model/none/trap.yaml"][0]
    assert now["fake-model/none/trap.yaml"][1] != past
