"""Realistic bugs in theory/grokking.py and sims/grokking.py for ``python -m mutation`` (see mutation/__init__.py).

``moves`` was measured by applying each mutant in a scratch copy and evaluating the affected function at the
claims' report-size configurations (theory mutants) or running the affected claim at test size (simulator mutants),
before and after.
"""
from __future__ import annotations

from mutation import Mutant

T = "theory/grokking.py"
S = "sims/grokking.py"

MUTANTS = [
    Mutant(
        id="grokking-theory-energy-drop-factor-2",
        file=T,
        old="return (2.0 / n) * (prod[..., 1:].sum(axis=-1))",
        new="return (1.0 / n) * (prod[..., 1:].sum(axis=-1))",
        description="energy closed form without the factor 2 of the cross term (the paper's own slip, halved)",
        moves='E*/M of a single-frequency neuron by -50 % (0.25 -> 0.125; grokking.2)'),
    Mutant(
        id="grokking-theory-eq4-double-eta-in-resolvent",
        file=T,
        old="left = eta * np.linalg.solve(F @ F.T + eta * np.eye(n), Y @ (Y.T @ F))",
        new="left = eta * np.linalg.solve(F @ F.T + 2 * eta * np.eye(n), Y @ (Y.T @ F))",
        description="Eq. 4 with 2 eta in the n x n resolvent (a units slip between eta and eta_eff)",
        moves="||Eq. 4|| at grokking.3's lazy run (M=41, K=512, seed 0) by -47.5 %"),
    Mutant(
        id="grokking-theory-eq4-centres-F-over-samples",
        file=T,
        old="    n, K = F.shape\n    left = eta",
        new="    F = centre_rows(F)\n    n, K = F.shape\n    left = eta",
        description="Eq. 4 centring F over samples (the paper's P_1^perp) while the simulator's convention leaves F "
                    "uncentred (a convention mismatch)",
        moves=(
            "||Eq. 4|| by +0.1 % and its cosine with YYᵀF by -0.003 at report size (0.7999 -> 0.7971), below the "
            "2 % resolution: expected to survive at report size; at test size (K=32, n=84) +2.0 % and +0.033 "
            "(caught by the cosine check, checked by hand)")),
    Mutant(
        id="grokking-theory-effective-ridge-no-half",
        file=T,
        old="return n * eta / 2",
        new="return n * eta",
        description="effective ridge n eta instead of n eta / 2 (the paper's 1/2-sum loss forgotten)",
        moves="eta_eff by x2, so ||Eq. 4|| at grokking.3's lazy run by -38 % (caught at test size, by hand)"),
    Mutant(
        id="grokking-theory-phase-conjugate-wrong-factor",
        file=T,
        old="term = U[rows, k] * V[rows, k] * np.conj(O[rows, k])",
        new="term = U[rows, k] * np.conj(V[rows, k]) * np.conj(O[rows, k])",
        description="phase relation with phi1 - phi2 (conjugate on the wrong input half)",
        moves=(
            "phase coherence of the analytic net (grokking.5's prediction) from 1 to 0 (-100 %); the measured "
            "coherence is the simulator's own torch code, so it does not move (caught by grokking.5 at test size, "
            "checked by hand)")),
    Mutant(
        id="grokking-theory-share-baseline-off-by-one",
        file=T,
        old="m = (int(M) - 1) // 2",
        new="m = int(M) // 2 + 1",
        description="random share baseline with m off by one (counts the DC orbit)",
        moves="H_m/m at M = 41 by -3.5 % (0.1799 -> 0.1736); no claim uses it since grokking.5 compares the trained "
              "network with Gromov's phase relation; caught by the theory unit test"),
    Mutant(
        id="grokking-theory-critical-constant-old-fit",
        file=T,
        old="\nCRITICAL_C = 2.7482",
        new="\nCRITICAL_C = 5.82",
        description="the reference code's earlier fit of p_c's constant (a wrong default)",
        moves="p_c by +112 % (x 2.12): grokking.6's cells move to 1.06 and 3.2 of the true p_c"),
    Mutant(
        id="grokking-theory-morwani-margin-wrong-constant",
        file=T,
        old="return math.sqrt(2 / 27) / (math.sqrt(p) * (p - 1))",
        new="return math.sqrt(2 / 27) / (math.sqrt(p) * p)",
        description="max margin with p instead of p - 1 (off by one)",
        moves="gamma* by -(1/p): -4.3 % at p = 23, -1 % at p = 97, -33 % at p = 3"),
    Mutant(
        id="grokking-theory-omnigrok-log-dropped",
        file=T,
        old="return np.log(w0_over_wc) / gamma",
        new="return np.log(w0_over_wc / gamma)",
        description="Omnigrok time with the log around the whole ratio (a misplaced parenthesis)",
        moves="Omnigrok exponent (grokking.4's prediction) from -1 to -0.136 (caught at test size, by hand)"),
    Mutant(
        id="grokking-sims-mse-gradient-half",
        file=S,
        old="return (residual ** 2).sum(dim=-1).mean(dim=-1), (2.0 / n) * residual",
        new="return (residual ** 2).sum(dim=-1).mean(dim=-1), (1.0 / n) * residual",
        description="MSE gradient of the 1/2-loss while the loss value has no 1/2 (gradient off by 2)",
        moves=(
            "the lazy V converges to the ridge at 2 eta_eff: measured ||G_F|| vs Eq. 4 by -38 % (grokking.3); "
            "Adam rescales the rest of training only through the coupled L2")),
    Mutant(
        id="grokking-sims-V-init-fan-in-M",
        file=S,
        old="V = config.top_init * (2 * runtime.rand(gens, (K, M), device=device, dtype=dtype) - 1) / math.sqrt(K)",
        new="V = config.top_init * (2 * runtime.rand(gens, (K, M), device=device, dtype=dtype) - 1) / math.sqrt(M)",
        description="V initialised with fan-in M instead of K (wrong fan-in)",
        moves=(
            "V's init scale by sqrt(K/M) (x 3.5 at K=512, M=41); grokking times in grokking.1/4/6 (not measured);"
            " the lazy grokking.3 runs use V(0)=0 and do not move")),
    Mutant(
        id="grokking-sims-test-split-off-by-one",
        file=S,
        old="test = perm if n == M * M else perm[:, n:]",
        new="test = perm if n == M * M else perm[:, n - 1:]",
        description="test split starts one pair early (one training pair also scored as test)",
        moves="test accuracy by at most 1/(M^2 - n) = 0.12 % at M = 41, p = 0.5: below every claim's resolution"),
    Mutant(
        id="grokking-sims-gf-uncentred-V",
        file=S,
        old="Vc = V - V.mean(dim=-1, keepdim=True)",
        new="Vc = V",
        description="G_F from the uncentred V (class centring of the outputs forgotten)",
        moves=(
            "nothing in the lazy grokking.3 runs (a zero-init V keeps class mean 0: the class-centred residual "
            "gives dV rows that sum to 0); the full-training ||G_F|| (context check) by V's class mean")),
]
