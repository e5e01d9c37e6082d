"""The wheel must carry every subpackage and the compat tables (pyproject lists packages by hand,
because compat/ is mapped into the package from the top of the repository), and run from them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent


def test_every_subpackage_is_listed_in_pyproject():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    on_disk = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "envcheck").rglob("__init__.py")}
    assert on_disk - listed == set(), f"add to [tool.setuptools] packages: {sorted(on_disk - listed)}"
    assert "envcheck.compat_data" in listed


def test_the_wheel_runs_from_a_fresh_environment_with_its_tables(tmp_path):
    """Build the wheel as a user's pip would, install it in a new venv and run it from outside the
    repository: install-cmd and compat answer from the compat_data the wheel carries."""
    src, dist, venv, elsewhere = tmp_path / "src", tmp_path / "dist", tmp_path / "venv", tmp_path / "elsewhere"
    elsewhere.mkdir()
    # from a copy of what a checkout holds: setuptools' build/ folder in the repository would carry
    # modules deleted since into the wheel
    for name in ("envcheck", "compat"):
        shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(src)])
    (wheel,) = dist.glob("envcheck-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        tables = {Path(n).name for n in zf.namelist() if n.startswith("envcheck/compat_data/")}
    assert tables >= {f"{p.name}" for p in (ROOT / "compat").glob("*.toml")}, tables
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    _run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "-q", "--no-deps", str(wheel)])
    # the dependencies (typer, rich, ...) come from the environment running the tests, after the
    # new venv's own site-packages: envcheck itself can only come from the wheel
    (site,) = (venv / "lib").glob("python3.*/site-packages")
    deps = [p for p in sys.path if p.endswith("site-packages") and Path(p).is_dir()]
    (site / "test-dependencies.pth").write_text("\n".join(deps) + "\n")
    envcheck = str(venv / "bin" / "envcheck")

    where = _run([str(venv / "bin" / "python"), "-c", "import envcheck; print(envcheck.__file__)"], cwd=elsewhere)
    assert where.stdout.startswith(str(site)), where.stdout
    done = _run([envcheck, "install-cmd", "--cuda", "12.6"], cwd=elsewhere)
    line = next(x for x in done.stdout.splitlines() if x.startswith("pip install torch=="))
    assert line.endswith("--index-url https://download.pytorch.org/whl/cu126"), done.stdout
    done = _run([envcheck, "compat", "--gpu", "3090"], cwd=elsewhere)
    assert done.stdout.startswith("NVIDIA GeForce RTX 3090 — Ampere, compute capability 8.6 (sm_86)"), done.stdout


def _run(argv: list, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{argv[:4]} exited {done.returncode}: {done.stderr[-2000:]}"
    return done
