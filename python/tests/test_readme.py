"""The ```python blocks of python/README.md and of the repository's README.md, each run as a
script (so that `if __name__ == "__main__":` and spawned children work as they do for a reader
who copies them)."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from swift_prwlock import RWLock

README = Path(__file__).resolve().parent.parent / "README.md"
MAIN_README = Path(__file__).resolve().parent.parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
MAIN_BLOCKS = re.findall(r"```python\n(.*?)```", MAIN_README.read_text(encoding="utf-8"), re.S)
NAMES_USED = ["inventory"]


def test_readme_has_examples():
    assert len(BLOCKS) >= 4
    assert len(MAIN_BLOCKS) >= 1


@pytest.fixture
def clean_names():
    """Named locks the examples create are removed afterwards, unless they existed before."""
    existed = {name for name in NAMES_USED if os.path.exists(f"/dev/shm/prwlock.{name}")}
    yield
    for name in NAMES_USED:
        if name not in existed:
            try:
                RWLock.remove(name)
            except FileNotFoundError:
                pass


def run_block(block, tmp_path, label):
    script = tmp_path / f"{label}.py"
    script.write_text(block, encoding="utf-8")
    result = subprocess.run([sys.executable, str(script)], cwd=str(tmp_path), capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, f"{label} failed:\n{block}\n{result.stdout}\n{result.stderr}"


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_example(index, tmp_path, clean_names):
    run_block(BLOCKS[index], tmp_path, f"python_readme_example_{index}")


@pytest.mark.parametrize("index", range(len(MAIN_BLOCKS)))
def test_main_readme_example(index, tmp_path, clean_names):
    run_block(MAIN_BLOCKS[index], tmp_path, f"main_readme_example_{index}")
