#!/bin/bash
# Behaviour unchanged by a refactor? One smoke run at REV and one in this checkout (or TREE), one thread
# each; prints whether metrics.json (wall-clock fields removed), alpha.csv and every weight tensor match.
#   CLEARER_DATA=/path/to/data bash benchmarks/smoke_identity.sh REV [TREE]
set -euo pipefail
rev=$1; after=$(cd "${2:-.}" && pwd); before=$(mktemp -d)/before; out=$(mktemp -d)
git worktree add -q --detach "$before" "$rev"
trap 'git worktree remove --force "$before"' EXIT
export OMP_NUM_THREADS=1
(cd "$before" && PYTHONPATH="$before/src" python -m clearer run recipes/bsd.py --profile smoke --out "$out/before" --quiet)
(cd "$after" && PYTHONPATH="$after/src" python -m clearer run recipes/bsd.py --profile smoke --out "$out/after" --quiet)
python - "$out" <<'PY'
import json, sys
from pathlib import Path
from safetensors.torch import load_file
a, b = Path(sys.argv[1], "before"), Path(sys.argv[1], "after")
def metrics(run):
    m = json.loads((run / "metrics.json").read_text())
    m.pop("times", None); m.get("search", {}).pop("seconds", None)
    for s in m["sets"].values():
        s.pop("seconds", None)
    return m
print("metrics.json identical (times removed):", metrics(a) == metrics(b))
print("alpha.csv identical:", (a / "alpha.csv").read_text() == (b / "alpha.csv").read_text())
wa, wb = load_file(a / "model.safetensors"), load_file(b / "model.safetensors")
same = wa.keys() == wb.keys() and all((wa[k] == wb[k]).all() for k in wa)
print(f"weights identical: {same} ({len(wa)} tensors)")
PY
