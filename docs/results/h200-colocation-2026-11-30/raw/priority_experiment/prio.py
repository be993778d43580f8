"""Throwaway experiment: does a high stream priority for an unconfined worker keep its p95 while
the others run in their own partitions? (ECLIP_EXPERIMENT_WHOLE_PRIORITY sets the priority of the
whole-device streams: only unconfined workers use them.)"""
import json, os, sys, time
import eclip
from eclip import search as esearch
from eclip.torch import require_torch, models as zoo
from eclip.torch.chain import ChainedModel
from eclip.torch.runner import Colocation
from eclip.torch.tune import solo_rates
torch = require_torch()
batch = int(sys.argv[1]); mix = sys.argv[2]; out = sys.argv[3]; cands = json.loads(sys.argv[4])
prio = os.environ.get("ECLIP_EXPERIMENT_WHOLE_PRIORITY", "none")
ms = eclip.default_mixes()[mix]
backend = eclip.Backend("cuda"); meter = eclip.EnergyMeter("nvml")
ch = {m: ChainedModel.of(zoo.build(m, batch)) for m in ms}
units = [ch[m].units() for m in ms]
idle = meter.idle(2.0, torch.cuda.synchronize).as_dict()["avg_power_w"]
alone, _ = solo_rates(backend, ms, units, 0.8, 0.25, meter)
space = {"models": ms, "segments": [[len(u)] for u in units]}
plans = {"baseline": esearch.baseline(backend, ms, [len(u) for u in units])}
for name, c in cands.items():
    plans[name] = esearch.plan_for(backend, space, c, name)
colo = Colocation(backend, plans["baseline"], units, ms, meter, cache=8)
recs = []
for rep in range(2):
    for name, p in plans.items():
        cap = colo.switch(p)
        r = colo.run(0.8, 0.25, alone, idle, label=name)
        r.update(name=name, rep=rep, prio=prio, batch=batch, mix=mix, capture_s=cap)
        recs.append(r)
        print(f"prio={prio} b{batch} {mix} {name:22s} {r['throughput_rps']:8.1f} req/s {r.get('inferences_per_j') or 0:6.3f} inf/J "
              f"jain {r.get('jain') or 0:.3f} p95max {r.get('slowest_p95_ms') or 0:6.2f} | " +
              " ".join(f"{w['model'][:6]} {w['throughput_rps']:.0f}/{w['p95_ms'] or 0:.2f}" for w in r['workers']), flush=True)
json.dump({"alone": alone, "idle_w": idle, "runs": recs}, open(out, "w"), indent=1)
colo.close()
os._exit(0)
