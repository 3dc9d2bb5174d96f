"""Realistic bugs in theory/hierarchical.py and sims/hierarchical.py for ``make mutation``.

``moves``: measured by calling the mutated function against the original (theory: k = 2 testbed g = h1 + h3 at
d = 16 and 48 unless stated; sims: one run at d = 16, k = 2, n = 32N, 8 seeds, 20 000 test points), on 2026-11-29.
"""
from mutation import Mutant

THEORY = "theory/hierarchical.py"
SIMS = "sims/hierarchical.py"

MUTANTS = [
    Mutant(
        id="hierarchical-theory-curve-inverse-drops-minus-N",
        file=THEORY,
        old="    return (n - target.N) * low_degree_norm2(target) * (rho_star**2 / corr**2 - 1.0)",
        new="    return n * low_degree_norm2(target) * (rho_star**2 / corr**2 - 1.0)",
        description="reads the variance off the correlation curve with n instead of n - N (drops the OLS dof "
                    "correction)",
        moves="effective variance S_hat by +3.2 % at 32N (the n claim 1 reads; +6.7 % at 16N): below claim 1's "
              "10.8 % resolution",
    ),
    Mutant(
        id="hierarchical-theory-curve-drops-minus-N",
        file=THEORY,
        old="        out = ideal_feature_correlation(target) / np.sqrt(1.0 + S / ((n - target.N) * beta2))",
        new="        out = ideal_feature_correlation(target) / np.sqrt(1.0 + S / (n * beta2))",
        description="the predicted stage-1 correlation curve with n instead of n - N",
        moves="predicted corr(phi, p) by +0.6 % at d = 16 and +0.1 % at d = 48 (n = 16N); not read by any claim "
              "(figures and the demo); tests/test_hierarchical_theory.py checks the curve against its inverse",
    ),
    Mutant(
        id="hierarchical-theory-threshold-drops-N-offset",
        file=THEORY,
        old="    return target.N * (1.0 + A / ((rho_star / rho) ** 2 - 1.0))",
        new="    return target.N * (A / ((rho_star / rho) ** 2 - 1.0))",
        description="sample threshold n* = N·A/(...) without the N offset of the n - N curve",
        moves="predicted n*(0.9) by -5.8 % at d = 16 and -10.4 % at d = 48: the exponent of d in "
              "n*(sim)/n*(theory), which claim 3 tests to +-0.37, by +0.05",
    ),
    Mutant(
        id="hierarchical-theory-cumulants-drop-signs",
        file=THEORY,
        old="* np.sum(lam**r) * kap_psi[r]",
        new="* np.sum(np.abs(lam)**r) * kap_psi[r]",
        description="cumulants of p sum |lambda_i|^r instead of lambda_i^r (the signs of odd cumulants lost)",
        moves="kernel plateau by +11.4 % at d = 16 (0.579 -> 0.645) and +7.6 % at d = 48; sandwich S by +1.2 %; "
              "c_d and the threshold unchanged",
    ),
    Mutant(
        id="hierarchical-theory-kernel-diagonal-off-by-one",
        file=THEORY,
        old="    for _ in range(d - 1):\n",
        new="    for _ in range(d):\n",
        description="the radial kernel K_k(x, x) multiplies in d instead of d - 1 other coordinates",
        moves="sandwich S by +0.11 % at d = 16 and +0.03 % at d = 48 (kappa_0 = 1 + d/2 gains 1/2): below any "
              "claim's resolution",
    ),
    Mutant(
        id="hierarchical-theory-low-degree-norm-drops-top-chaos",
        file=THEORY,
        old="    return float(np.sum(w[1 if centred else 0 : target.k + 1]))",
        new="    return float(np.sum(w[1 if centred else 0 : target.k]))",
        description="|P_<=k h|^2 sums the chaos weights up to k - 1 (off by one)",
        moves="|P_<=2 h|^2 from 1.706 to 0 at d = 16: kernel plateau 0.579 -> 1.0; the curve and S divide by zero",
    ),
    Mutant(
        id="hierarchical-theory-moment-table-too-few-nodes",
        file=THEORY,
        old="    z, w = gauss_hermite(target.k * a_max // 2 + b_max + 2)",
        new="    z, w = gauss_hermite(target.k * a_max // 2 + 1)",
        description="Gauss-Hermite rule with too few nodes for the joint (p, |x|^2) moment table",
        moves="sandwich S by -1.6 % at d = 16 and -0.1 % at d = 48 (the highest moments no longer exact)",
    ),
    Mutant(
        id="hierarchical-theory-sandwich-forgets-leverage",
        file=THEORY,
        old="    return float(eps2 @ M @ kappa)",
        new="    return float(eps2 @ M[:, 0]) * target.N",
        description="the homoscedastic variance sigma^2 N in place of the sandwich E[eps^2 K(x, x)]",
        moves="S by -66 % at d = 16 (factor 1/2.91) and -36 % at d = 48 (1/1.56)",
    ),
    Mutant(
        id="hierarchical-sims-p-normalisation-off-by-one",
        file=SIMS,
        old="        return _hermite(z, self.cfg.k)[..., self.cfg.k] @ self.lam / math.sqrt(self.cfg.d)",
        new="        return _hermite(z, self.cfg.k)[..., self.cfg.k] @ self.lam / math.sqrt(self.cfg.d - 1)",
        description="the simulated feature p normalised by sqrt(d - 1) instead of sqrt(d) (E p^2 = d/(d-1))",
        moves="err_link_plugin by +73 % (g(phi/c_d) with the theory's c_d no longer matches the simulated scale), "
              "effective variance S_hat by -2.2 %, three-layer error by -2.3 %, plateau error by -0.4 % "
              "(normalised errors are scale-free)",
    ),
    Mutant(
        id="hierarchical-sims-hermite-features-drop-last-factor",
        file=SIMS,
        old="        torch.mul(product, factors[-1], out=out[..., start:stop])",
        new="        out[..., start:stop] = product",
        description="multivariate Hermite features multiply one factor too few (x_i x_j becomes x_i)",
        moves="corr(phi, p) 0.953 -> 0.298, degree<=2 ridge error +55 %, three-layer error 0.276 -> 0.973",
    ),
    Mutant(
        id="hierarchical-sims-ridge-not-per-feature",
        file=SIMS,
        old="    xi = ridge * torch.diagonal(G, dim1=-2, dim2=-1).sum(-1) / m  # (S,)",
        new="    xi = ridge * torch.diagonal(G, dim1=-2, dim2=-1).sum(-1)  # (S,)",
        description="stage-1 weight decay relative to tr(F^T F / n) instead of tr/m (m times too strong)",
        moves="effective variance S_hat by +5.7 %, three-layer error by +4.4 %, err_link_plugin by -30 %",
    ),
    Mutant(
        id="hierarchical-sims-stage2-fit-on-test-points",
        file=SIMS,
        old="    h_test = _stage2(cfg, seeds, phi2, prob.h(prob.x2), phi_test, device, dtype)",
        new="    h_test = _stage2(cfg, seeds, phi_test, y_test, phi_test, device, dtype)",
        description="stage 2 fitted on the test points instead of the fresh D2 (a data leak)",
        moves="three-layer error by -17.7 % (0.276 -> 0.227); nothing else",
    ),
]
