"""Realistic bugs in theory/icl.py and sims/icl.py for the mutation run (``python -m mutation``).

``moves`` was measured by calling the mutated function against the original (d = 5, n = 20, sigma^2 = 0.01 for the
isotropic and ReLU settings; the Ahn spectrum (1, 1, 1/4, 1/16, 1), noiseless, for ZFB; d = 8, sigma^2 = 1/4 for the
reference predictors); for simulator bugs, what the trained layer or the metric changes by.
"""
from __future__ import annotations

from mutation import Mutant

T = "theory/icl.py"
S = "sims/icl.py"

MUTANTS = [
    Mutant("icl-theory-K-drop-1-over-n", T,
           "return (1 + 1 / n) * SOS + (np.trace(Omega @ Sigma) + sigma2) / n * Sigma",
           "return SOS + (np.trace(Omega @ Sigma) + sigma2) / n * Sigma",
           "drops the 1/n of (1 + 1/n) in K = E[h h^T] (the Wishart finite-n correction)",
           "Gamma* +4.0 % (eta 0.7689 -> 0.7997, also under the Sigma^-1 prior); L* -13 % (isotropic), -16 % (Ahn); "
           "L(Gamma*; 4 Sigma) +3.4 %"),
    Mutant("icl-theory-K-noise-over-n-squared", T,
           "return (1 + 1 / n) * SOS + (np.trace(Omega @ Sigma) + sigma2) / n * Sigma",
           "return (1 + 1 / n) * SOS + (np.trace(Omega @ Sigma) + sigma2) / n ** 2 * Sigma",
           "c = (tr(Omega Sigma) + sigma^2)/n^2 instead of /n in K (a doubled normalisation)",
           "Gamma* +22 %; L* -74 % (isotropic), -72 % (Ahn)"),
    Mutant("icl-theory-eta-off-by-one", T,
           "return 1.0 if math.isinf(n) else n / (n + d + 1 + ratio)",
           "return 1.0 if math.isinf(n) else n / (n + d + ratio)",
           "isotropic step size n/(n + d + sigma^2/tau^2): the +1 of the Wishart fourth moment dropped",
           "optimal_eta (icl.2's prediction) +4.0 %; optimal_gamma unaffected"),
    Mutant("icl-theory-iso-loss-off-by-one", T,
           "return sigma2 + (0.0 if math.isinf(n) else tau2 * d * (d + 1 + r) / (n + d + 1 + r))",
           "return sigma2 + (0.0 if math.isinf(n) else tau2 * d * (d + r) / (n + d + r))",
           "isotropic minimal loss with d in place of d + 1 (both places)",
           "one-step-GD excess risk at d = 8, sigma^2 = 1/4: n = 1 -1.2 %, n = 8 -5.3 %, n = 40 -9.0 %"),
    Mutant("icl-theory-relu-moment", T,
           "return d / 4.0, d * (d + 2) / 2.0, d / 2.0",
           "return d / 4.0, d * (d + 1) / 2.0, d / 2.0",
           "E[relu(w^T x)^2 ||x||^2] with d(d+1)/2 instead of d(d+2)/2 (the chi-square fourth moment miscounted)",
           "eta_relu +6.4 %; L(eta_relu) -2.8 %"),
    Mutant("icl-theory-relu-eta-drop-1-minus-1-over-n", T,
           "return g2 / ((1 - 1 / n) * g2 + f2x2 / n + sigma2 * d / n)",
           "return g2 / (g2 + f2x2 / n + sigma2 * d / n)",
           "nonlinear step size with (1 - 1/n) E||g||^2 taken as E||g||^2 (diagonal term double-counted)",
           "eta_relu -2.9 %; L(eta_relu) +0.04 %"),
    Mutant("icl-theory-zfb-floor-off-by-one", T,
           "+ t * t * np.trace(G2 @ Lambda)) / N ** 2",
           "+ t * t * np.trace(G2 @ Lambda)) / (N - 1) ** 2",
           "ZFB Thm 4.2 floor over (N - 1)^2 instead of N^2",
           "ZFB error at m = 6 +1.0 %, m = 20 +2.7 %, m = 10^4 +10.7 %"),
    Mutant("icl-theory-zfb-gamma-trace-over-n-plus-1", T,
           "Gz = (1 + 1 / N) * Lambda + np.trace(Lambda) / N * np.eye(Lambda.shape[0])",
           "Gz = (1 + 1 / N) * Lambda + np.trace(Lambda) / (N + 1) * np.eye(Lambda.shape[0])",
           "Gamma_Z with tr(Lambda)/(N + 1): an off-by-one in the ZFB limit",
           "ZFB error at m = 6 +1.9 %, m = 20 +2.1 %, m = 10^4 +3.1 %; Gamma_Z^-1 +3.0 % (Frobenius norm)"),
    Mutant("icl-theory-ols-off-by-one", T,
           "return sigma2 * d / (n - d - 1)",
           "return sigma2 * d / (n - d)",
           "min-norm OLS risk sigma^2 d/(n - d) (the inverse-Wishart mean's -1 dropped)",
           "OLS error (d = 5, n = 20, sigma^2 = 0.01) -1.75 %; OLS excess risk at d = 8, n = 16 -12.5 %"),
    Mutant("icl-theory-ridge-rank-deficit", T,
           "return sigma2 * ((1.0 / (mu + lam)).sum(axis=-1) + max(d - n, 0) / lam)",
           "return sigma2 * ((1.0 / (mu + lam)).sum(axis=-1) + max(d - n - 1, 0) / lam)",
           "Bayes ridge risk counts d - n - 1 zero eigenvalues of X^T X for n < d",
           "Bayes ridge excess risk (d = 8, sigma^2 = 1/4) n = 1 -14 %, n = 4 -23 %, n = 7 -51 %; n >= 8 unchanged"),
    Mutant("icl-sims-gram-over-n-plus-1", S,
           "G = E.transpose(-1, -2) @ E / n",
           "G = E.transpose(-1, -2) @ E / (n + 1)",
           "the layer's rho = n + 1 (width of E) instead of n: the attention normalisation of ZFB eq. 3.3",
           "trained Gamma_eff +5 % (the layer learns to undo rho, derived: (n+1)/n); line-fit step size +5 % (h shrinks by "
           "n/(n+1)); losses unchanged"),
    Mutant("icl-sims-x-scale-variance", S,
           "return np.sqrt(np.diag(cfg.Sigma)), np.sqrt(np.diag(cfg.Omega))",
           "return np.diag(cfg.Sigma), np.sqrt(np.diag(cfg.Omega))",
           "x drawn with standard deviations Sigma_ii instead of sqrt(Sigma_ii) (variance/std mix-up)",
           "isotropic settings none (Sigma = I); Ahn spectrum: x ~ N(0, Sigma^2), the measured L* -18.5 % against the "
           "prediction at Sigma"),
    Mutant("icl-sims-noise-variance-as-std", S,
           "E[:, :, :n, d] = f[:, :, :n] + math.sqrt(cfg.sigma2) * eps",
           "E[:, :, :n, d] = f[:, :, :n] + cfg.sigma2 * eps",
           "context label noise with standard deviation sigma^2 instead of sigma",
           "sigma^2 = 0.01: context noise variance 0.01 -> 1e-4; eta 0.76894 -> 0.76923 (+0.04 %): below any "
           "check's resolution (the query noise, integrated out, is unchanged)"),
    Mutant("icl-sims-wishart-dof-off-by-one", S,
           "chi = np.stack([np.sqrt(r.chisquare(m - np.arange(p), size=(B, p))) for r in rngs])",
           "chi = np.stack([np.sqrt(r.chisquare(m - 1 - np.arange(p), size=(B, p))) for r in rngs])",
           "Bartlett chi-square degrees of freedom m - 1 - i instead of m - i (a Wishart with m - 1 samples)",
           "at m = d + 1 = 6 (claim 4's shortest length) the last chi-square has 0 dof and the sampler raises; "
           "elsewhere the context Gram is Wishart(m - 1) divided by m: exact error at Gamma_Z^-1 m = 20 +4.5 %, "
           "m = 10^4 +0.06 %; OLS error under scaling (m = n = 20) +2.0 %"),
    Mutant("icl-sims-eval-drops-query-noise", S,
           "out[\"eval_loss\"], out[\"eval_loss_sq\"] = _mean_and_square(torch.cat(sq, dim=1) + cfg.sigma2)",
           "out[\"eval_loss\"], out[\"eval_loss_sq\"] = _mean_and_square(torch.cat(sq, dim=1))",
           "the loss on fresh prompts without the integrated query noise sigma^2",
           "loss on fresh prompts -sigma^2: -0.9 % (isotropic), -0.6 % (ReLU), -4.3 % to -12 % (d = 8, sigma^2 = 1/4, "
           "n = 4 ... 32)"),
    Mutant("icl-sims-ridge-lambda-std", S,
           "return torch.linalg.solve(X.transpose(-1, -2) @ X + sigma2 / tau2 * eye, n * h)",
           "return torch.linalg.solve(X.transpose(-1, -2) @ X + math.sqrt(sigma2 / tau2) * eye, n * h)",
           "the reference ridge with lambda = sigma/tau instead of the Bayes lambda* = sigma^2/tau^2",
           "d = 8, sigma^2 = 1/4 (lambda 0.5 instead of 0.25), ridge excess risk by Monte Carlo (2e4 prompts): "
           "n = 4 +0.5 %, n = 8 +6.0 %, n = 16 +5.4 %, n = 40 +1.1 %"),
]
