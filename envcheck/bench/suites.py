"""The measurements of `envcheck bench`, run inside one worker process per device.

One code path for CPU and GPU: only timing (CUDA events vs perf_counter) and the dtypes offered
differ. Every suite warms up, repeats until its time budget is spent, reports the median and the
spread, and rotates input buffers so caches do not flatter the figure. Inputs are drawn where they
are used, from a generator seeded on that device: drawn on the host, three 8192x8192 pairs cost a
worker seconds of CPU (a second per matrix on 2 cores, torch 2.13), in which its GPU idles while
its siblings' already run, and the point of loading every GPU at once is lost.
"""

from __future__ import annotations

import statistics
import time

from envcheck.bench.results import Measurement

MATMUL_DTYPES = ("fp32", "tf32", "fp16", "bf16")
BUFFERS = 3  # input sets cycled through, larger than any cache together


class Timer:
    """Wall time of one operation: CUDA events on a GPU (no host sync inside), perf_counter on CPU."""

    def __init__(self, torch, device):
        self.torch, self.cuda = torch, device.type == "cuda"

    def __call__(self, fn) -> float:
        if self.cuda:
            start, end = self.torch.cuda.Event(enable_timing=True), self.torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            end.synchronize()
            return start.elapsed_time(end) / 1000
        start = time.perf_counter()
        fn()
        return time.perf_counter() - start


def _percentile(values: list, q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * (len(s) - 1)))]


def repeat(timer: Timer, fns: list, seconds: float, min_runs: int = 5, max_runs: int = 1000) -> list:
    """Run fns round-robin (rotating buffers) for `seconds`, at least min_runs times; warm-up first."""
    for fn in fns:
        timer(fn)
    times: list = []
    deadline = time.perf_counter() + seconds
    i = 0
    while len(times) < min_runs or (time.perf_counter() < deadline and len(times) < max_runs):
        times.append(timer(fns[i % len(fns)]))
        i += 1
    return times


def _dtype(torch, name: str):
    return {"fp32": torch.float32, "tf32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[name]


def _inputs(torch, device, dtype, shape: tuple, count: int) -> list:
    """`count` seeded random tensors drawn on `device` itself (the same numbers on every run)."""
    gen = torch.Generator(device=device).manual_seed(0)
    return [torch.randn(*shape, generator=gen, device=device, dtype=dtype) for _ in range(count)]


def matmul(torch, device, dtype_name: str, size: int, seconds: float) -> Measurement:
    """n×n @ n×n: 2n³ FLOP each. Then the first product again, compared bit for bit: a GPU that
    computes wrong under load (heat, bad memory) gives different bits for the same inputs."""
    if dtype_name == "tf32" and device.type != "cuda":
        raise ValueError("tf32 is a GPU tensor-core mode")
    dtype = _dtype(torch, dtype_name)
    previous = torch.backends.cuda.matmul.allow_tf32 if device.type == "cuda" else None
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = dtype_name == "tf32"
    try:
        drawn = _inputs(torch, device, dtype, (size, size), 2 * BUFFERS)
        pairs = list(zip(drawn[::2], drawn[1::2]))
        out = torch.empty(size, size, device=device, dtype=dtype)
        first = torch.mm(*pairs[0])
        fns = [lambda a=a, b=b: torch.mm(a, b, out=out) for a, b in pairs]
        times = repeat(Timer(torch, device), fns, seconds)
        again = torch.mm(*pairs[0])
        correct = bool(torch.equal(first, again))
    finally:
        if device.type == "cuda":
            torch.backends.cuda.matmul.allow_tf32 = previous
    flops = 2 * size**3
    rates = [flops / t / 1e12 for t in times]
    return Measurement("matmul", dtype_name, statistics.median(rates), "TFLOP/s", _percentile(rates, 0.1), _percentile(rates, 0.9),
                       len(times), f"{size}x{size}", correct,
                       "" if correct else "the same product gave different bits after the run: faulty or unstable device")


def memory_copy(torch, device, megabytes: int, seconds: float) -> Measurement:
    """Device-to-device copy; bandwidth counts the bytes read and written (2 × size), as CUDA's
    bandwidthTest does for device-to-device."""
    n = megabytes * 1024 * 1024 // 4
    srcs = [torch.ones(n, device=device, dtype=torch.float32) for _ in range(2)]
    dst = torch.empty(n, device=device, dtype=torch.float32)
    fns = [lambda s=s: dst.copy_(s) for s in srcs]
    times = repeat(Timer(torch, device), fns, seconds)
    rates = [2 * n * 4 / t / 1e9 for t in times]
    return Measurement("memory", "copy", statistics.median(rates), "GB/s", _percentile(rates, 0.1), _percentile(rates, 0.9),
                       len(times), f"{megabytes} MiB")


def memory_host(torch, device, megabytes: int, seconds: float) -> list:
    """Pinned host→device and device→host copies (GPU only)."""
    n = megabytes * 1024 * 1024 // 4
    host = torch.ones(n, dtype=torch.float32).pin_memory()
    dev = torch.empty(n, device=device, dtype=torch.float32)
    out = []
    for name, fn in (("h2d pinned", lambda: dev.copy_(host, non_blocking=True)), ("d2h pinned", lambda: host.copy_(dev, non_blocking=True))):
        times = repeat(Timer(torch, device), [fn], seconds)
        rates = [n * 4 / t / 1e9 for t in times]
        out.append(Measurement("memory", name, statistics.median(rates), "GB/s", _percentile(rates, 0.1), _percentile(rates, 0.9),
                               len(times), f"{megabytes} MiB"))
    return out


def conv(torch, device, dtype_name: str, batch: int, seconds: float) -> list:
    """A ResNet-style 3x3 convolution (64→64 channels, 56×56), channels-last, forward and
    forward+backward. FLOPs: 2·N·Cout·H·W·Cin·9 forward; backward (input and weight gradients)
    is twice that."""
    from torch import nn  # optional: torch is an extra, imported only where it runs

    dtype = _dtype(torch, dtype_name)
    layer = nn.Conv2d(64, 64, 3, padding=1).to(device=device, dtype=dtype, memory_format=torch.channels_last)
    xs = [x.to(memory_format=torch.channels_last) for x in _inputs(torch, device, dtype, (batch, 64, 56, 56), BUFFERS)]
    fwd_flops = 2 * batch * 64 * 56 * 56 * 64 * 9
    timer = Timer(torch, device)
    out = []

    def forward(x):
        with torch.no_grad():
            layer(x)

    def training(x):
        x.requires_grad_(True)
        y = layer(x)
        y.backward(torch.ones_like(y))
        x.grad = None
        layer.zero_grad(set_to_none=True)

    for name, step, flops in (("fwd", forward, fwd_flops), ("fwd+bwd", training, 3 * fwd_flops)):
        times = repeat(timer, [lambda x=x, step=step: step(x) for x in xs], seconds)
        rates = [flops / t / 1e12 for t in times]
        images = batch / statistics.median(times)
        out.append(Measurement("conv", f"{dtype_name} {name}", statistics.median(rates), "TFLOP/s", _percentile(rates, 0.1),
                               _percentile(rates, 0.9), len(times), f"N={batch} 64x56x56 3x3", images_per_s=images))
    return out
