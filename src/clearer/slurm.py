"""torchrun's rendezvous for one run over several Slurm nodes, derived from Slurm's environment.

Inside an ``sbatch`` allocation every node runs the same script; torchrun on each needs the number of
nodes, this node's rank and the address of the first node (where rank 0 holds the rendezvous store).
Slurm gives all three: ``SLURM_NNODES``, ``SLURM_NODEID`` and ``SLURM_JOB_NODELIST`` (compressed, e.g.
``gpu[01-03,07]``). docs/scaling-out.md shows the script; ``python -m clearer.slurm`` prints the torchrun
options for the node it runs on.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from typing import Any

from .errors import ClearerError

DEFAULT_PORT = 29500


def _split_top(text: str) -> list[str]:
    """Split at commas outside brackets: 'a[1,2],b' -> ['a[1,2]', 'b']."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(text):
        depth += {"[": 1, "]": -1}.get(char, 0)
        if depth < 0:
            raise ClearerError(f"unbalanced ']' in the Slurm node list {text!r}.")
        if char == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    if depth:
        raise ClearerError(f"unbalanced '[' in the Slurm node list {text!r}.")
    return parts + [text[start:]]


def _range(spec: str, nodelist: str) -> list[str]:
    """'01-03' -> ['01', '02', '03'] (zero padding kept), '7' -> ['7']."""
    match = re.fullmatch(r"(\d+)(?:-(\d+))?", spec.strip())
    if match is None:
        raise ClearerError(f"cannot read {spec!r} in the Slurm node list {nodelist!r}.")
    first, last = match.group(1), match.group(2) or match.group(1)
    if int(last) < int(first):
        raise ClearerError(f"descending range {spec!r} in the Slurm node list {nodelist!r}.")
    return [str(n).zfill(len(first)) for n in range(int(first), int(last) + 1)]


def _expand_one(name: str, nodelist: str) -> list[str]:
    """One host pattern, possibly with several bracket groups: 'r[1-2]n[01-02]' -> r1n01, r1n02, ..."""
    open_at = name.find("[")
    if open_at < 0:
        return [name]
    close_at = name.find("]", open_at)
    head, body, tail = name[:open_at], name[open_at + 1 : close_at], name[close_at + 1 :]
    values = [v for spec in body.split(",") for v in _range(spec, nodelist)]
    return [head + value + rest for value in values for rest in _expand_one(tail, nodelist)]


def expand_nodelist(nodelist: str) -> list[str]:
    """Slurm's compressed host list as host names, in order: 'node[01-03,07],login2' ->
    ['node01', 'node02', 'node03', 'node07', 'login2'] (what `scontrol show hostnames` prints)."""
    hosts = [host for part in _split_top(nodelist.strip()) if part for host in _expand_one(part, nodelist)]
    if not hosts:
        raise ClearerError("the Slurm node list is empty (is SLURM_JOB_NODELIST set? run this inside the job).")
    return hosts


def _gpus(env: Mapping[str, str]) -> int | None:
    """GPUs per node from SLURM_GPUS_ON_NODE or SLURM_GPUS_PER_NODE ('4' or 'a100:4'); None when unset."""
    for key in ("SLURM_GPUS_ON_NODE", "SLURM_GPUS_PER_NODE"):
        value = env.get(key)
        if value:
            return int(value.split("(")[0].split(":")[-1])
    return None


def torchrun_rendezvous(env: Mapping[str, str] | None = None, port: int | None = None) -> dict[str, Any]:
    """torchrun's rendezvous settings for this node of a Slurm job: nnodes (SLURM_NNODES), node_rank
    (SLURM_NODEID), master_addr (the first host of SLURM_JOB_NODELIST), master_port (MASTER_PORT or
    29500) and nproc_per_node (GPUs per node when Slurm says, else 1)."""
    env = os.environ if env is None else env
    nodelist = env.get("SLURM_JOB_NODELIST") or env.get("SLURM_NODELIST")
    if not nodelist:
        raise ClearerError("SLURM_JOB_NODELIST is not set: the rendezvous is derived inside a Slurm job.")
    hosts = expand_nodelist(nodelist)
    nnodes = int(env.get("SLURM_NNODES") or env.get("SLURM_JOB_NUM_NODES") or len(hosts))
    node_rank = int(env.get("SLURM_NODEID", 0))
    if nnodes != len(hosts) or not 0 <= node_rank < nnodes:
        raise ClearerError(
            f"Slurm's environment disagrees with itself: {nnodes} nodes, node {node_rank}, node list {nodelist!r} "
            f"({len(hosts)} hosts)."
        )
    return {
        "nnodes": nnodes,
        "node_rank": node_rank,
        "nproc_per_node": _gpus(env) or 1,
        "master_addr": hosts[0],
        "master_port": int(port if port is not None else env.get("MASTER_PORT", DEFAULT_PORT)),
    }


def torchrun_args(env: Mapping[str, str] | None = None, port: int | None = None) -> list[str]:
    """The same settings as torchrun options: --nnodes=2 --node_rank=0 ... --master_port=29500."""
    return [f"--{key}={value}" for key, value in torchrun_rendezvous(env, port).items()]


if __name__ == "__main__":  # python -m clearer.slurm: the torchrun options for this node
    try:
        print(" ".join(torchrun_args()))
    except ClearerError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
