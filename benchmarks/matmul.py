"""The matmul probe: this machine's measured throughput of a large square matmul, which sets the compute
floor of an epoch (its counted FLOPs, flops.py, over this throughput)."""

from __future__ import annotations

import statistics

import torch
from timing import timed

from arae.training.crafting import cpu_has_fast_bf16

MATMUL_SIZE = 2048  # side of the square matmul whose throughput sets the floor


def bf16_available(device: torch.device) -> bool:
    """Whether bfloat16 matmuls are native here (GPUs: compute capability 8.0 or newer)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return cpu_has_fast_bf16()


def matmul_gflops(device: torch.device, n: int | None = None, reps: int = 3, dtype: torch.dtype = torch.float32,
                  matmul_precision: str = "highest") -> float:
    """Measured matmul throughput (GFLOP/s) of a large square product in `dtype`; for float32 at
    `matmul_precision` ("highest" = exact float32 whatever the run uses, the practical peak for the exact
    arithmetic; "high" = TF32 on GPUs)."""
    n = n or MATMUL_SIZE
    a, b = torch.randn(n, n, device=device, dtype=dtype), torch.randn(n, n, device=device, dtype=dtype)
    configured = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision(matmul_precision)
    try:
        a @ b
        seconds = statistics.median(timed(lambda: a @ b, device) for _ in range(reps))
    finally:
        torch.set_float32_matmul_precision(configured)
    return 2 * n**3 / seconds / 1e9


def throughputs(device: torch.device, bf16: bool) -> tuple[float, float | None]:
    return matmul_gflops(device), matmul_gflops(device, dtype=torch.bfloat16) if bf16 else None
