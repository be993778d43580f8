"""Green contexts current in capture threads (the resnext101 fix, docs/workloads.md "green-current").

cuDNN creates its handle's internal streams in the context current when the handle is made, and
PyTorch makes one cuDNN (and cuBLAS) handle per thread. When every graph is captured from the main
thread, the primary context is current there, so resnext101's grouped convolutions fork onto
primary-context streams even while the capture stream is a green stream: the captured graph then
holds work of two contexts, and green-context partitions ran in lockstep on the H100 (run 2 of
docs/results/h100-colocation-2026-11-25).

ContextThreads runs a callable in a thread where the green context of a given stream is current
(cuStreamGetCtx_v2 -> cuCtxFromGreenCtx -> cuCtxSetCurrent, before any library call in that thread),
so the libraries' handles and internal streams are created in that green context. One thread per
green context; the threads are never ended: PyTorch returns a finished thread's handles to a pool
that other threads reuse, and a reused handle would carry its old context. A stream of the primary
context (the whole device) is run in the calling thread. Needs only ctypes and libcuda.so.1; the
module imports without a driver."""
import ctypes
import queue
import threading

CUDA_SUCCESS = 0


class CudaDriver:
    """The few driver entry points needed, through ctypes."""

    def __init__(self, path="libcuda.so.1"):
        self.lib = ctypes.CDLL(path)
        L = self.lib
        L.cuGetErrorName.argtypes = [ctypes.c_int, ctypes.POINTER(ctypes.c_char_p)]
        L.cuCtxSetCurrent.argtypes = [ctypes.c_void_p]
        L.cuCtxGetCurrent.argtypes = [ctypes.POINTER(ctypes.c_void_p)]
        L.cuCtxFromGreenCtx.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_void_p]
        L.cuStreamGetCtx.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p)]
        self.has_v2 = hasattr(L, "cuStreamGetCtx_v2")
        if self.has_v2:
            L.cuStreamGetCtx_v2.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p),
                                            ctypes.POINTER(ctypes.c_void_p)]

    def check(self, rc, what):
        if rc != CUDA_SUCCESS:
            name = ctypes.c_char_p()
            self.lib.cuGetErrorName(rc, ctypes.byref(name))
            raise RuntimeError(f"{what} failed: {(name.value or b'?').decode()} ({rc})")

    def current(self):
        c = ctypes.c_void_p()
        self.check(self.lib.cuCtxGetCurrent(ctypes.byref(c)), "cuCtxGetCurrent")
        return c.value

    def set_current(self, ctx):
        self.check(self.lib.cuCtxSetCurrent(ctx), "cuCtxSetCurrent")

    def green_context_of(self, stream):
        """The CUcontext (converted from the green context) a stream was created in, or None when the
        stream belongs to a regular (primary) context."""
        ctx, gctx = ctypes.c_void_p(), ctypes.c_void_p()
        if self.has_v2:
            self.check(self.lib.cuStreamGetCtx_v2(ctypes.c_void_p(stream), ctypes.byref(ctx), ctypes.byref(gctx)),
                       "cuStreamGetCtx_v2")
            if not gctx.value:
                return None
            out = ctypes.c_void_p()
            self.check(self.lib.cuCtxFromGreenCtx(ctypes.byref(out), gctx), "cuCtxFromGreenCtx")
            return out.value
        raise RuntimeError("the driver has no cuStreamGetCtx_v2 (needs CUDA 12.5+): cannot tell green streams")


class _ParkedThread:
    def __init__(self, name, init):
        self.q = queue.Queue()
        self.ready = threading.Event()
        self.init_error = None
        self.t = threading.Thread(target=self._main, args=(init,), name=name, daemon=True)
        self.t.start()
        self.ready.wait()
        if self.init_error:
            raise RuntimeError(f"{name}: {self.init_error}")

    def _main(self, init):
        try:
            init()
        except Exception as e:  # reported to the creator
            self.init_error = f"{type(e).__name__}: {e}"
            self.ready.set()
            return
        self.ready.set()
        while True:  # never ends (see the module docstring)
            fn, box, done = self.q.get()
            try:
                box["value"] = fn()
            except BaseException as e:
                box["error"] = e
            done.set()

    def run(self, fn):
        box, done = {}, threading.Event()
        self.q.put((fn, box, done))
        done.wait()
        if "error" in box:
            raise box["error"]
        return box["value"]


class ContextThreads:
    """run(stream, fn): fn() in a thread whose current context is `stream`'s green context (created on
    first use), or here when `stream` is in a regular context."""

    def __init__(self, before=None, driver=None):
        self.drv = driver or CudaDriver()
        self.before = before  # called first in each new thread, before its context is made current
        self.threads = {}  # ctx -> thread, this generation of contexts
        self.retired = []  # threads of earlier generations: parked for good, never reused
        self.checked = {}
        self.calls = 0
        self.lost = 0  # calls after which the thread's current context was no longer its green context  # ctx -> what cuCtxGetCurrent returned in its thread after the switch

    def _init(self, ctx):
        if self.before:
            self.before()
        self.drv.set_current(ctx)
        self.checked[ctx] = self.drv.current()
        if self.checked[ctx] != ctx:
            raise RuntimeError(f"context {ctx:#x} set current, but {self.checked[ctx]:#x} is")

    def context_of(self, stream):
        return self.drv.green_context_of(stream)

    def run(self, stream, fn):
        ctx = self.drv.green_context_of(stream)
        if ctx is None:
            return fn()
        th = self.threads.get(ctx)
        if th is None:
            th = self.threads[ctx] = _ParkedThread(f"green-{ctx:#x}", lambda: self._init(ctx))

        def checked():
            if self.drv.current() != ctx:
                self.lost += 1
                self.drv.set_current(ctx)
            v = fn()
            if self.drv.current() != ctx:
                self.lost += 1
            return v
        self.calls += 1
        return th.run(checked)

    def new_generation(self):
        """Before the contexts of this generation are destroyed: a later context may get the same
        handle value, and must not find the old thread (whose library handles belong to the old one)."""
        self.retired += list(self.threads.values())
        self.threads = {}

    def stats(self):
        return {"threads": len(self.threads) + len(self.retired), "calls": self.calls, "context_lost": self.lost}
