"""Builds the extension module against the libprwlock that _build_backend/backend.py prepared.

Run through the PEP 517 backend (`pip install ./python`, `python -m build --wheel python`), which
sets SWIFT_PRWLOCK_LIB_PREFIX; running setup.py by hand needs it (or PRWLOCK_PREFIX) set.
"""

import os
import shutil
import subprocess

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

PREFIX = os.environ.get("SWIFT_PRWLOCK_LIB_PREFIX") or os.environ.get("PRWLOCK_PREFIX")


class build_ext_with_libprwlock(build_ext):
    """Compiles _native against libprwlock and puts libprwlock.so.0 beside it (rpath $ORIGIN)."""

    def run(self):
        if not PREFIX:
            raise SystemExit("swift-prwlock: build through the PEP 517 backend (pip install ./python), "
                             "or set PRWLOCK_PREFIX to a prefix where libprwlock is installed")
        super().run()
        source = os.path.join(PREFIX, "lib", "libprwlock.so.0")
        target_dir = os.path.dirname(self.get_ext_fullpath("swift_prwlock._native"))
        os.makedirs(target_dir, exist_ok=True)
        target = os.path.join(target_dir, "libprwlock.so.0")
        if os.path.lexists(target):
            os.remove(target)
        shutil.copyfile(os.path.realpath(source), target)
        os.chmod(target, 0o755)
        # The library's symbol tables and debug information are not needed to run it; without
        # them the wheel is several times smaller. SWIFT_PRWLOCK_NO_STRIP=1 keeps them.
        if not os.environ.get("SWIFT_PRWLOCK_NO_STRIP") and shutil.which("strip"):
            subprocess.run(["strip", "--strip-unneeded", target], check=True)


ext = Extension(
    "swift_prwlock._native",
    sources=["src/swift_prwlock/_native.c"],
    include_dirs=[os.path.join(PREFIX, "include")] if PREFIX else [],
    library_dirs=[os.path.join(PREFIX, "lib")] if PREFIX else [],
    libraries=["prwlock"],
    runtime_library_dirs=["$ORIGIN"],
    extra_compile_args=["-O2", "-std=c11", "-Wall"],
)

setup(ext_modules=[ext], cmdclass={"build_ext": build_ext_with_libprwlock})
