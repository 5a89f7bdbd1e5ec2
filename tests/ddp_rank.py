"""One rank of a test job: `torchrun ... tests/ddp_rank.py CONFIGS.json OUT SEEN_DIR`.

A user's own torchrun script: it joins the process group itself, trains each config of
CONFIGS.json (a list) through the Python API, then writes what this rank saw (the test's
file, not trainwell's) so the test can compare ranks.
"""

import hashlib
import json
import os
import sys

import torch
import torch.distributed as dist

import trainwell


def seen(run: trainwell.Run) -> dict:
    weights = hashlib.sha256()
    for name, tensor in sorted(run.model.state_dict().items()):
        weights.update(name.encode() + tensor.detach().cpu().contiguous().numpy().tobytes())
    return {
        "run_dir": str(run.run_dir),
        "status": run.status,
        "metrics": {
            k: v for k, v in run.metrics.items() if k not in ("seconds", "samples_per_second")
        },
        "findings": [(f.code, f.step, f.layer, f.remedy, f.resolved) for f in run.findings],
        "repairs": [
            {k: r.get(k) for k in ("step", "remedy", "finding", "changed")} for r in run.repairs
        ],
        "weights": weights.hexdigest(),
        "threads": torch.get_num_threads(),
    }


configs, out, report = sys.argv[1:4]
dist.init_process_group("gloo")
with open(configs) as f:
    runs = [seen(trainwell.fit(config, out=out)) for config in json.load(f)]
with open(os.path.join(report, f"rank{os.environ['RANK']}.json"), "w") as f:
    json.dump(runs, f)
dist.destroy_process_group()
