"""The loader: where it finds libeclip_c and what it says when it cannot use what it found. Each
case runs in a fresh interpreter (the library is loaded once per process)."""
import os
import shutil
import subprocess
import sys
import textwrap

import pytest

import eclip

PYTHON_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROBE = textwrap.dedent("""
    import eclip
    try:
        lib = eclip.load_library()
        print("LOADED", lib.how, "|", lib.path)
    except eclip.EclipError as e:
        print("ERROR", type(e).__name__, e.code, "|", e)
""")


def probe(env_extra, pythonpath=PYTHON_DIR, drop=("ECLIP_LIBRARY", "ECLIP_BUILD_DIR")):
    env = {k: v for k, v in os.environ.items() if k not in drop and k != "PYTHONPATH"}
    env.update(env_extra)
    env["PYTHONPATH"] = pythonpath
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, cwd="/",
                         timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_env_path_that_does_not_exist_is_named():
    out = probe({"ECLIP_LIBRARY": "/nonexistent/libeclip_c.so"})
    assert out.startswith("ERROR LibraryError 5") and "/nonexistent/libeclip_c.so" in out


def test_env_folder_is_searched(lib):
    out = probe({"ECLIP_LIBRARY": os.path.dirname(lib.path)})
    assert out.startswith("LOADED $ECLIP_LIBRARY")


def test_not_found_says_where_it_looked(tmp_path):
    # A copy of the package outside any source tree or prefix, and no library anywhere it looks.
    shutil.copytree(os.path.join(PYTHON_DIR, "eclip"), tmp_path / "eclip")
    out = probe({"LD_LIBRARY_PATH": ""}, pythonpath=str(tmp_path))
    if out.startswith("LOADED"):
        pytest.skip(f"a libeclip_c is installed system-wide here ({out}): cannot test 'not found'")
    assert out.startswith("ERROR LibraryError 5") and "not found" in out and "ECLIP_LIBRARY" in out


def test_found_relative_to_the_install_prefix(lib, tmp_path):
    site = tmp_path / "lib" / "python3" / "dist-packages"
    shutil.copytree(os.path.join(PYTHON_DIR, "eclip"), site / "eclip")
    os.symlink(os.path.realpath(lib.path), tmp_path / "lib" / "libeclip_c.so.0")
    out = probe({}, pythonpath=str(site))
    assert out.startswith("LOADED the install prefix") and str(tmp_path / "lib") in out


def test_build_dir_env(lib, tmp_path):
    c_api = os.path.dirname(lib.path)
    if os.path.basename(c_api) != "c_api":
        pytest.skip(f"{lib.path} is not in a build tree")
    shutil.copytree(os.path.join(PYTHON_DIR, "eclip"), tmp_path / "eclip")
    out = probe({"ECLIP_BUILD_DIR": os.path.dirname(os.path.dirname(c_api))}, pythonpath=str(tmp_path))
    assert out.startswith("LOADED $ECLIP_BUILD_DIR")


def fake_library(tmp_path, body):
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if cc is None:
        pytest.skip("SKIPPED: no C compiler to build a fake libeclip_c")
    src = tmp_path / "fake.c"
    src.write_text(body)
    so = tmp_path / "libeclip_c.so"
    subprocess.run([cc, "-shared", "-fPIC", "-o", str(so), str(src)], check=True)
    return str(so)


def test_other_abi_version_is_refused_with_both_numbers(tmp_path):
    so = fake_library(tmp_path, "int eclip_abi_version(void) { return 1; }\n")
    out = probe({"ECLIP_LIBRARY": so})
    assert out.startswith("ERROR AbiVersionError 5")
    assert "version 1" in out and f"version {eclip.ABI_VERSION}" in out and so in out


def test_not_libeclip_c_is_refused(tmp_path):
    so = fake_library(tmp_path, "int something_else(void) { return 0; }\n")
    out = probe({"ECLIP_LIBRARY": so})
    assert out.startswith("ERROR AbiVersionError 5") and "no eclip_abi_version" in out


def test_unloadable_file_is_named(tmp_path):
    bad = tmp_path / "libeclip_c.so"
    bad.write_text("not an ELF file")
    out = probe({"ECLIP_LIBRARY": str(bad)})
    assert out.startswith("ERROR LibraryError 5") and "cannot load" in out and str(bad) in out


def test_package_imports_without_the_library(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "ECLIP_LIBRARY"}
    env.update({"PYTHONPATH": PYTHON_DIR, "ECLIP_LIBRARY": "/nonexistent"})
    code = "import eclip, eclip.torch, eclip.stats, eclip.preload; print(eclip.__version__)"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == eclip.__version__, out.stderr


def test_require_torch_sets_the_hardware_queues_before_the_driver_starts(monkeypatch):
    # Before `import torch` and torch.cuda.is_available() (which starts the driver): the user's own
    # value is kept, and nothing is set when no GPU is wanted.
    from eclip.torch import require_torch
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` fails on every machine
    monkeypatch.delenv("CUDA_DEVICE_MAX_CONNECTIONS", raising=False)
    with pytest.raises(ImportError, match="needs PyTorch"):
        require_torch()
    assert os.environ["CUDA_DEVICE_MAX_CONNECTIONS"] == "32"
    monkeypatch.setenv("CUDA_DEVICE_MAX_CONNECTIONS", "4")
    with pytest.raises(ImportError):
        require_torch()
    assert os.environ["CUDA_DEVICE_MAX_CONNECTIONS"] == "4"
    monkeypatch.delenv("CUDA_DEVICE_MAX_CONNECTIONS")
    with pytest.raises(ImportError):
        require_torch(cuda=False)
    assert "CUDA_DEVICE_MAX_CONNECTIONS" not in os.environ
