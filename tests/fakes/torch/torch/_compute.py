"""Tensors and CUDA timing of the fake, enough for bench's matmul and memory suites.

A product is computed for real (numpy), so `torch.equal` compares real bits; the time an
operation takes on a fake GPU is read from the spec's device ("tflops" per dtype for a product, its
"tf32" figure for a float32 product while torch.backends.cuda.matmul.allow_tf32 is on, as on Ampere and
newer; a board without one runs plain float32, as older boards do; "copy_gbs" and "pcie_gbs" for
copies) on a clock that only operations advance, so the figures a worker reports say which board it
ran on. Large buffers (bench's 1 GiB copies) keep their shape only.

`host_samples` counts the random numbers drawn on the host for tensors that were then moved to a
GPU: real torch spends about a second of CPU per 8192x8192 draw (2 cores), time in which a worker
does not load its GPU.
"""

import time

float32, float16, bfloat16 = "float32", "float16", "bfloat16"
_ITEMSIZE = {float32: 4, float16: 2, bfloat16: 2}
_clock_ms = [0.0]  # the fake GPU's time: advanced by each operation, read by Event.record
host_samples = [0]  # random numbers drawn on the host and then moved to a GPU


class device:
    def __init__(self, spec, index=None):
        name, _, number = str(spec).partition(":")
        self.type = name
        self.index = int(number) if number else index

    def __index__(self):
        return self.index or 0

    def __repr__(self):
        return f"device(type={self.type!r}, index={self.index})"


def _np():
    import numpy  # only bench's suites need it: the probe's tests run where numpy is not installed

    return numpy


def _dev(spec):
    return spec if isinstance(spec, device) else device(spec or "cpu")


def _board():
    """The spec of the GPU a cuda tensor lives on: cuda:0 of this process's visible devices."""
    from torch import cuda

    return cuda._visible()[0]


def _spend(ms):
    _clock_ms[0] += ms


class Tensor:
    def __init__(self, shape, data=None, dev="cpu", dtype=float32):
        self.shape, self.data, self.device, self.dtype = tuple(shape), data, _dev(dev), dtype

    @property
    def nbytes(self):
        n = 1
        for s in self.shape:
            n *= s
        return n * _ITEMSIZE.get(self.dtype, 4)

    def to(self, dev=None, dtype=None, **_):
        moved = Tensor(self.shape, self.data, dev or self.device, dtype or self.dtype)
        if getattr(self, "_drawn", False) and self.device.type == "cpu" and moved.device.type == "cuda":
            host_samples[0] += _count(self.shape)
        return moved

    def pin_memory(self):
        return self

    def copy_(self, src, non_blocking=False):
        if self.device.type == "cuda" or src.device.type == "cuda":
            board = _board()
            if self.device.type == src.device.type:  # device to device: read and written
                _spend(2 * self.nbytes / (board["copy_gbs"] * 1e9) * 1000)
            else:
                _spend(self.nbytes / (board["pcie_gbs"] * 1e9) * 1000)
        self.data = src.data
        return self


class Generator:
    def __init__(self, device="cpu"):
        self.device = _dev(device)
        self._rng = _np().random.default_rng(0)

    def manual_seed(self, seed):
        self._rng = _np().random.default_rng(seed)
        return self


def randn(*shape, generator=None, device=None, dtype=float32):
    """Drawn where `device` says (the generator must live there too, as real torch insists)."""
    where = _dev(device)
    if generator is not None and generator.device.type != where.type:
        raise RuntimeError(f"Expected a '{where.type}' device type for generator but found '{generator.device.type}'")
    rng = generator._rng if generator is not None else _np().random.default_rng()
    t = Tensor(shape, rng.standard_normal(shape).astype("float32"), where, dtype)
    t._drawn = True
    return t


def _count(shape):
    n = 1
    for s in shape:
        n *= s
    return n


def _big(shape):
    return _count(shape) > (1 << 22)


def empty(*shape, device="cpu", dtype=float32):
    return Tensor(shape, None if _big(shape) else _np().empty(shape, "float32"), device, dtype)


def ones(*shape, device="cpu", dtype=float32):
    return Tensor(shape, None if _big(shape) else _np().ones(shape, "float32"), device, dtype)


def mm(a, b, out=None):
    product = a.data @ b.data
    if a.device.type == "cuda":
        n, k = a.shape
        from torch.backends import cuda as backends_cuda

        tflops = _board()["tflops"]
        rate = tflops.get("tf32", tflops[a.dtype]) if a.dtype == float32 and backends_cuda.matmul.allow_tf32 else tflops[a.dtype]
        _spend(2 * n * k * b.shape[1] / (rate * 1e12) * 1000)
    if out is not None:
        out.data = product
        return out
    return Tensor(product.shape, product, a.device, a.dtype)


def equal(a, b):
    return bool(_np().array_equal(a.data, b.data))


def set_num_threads(n):
    pass


class Event:
    def __init__(self, enable_timing=False):
        self.at = None

    def record(self):
        self.at = _clock_ms[0]

    def synchronize(self):
        time.sleep(0)

    def elapsed_time(self, end):
        return end.at - self.at
