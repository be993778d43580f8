"""An owned C handle: destroyed by close(), by `with`, or when garbage-collected. The library keeps
what a handle uses alive (a router its pool, a pool its backend), so handles may go in any order."""
import ctypes

from . import _loader


class Handle:
    _destroy = None  # name of the C destroy function

    def __init__(self, lib=None):
        self._lib = lib or _loader.load()
        self._h = ctypes.c_void_p()

    @property
    def handle(self):
        """The raw C pointer (ctypes.c_void_p); raises once closed."""
        if not self._h:
            raise ValueError(f"{type(self).__name__} is closed")
        return self._h

    @property
    def closed(self):
        return not self._h

    def close(self):
        h, self._h = self._h, ctypes.c_void_p()
        if h:
            getattr(self._lib, self._destroy)(h)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:  # interpreter shutdown: the library may be gone already
            pass
