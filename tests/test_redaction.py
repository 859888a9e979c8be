"""The rules of what is never shown or stored (redaction.py), what is read (safefiles.py), what is printed
(terminal.py), as plain function calls; the sessions that rely on them are in test_reliability.py."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pytest_llmcmp.redaction import REDACTED, clip, contains_secret, public_url, redact
from pytest_llmcmp.safefiles import FileTooLarge, NotRegularFile, read_head, read_regular
from pytest_llmcmp.terminal import printable

LONG = "sk-llmcmp-Zq7Rb2Xv9Kp4"


@pytest.mark.parametrize(
    "text",
    [
        f"token={LONG}abc",
        f"x{LONG}",
        f"chatcmpl-{LONG}",
        f"fp_{LONG}",
        f"m-{LONG}x",
        f"Bearer {LONG}",
        '"' + LONG + '"',
    ],
)
def test_a_key_of_realistic_length_is_found_anywhere(text: str) -> None:
    assert contains_secret(text, LONG)
    assert LONG not in redact(text, LONG)
    assert REDACTED in redact(text, LONG)


def test_a_key_is_found_percent_encoded_in_a_url() -> None:
    key = "sk/abc+def=ghijkl0123"
    assert contains_secret("http://host/v1?api-key=sk%2Fabc%2Bdef%3Dghijkl0123", key)


def test_a_key_with_characters_json_escapes_is_found_in_json_too() -> None:
    key = 'sk-"quoted"\\key-0123456789'
    assert contains_secret('{"echo": "sk-\\"quoted\\"\\\\key-0123456789"}', key)


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("Bearer internlm2", True),
        ('"internlm2"', True),
        ("key=internlm2;", True),
        ("internlm2", True),
        ("internlm2-chat-1_8b", False),  # LMDeploy's model id: not the key
        ("my-internlm2", False),
        ("internlm2x", False),
        ("xinternlm2", False),
    ],
)
def test_a_short_dictionary_like_key_is_found_only_as_a_token(text: str, found: bool) -> None:
    assert contains_secret(text, "internlm2") is found


@pytest.mark.parametrize("key", ["Zq7Rb2", "k3Y!x"])
def test_a_short_key_that_is_no_word_is_found_anywhere(key: str) -> None:
    assert contains_secret(f"chatcmpl-{key}x", key)


def test_a_short_numeric_key_is_found_only_as_a_token() -> None:
    assert contains_secret("key 1234", "1234")
    assert contains_secret("the key is 1234.", "1234")
    assert not contains_secret("12345.8 is larger than 1234.5 and 0.1234", "1234")


def test_no_key_redacts_nothing() -> None:
    assert redact("anything", None) == redact("anything", "") == "anything"
    assert not contains_secret("anything", None)


def test_cutting_happens_after_redaction() -> None:
    text = "x" * 190 + LONG + " trailing"
    cut = clip(text, LONG, 200)
    assert len(cut) == 200
    assert LONG[:6] not in cut
    assert cut.startswith("x" * 190 + "[API key")


@pytest.mark.parametrize(
    ("url", "public"),
    [
        ("http://user:secret@host:23333/v1", "http://host:23333/v1"),
        ("https://token@api.example.com/v1?x=1", "https://api.example.com/v1?x=1"),
        ("http://0.0.0.0:23333/v1", "http://0.0.0.0:23333/v1"),
        ("http://a:b@c@host/v1", "http://host/v1"),
    ],
)
def test_userinfo_is_stripped_from_urls(url: str, public: str) -> None:
    assert public_url(url) == public


def test_printable_escapes_what_would_steer_a_terminal() -> None:
    hostile = "a\x1b[2Jb\x1b]52;c;eA==\x07c\rd\u202ee\u2066f\x9bg"
    shown = printable(hostile)
    assert shown == "a\\x1b[2Jb\\x1b]52;c;eA==\\x07c\\x0dd\\u202ee\\u2066f\\x9bg"
    assert printable("line one\n\tline two 数") == "line one\n\tline two 数"


def test_read_regular_caps_what_it_reads(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"x" * 100)
    assert read_regular(path, 100) == b"x" * 100
    with pytest.raises(FileTooLarge):
        read_regular(path, 99)
    assert read_head(path, 10) == b"x" * 10
    with pytest.raises(FileNotFoundError):
        read_regular(tmp_path / "missing", 10)
    with pytest.raises(NotRegularFile, match="a directory"):
        read_regular(tmp_path, 10)
    with pytest.raises(NotRegularFile, match="a device"):
        read_regular("/dev/zero", 10)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_read_regular_never_blocks_on_a_fifo_nor_a_link_to_one(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    link = tmp_path / "link.yaml"
    link.symlink_to(fifo)
    for path in (fifo, link):
        with pytest.raises(NotRegularFile, match="named pipe"):
            read_regular(path, 10)


def test_the_keys_are_read_while_another_thread_changes_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A cassette writer thread reads the keys while pytest's thread sets and deletes ``PYTEST_CURRENT_TEST``: no
    "dictionary changed size during iteration" (it once cost a recording). Thread switches as often as CPython
    allows, so that a switch lands inside the scan."""
    import sys
    import threading

    from pytest_llmcmp.redaction import api_keys

    monkeypatch.setenv("LLMCMP_API_KEY_BENCH", "sk-named-endpoint-key-0123456789")
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    stop = threading.Event()

    def churn() -> None:
        while not stop.is_set():
            os.environ["LLMCMP_TEST_CHURN"] = "x"
            del os.environ["LLMCMP_TEST_CHURN"]

    thread = threading.Thread(target=churn)
    thread.start()
    failures = 0
    try:
        for _ in range(20_000):
            try:
                assert "sk-named-endpoint-key-0123456789" in api_keys()
            except RuntimeError:
                failures += 1
    finally:
        stop.set()
        thread.join()
        sys.setswitchinterval(interval)
    assert failures == 0
