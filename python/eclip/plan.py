"""Plan: per worker, the partition each kernel group runs on ("eclip.plan" JSON), validated against
a backend's topology. Made by the library's planner (Plan.make: baseline, model-wise, static-equal,
kernel-wise, eclip-budget, eclip), from a point of the plan space (eclip.search.plan_for), read from
JSON or a file, written atomically by the library."""
import ctypes
import json
import os

from ._handle import Handle

STRATEGIES = ("baseline", "model-wise", "static-equal", "kernel-wise", "eclip-budget", "eclip")


def default_mixes():
    """The paper's seven default mixes, {"mix1": [model, ...], ...} in order: the library's list
    (eclip_default_mixes), the one `eclip simulate` and `eclip plan` run."""
    from ._loader import load
    lib = load()
    out = ctypes.c_void_p()
    lib.check(lib.eclip_default_mixes(ctypes.byref(out)), "default_mixes")
    doc = json.loads(lib.take_string(out))
    return {m["name"]: list(m["models"]) for m in doc["mixes"]}


class Plan(Handle):
    _destroy = "eclip_plan_destroy"

    def __init__(self, _private=None, backend=None):
        if _private is not True:
            raise TypeError("use Plan.make, Plan.from_json or Plan.from_file")
        super().__init__(backend._lib)
        self.backend = backend
        self._dict = None

    @classmethod
    def from_json(cls, backend, doc):
        """doc: the JSON text, or a dict that is serialised first."""
        text = doc if isinstance(doc, str) else json.dumps(doc)
        p = cls(True, backend)
        p._lib.check(p._lib.eclip_plan_from_json(backend.handle, text.encode(), ctypes.byref(p._h)), "plan")
        return p

    @classmethod
    def from_file(cls, backend, path):
        p = cls(True, backend)
        p._lib.check(p._lib.eclip_plan_from_file(backend.handle, os.fsencode(path), ctypes.byref(p._h)),
                     f"plan {path}")
        return p

    @classmethod
    def make(cls, backend, profile, models, strategy="eclip", switch_budget=None, tolerance=None):
        """The planner's plan for `models` (one worker each, names in `profile`) under `strategy`
        (STRATEGIES: "eclip" is the co-location planner, the plan space searched with the
        co-location model; "eclip-budget" ECLIP's optimizer). switch_budget: switches per request
        for "eclip" and "eclip-budget" (None: the library's default); tolerance: the minimum-threshold tolerance (None: the
        default). Checked against the backend's topology (the profile's device must be it)."""
        models = list(models)
        names = (ctypes.c_char_p * max(len(models), 1))(*[m.encode() for m in models])
        budget = -1 if switch_budget is None else int(switch_budget)
        tol = -1.0 if tolerance is None else float(tolerance)
        p = cls(True, backend)
        p._lib.check(p._lib.eclip_plan_make(backend.handle, profile.handle, names, len(models), strategy.encode(),
                                            budget, tol, ctypes.byref(p._h)),
                     f"plan {strategy} for {','.join(models)}")
        return p

    @property
    def workers(self):
        n = ctypes.c_uint32()
        self._lib.check(self._lib.eclip_plan_workers(self.handle, ctypes.byref(n)), "plan workers")
        return int(n.value)

    def to_json(self):
        """The plan's JSON text (format "eclip.plan"), as the library writes it."""
        needed = ctypes.c_size_t()
        self._lib.check(self._lib.eclip_plan_to_json(self.handle, None, 0, ctypes.byref(needed)), "plan to_json")
        buf = ctypes.create_string_buffer(needed.value)
        self._lib.check(self._lib.eclip_plan_to_json(self.handle, buf, needed.value, ctypes.byref(needed)),
                        "plan to_json")
        return buf.value.decode()

    def to_dict(self):
        if self._dict is None:
            self._dict = json.loads(self.to_json())
        return json.loads(json.dumps(self._dict))  # a copy: the plan itself cannot be edited through it

    def write(self, path):
        """Writes the plan's JSON to `path` atomically (on failure the old file is intact)."""
        self._lib.check(self._lib.eclip_plan_write(self.handle, os.fsencode(path)), f"plan write {path}")

    @property
    def models(self):
        """Each worker's model name, in worker order (from the plan's JSON)."""
        return [w["model"] for w in self._cached()["workers"]]

    @property
    def strategy(self):
        return self._cached().get("strategy")

    def kernel_count(self, worker):
        """Units (kernels or kernel groups) in one request of `worker`, per the plan's JSON."""
        groups = self._cached()["workers"][worker]["groups"]
        return max((g["first"] + g["count"] for g in groups), default=0)

    def _cached(self):
        if self._dict is None:
            self._dict = json.loads(self.to_json())
        return self._dict

    def __repr__(self):
        if self.closed:
            return "Plan(closed)"
        return f"Plan({self.strategy}: {', '.join(self.models)})"
