"""Does torch.cholesky_solve fail on CUDA at the hierarchical GPU preset's size, and do two triangular solves work?
(python3 scripts/check_cholesky_cuda.py on a GPU machine; the answer is recorded in docs/hierarchical.md.)"""
import time

import torch

m, S = 18512, 3
dev, dt = torch.device("cuda"), torch.float64
F = torch.randn(S, m, 96, device=dev, dtype=dt)
A = F @ F.mT / 96 + torch.eye(m, device=dev, dtype=dt)
b = torch.randn(S, m, 1, device=dev, dtype=dt)
L = torch.linalg.cholesky(A)
try:
    torch.cholesky_solve(b, L)
    torch.cuda.synchronize()
    print("cholesky_solve: ok")
except Exception as err:  # noqa: BLE001 - the point is to see whether it raises
    print("cholesky_solve: raises", type(err).__name__, str(err).split("\n")[0])
start = time.perf_counter()
x = torch.linalg.solve_triangular(L.mT, torch.linalg.solve_triangular(L, b, upper=False), upper=True)
torch.cuda.synchronize()
print(f"two triangular solves: {time.perf_counter() - start:.2f} s, relative residual "
      f"{float((A @ x - b).norm() / b.norm()):.2e}")
