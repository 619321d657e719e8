"""`fastnet` as a process and a distribution: its version, its name and licence, its
install hints, and a quiet end when the reader of its output goes away."""
import gc
import importlib.metadata
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import fastnet
from commands import SMALL
from fastnet import _compiling, cli, network

ROOT = Path(__file__).resolve().parent.parent


def test_version_names_the_distribution(capsys):
    with pytest.raises(SystemExit) as exit:
        cli.main(["--version"])
    assert exit.value.code == 0
    assert capsys.readouterr().out == f"fastnet-nndl {fastnet.__version__}\n"
    assert importlib.metadata.version("fastnet-nndl") == fastnet.__version__


def test_version_without_installed_metadata_is_the_packages(capsys, monkeypatch):
    def not_installed(name):
        raise importlib.metadata.PackageNotFoundError(name)
    monkeypatch.setattr(importlib.metadata, "version", not_installed)
    with pytest.raises(SystemExit):
        cli.main(["--version"])
    assert capsys.readouterr().out == f"fastnet-nndl {fastnet.__version__}\n"


def after_the_command(unset, told, expression):
    """``expression`` (Python source, printed) in a process that ran ``fastnet --version``
    as the ``fastnet`` script does, with the variable ``unset`` set to ``told`` (None: unset)."""
    env = {name: value for name, value in os.environ.items() if name != unset}
    if told is not None:
        env[unset] = told
    script = ("import sys\nimport fastnet.__main__\nsys.argv = ['fastnet', '--version']\n"
              "try:\n    fastnet.__main__.main()\nexcept SystemExit:\n    pass\n"
              f"print({expression})")
    return subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                          text=True, check=True).stdout.splitlines()


OPENBLAS_POOLS = ("sorted({pool['num_threads'] for pool in __import__('threadpoolctl').threadpool_info() "
                  "if pool['internal_api'] == 'openblas'})")


@pytest.mark.skipif(os.cpu_count() < 2, reason="OpenBLAS starts no threads on one core anyway")
@pytest.mark.parametrize("told, threads", [(None, [1]), ("2", [2])])
def test_the_command_asks_openblas_for_no_threads_unless_told(told, threads):
    """The command computes on Numba's threads; OpenBLAS's pool would spin a core at
    start. A number the user set is kept."""
    found = after_the_command("OPENBLAS_NUM_THREADS", told, OPENBLAS_POOLS)
    if found[-1] == "[]":
        pytest.skip("this NumPy does not use OpenBLAS")
    assert found == ["fastnet-nndl " + fastnet.__version__, str(threads)]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="NumPy asks for huge pages on Linux")
@pytest.mark.parametrize("told, asked", [(None, False), ("1", True)])
def test_the_command_asks_numpy_for_no_huge_pages_unless_told(told, asked):
    """Huge pages cost the command's start up to 0.4 s where Linux compacts memory for
    them. A setting the user made is kept."""
    core = "(getattr(__import__('numpy'), '_core', None) or __import__('numpy').core)"
    found = after_the_command("NUMPY_MADVISE_HUGEPAGE", told,
                              f"{core}.multiarray._get_madvise_hugepage()")
    assert found == ["fastnet-nndl " + fastnet.__version__, str(asked)]


def test_the_distribution_is_fastnet_nndl_under_the_mit_licence():
    metadata = importlib.metadata.metadata("fastnet-nndl")
    assert metadata["Name"] == "fastnet-nndl" and metadata["License-Expression"] == "MIT"
    licence = (ROOT / "LICENSE").read_text()
    assert licence.startswith("MIT License\n\nCopyright (c) 2026 the fastnet developers\n")
    assert "THE SOFTWARE IS PROVIDED \"AS IS\"" in licence


def test_every_install_line_of_the_readme_names_the_distribution():
    installs = re.findall(r"pip install [^\n`]*", (ROOT / "README.md").read_text())
    assert installs
    for line in installs:
        assert re.match(r"pip install (-e '\.\[[a-z,]+\]'|'fastnet-nndl\[[a-z,]+\]')", line), line


@pytest.mark.parametrize("command", ["evaluate", "train"])
def test_a_closed_pipe_ends_the_command_quietly(mnist_dir, tmp_path, command):
    np.random.seed(0)
    network.Network([784, 10, 10]).save(tmp_path / "model.npz")
    argv = [str(tmp_path / "model.npz")] if command == "evaluate" else [*SMALL, "--epochs", "3"]
    with subprocess.Popen([sys.executable, "-m", "fastnet", command, *argv, "--data", str(mnist_dir)],
                          cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as child:
        child.stdout.close()  # the reader is gone, as after `fastnet evaluate model.npz | head -1`
        try:
            err = child.stderr.read()
            child.wait(timeout=60)
        finally:
            child.kill()
    announced = f"{_compiling.MESSAGE}\n".encode()   # a first run in a new cache says so
    assert err.removeprefix(announced) == b"" and child.returncode == cli.BROKEN_PIPE == 141


def test_the_command_returns_mains_code_and_leaves_the_objects_to_the_exit(monkeypatch, capsys, tmp_path):
    """``fastnet`` (``cli.command``) is ``cli.main`` and then ``gc.freeze``: Python's
    collections at exit skip every object there is."""
    monkeypatch.setattr(sys, "argv", ["fastnet", "evaluate", str(tmp_path / "missing.npz")])
    try:
        assert cli.command() == 2
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
    assert "missing.npz" in capsys.readouterr().err
