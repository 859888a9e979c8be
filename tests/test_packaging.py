"""The package as ``pip install /path/to/checkout`` builds it: a wheel built offline from a copy of the checkout holds
every module and data file the plugin loads (a subpackage left out would be a plugin failing with
ModuleNotFoundError, as engine/ once was) and its entry point, works from an unpacked copy of itself, and the build
leaves nothing (``build/``, ``*.egg-info``) in the checkout it was built from."""

from __future__ import annotations

import email
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "pytest_llmcmp"


def source_files() -> set[str]:
    """The package's own files (posix paths from the checkout's root), without bytecode."""
    return {
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / PACKAGE).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix not in (".pyc", ".pyo")
    }


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A copy of the checkout (what the build needs: pyproject.toml, the READMEs, the package) and the wheel pip
    built from it, offline, with the backend installed here (no build isolation: no index is asked)."""
    pytest.importorskip("hatchling", reason="the [test] extra installs the build backend (hatchling)")
    base = tmp_path_factory.mktemp("packaging")
    checkout = base / "checkout"
    checkout.mkdir()
    for name in ("pyproject.toml", "README.md", "README.zh-CN.md"):
        shutil.copy2(ROOT / name, checkout / name)
    shutil.copytree(ROOT / PACKAGE, checkout / PACKAGE, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    wheels = base / "wheels"
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q"]
    done = subprocess.run(
        [*command, "-w", str(wheels), str(checkout)], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    (wheel,) = wheels.glob("pytest_llmcmp-*.whl")
    return checkout, wheel


def test_the_build_leaves_nothing_in_the_checkout(built: tuple[Path, Path]) -> None:
    checkout, _ = built
    assert sorted(p.name for p in checkout.iterdir()) == ["README.md", "README.zh-CN.md", "pyproject.toml", PACKAGE]
    left = [p for p in checkout.rglob("*") if p.name == "build" or p.name.endswith(".egg-info")]
    assert left == []


def test_the_wheel_holds_every_module_and_data_file_and_the_entry_point(built: tuple[Path, Path]) -> None:
    _, wheel = built
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        info = next(name for name in names if name.endswith(".dist-info/entry_points.txt"))
        entry_points = archive.read(info).decode("utf-8")
        metadata = email.message_from_bytes(archive.read(info.replace("entry_points.txt", "METADATA")))
    package = {name for name in names if name.startswith(f"{PACKAGE}/")}
    assert package == source_files()
    for data in ("py.typed", "reports/report.css", "reports/report.js"):
        assert f"{PACKAGE}/{data}" in package
    assert not [name for name in names if name.startswith(("tests/", "cases/", "cassettes/", "examples/"))]
    assert "[pytest11]\nllmcmp = pytest_llmcmp.plugin" in entry_points
    assert metadata["Name"] == "pytest-llmcmp"
    assert set(metadata.get_all("Provides-Extra") or []) >= {"local", "test"}
    required = {line.split(";")[0].split(">")[0].split("=")[0].strip() for line in metadata.get_all("Requires-Dist")}
    assert {"pytest", "pluggy", "pyyaml", "vcrpy", "openai", "filelock"} <= required
    assert metadata.get_payload().startswith("# pytest-llmcmp")  # the README is the long description


def test_the_unpacked_wheel_loads_its_report_assets(built: tuple[Path, Path], tmp_path: Path) -> None:
    """The HTML report's stylesheet and script are read as package resources: from the wheel's own files, not the
    checkout's (a fresh interpreter, the unpacked wheel first on its path, from a directory outside the checkout)."""
    _, wheel = built
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(tmp_path / "site")
    probe = (
        "import pytest_llmcmp.reports.html as html, pathlib, sys;"
        "print(pathlib.Path(html.__file__).resolve().is_relative_to(pathlib.Path(sys.argv[1]).resolve()));"
        "print(len(html._asset('report.css')) > 100, len(html._asset('report.js')) > 100)"
    )
    done = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, sys.argv[1]); {probe}", str(tmp_path / "site")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "True", "True"]
