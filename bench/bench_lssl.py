"""LSSL speed: convolutional view vs sequential scan, Krylov kernel by squaring vs naive powers vs numpy, and one
layer's forward+backward throughput (compare the LSSL row of S4's Table 2: H=N=256, 20.6 ms and 1685 MB on an A100).

Every ratio is against a baseline timed in the same run. ``python -m bench lssl`` (a few minutes on a 2-core CPU);
``LSSL_BENCH_QUICK=1`` shrinks the layer benchmark to H=32 for a smoke run. CPU runs use one torch thread
(``LSSL_BENCH_THREADS`` to change it): on the shared 2-core machine two threads only add contention.
"""
from __future__ import annotations

import math
import os
import time

import numpy as np
import torch

from bench.common import best_time, peak_python_memory, report
from sims import lssl as sims
from theory import lssl as theory


def _legs(N, L, device, dtype):
    A, B = theory.hippo("legs", N)
    A_bar, B_bar = theory.discretize(A, B, 1.0 / L, "bilinear")
    C = np.random.default_rng(0).standard_normal(N) / math.sqrt(N)
    as_t = lambda x: torch.as_tensor(x, device=device, dtype=dtype)  # noqa: E731
    return A_bar, B_bar, C, as_t(A_bar), as_t(B_bar), as_t(C)


def conv_vs_scan(N=256, L=16384, device="cpu", dtype=torch.float32):
    """One feature, one sequence: scan (L dependent matrix-vector steps) vs FFT convolution with the kernel."""
    print(f"-- conv vs scan: LegS N={N}, L={L}, one feature, {device}, {dtype}", flush=True)
    _, _, _, A_bar, B_bar, C = _legs(N, L, device, dtype)
    A_bar, B_bar, C = A_bar[None, None], B_bar[None, None], C[None, None]
    D = torch.zeros(1, 1, device=device, dtype=dtype)
    u = torch.randn(1, 1, 1, L, generator=torch.Generator(device=device).manual_seed(0), device=device, dtype=dtype)
    t_scan = best_time(lambda: sims.scan(A_bar, B_bar, C, D, u), repeat=1, warmup=0)
    K = sims.kernel(A_bar, B_bar, C, L)
    t_conv_cached = best_time(lambda: sims.causal_conv(K[:, None], u), repeat=5)
    t_conv_full = best_time(lambda: sims.convolve(A_bar, B_bar, C, D, u), repeat=3)
    report([("sequential scan (baseline)", t_scan, None),
            ("conv: kernel by squaring + FFT", t_conv_full, 50.0),
            ("conv with cached kernel (LSSL-fixed inference)", t_conv_cached, None)])
    y1, y2 = sims.scan(A_bar, B_bar, C, D, u), sims.convolve(A_bar, B_bar, C, D, u)
    print(f"  max |scan - conv| / max|y| = {float((y1 - y2).abs().max() / y1.abs().max()):.2e}", flush=True)


def kernel_algorithms(N=256, L=16384):
    """Krylov kernel: torch squaring / torch naive powers / numpy squaring / numpy naive (theory/, float64)."""
    print(f"-- Krylov kernel: LegS N={N}, L={L}, float64 CPU", flush=True)
    A_np, B_np, C_np, A_t, B_t, C_t = _legs(N, L, "cpu", torch.float64)
    rows = [
        ("numpy naive powers, theory/ (baseline)",
         best_time(lambda: theory.krylov_kernel(A_np, B_np, C_np, L, algorithm="naive"), repeat=2), None),
        ("numpy squaring, theory/",
         best_time(lambda: theory.krylov_kernel(A_np, B_np, C_np, L, algorithm="squaring"), repeat=2), None),
        ("torch naive powers", best_time(lambda: C_t @ sims.krylov_naive(A_t, B_t, L), repeat=2), None),
        ("torch squaring, full Krylov matrix (LSSL)", best_time(lambda: sims.kernel_krylov(A_t, B_t, C_t, L),
                                                                  repeat=2), None),
        ("torch blocked squaring (the simulator's kernel)", best_time(lambda: sims.kernel(A_t, B_t, C_t, L),
                                                                        repeat=3), 1.0),
    ]
    report(rows)
    ref = theory.krylov_kernel(A_np, B_np, C_np, L, algorithm="naive")
    got = sims.kernel(A_t, B_t, C_t, L).numpy()
    print(f"  torch squaring vs numpy naive: max rel gap {np.max(np.abs(got - ref)) / np.max(np.abs(ref)):.1e}")
    mib = 2.0**20
    mem = {"numpy naive": peak_python_memory(lambda: theory.krylov_kernel(A_np, B_np, C_np, L, algorithm="naive")),
           "numpy squaring": peak_python_memory(lambda: theory.krylov_kernel(A_np, B_np, C_np, L))}
    for name, b in mem.items():
        print(f"  peak traced memory, {name:<15}: {b / mib:8.1f} MiB", flush=True)
    print(f"  Krylov matrix N x L float64 = {N * L * 8 / mib:.1f} MiB per feature (x H features: the LSSL "
          f"memory problem; H=256 -> {256 * N * L * 8 / 2**30:.0f} GiB float64, {256 * N * L * 4 / 2**30:.0f} GiB "
          f"float32)", flush=True)
    M = 1 << math.ceil(math.log2(math.sqrt(L)))
    print(f"  blocked kernel keeps N x (M + L/M) + L = {(N * (M + L // M) + L) * 8 / mib:.2f} MiB per feature "
          f"(M={M})", flush=True)
    if torch.cuda.is_available():
        _torch_peak_cuda(N, L)


def _torch_peak_cuda(N, L):
    _, _, _, A_t, B_t, C_t = _legs(N, L, "cuda", torch.float32)
    torch.cuda.reset_peak_memory_stats()
    sims.kernel(A_t, B_t, C_t, L)
    torch.cuda.synchronize()
    print(f"  CUDA peak memory, torch squaring float32: {torch.cuda.max_memory_allocated() / 2**20:.1f} MiB")


def layer_throughput(H=256, N=256, L=4096, batch=1, device="cpu", dtype=torch.float32):
    """One LSSL layer (A = LegS fixed, C, D, log dt trained): forward + backward of the convolutional view."""
    print(f"-- layer fwd+bwd: H={H}, N={N}, L={L}, batch={batch}, {device}, {dtype}", flush=True)
    g = torch.Generator(device=device).manual_seed(0)
    A, B = theory.hippo("legs", N)
    A_t = torch.as_tensor(A, device=device, dtype=dtype).expand(1, H, N, N).contiguous()
    B_t = torch.as_tensor(B, device=device, dtype=dtype).expand(1, H, N).contiguous()
    C = torch.randn(1, H, N, generator=g, device=device, dtype=dtype)
    log_dt = math.log(1e-3) + math.log(100) * torch.rand(1, H, generator=g, device=device, dtype=dtype)
    layer = sims.LSSL(A_t, B_t, C, torch.zeros(1, H, device=device, dtype=dtype), log_dt, "bilinear")
    u = torch.randn(1, batch, H, L, generator=g, device=device, dtype=dtype)

    def step():
        layer.zero_grad(set_to_none=True)
        layer(u, "conv").square().mean().backward()

    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    step()
    first = time.perf_counter() - start
    t = best_time(step, repeat=2 if device == "cuda" else 1, warmup=0) if device == "cuda" else first
    tokens = batch * H * L
    print(f"  {t * 1e3:9.1f} ms per fwd+bwd  ({tokens / t / 1e6:.2f} M feature-steps/s); S4 Table 2 LSSL row "
          f"(A100, H=N=256): 20.6 ms", flush=True)
    if device == "cuda":
        print(f"  CUDA peak memory: {torch.cuda.max_memory_allocated() / 2**20:.0f} MiB (S4 Table 2: 1685 MB)")
    return t


def main():
    torch.set_num_threads(int(os.environ.get("LSSL_BENCH_THREADS", "1")))
    quick = os.environ.get("LSSL_BENCH_QUICK", "") not in ("", "0")
    conv_vs_scan()
    kernel_algorithms()
    layer_throughput(H=32 if quick else 256)
    if torch.cuda.is_available():
        from sims import runtime

        runtime.set_determinism(torch.device("cuda"))
        conv_vs_scan(device="cuda")
        layer_throughput(device="cuda", batch=8)
        layer_throughput(device="cuda", L=16384, batch=8)  # the GPU throughput size of docs/lssl.md


if __name__ == "__main__":
    main()
