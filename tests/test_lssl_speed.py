"""sims/lssl.py kernel(): A^M taken from the Krylov factor's last power is bit for bit the A^M of log2(M) squarings."""
import math

import numpy as np
import pytest
import torch

from sims import lssl as sims
from theory import lssl as theory


@pytest.mark.parametrize("N, L, dtype", [(16, 1000, torch.float64), (32, 4097, torch.float32)])
def test_kernel_reuses_the_power_bit_for_bit(N, L, dtype):
    A, B = theory.hippo("legs", N)
    A_bar, B_bar = (torch.as_tensor(x, dtype=dtype) for x in theory.discretize(A, B, 1.0 / L, "bilinear"))
    C = torch.as_tensor(np.random.default_rng(0).standard_normal(N), dtype=dtype)
    M = 1 << math.ceil(math.log2(math.sqrt(L)))
    A_M = A_bar
    for _ in range(int(math.log2(M))):
        A_M = A_M @ A_M
    left = sims.krylov(A_M.transpose(-1, -2), C, -(-L // M))
    expected = (left.transpose(-1, -2) @ sims.krylov(A_bar, B_bar, M)).flatten(-2)[..., :L]
    assert torch.equal(sims.kernel(A_bar, B_bar, C, L), expected)
