"""The PEP 517 backend: the wheel holds both packages, the stubs, valid metadata and RECORD, and
installs offline into a fresh environment with a working `theus` console script."""
import base64
import csv
import hashlib
import importlib.util
import io
import os
import pathlib
import subprocess
import sys
import venv
import zipfile

import pytest

import theus_core

ROOT = pathlib.Path(__file__).resolve().parents[2]


def load_backend():
    spec = importlib.util.spec_from_file_location("theus_build", ROOT / "packaging" / "theus_build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    os.environ["THEUS_PREBUILT_EXTENSION"] = theus_core.__file__
    try:
        name = load_backend().build_wheel(str(out))
    finally:
        del os.environ["THEUS_PREBUILT_EXTENSION"]
    return out / name


def test_wheel_name_carries_the_interpreter_tag(wheel):
    tag = f"cp{sys.version_info.major}{sys.version_info.minor}"
    assert wheel.name.startswith("theus-3.0.26-") and f"-{tag}-{tag}-" in wheel.name


def test_wheel_contains_both_packages_stubs_and_markers(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "theus/__init__.py" in names and "theus/py.typed" in names
    assert "theus_core.pyi" in names
    assert any(n.startswith("theus_core") and n.endswith(".so") for n in names)
    assert not any("__pycache__" in n for n in names)


def test_wheel_contains_the_project_templates(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for template in ("standard", "ecommerce", "agent", "minimal"):
        assert f"theus/templates/{template}/main.py" in names
        assert f"theus/templates/{template}/dot.gitignore" in names
    assert "theus/templates/ecommerce/specs/audit_recipe.yaml" in names
    assert "theus/templates/ecommerce/workflows/fulfilment.yaml" in names
    assert "theus/linter.py" in names and "theus/schema_gen.py" in names and "theus/cli/run.py" in names


def test_metadata_declares_requirements_and_console_script(wheel):
    zf = zipfile.ZipFile(wheel)
    meta = zf.read("theus-3.0.26.dist-info/METADATA").decode()
    assert "Requires-Dist: pydantic>=2.0" in meta and "Requires-Python: >=3.11" in meta
    assert 'Requires-Dist: numpy; extra == "heavy"' in meta
    assert "theus = theus.cli:main" in zf.read("theus-3.0.26.dist-info/entry_points.txt").decode()


def test_record_hashes_match_the_files(wheel):
    zf = zipfile.ZipFile(wheel)
    rows = list(csv.reader(io.StringIO(zf.read("theus-3.0.26.dist-info/RECORD").decode())))
    assert len(rows) == len(zf.namelist())
    for name, digest, size in rows:
        if not digest:
            continue
        data = zf.read(name)
        expected = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        assert digest == f"sha256={expected}" and int(size) == len(data), name


def test_wheel_installs_offline_and_runs(wheel, tmp_path):
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(system_site_packages=True, with_pip=False).create(env_dir)
    py = env_dir / "bin" / "python"
    # pip of the running interpreter installs into the new environment (no index, no deps).
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-index", "--no-deps",
                    "--target", str(env_dir / "site"), str(wheel)], check=True)
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import theus, theus_core; "
            "from theus.cli import main; print(theus.__version__, theus_core.__file__.startswith(sys.argv[1]))")
    out = subprocess.run([str(py), "-c", code, str(env_dir / "site")], check=True, capture_output=True, text=True,
                         env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    assert out.stdout.split() == ["3.0.26", "True"]
    script = env_dir / "site" / "bin" / "theus"
    assert script.exists()
