"""The C ABI's types and function signatures (include/eclip/eclip_c.h, ECLIP_C_ABI_VERSION 3), for
ctypes. Only declarations: what each call does is the library's business."""
import ctypes

ABI_VERSION = 3

ROUTE_SWITCHED = 0x1  # the previous launch of this worker went to another stream
ROUTE_BARRIER = 0x2   # ... and had not completed, so this stream waits for it

# enum eclip_route_status
ROUTED, NO_PLAN_ENTRY, BACKEND_ERROR, BUDGET_HELD = 0, 1, 2, 3
ROUTE_STATUS_NAMES = {ROUTED: "routed", NO_PLAN_ENTRY: "no_plan_entry", BACKEND_ERROR: "backend_error",
                      BUDGET_HELD: "budget_held"}


class Route(ctypes.Structure):
    """eclip_route: where the router put one unit."""
    _fields_ = [("stream", ctypes.c_uint64), ("kernel", ctypes.c_uint32), ("slot", ctypes.c_uint16),
                ("status", ctypes.c_uint16), ("flags", ctypes.c_uint32), ("reserved", ctypes.c_uint32)]

    @property
    def switched(self):
        return bool(self.flags & ROUTE_SWITCHED)

    @property
    def barrier(self):
        return bool(self.flags & ROUTE_BARRIER)

    @property
    def status_name(self):
        return ROUTE_STATUS_NAMES.get(self.status, f"status {self.status}")

    def as_dict(self):
        return {"stream": int(self.stream), "kernel": int(self.kernel), "slot": int(self.slot),
                "status": self.status_name, "switched": self.switched, "barrier": self.barrier}

    def __repr__(self):
        return (f"Route(stream={self.stream:#x}, kernel={self.kernel}, slot={self.slot}, status={self.status_name}, "
                f"switched={self.switched}, barrier={self.barrier})")


COUNTER_FIELDS = ("requests", "launches", "switches", "barriers", "unrouted", "backend_errors", "budget_held")


class Counters(ctypes.Structure):
    """eclip_counters: a router's counts for one worker or all."""
    _fields_ = [(n, ctypes.c_uint64) for n in COUNTER_FIELDS]

    def as_dict(self):
        return {n: int(getattr(self, n)) for n in COUNTER_FIELDS}


class TopologyInfo(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char * 64), ("device", ctypes.c_char * 128), ("units", ctypes.c_uint32),
                ("groups", ctypes.c_uint32), ("max_masked_streams", ctypes.c_uint32), ("vendor", ctypes.c_uint32)]


class EnergyWindow(ctypes.Structure):
    _fields_ = [("seconds", ctypes.c_double), ("joules", ctypes.c_double), ("avg_power_w", ctypes.c_double),
                ("start_j", ctypes.c_double), ("end_j", ctypes.c_double), ("edge_wait_s", ctypes.c_double),
                ("aligned", ctypes.c_uint32), ("reserved", ctypes.c_uint32)]

    def as_dict(self):
        return {"seconds": self.seconds, "joules": self.joules, "avg_power_w": self.avg_power_w,
                "start_j": self.start_j, "end_j": self.end_j, "edge_wait_s": self.edge_wait_s,
                "aligned": bool(self.aligned)}


SYNC_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p)


class Evaluation(ctypes.Structure):
    """eclip_evaluation: what an evaluator reports for one plan (arrays owned by the library)."""
    _fields_ = [("throughput_rps", ctypes.POINTER(ctypes.c_double)), ("p95_ms", ctypes.POINTER(ctypes.c_double)),
                ("workers", ctypes.c_uint32), ("power_w", ctypes.c_double), ("window_s", ctypes.c_double),
                ("error", ctypes.c_char_p)]


# int (*eclip_evaluate_fn)(void* user, const eclip_plan* plan, const char* candidate_json, eclip_evaluation* out)
EVALUATE_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_char_p,
                               ctypes.POINTER(Evaluation))

_vp, _u32, _u64, _i32, _i64, _sz, _int = (ctypes.c_void_p, ctypes.c_uint32, ctypes.c_uint64, ctypes.c_int32,
                                          ctypes.c_int64, ctypes.c_size_t, ctypes.c_int)
_str, _dbl, _P = ctypes.c_char_p, ctypes.c_double, ctypes.POINTER
_dim3 = _P(_u32)  # uint32_t[3] decays to a pointer; pass (c_uint32 * 3)(...)

# name: (argument types, result type)
SIGNATURES = {
    "eclip_abi_version": ([], _int),
    "eclip_version": ([], _str),
    "eclip_last_error": ([], _str),
    "eclip_status_name": ([_int], _str),
    "eclip_backend_create": ([_str, _P(_vp)], _int),
    "eclip_backend_destroy": ([_vp], None),
    "eclip_backend_topology": ([_vp, _P(TopologyInfo)], _int),
    "eclip_profile_from_json": ([_str, _P(_vp)], _int),
    "eclip_profile_from_file": ([_str, _P(_vp)], _int),
    "eclip_profile_destroy": ([_vp], None),
    "eclip_plan_from_json": ([_vp, _str, _P(_vp)], _int),
    "eclip_plan_from_file": ([_vp, _str, _P(_vp)], _int),
    "eclip_plan_make": ([_vp, _vp, _P(_str), _sz, _str, _i64, _dbl, _P(_vp)], _int),
    "eclip_plan_to_json": ([_vp, ctypes.c_char_p, _sz, _P(_sz)], _int),
    "eclip_plan_from_candidate": ([_vp, _str, _str, _str, _P(_vp)], _int),
    "eclip_search": ([_vp, _str, EVALUATE_FN, _vp, _P(_vp), _P(_vp)], _int),
    "eclip_string_free": ([_vp], None),
    "eclip_default_mixes": ([_P(_vp)], _int),
    "eclip_objective_score": ([_str, _P(Evaluation), _P(_dbl), _P(_dbl), _P(_vp)], _int),
    "eclip_objective_violation": ([_str, _P(Evaluation), _P(_dbl)], _int),
    "eclip_percentile": ([_P(_dbl), _sz, _dbl, _P(_dbl)], _int),
    "eclip_jain_index": ([_P(_dbl), _sz, _P(_dbl)], _int),
    "eclip_predict": ([_vp, _vp, _str, _P(Evaluation)], _int),
    "eclip_plan_write": ([_vp, _str], _int),
    "eclip_plan_destroy": ([_vp], None),
    "eclip_plan_workers": ([_vp, _P(_u32)], _int),
    "eclip_pool_create": ([_vp, _vp, _P(_vp)], _int),
    "eclip_pool_destroy": ([_vp], None),
    "eclip_pool_slot_count": ([_vp, _u32, _P(_u32)], _int),
    "eclip_pool_slot": ([_vp, _u32, _u32, _P(_u64), _P(_u32)], _int),
    "eclip_pool_slot_push_context": ([_vp, _u32, _u32], _int),
    "eclip_pool_slot_pop_context": ([_vp], _int),
    "eclip_pool_slot_capture_stream": ([_vp, _u32, _u32, _u64, _P(_u64)], _int),
    "eclip_router_create": ([_vp, _vp, _i64, _P(_vp)], _int),
    "eclip_router_destroy": ([_vp], None),
    "eclip_router_begin_request": ([_vp, _u32], _int),
    "eclip_router_route": ([_vp, _u32, _P(Route)], _int),
    "eclip_router_launch_graph": ([_vp, _u32, _P(_u64), _sz, _P(Route)], _int),
    "eclip_router_launch_graphs": ([_vp, _u32, _P(_u64), _sz, _sz, _P(Route)], _int),
    "eclip_router_launch_kernel": ([_vp, _u32, _vp, _dim3, _dim3, _sz, _P(_vp), _P(Route)], _int),
    "eclip_router_launch_function": ([_vp, _u32, _vp, _dim3, _dim3, _u32, _P(_vp), _P(_vp), _P(Route)], _int),
    "eclip_router_counters": ([_vp, _i32, _P(Counters)], _int),
    "eclip_energy_create": ([_str, _vp, _P(_vp)], _int),
    "eclip_energy_destroy": ([_vp], None),
    "eclip_energy_describe": ([_vp, ctypes.c_char_p, _sz], _int),
    "eclip_energy_read": ([_vp, _P(_dbl), _P(_dbl)], _int),
    "eclip_energy_set_alignment": ([_vp, _int, _dbl, _dbl], _int),
    "eclip_energy_begin": ([_vp, SYNC_FN, _vp], _int),
    "eclip_energy_end": ([_vp, SYNC_FN, _vp, _P(EnergyWindow)], _int),
    "eclip_energy_idle": ([_vp, _dbl, SYNC_FN, _vp, _P(EnergyWindow)], _int),
}
