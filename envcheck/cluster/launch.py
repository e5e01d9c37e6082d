"""Where this process stands in the job, read from the launcher's environment: torchrun's
RANK/WORLD_SIZE/LOCAL_RANK/GROUP_RANK, or Slurm's SLURM_PROCID/SLURM_NTASKS/SLURM_LOCALID/
SLURM_NODEID. torch.distributed itself reads the same variables (env:// rendezvous); under srun
they are translated for it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from envcheck.errors import UserError
from envcheck.numbers import ascii_int

HOW = "run it under a launcher, e.g. torchrun --nproc-per-node=2 -m envcheck cluster (or srun python -m envcheck cluster)"


@dataclass(frozen=True)
class Launch:
    launcher: str  # torchrun | slurm
    rank: int
    world: int
    local_rank: int
    local_world: int
    node: int  # the node's number in the job (torchrun's GROUP_RANK, Slurm's SLURM_NODEID)
    master_addr: str
    master_port: int

    def env(self) -> dict:
        """The variables torch.distributed's env:// rendezvous reads."""
        return {"RANK": str(self.rank), "WORLD_SIZE": str(self.world), "LOCAL_RANK": str(self.local_rank),
                "MASTER_ADDR": self.master_addr, "MASTER_PORT": str(self.master_port)}


def _number(env: Mapping[str, str], name: str, default: int | None = None, low: int = 0) -> int:
    text = env.get(name)
    if text is None or text.strip() == "":
        if default is None:
            raise UserError(f"{name} is not set; {HOW}")
        return default
    try:
        value = int(text.strip())
    except ValueError:
        raise UserError(f"{name}={text!r} is not a whole number") from None
    if value < low:
        raise UserError(f"{name}={value} must be at least {low}")
    return value


def _slurm_local_world(env: Mapping[str, str]) -> int | None:
    """SLURM_NTASKS_PER_NODE, or this node's share of SLURM_TASKS_PER_NODE ('4(x2),3')."""
    per_node = ascii_int(env.get("SLURM_NTASKS_PER_NODE", ""))
    if per_node is not None:
        return per_node
    spec = env.get("SLURM_TASKS_PER_NODE", "").strip()
    node = _number(env, "SLURM_NODEID", 0)
    counts: list = []
    for part in filter(None, spec.split(",")):
        count, _, times = part.partition("(x")
        n, repeat = ascii_int(count), ascii_int(times.rstrip(")")) if times else 1
        if n is None or repeat is None:
            return None
        counts += [n] * repeat
    return counts[node] if node < len(counts) else None


def from_env(env: Mapping[str, str]) -> Launch:
    if "RANK" in env or "WORLD_SIZE" in env:
        world = _number(env, "WORLD_SIZE", low=1)
        launch = Launch("torchrun", _number(env, "RANK"), world, _number(env, "LOCAL_RANK", 0),
                        _number(env, "LOCAL_WORLD_SIZE", world, low=1), _number(env, "GROUP_RANK", 0),
                        env.get("MASTER_ADDR") or "127.0.0.1", _number(env, "MASTER_PORT", 29500, low=1))
    elif "SLURM_PROCID" in env:
        world = _number(env, "SLURM_NTASKS", low=1)
        if world > 1 and not env.get("MASTER_ADDR"):
            raise UserError("under srun, set MASTER_ADDR to the first node's address, e.g. "
                            "export MASTER_ADDR=$(scontrol show hostnames \"$SLURM_JOB_NODELIST\" | head -n 1)")
        launch = Launch("slurm", _number(env, "SLURM_PROCID"), world, _number(env, "SLURM_LOCALID", 0),
                        _slurm_local_world(env) or 1, _number(env, "SLURM_NODEID", 0),
                        env.get("MASTER_ADDR") or "127.0.0.1", _number(env, "MASTER_PORT", 29500, low=1))
    else:
        raise UserError(f"cluster needs a distributed job: {HOW}")
    if launch.rank >= launch.world:
        raise UserError(f"rank {launch.rank} is not below the world size {launch.world}")
    if launch.local_rank >= launch.local_world:
        raise UserError(f"local rank {launch.local_rank} is not below the ranks on this node ({launch.local_world})")
    if launch.master_port > 65535:
        raise UserError(f"MASTER_PORT={launch.master_port} is not a TCP port")
    return launch
