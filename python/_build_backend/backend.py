"""The in-tree PEP 517 backend of swift-prwlock: setuptools, after building libprwlock.

`pip install ./python` (and `python -m build --wheel python`) run this. Before setuptools builds
the wheel, it builds the C library from the Swift sources of the repository this folder is in, by
running the repository's `c/build PREFIX` (a release `swift build` with the Swift standard library
linked statically, installed into a temporary prefix), and tells setup.py where the library is.
setup.py then compiles the extension module against `PREFIX/include/prwlock.h`, links it with
`-lprwlock` and an rpath of `$ORIGIN`, and copies `libprwlock.so.0` next to it, so the wheel needs
no Swift installation where it runs.

Set PRWLOCK_PREFIX to a prefix where libprwlock is already installed (`c/build PREFIX` run before)
to skip the Swift build; that is also the way to build a wheel from the sdist, which does not carry
the Swift sources.
"""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from setuptools import build_meta as _setuptools
from setuptools.build_meta import (  # noqa: F401  (re-exported hooks)
    build_sdist,
    get_requires_for_build_sdist,
    get_requires_for_build_wheel,
    prepare_metadata_for_build_wheel,
)

try:  # PEP 660 (setuptools >= 64)
    from setuptools.build_meta import get_requires_for_build_editable, prepare_metadata_for_build_editable  # noqa: F401
except ImportError:  # pragma: no cover
    pass

_PACKAGE_ROOT = Path(__file__).resolve().parent.parent  # python/
_REPO_ROOT = _PACKAGE_ROOT.parent


class BuildError(RuntimeError):
    pass


def _check_prefix(prefix: Path, origin: str) -> Path:
    header = prefix / "include" / "prwlock.h"
    library = prefix / "lib" / "libprwlock.so.0"
    if not header.is_file() or not library.exists():
        raise BuildError(f"{origin} {prefix} has no include/prwlock.h and lib/libprwlock.so.0; "
                         f"install libprwlock there with the repository's `c/build {prefix}`")
    return prefix


def _libprwlock_prefix() -> Path:
    given = os.environ.get("PRWLOCK_PREFIX")
    if given:
        return _check_prefix(Path(given).resolve(), "PRWLOCK_PREFIX")
    script = _REPO_ROOT / "c" / "build"
    if not script.is_file() or not (_REPO_ROOT / "Package.swift").is_file():
        raise BuildError(
            "swift-prwlock's Python package is built from the repository it lives in: "
            f"{script} and {_REPO_ROOT / 'Package.swift'} are not there (an sdist does not carry the "
            "Swift sources). Build from a clone (`pip install ./python`, `python -m build --wheel python`), "
            "or set PRWLOCK_PREFIX to a prefix where libprwlock is installed.")
    if shutil.which("swift") is None:
        raise BuildError(
            "building swift-prwlock needs the Swift toolchain (`swift` in PATH) to build libprwlock; "
            "install Swift 6 (swift.org), or set PRWLOCK_PREFIX to a prefix where libprwlock is "
            "already installed (`c/build PREFIX` on a machine with Swift).")
    prefix = Path(tempfile.mkdtemp(prefix="swift-prwlock-lib-"))
    print(f"swift-prwlock: building libprwlock with {script} {prefix}", file=sys.stderr, flush=True)
    result = subprocess.run(["bash", str(script), str(prefix)], cwd=str(_REPO_ROOT),
                            stdout=sys.stderr, stderr=sys.stderr)
    if result.returncode != 0:
        raise BuildError(f"{script} {prefix} failed with status {result.returncode} (its output is above)")
    return _check_prefix(prefix, "c/build's prefix")


def _prepare() -> None:
    os.environ["SWIFT_PRWLOCK_LIB_PREFIX"] = str(_libprwlock_prefix())


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    _prepare()
    return _setuptools.build_wheel(wheel_directory, config_settings, metadata_directory)


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    _prepare()
    return _setuptools.build_editable(wheel_directory, config_settings, metadata_directory)
