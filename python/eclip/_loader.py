"""Finds and loads libeclip_c (the C ABI), the way pynvml finds NVML: once per process, on first use.

Where it looks, in order (the first file that exists is loaded; nothing else is tried after it):
  1. $ECLIP_LIBRARY: the path of libeclip_c.so.* (or a folder holding it);
  2. relative to this package when installed: a package at <prefix>/lib/python3/dist-packages/eclip
     (cmake --install) or <prefix>/lib/python3.X/site-packages/eclip (pip) loads
     <prefix>/lib/libeclip_c.so.*, also <prefix>/lib64 and <prefix>/lib/<multiarch>;
  3. a build tree: $ECLIP_BUILD_DIR/src/c_api/libeclip_c.so, or, when this package is the source
     tree's python/eclip, the newest build*/src/c_api/libeclip_c.so or build*/*/src/c_api/... of it;
  4. the system's: ctypes.util.find_library("eclip_c") (the ld.so cache).
The library must report eclip_abi_version() == 3; anything else is refused, saying what was found."""
import ctypes
import ctypes.util
import glob
import os
import sysconfig
import threading

from . import _abi
from .errors import E_UNAVAILABLE, AbiVersionError, EclipError, LibraryError

_LIB_GLOBS = ("libeclip_c.so", "libeclip_c.so.*")
_lock = threading.Lock()
_loaded = None


def _in_folder(folder):
    """libeclip_c.so (or its newest versioned name) in `folder`, or None."""
    for pattern in _LIB_GLOBS:
        hits = sorted(glob.glob(os.path.join(glob.escape(folder), pattern)))
        if hits:
            return hits[0]
    return None


def _package_dir():
    return os.path.dirname(os.path.abspath(__file__))


def _install_prefix(package_dir):
    """<prefix> when the package sits in <prefix>/lib*/python3*/{dist,site}-packages/eclip."""
    site = os.path.dirname(package_dir)
    if os.path.basename(site) not in ("dist-packages", "site-packages"):
        return None
    pyver = os.path.dirname(site)
    if not os.path.basename(pyver).startswith("python3"):
        return None
    libdir = os.path.dirname(pyver)
    if not os.path.basename(libdir).startswith("lib"):
        return None
    return os.path.dirname(libdir)


def _installed_candidates(package_dir):
    prefix = _install_prefix(package_dir)
    if prefix is None:
        return []
    folders = [os.path.join(prefix, "lib"), os.path.join(prefix, "lib64")]
    multiarch = sysconfig.get_config_var("MULTIARCH")
    if multiarch:
        folders.append(os.path.join(prefix, "lib", multiarch))
    return folders


def _source_tree_build(package_dir):
    """The newest libeclip_c in the build folders of the source tree this package belongs to."""
    repo = os.path.dirname(os.path.dirname(package_dir))
    if os.path.basename(os.path.dirname(package_dir)) != "python" or not os.path.isfile(
            os.path.join(repo, "include", "eclip", "eclip_c.h")):
        return None
    hits = []
    for pattern in ("build*/src/c_api/libeclip_c.so", "build*/*/src/c_api/libeclip_c.so"):
        hits += glob.glob(os.path.join(glob.escape(repo), pattern))
    return max(hits, key=os.path.getmtime) if hits else None


def candidates():
    """[(what, path or None)] in search order; path None: nothing there."""
    out = []
    env = os.environ.get("ECLIP_LIBRARY")
    if env:
        out.append(("$ECLIP_LIBRARY", _in_folder(env) if os.path.isdir(env) else env))
    pkg = _package_dir()
    for folder in _installed_candidates(pkg):
        out.append((f"the install prefix ({folder})", _in_folder(folder)))
    build = os.environ.get("ECLIP_BUILD_DIR")
    if build:
        out.append(("$ECLIP_BUILD_DIR", _in_folder(os.path.join(build, "src", "c_api"))))
    out.append(("the source tree's build folders", _source_tree_build(pkg)))
    out.append(('ctypes.util.find_library("eclip_c")', ctypes.util.find_library("eclip_c")))
    return out


class Library:
    """The loaded libeclip_c with its functions declared. ctypes.CDLL releases the GIL during calls."""

    def __init__(self, path, how):
        self.path = path
        self.how = how
        try:
            self.cdll = ctypes.CDLL(path)
        except OSError as e:
            raise LibraryError(f"cannot load {path} (from {how}): {e}") from e
        try:
            version = self.cdll.eclip_abi_version
        except AttributeError:
            raise AbiVersionError(f"{path} (from {how}) has no eclip_abi_version(): not libeclip_c, or one from "
                                  f"before the versioned ABI; this eclip package needs C ABI version "
                                  f"{_abi.ABI_VERSION}", None, _abi.ABI_VERSION) from None
        version.argtypes, version.restype = [], ctypes.c_int
        self.abi_version = version()
        if self.abi_version != _abi.ABI_VERSION:
            raise AbiVersionError(f"{path} (from {how}) speaks C ABI version {self.abi_version}, this eclip package "
                                  f"needs version {_abi.ABI_VERSION}: install the package and the library of one "
                                  "release, or point ECLIP_LIBRARY at a matching libeclip_c",
                                  self.abi_version, _abi.ABI_VERSION)
        self.missing = []
        for name, (args, res) in _abi.SIGNATURES.items():
            fn = getattr(self.cdll, name, None)
            if fn is None:
                self.missing.append(name)
                continue
            fn.argtypes, fn.restype = args, res
            setattr(self, name, fn)

    def __getattr__(self, name):
        # Only reached for a declared function the library lacks.
        if name.startswith("eclip_"):
            raise LibraryError(f"{self.path} has C ABI version {self.abi_version} but lacks {name}()")
        raise AttributeError(name)

    def last_error(self):
        msg = self.eclip_last_error()
        return msg.decode(errors="replace") if msg else ""

    def take_string(self, ptr):
        """The text of a string the library allocated (ptr: a ctypes.c_void_p the call filled; "" when
        NULL), freed with eclip_string_free."""
        try:
            return ctypes.string_at(ptr.value).decode() if ptr.value else ""
        finally:
            self.eclip_string_free(ptr)

    def check(self, rc, what=""):
        """Raises EclipError(rc, the thread's message) unless rc is ECLIP_OK. Call it right after the
        call, on the same thread (the message is thread-local)."""
        if rc != 0:
            raise EclipError(rc, self.last_error() or "(no message)", what)

    def __repr__(self):
        return f"<libeclip_c {self.path} (C ABI {self.abi_version}, from {self.how})>"


def load(path=None):
    """The library (loaded once). path: load this file instead of searching (first call only)."""
    global _loaded
    with _lock:
        if _loaded is not None:
            if path and os.path.realpath(path) != os.path.realpath(_loaded.path):
                raise LibraryError(f"{_loaded.path} is loaded already; cannot switch to {path} in this process")
            return _loaded
        if path:
            _loaded = Library(path, "the caller")
            return _loaded
        tried = candidates()
        for how, found in tried:
            if how == "$ECLIP_LIBRARY" and not (found and os.path.exists(found)):
                raise LibraryError(f"ECLIP_LIBRARY={os.environ.get('ECLIP_LIBRARY')!r}: no such file (or no "
                                   "libeclip_c.so in that folder)")
            # find_library gives a soname for the loader's own search, not a path
            if found and (os.path.exists(found) or how.startswith("ctypes")):
                _loaded = Library(found, how)
                return _loaded
        looked = "; ".join(f"{how}: {p or 'nothing'}" for how, p in tried)
        raise LibraryError("libeclip_c.so not found (looked at " + looked + "). Install eclip (cmake --install) "
                           "or set ECLIP_LIBRARY to the path of libeclip_c.so")


def reset_for_tests():
    """Forgets the loaded library so that a test can load another (the old one stays mapped)."""
    global _loaded
    with _lock:
        _loaded = None


__all__ = ["Library", "load", "candidates", "E_UNAVAILABLE"]
