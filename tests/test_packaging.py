"""The wheel installs one import name, personagraph, with every module, Cypher file and static asset.

personagraph/ holds links to the card's top-level folders (graph/, api/, loaders/, cli/, cypher/);
setuptools follows them, so the wheel has ``personagraph/graph/...`` and no ``graph/`` at its root.
The wheel is built offline (``pip wheel --no-index --no-build-isolation``, the venv's setuptools) from
a copy of the sources, so no ``build/`` or ``*.egg-info`` is left in the work tree and no stale
``build/lib`` can slip a moved module into the wheel.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "personagraph"
FOLDERS = ("graph", "api", "loaders", "cli", "cypher")
# Offline: no index, and the venv's setuptools (the dev extra's) rather than a fetched one.
PIP_WHEEL = (sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-index", "--no-build-isolation", "-q")
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "node_modules", ".installed")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    for license_file in ROOT.glob("LICEN[CS]E*"):
        shutil.copy2(license_file, source / license_file.name)
    for folder in (*FOLDERS, PACKAGE):
        shutil.copytree(ROOT / folder, source / folder, symlinks=True, ignore=IGNORED)
    assert (source / PACKAGE / "graph").is_symlink()
    out = tmp_path_factory.mktemp("wheel")
    build = subprocess.run(
        [*PIP_WHEEL, "--wheel-dir", str(out), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stdout + build.stderr
    (built,) = out.glob(f"{PACKAGE}-*.whl")
    return zipfile.ZipFile(built)


def files_under(folder: str, pattern: str) -> set[str]:
    """The repository's files under folder matching pattern, as the wheel names them."""
    return {
        f"{PACKAGE}/{path.relative_to(ROOT).as_posix()}"
        for path in (ROOT / folder).rglob(pattern)
        if path.is_file() and "__pycache__" not in path.parts and not path.name.startswith(".")
    }


def test_the_wheel_has_one_top_level_import_name(wheel: zipfile.ZipFile) -> None:
    names = wheel.namelist()
    roots = {name.split("/")[0] for name in names}
    metadata = {root for root in roots if root.endswith((".dist-info", ".data"))}
    top_level = {root.removesuffix(".py") for root in roots - metadata}
    assert top_level == {PACKAGE}, sorted(roots)
    assert not roots & set(FOLDERS)
    (dist_info,) = metadata
    assert wheel.read(f"{dist_info}/top_level.txt").decode().split() == [PACKAGE]
    entry_points = wheel.read(f"{dist_info}/entry_points.txt").decode()
    assert "persona = personagraph.cli.main:main" in entry_points


def test_the_wheel_holds_every_module(wheel: zipfile.ZipFile) -> None:
    modules = set().union(*(files_under(folder, "*.py") for folder in FOLDERS))
    assert f"{PACKAGE}/graph/store.py" in modules
    missing = modules - set(wheel.namelist())
    assert not missing, sorted(missing)
    assert f"{PACKAGE}/__init__.py" in wheel.namelist()


def test_the_wheel_holds_the_cypher_files_and_static_assets(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    cypher = files_under("cypher", "*.cypher")
    assert len(cypher) > 100
    assert not cypher - names, sorted(cypher - names)
    assert any(name.startswith(f"{PACKAGE}/cypher/schema/V") for name in cypher)
    static = files_under("api/static", "*")
    assert {f"{PACKAGE}/api/static/ide.js", f"{PACKAGE}/api/static/ide.css"} <= static
    assert not static - names, sorted(static - names)  # vendor/ too, where `make install` has filled it
    demo = files_under("loaders/demo_data", "*.csv")
    assert demo
    assert not demo - names, sorted(demo - names)
