"""PEP 517 build backend for Theus-C++.

Builds the `theus_core` extension with CMake (Release, no tests/benchmarks/examples) and packs it
with the pure-Python `theus` package into a wheel. Needs only what the project's build already
needs (a C++20 compiler, CMake >= 3.25, pybind11 and the Debian -dev packages; scripts/bootstrap
installs them). No build requirements are fetched from a package index.

Environment: THEUS_BUILD_JOBS (parallel jobs, default: CPU count), THEUS_BUILD_DIR (reuse a build
directory instead of a temporary one), THEUS_PREBUILT_EXTENSION (package this already-built
theus_core module instead of building one; used by the packaging test).
"""
from __future__ import annotations

import base64
import csv
import hashlib
import io
import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NAME = "theus"
VERSION = "3.0.26"
SUMMARY = "Transactional, process-oriented state engine (C++20 core, Python API compatible with Theus 3.0)"
REQUIRES = ["pydantic>=2.0", "pyyaml>=6.0", "typing-extensions>=4.0"]
EXTRAS = {"cli": ["rich>=13.0", "questionary>=2.0"], "heavy": ["numpy"], "test": ["pytest", "pytest-asyncio", "numpy"]}
SCRIPTS = {"theus": "theus.cli:main"}


# ---- PEP 517 hooks ---------------------------------------------------------------------------


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    dist_info = os.path.join(metadata_directory, _dist_info())
    os.makedirs(dist_info, exist_ok=True)
    for name, text in _metadata_files().items():
        with open(os.path.join(dist_info, name), "w", encoding="utf-8") as f:
            f.write(text)
    return _dist_info()


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    extension = _build_extension()
    tag = _wheel_tag()
    wheel_name = f"{NAME}-{VERSION}-{tag}.whl"
    files = []  # (archive name, bytes)
    pkg_root = os.path.join(ROOT, "python")
    for dirpath, dirnames, filenames in os.walk(os.path.join(pkg_root, NAME)):
        dirnames[:] = [d for d in dirnames if d != "__pycache__"]
        for fn in sorted(filenames):
            if fn.endswith((".pyc", ".pyo")):
                continue
            full = os.path.join(dirpath, fn)
            files.append((os.path.relpath(full, pkg_root).replace(os.sep, "/"), _read(full)))
    files.append((os.path.basename(extension), _read(extension)))
    stub = os.path.join(pkg_root, "theus_core.pyi")
    if os.path.exists(stub):
        files.append(("theus_core.pyi", _read(stub)))
    dist_info = _dist_info()
    meta = _metadata_files()
    meta["WHEEL"] = f"Wheel-Version: 1.0\nGenerator: theus_build\nRoot-Is-Purelib: false\nTag: {tag}\n"
    for name, text in meta.items():
        files.append((f"{dist_info}/{name}", text.encode()))
    os.makedirs(wheel_directory, exist_ok=True)
    path = os.path.join(wheel_directory, wheel_name)
    record_rows = []
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for arcname, data in files:
            zf.writestr(_zipinfo(arcname, executable=arcname.endswith(".so")), data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            record_rows.append((arcname, f"sha256={digest}", str(len(data))))
        record_rows.append((f"{dist_info}/RECORD", "", ""))
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows(record_rows)
        zf.writestr(_zipinfo(f"{dist_info}/RECORD"), buf.getvalue().encode())
    return wheel_name


def build_sdist(sdist_directory, config_settings=None):
    base = f"{NAME}-{VERSION}"
    os.makedirs(sdist_directory, exist_ok=True)
    path = os.path.join(sdist_directory, f"{base}.tar.gz")
    with tarfile.open(path, "w:gz") as tar:
        for rel in _source_files():
            tar.add(os.path.join(ROOT, rel), arcname=f"{base}/{rel}")
        info = tarfile.TarInfo(f"{base}/PKG-INFO")
        data = _metadata_files()["METADATA"].encode()
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return os.path.basename(path)


# ---- helpers ---------------------------------------------------------------------------------


def _dist_info() -> str:
    return f"{NAME}-{VERSION}.dist-info"


def _metadata_files() -> dict:
    lines = [
        "Metadata-Version: 2.1",
        f"Name: {NAME}",
        f"Version: {VERSION}",
        f"Summary: {SUMMARY}",
        "Requires-Python: >=3.11",
        "License: MIT",
    ]
    lines += [f"Requires-Dist: {r}" for r in REQUIRES]
    for extra, reqs in EXTRAS.items():
        lines.append(f"Provides-Extra: {extra}")
        lines += [f'Requires-Dist: {r}; extra == "{extra}"' for r in reqs]
    readme = os.path.join(ROOT, "README.md")
    body = _read(readme).decode() if os.path.exists(readme) else ""
    lines.append("Description-Content-Type: text/markdown")
    metadata = "\n".join(lines) + "\n\n" + body
    entry_points = "[console_scripts]\n" + "".join(f"{k} = {v}\n" for k, v in SCRIPTS.items())
    return {"METADATA": metadata, "entry_points.txt": entry_points, "top_level.txt": "theus\ntheus_core\n"}


def _wheel_tag() -> str:
    impl = f"cp{sys.version_info.major}{sys.version_info.minor}"
    plat = sysconfig.get_platform().replace("-", "_").replace(".", "_")
    return f"{impl}-{impl}-{plat}"


def _build_extension() -> str:
    prebuilt = os.environ.get("THEUS_PREBUILT_EXTENSION")
    if prebuilt:
        if not os.path.exists(prebuilt):
            raise RuntimeError(f"THEUS_PREBUILT_EXTENSION points at a missing file: {prebuilt}")
        return prebuilt
    build_dir = os.environ.get("THEUS_BUILD_DIR") or tempfile.mkdtemp(prefix="theus-wheel-")
    jobs = os.environ.get("THEUS_BUILD_JOBS") or str(os.cpu_count() or 2)
    configure = [
        "cmake", "-S", ROOT, "-B", build_dir, "-DCMAKE_BUILD_TYPE=Release",
        "-DTHEUS_BUILD_TESTS=OFF", "-DTHEUS_BUILD_BENCH=OFF", "-DTHEUS_BUILD_EXAMPLES=OFF",
        "-DTHEUS_BUILD_PYTHON=ON", f"-DPython_EXECUTABLE={sys.executable}",
    ]
    print("[theus_build] " + " ".join(configure), file=sys.stderr)
    subprocess.run(configure, check=True, stdout=sys.stderr)
    subprocess.run(["cmake", "--build", build_dir, "--target", "theus_core", "-j", jobs], check=True, stdout=sys.stderr)
    suffix = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
    ext = os.path.join(build_dir, "python", "theus_core" + suffix)
    if not os.path.exists(ext):
        raise RuntimeError(f"theus_core was not built: {ext} is missing")
    return ext


def _source_files():
    try:
        out = subprocess.run(["git", "ls-files"], cwd=ROOT, check=True, capture_output=True, text=True).stdout
        return [f for f in out.splitlines() if f and os.path.exists(os.path.join(ROOT, f))]
    except (OSError, subprocess.CalledProcessError):
        files = []
        for dirpath, dirnames, filenames in os.walk(ROOT):
            dirnames[:] = [d for d in dirnames if not d.startswith((".", "build")) and d != "__pycache__"]
            files += [os.path.relpath(os.path.join(dirpath, f), ROOT) for f in filenames]
        return files


def _read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def _zipinfo(name: str, executable: bool = False) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
    info.external_attr = (0o755 if executable else 0o644) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


# Editable installs are not provided: use the build tree (scripts/run-pytest, PYTHONPATH).
__all__ = [
    "get_requires_for_build_wheel",
    "get_requires_for_build_sdist",
    "prepare_metadata_for_build_wheel",
    "build_wheel",
    "build_sdist",
]
