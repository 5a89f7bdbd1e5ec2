"""One rank of a test job: `torchrun ... tests/ddp_rank.py CONFIG.json OUT REPORT_DIR`.

Trains through the Python API, as a user's own torchrun script would, then writes what this
rank saw (the test's file, not trainwell's) so the test can compare ranks.
"""

import hashlib
import json
import os
import sys

import torch

import trainwell

config, out, report = sys.argv[1:4]
run = trainwell.fit(json.loads(open(config).read()), out=out)
weights = hashlib.sha256()
for name, tensor in sorted(run.model.state_dict().items()):
    weights.update(name.encode() + tensor.detach().cpu().contiguous().numpy().tobytes())
seen = {
    "run_dir": str(run.run_dir),
    "status": run.status,
    "metrics": {k: v for k, v in run.metrics.items() if k not in ("seconds", "samples_per_second")},
    "findings": [(f.code, f.step, f.remedy, f.resolved) for f in run.findings],
    "repairs": [{k: r.get(k) for k in ("step", "remedy", "finding")} for r in run.repairs],
    "weights": weights.hexdigest(),
    "threads": torch.get_num_threads(),
}
with open(os.path.join(report, f"rank{os.environ['RANK']}.json"), "w") as f:
    json.dump(seen, f)
