"""compat/gpus.toml: NVIDIA GPUs by name (compute capability, SMs, bandwidth, peak TFLOPS), and
reading a GPU as a person writes it ("3090", "A100 80GB", "sm_86")."""

from __future__ import annotations

import re
from typing import NamedTuple

from envcheck.compat.rows import Rows
from envcheck.errors import UserError


class Gpu(NamedTuple):
    id: str
    name: str
    aliases: tuple[str, ...]
    marketing: str
    arch: str
    cc: str
    sms: int
    mem_bw_gbs: float
    peaks: dict  # dtype -> dense TFLOPS
    mobile: bool
    status: str
    source: str
    memory_gib: tuple = ()  # marketed sizes (GB); a MIG device's memory share is taken against the one size


def gpu_row(g: dict) -> Gpu:
    return Gpu(
        id=g["id"],
        name=g["name"],
        aliases=tuple(g.get("aliases", ())),
        marketing=g.get("marketing", ""),
        arch=g.get("arch", ""),
        cc=g["cc"],
        sms=int(g["sms"]),
        mem_bw_gbs=float(g["mem_bw_gbs"]),
        peaks={k: float(g[k]) for k in ("fp32", "tf32", "fp16", "bf16", "fp8") if k in g},
        mobile=bool(g.get("mobile", False)),
        status=g["status"],
        source=g["source"],
        memory_gib=tuple(float(x) for x in g.get("memory_gib", ())),
    )


class Gpus(Rows):
    """The GPUs envcheck knows, in the table's order."""

    def __init__(self, raw: dict) -> None:
        super().__init__(gpu_row(g) for g in raw["gpu"])

    def get(self, name: str) -> Gpu | None:
        """Exact NVML name (or alias) first, then a unique case-insensitive substring match."""
        for g in self.rows:
            if name == g.name or name in g.aliases:
                return g
        needle = _bare(name)
        hits = [g for g in self.rows if any(needle == _bare(n) for n in (g.name, *g.aliases))]
        if len(hits) == 1:
            return hits[0]
        hits = [g for g in self.rows if needle and needle in g.name.lower()]
        return hits[0] if len(hits) == 1 else None

    def find(self, text: str) -> Gpu:
        """A GPU as a person writes it: an NVML name, "3090", "A100 80GB", "V100", or a compute
        capability ("8.6", "sm_86"). Several table rows of one architecture answer as one (the
        A100's variants); a name envcheck does not know is a UserError with the nearest names."""
        import difflib  # only for a name it does not know: off install-cmd's start-up path

        m = re.fullmatch(r"(?:sm_?)?([0-9]{1,2})\.?([0-9])", text.strip(), re.IGNORECASE)
        if m:
            cc = f"{m.group(1)}.{m.group(2)}"
            return Gpu(f"sm_{m.group(1)}{m.group(2)}", f"sm_{m.group(1)}{m.group(2)}", (), "", "", cc, 0, 0.0, {}, False, "a compute capability given", "")
        found = self.get(text)
        if found is not None:
            return found
        words = _gpu_words(text)
        hits = [g for g in self.rows if words and _contains(_gpu_words(g.name), words)]
        ending = [g for g in hits if _gpu_words(g.name)[-len(words):] == words]
        hits = ending or hits
        if hits and len({g.cc for g in hits}) == 1:
            return min(hits, key=lambda g: len(g.name))
        if hits:
            names = ", ".join(sorted({g.name for g in hits})[:4])
            raise UserError(f"--gpu {text!r} names several GPUs of different architectures ({names}, …): write the name nvidia-smi prints")
        numbers = set(re.findall(r"[0-9]+", text))  # "4090D" -> the RTX 4090 rows, "H20e" -> the H20
        near = [g.name for g in self.rows if numbers & {w for w in re.findall(r"[0-9]+", " ".join(_gpu_words(g.name)))}][:3]
        near = near or difflib.get_close_matches(text.strip(), [g.name for g in self.rows], n=3, cutoff=0.4)
        hint = f"; did you mean {', '.join(repr(n) for n in near)}? (or give its compute capability)" if near else ""
        raise UserError(f"--gpu {text!r} is neither a GPU envcheck knows nor a compute capability (8.6, sm_86){hint}")


def _bare(name: str) -> str:
    return name.lower().replace("nvidia", "").replace("geforce", "").strip()


def _gpu_words(name: str) -> list[str]:
    """'NVIDIA GeForce RTX 3090' -> ['rtx', '3090']: the words that tell GPUs apart; a letter glued to
    a model number is a word of its own, as people write it both ways ("4090D", "3060Ti", "80GB")."""
    words = re.split(r"[\s_-]+", re.sub(r"([0-9])([a-z]+)\b", r"\1 \2", name.lower()))  # "4090D" is "4090 D"
    return [w for w in words if w and w not in ("nvidia", "geforce", "tesla")]


def _contains(words: list[str], part: list[str]) -> bool:
    n = len(part)
    return any(words[i:i + n] == part for i in range(len(words) - n + 1))
