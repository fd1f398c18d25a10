"""The built wheel ships prompts/, templates/ and the example shop inside the package, and finds them installed."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(out),
                    str(REPO)], check=True)
    return next(out.glob("genpage-*.whl"))


def test_wheel_holds_the_shipped_folders(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for expected in ("genpage/prompts/section_copy.j2", "genpage/templates/page.html.j2",
                     "genpage/examples/shop/products.csv", "genpage/py.typed"):
        assert expected in names, f"{expected} missing from {wheel.name}"
    assert any(n.startswith("genpage-0.1.0.dist-info/entry_points.txt") for n in names)


def test_installed_wheel_finds_its_resources(wheel, tmp_path):
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    target = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                            check=True, capture_output=True, text=True).stdout.strip()
    with zipfile.ZipFile(wheel) as zf:  # what `pip install --no-deps` does for a pure wheel: unpack into purelib
        zf.extractall(target)
    # the dependencies come from the test environment; genpage itself must come from the fresh venv
    env = {**os.environ, "PYTHONPATH": sysconfig.get_paths()["purelib"]}
    code = ("import genpage, genpage.resources as r; "
            "print(genpage.__file__); print(r.prompts_dir()); print(r.templates_dir()); "
            "print(r.resource_dir('examples'))")
    lines = subprocess.run([str(python), "-c", code], check=True, capture_output=True, text=True, env=env,
                           cwd=tmp_path).stdout.split()
    assert all(line.startswith(target) for line in lines), lines
    assert (Path(lines[1]) / "section_copy.j2").is_file() and (Path(lines[2]) / "page.html.j2").is_file()
