"""Realistic bugs in theory/lssl.py and sims/lssl.py for ``python -m mutation`` (see mutation/__init__.py).

``moves`` was measured by applying each mutant in a scratch copy and evaluating the affected theory function, or
the affected simulator at the claims' report-size configuration, before and after (2026-11-29).
"""
from __future__ import annotations

from mutation import Mutant

T = "theory/lssl.py"
S = "sims/lssl.py"

MUTANTS = [
    Mutant(
        id="lssl-theory-order-endpoint-second-order",
        file=T,
        old='    if sampling == "endpoint":\n        return 1,',
        new='    if sampling == "cell_average":\n        return 1,',
        description="the sampling condition of the second order inverted (the paper's statement without App. "
                    "C.1.3): endpoint samples called second order, midpoint first",
        moves="lssl.2 predicted order of bilinear/ZOH: endpoint 1 -> 2 (+100 %), midpoint 2 -> 1 (-50 %)"),
    Mutant(
        id="lssl-theory-exact-output-starts-at-zero",
        file=T,
        old="        states[0] = sla.expm(t[0] * M) @ z0",
        new="        states[0] = z0",
        description="off-by-one in time of the exact continuous output: the first grid time is taken as t = 0",
        moves="exact y(t) of the orders/gating problems moved by 6 % of max|y| (one coarse step of 0.04 lost): "
              "every method's error floors at that gap, local orders 1 and 2 -> ~0 (lssl.2, lssl.3 fail at test "
              "size)"),
    Mutant(
        id="lssl-theory-delay-target-one-step-late",
        file=T,
        old="    y[..., lag:] = u[..., : u.shape[-1] - lag]\n    return y",
        new="    y[..., lag + 1:] = u[..., : u.shape[-1] - lag - 1]\n    return y",
        description="off-by-one in the theory's delay target: y_t = u_{t-lag-1}",
        moves="lssl.6 fitted delay of the closed-form read-out on theory data: LegT 256.000 -> 256.996, FouT "
              "255.999 -> 256.998 steps (+0.39 %, ~470x LegT's resolution 0.002 steps); LegT rel-MSE 2e-8 -> 1.8e-4, "
              "still under the 1e-3 threshold"),
    Mutant(
        id="lssl-sims-delay-target-one-step-late",
        file=S,
        old="    y[..., lag:] = u[..., : u.shape[-1] - lag]\n    return y",
        new="    y[..., lag + 1:] = u[..., : u.shape[-1] - lag - 1]\n    return y",
        description="off-by-one in the simulator's delay target (padding one step too long)",
        moves="lssl.6 realised delay of the simulator's closed-form LegT/FouT read-outs +1.00 step (+0.39 %); "
              "LegT rel-MSE 1.7e-8 -> ~1e-4, still under the 1e-3 threshold (lssl.6 fails at test size)"),
    Mutant(
        id="lssl-theory-picard-iterate-uses-itself",
        file=T,
        old="        prev = np.concatenate([x0[None], x[:-1]], axis=0)",
        new="        prev = np.concatenate([x0[None], x[1:]], axis=0)",
        description="wrong layer index in the Picard stack: layer l reads layer l + 1 instead of l - 1",
        moves="lssl.7 exact Picard error e_l (8 problems, T = 2): depth 5 and 10 -> ~1e-12 (the 'iterates' solve "
              "the ODE itself), depth 15 by -89 %; the simulator's gap to them is O(1e-1)"),
    Mutant(
        id="lssl-theory-picard-forcing-lipschitz",
        file=T,
        old="    return np.sin(3 * x) + np.cos(t + phase)",
        new="    return np.sin(3.15 * x) + np.cos(t + phase)",
        description="a 5 % error in the nonlinearity's frequency (Lipschitz constant 3 -> 3.15) of the reference",
        moves="lssl.7 exact Picard error e_l by +1 % (depth 1), +25 % (5), x7.8 (10); exact iterate at depth 15 "
              "moves by 3.7e-2, so the simulator's gap to it is no longer O(dt^2)"),
    Mutant(
        id="lssl-theory-picard-error-mean-not-sup",
        file=T,
        old="    return np.abs(it - ref[:, None, :]).max(-1)",
        new="    return np.abs(it - ref[:, None, :]).mean(-1)",
        description="a wrong norm: the Picard error as the time-average instead of the sup over t",
        moves="lssl.7 exact Picard error e_l by -55 % (depth 1), -80 % (5), -89 % (10), -94 % (15)"),
    Mutant(
        id="lssl-theory-transfer-function-conjugate",
        file=T,
        old="    return np.array([np.asarray(C) @ np.linalg.solve(I - np.exp(-1j * w) * A_bar, B_bar)",
        new="    return np.array([np.asarray(C) @ np.linalg.solve(I - np.exp(1j * w) * A_bar, B_bar)",
        description="sign of the frequency in the layer's transfer function (H(-omega) = conj H(omega))",
        moves="lssl.6 fitted delay of the theory-data closed-form read-out at report size: LegT 256.000 -> "
              "262.85, FouT 255.999 -> 253.95 steps; invisible at test size, where L = 2·lag makes "
              "conj(H)·e^{i w lag} = e^{2 i w lag} = 1 on the band (survived the test-size claims)"),
    Mutant(
        id="lssl-sims-orders-midpoint-offset",
        file=S,
        old='dtype=dtype) - (0.5 if sampling == "midpoint" else 0.0)',
        new='dtype=dtype) - (0.45 if sampling == "midpoint" else 0.0)',
        description="midpoint samples taken at t_k - 0.45 dt instead of t_k - dt/2",
        moves="lssl.2 local order of bilinear and ZOH with midpoint samples 2.000 -> 0.988 (8 seeds)"),
    Mutant(
        id="lssl-sims-bilinear-alpha",
        file=S,
        old='    alpha = {"forward_euler": 0.0, "backward_euler": 1.0, "bilinear": 0.5}[method]',
        new='    alpha = {"forward_euler": 0.0, "backward_euler": 1.0, "bilinear": 0.55}[method]',
        description="bilinear implemented as GBT(0.55) (a wrong default alpha)",
        moves="lssl.2 local order of bilinear/midpoint 2.000 -> 0.975 (ZOH unchanged 2.000); lssl.7 stack order "
              "2.000 -> 0.995, gap at dt = 1e-3 5.5e-7 -> 5.0e-5; lssl.4 resampling order 2 -> ~1"),
    Mutant(
        id="lssl-sims-picard-endpoint-input",
        file=S,
        old="            u = 0.5 * (f[:, 1:] + f[:, :-1])",
        new="            u = f[:, 1:]",
        description="the stack feeds each layer the endpoint sample of f instead of the cell average",
        moves="lssl.7 local order of the stack's gap to the exact iterates 2.000 -> 1.002, gap at dt = 1e-3 "
              "5.5e-7 -> 1.7e-3"),
    Mutant(
        id="lssl-sims-gate-sign",
        file=S,
        old="    g = torch.sigmoid(z)[:, None]",
        new="    g = torch.sigmoid(-z)[:, None]",
        description="gate with the wrong sign: x_t = sigma(z) x_{t-1} + (1 - sigma(z)) u_t",
        moves="lssl.3 gated RNN vs backward-Euler LSSL relative gap 4e-16 -> 1.0"),
    Mutant(
        id="lssl-theory-legs-diagonal-off-by-one",
        file=T,
        old="        A = -np.tril(np.outer(r, r), -1) - np.diag(n + 1)",
        new="        A = -np.tril(np.outer(r, r), -1) - np.diag(n)",
        description="off-by-one on the LegS diagonal: -n instead of -(n + 1)",
        moves="lssl.5 max|A + A^T + I + BB^T| 0 -> 2 (N = 8); the LegS state is no longer the Legendre "
              "projection"),
]
