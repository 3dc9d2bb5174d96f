"""Realistic bugs in theory/admm.py and sims/admm.py for ``python -m mutation`` (see mutation/__init__.py).

``moves`` was measured by applying each mutant in a scratch copy and evaluating the affected theory function (or a
Monte-Carlo run for simulator mutants) at the claims' report-size configurations, before and after.
"""
from __future__ import annotations

from mutation import Mutant

T = "theory/admm.py"
S = "sims/admm.py"

MUTANTS = [
    Mutant(
        id="admm-theory-bias-off-by-one-C",
        file=T,
        old="return -(1 - C / K) * rho * np.linalg.solve(H, local_w_hat(R, q, rho).sum(0))",
        new="return -(1 - (C - 1) / K) * rho * np.linalg.solve(H, local_w_hat(R, q, rho).sum(0))",
        description="off-by-one in the participation fraction of the closed-form mean bias: (1 - (C-1)/K)",
        moves="admm.2 closed-form literal bias (K=6, C=3) by +33 %"),
    Mutant(
        id="admm-theory-drift-wrong-trace",
        file=T,
        old="return rho ** 2 * C * (sigma2_zeta + sigma2_eta) * np.trace(Hinv @ Hinv)",
        new="return rho ** 2 * C * (sigma2_zeta + sigma2_eta) * np.trace(Hinv) ** 2 / R.shape[-1]",
        description="drift slope with (tr H^-1)^2 / L in place of tr(H^-2) (a wrong normalisation)",
        moves="admm.4 closed-form slope S by -4.7 % (the Phi projection S does not move)"),
    Mutant(
        id="admm-theory-fixed-C-bernoulli-variance",
        file=T,
        old="c = a * (1 - a) * K / (K - 1) if K > 1 else 0.0",
        new="c = a * (1 - a) if K > 1 else 0.0",
        description="fixed-size scheduling treated with the Bernoulli covariance (drops K/(K-1)), the paper's own "
                    "approximation",
        moves="admm.3 exact NMSD at n=300: RERCE fixed -3.6 %, continual fixed -8.4 % (n=100: -7.8 %); admm.4 "
              "NMSD_T -1.5 %; admm.5 reduced plateaus: RERCE C=2 -21 %, continual C=2 -8.6 %"),
    Mutant(
        id="admm-theory-first-upload-noise-not-averaged",
        file=T,
        old="S_u = e.T @ Eaa @ e / c ** 2 + sigma2_eta / c * np.eye(L)",
        new="S_u = e.T @ Eaa @ e / c ** 2 + sigma2_eta * np.eye(L)",
        description="first global model's uplink noise not divided by |S_1| (1/C dropped)",
        moves="admm.3 exact NMSD by +0.02 to +0.13 %; admm.5 not at all: below every resolution, expected to survive"),
    Mutant(
        id="admm-theory-uplink-noise-1-over-K",
        file=T,
        old="Gk[k, g:p, L:] = I / C",
        new="Gk[k, g:p, L:] = I / K",
        description="uplink noise of the RERCE average normalised by K instead of the C fresh uploads",
        moves="admm.3 NMSD at n=300: RERCE fixed -24 %, Bernoulli -33 %; admm.4 Phi-projected S -37.5 %, NMSD_T "
              "-36 %; admm.5 reduced RERCE C=2 plateau -52.5 %"),
    Mutant(
        id="admm-theory-continual-drop-factor-2",
        file=T,
        old="Gk[k, t, :L] = 2 * rN",
        new="Gk[k, t, :L] = rN",
        description="continual upload t_k = 2 w_k' - w_k: the downlink noise enters w_k' once and t_k twice; "
                    "the factor 2 dropped",
        moves="admm.3 continual NMSD at n=300 by -2.3 % (fixed), -2.1 % (Bernoulli); admm.5 reduced continual "
              "plateau by -13.7 %"),
    Mutant(
        id="admm-theory-admm-dual-term-dropped",
        file=T,
        old="A[g, z] = (I / rho - N[k]) / K",
        new="A[g, z] = (I / rho) / K",
        description="ADMM global update: the -N_k z_k part of the uploaded w_k + z_k/rho dropped",
        moves="admm.5 reduced ADMM plateau by +64 % (exact margin 4.39 -> 6.55 dB)"),
    Mutant(
        id="admm-theory-plateau-window-off-by-one",
        file=T,
        old="return float(nmsd[n_iter - window + 1:].mean())",
        new="return float(nmsd[n_iter - window:].mean())",
        description="exact plateau window one step too long (n = T - W included)",
        moves="admm.5 reduced plateaus by <= 0.01 % (flat plateau): below every resolution, expected to survive"),
    Mutant(
        id="admm-theory-noise-shift-amplitude-db",
        file=T,
        old="return 10 * float(np.log10(ratio))",
        new="return 20 * float(np.log10(ratio))",
        description="dB of a variance ratio computed as for an amplitude ratio (20 log10)",
        moves="admm.5 16x noise law prediction 12.04 -> 24.08 dB (+100 %)"),
    Mutant(
        id="admm-sims-gather-average-over-K",
        file=S,
        old="w_prev, w_g = w_g, (new + eta_sel).mean(1)",
        new="w_prev, w_g = w_g, (new + eta_sel).sum(1) / K",
        description="paper-scale RERCE server divides the C fresh uploads by K (gathered path, C <= K/2, L >= 16)",
        moves="admm.5 paper-scale RERCE C=4 plateau x135 after 200 iterations (the global model shrinks by C/K)"),
    Mutant(
        id="admm-sims-admm-dual-noise-free-reception",
        file=S,
        old="z = z + rho * (w_loc - w_rx)",
        new="z = z + rho * (w_loc - w_g[:, None])",
        description="ADMM dual update uses the noise-free global model (noise placement differs from theory)",
        moves="admm.5 reduced ADMM plateau by -51 % (Monte Carlo, 1000 seeds)"),
    Mutant(
        id="admm-sims-continual-stored-copy-noise-free",
        file=S,
        old="r = torch.where(a, s[:, None] + zeta, r)",
        new="r = torch.where(a, s[:, None], r)",
        description="continual variant stores the broadcast without its downlink noise",
        moves="admm.3 continual NMSD at n=300 by -55 %; admm.5 reduced continual plateau by -66 % (Monte Carlo)"),
    Mutant(
        id="admm-sims-window-off-by-one",
        file=S,
        old="in_window = config.window and n > config.n_iter - config.window",
        new="in_window = config.window and n >= config.n_iter - config.window",
        description="plateau window averages W + 1 steps but divides by W",
        moves="admm.5 plateaus by ~+1/W: +1.6 to +1.7 % (reduced, W=60); +2.3 % at paper scale with W=50 "
              "(~+1.1 % at W=100)"),
    Mutant(
        id="admm-sims-weights-one-over-sigma",
        file=S,
        old="R, q = R / sigma_nu ** 2, q / sigma_nu ** 2",
        new="R, q = R / sigma_nu, q / sigma_nu",
        description="weights W_k = I / sigma_nu instead of I / sigma_nu^2 (theory and simulator share the data, so "
                    "only the paper-scale levels move)",
        moves="nothing at W = I (admm.1-4, 6); admm.5 reduced plateaus -7 to -17 % but theory and Monte Carlo "
              "move together (shared data); paper-scale RERCE C=4 plateau < 0.01 %: expected to survive"),
]
