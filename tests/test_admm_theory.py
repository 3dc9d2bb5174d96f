"""Exact identities and hypothesis properties of theory/admm.py (float64; docs/admm.md properties P2, P4-P7, P9)."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from theory import admm as th

EPS = np.finfo(np.float64).eps


def random_problem(seed, K, L, d_lo, d_hi, sigma_nu=1.0):
    """Non-IID client data; d_k may be below L (rank-deficient clients), H must be non-singular."""
    rng = np.random.default_rng(seed)
    while True:
        Xs = [rng.normal(rng.uniform(-.5, .5), 1.0, size=(rng.integers(d_lo, d_hi + 1), L)) for _ in range(K)]
        if np.linalg.matrix_rank(np.vstack(Xs)) == L:
            break
    w = rng.normal(size=L)
    ys = [X @ w + sigma_nu * rng.normal(size=X.shape[0]) for X in Xs]
    Ws = [np.eye(X.shape[0]) / sigma_nu ** 2 for X in Xs]
    return Xs, ys, Ws


problems = st.builds(
    lambda seed, K, L, sig: (seed, K, L, sig),
    st.integers(0, 10 ** 6), st.integers(3, 5), st.integers(2, 4), st.floats(0.3, 3.0))
rhos = st.floats(-1.0, 1.0).map(lambda e: 10 ** e)


def _terms(p):
    seed, K, L, sig = p
    Xs, ys, Ws = random_problem(seed, K, L, math.ceil(L / 2), 4 * L, sig)
    R, q = th.wls_terms(Xs, ys, Ws)
    return Xs, ys, Ws, R, q


@given(problems)
@settings(max_examples=15)
def test_wls_solution_is_weighted_least_squares(p):
    Xs, ys, Ws, R, q = _terms(p)
    A = np.vstack([X / np.sqrt(W[0, 0]) ** -1 for X, W in zip(Xs, Ws)])
    b = np.concatenate([y * np.sqrt(W[0, 0]) for y, W in zip(ys, Ws)])
    ref = np.linalg.lstsq(A, b, rcond=None)[0]
    w = th.wls_solution(Xs, ys, Ws)
    # tolerance C·n·eps·cond(H), n = number of samples
    assert np.allclose(w, ref, rtol=0, atol=1e3 * EPS * A.shape[0] * np.linalg.cond(R.sum(0)) * np.abs(ref).max())


@given(problems, rhos)
@settings(max_examples=15)
def test_local_quantities_identity(p, rho):
    """R_k N_k = I - rho N_k (docs/admm.md §1) and w_hat_k = N_k q_k, rank-deficient clients included."""
    *_, R, q = _terms(p)
    N = th.local_N(R, rho)
    L = R.shape[1]
    lhs = R @ N
    cond = max(np.linalg.cond(R[k] + rho * np.eye(L)) for k in range(len(R)))
    assert np.allclose(lhs, np.eye(L) - rho * N, atol=100 * EPS * cond)
    assert np.allclose(th.local_w_hat(R, q, rho), np.einsum("kij,kj->ki", N, q))


@pytest.mark.parametrize("variant", ["rerce", "continual"])
def test_consensus_is_fixed_for_every_subset(variant):
    """F(a) 1 = 1 for every participation set a (fixed size for RERCE; any for continual): docs/admm.md §4."""
    *_, R, q = _terms((3, 4, 2, 1.0))
    rho, K, L = 0.7, 4, 2
    N = th.local_N(R, rho)
    for C in range(1, K + 1):
        F0, Fk, _ = th.rerce_matrices(N, rho, C) if variant == "rerce" else th.continual_matrices(N, rho)
        one = np.tile(np.eye(L), (F0.shape[0] // L, 1))
        for subset in itertools.combinations(range(K), C):
            F = F0 + Fk[list(subset)].sum(0)
            assert np.allclose(F @ one, one, atol=1e-13)


@pytest.mark.parametrize("variant,participation", [("rerce", "fixed"), ("continual", "fixed"),
                                                   ("continual", "bernoulli"), ("rerce", "bernoulli")])
def test_psd_form_equals_subset_enumeration(variant, participation):
    """One step of the PSD-form recursion equals the exact expectation over all participation sets."""
    *_, R, q = _terms((11, 4, 2, 1.0))
    rho, K, L, C, s2z, s2e = 1.3, 4, 2, 2, 0.03, 0.05
    N = th.local_N(R, rho)
    sch = th.scheme(N, rho, C, s2z, s2e, variant=variant, participation=participation)
    D = sch.B.shape[1]
    rng = np.random.default_rng(0)
    A = rng.normal(size=(D, D))
    P = A @ A.T
    Sxi = np.diag(np.r_[np.full(L, s2z), np.full(L, s2e)])
    expect, mean = np.zeros((D, D)), np.zeros((D, D))
    for bits in itertools.product((0, 1), repeat=K):
        size = sum(bits)
        if participation == "fixed":
            if size != C:
                continue
            prob = 1 / math.comb(K, C)
        else:
            prob = (C / K) ** size * (1 - C / K) ** (K - size)
        idx = [k for k in range(K) if bits[k]]
        if variant == "rerce" and size == 0:
            F, G = np.eye(D), np.zeros((D, 2 * L))
            expect += prob * P
            mean += prob * F
            continue
        F0, Fk, Gk = th.rerce_matrices(N, rho, size) if variant == "rerce" else th.continual_matrices(N, rho)
        F = F0 + Fk[idx].sum(0)
        expect += prob * (F @ P @ F.T + sum(Gk[k] @ Sxi @ Gk[k].T for k in idx))
        mean += prob * F
    assert np.allclose(th.moment_step(P, sch), expect, atol=1e-12 * np.abs(expect).max())
    assert np.allclose(sch.F_bar, mean, atol=1e-13)


@given(st.integers(0, 1000), st.integers(1, 4), st.sampled_from(["rerce", "continual"]))
@settings(max_examples=6)
def test_spectrum_unit_eigenvalues(seed, C, variant):
    """F_bar has exactly L unit eigenvalues and Phi exactly L^2; all others inside the unit disc (property P5)."""
    K, L = 4, 2
    *_, R, q = _terms((seed, K, L, 1.0))
    ev_F, ev_Phi = th.spectrum(R, 1.0, C, variant=variant)
    tol = 1e-8
    assert np.sum(np.abs(ev_F - 1) < tol) == L and ev_F[L] < 1 - tol
    assert np.sum(np.abs(ev_Phi - 1) < 1e-7) == L * L and ev_Phi[L * L] < 1 - 1e-7


@given(problems, rhos, st.data())
@settings(max_examples=12)
def test_mean_bias_closed_form(p, rho, data):
    """lim E w_k - w* = -(1 - C/K) rho H^-1 sum_k w_hat_k (literal), 0 (corrected): docs/admm.md §5."""
    *_, R, q = _terms(p)
    K = R.shape[0]
    C = data.draw(st.integers(1, K))
    w_star = th.solve_wls(R, q)
    scale = np.abs(w_star).max() + np.abs(th.local_w_hat(R, q, rho)).max()
    cond = np.linalg.cond(R.sum(0)) * (1 + rho)
    tol = 1e4 * EPS * cond * scale
    for init in ("literal", "corrected"):
        lim = th.mean_limit(R, q, rho, C, init=init)
        assert np.allclose(lim - w_star, th.rerce_mean_bias(R, q, rho, C, init=init), atol=tol)
    if C == K:
        assert np.allclose(th.rerce_mean_bias(R, q, rho, C), 0, atol=tol)


@given(problems, st.data())
@settings(max_examples=8)
def test_drift_slope_closed_form(p, data):
    """S from the exact Phi projection equals rho^2 C (s_z^2 + s_e^2) tr(H^-2) for every C (property P6)."""
    *_, R, q = _terms(p)
    K = R.shape[0]
    C = data.draw(st.integers(1, K))
    rho = data.draw(st.sampled_from([0.7, 1.0, 2.0]))
    s2z, s2e = data.draw(st.floats(0, 0.05)), data.draw(st.floats(0.001, 0.05))
    dec = th.msd_decomposition(R, q, rho, C, s2z, s2e)
    w_star = th.solve_wls(R, q)
    S = th.drift_slope(R, rho, C, s2z, s2e) / float(w_star @ w_star)
    assert dec["S"] == pytest.approx(S, rel=1e-6)
    assert S > 0


def test_decomposition_closes_on_the_recursion():
    """NMSD_n - (E_nu + E_psi + n S) -> 0 once transients have died (exact recursion, docs/admm.md §6)."""
    *_, R, q = _terms((5, 4, 3, 1.0))
    rho, C = 3.0, 2
    tau = th.mixing_time(R, rho, C)
    T = int(25 * tau)
    dec = th.msd_decomposition(R, q, rho, C, 1e-2, 1e-2)
    nmsd = th.exact_moments(R, q, rho, C, 1e-2, 1e-2, T)["nmsd"]
    pred = dec["E_nu"] + dec["E_psi"] + T * dec["S"]
    assert abs(nmsd[T] - pred) <= 1e-6 * nmsd[T]
    assert th.paper_steady_state(R, q, rho, C, 1e-2, 1e-2) < nmsd[T]


@given(problems, st.data())
@settings(max_examples=8)
def test_floors(p, data):
    """No noise: C < K leaves a positive floor E_nu, C = K converges to w* (docs/admm.md property P7)."""
    *_, R, q = _terms(p)
    K = R.shape[0]
    C = data.draw(st.integers(1, K - 1))
    assert th.msd_decomposition(R, q, 2.0, C, 0.0, 0.0)["E_nu"] > 1e-10
    full = th.msd_decomposition(R, q, 2.0, K, 0.0, 0.0)
    assert abs(full["E_nu"]) < 1e-9 and full["S"] == 0


@pytest.mark.parametrize("variant,participation", [("rerce", "fixed"), ("rerce", "bernoulli"),
                                                   ("continual", "fixed"), ("continual", "bernoulli")])
def test_exact_msd_is_affine_in_the_variances(variant, participation):
    """MSD(su, sd) = MSD(su, 0) + MSD(0, sd) - MSD(0, 0) exactly (docs/admm.md property P4)."""
    *_, R, q = _terms((8, 4, 2, 1.0))
    f = lambda a, b: th.exact_moments(R, q, 1.0, 2, a, b, 60, variant=variant,  # noqa: E731
                                      participation=participation)["nmsd"]
    lhs = f(0.02, 0.03)
    rhs = f(0.02, 0) + f(0, 0.03) - f(0, 0)
    assert np.allclose(lhs, rhs, rtol=1e-10, atol=1e-14)


def test_admm_exact_recursion_follows_the_noise_free_iteration():
    """Noise-free ADMM is deterministic: the exact NMSD equals the NMSD of the iteration (4.4)-(4.6) itself, and the
    mean of the error state is the error of the iteration (z_k* = q_k - R_k w*)."""
    *_, R, q = _terms((5, 4, 3, 1.0))
    rho, K, T = 0.7, 4, 25
    out = th.exact_moments(R, q, rho, K, 0.0, 0.0, T, variant="admm")
    N = th.local_N(R, rho)
    w_hat = th.local_w_hat(R, q, rho)
    w_star = th.solve_wls(R, q)
    w, z, g = w_hat.copy(), np.zeros_like(w_hat), w_hat.mean(0)
    for n in range(T + 1):
        assert out["nmsd"][n] == pytest.approx(np.sum((w - w_star) ** 2) / (K * w_star @ w_star), rel=1e-9)
        if n == T:
            break
        z = z + rho * (w - g)
        w = w_hat - np.einsum("kij,kj->ki", N, z - rho * g)
        g = (w + z / rho).mean(0)
    z_star = q - np.einsum("kij,j->ki", R, w_star)
    assert np.allclose(out["mean"][-1], np.r_[(w - w_star).ravel(), (z - z_star).ravel(), g - w_star], atol=1e-9)


def test_admm_exact_needs_full_participation():
    *_, R, q = _terms((5, 4, 3, 1.0))
    with pytest.raises(ValueError, match="full participation"):
        th.exact_moments(R, q, 1.0, 2, 0.0, 0.0, 3, variant="admm")


@pytest.mark.parametrize("variant,C", [("rerce", 2), ("continual", 2), ("admm", 4)])
def test_noise_part_scales_with_the_variance(variant, C):
    """Affine law: (plateau(16 s2) - floor) = 16 (plateau(s2) - floor), i.e. noise_shift_db(16) dB."""
    *_, R, q = _terms((6, 4, 2, 1.0))
    f = lambda s2: th.exact_plateau(R, q, 1.0, C, s2, s2, 40, 10, variant=variant)  # noqa: E731
    floor = f(0.0)
    ratio = (f(16e-3) - floor) / (f(1e-3) - floor)
    assert 10 * np.log10(ratio) == pytest.approx(th.noise_shift_db(16.0), abs=1e-9)
    assert th.noise_shift_db(16.0) == pytest.approx(12.0412, abs=1e-4)
    with pytest.raises(ValueError, match="window"):
        th.exact_plateau(R, q, 1.0, C, 0.0, 0.0, 5, 6, variant=variant)
    with pytest.raises(ValueError, match="ratio"):
        th.noise_shift_db(0.0)


def test_fedprox_and_fedavg_fixed_points():
    *_, R, q = _terms((2, 5, 3, 1.0))
    mu = 0.8
    g = th.fedprox_fixed_point(R, q, mu)
    N = th.local_N(R, mu)
    assert np.allclose(np.einsum("kij,kj->i", N, q + mu * g) / 5, g, atol=1e-12)
    lr = 1 / np.linalg.eigvalsh(R).max()
    assert np.allclose(th.fedavg_fixed_point(R, q, lr, 1), th.solve_wls(R, q), atol=1e-10)
    assert not np.allclose(th.fedavg_fixed_point(R, q, lr, 5), th.solve_wls(R, q), atol=1e-6)


def test_exact_moments_step_zero_and_psd():
    *_, R, q = _terms((9, 4, 3, 1.0))
    out = th.exact_moments(R, q, 1.0, 2, 0.01, 0.01, 30, steps=[0, 30])
    P = out["P_last"]
    assert np.linalg.eigvalsh(P).min() > -1e-12 * np.abs(P).max()
    w_hat = th.local_w_hat(R, q, 1.0)
    w_star = th.solve_wls(R, q)
    assert out["nmsd"][0] == pytest.approx(np.sum((w_hat - w_star) ** 2) / (4 * w_star @ w_star), rel=1e-12)


# ------------------------------------------------------------------------------------------------- bad input
def test_bad_inputs_name_the_argument():
    *_, R, q = _terms((1, 4, 2, 1.0))
    Xs, ys, Ws = random_problem(1, 4, 2, 2, 4)
    with pytest.raises(ValueError, match="rho"):
        th.local_N(R, 0.0)
    with pytest.raises(ValueError, match="rho"):
        th.exact_moments(R, q, -1.0, 2, 0, 0, 3)
    with pytest.raises(ValueError, match="C="):
        th.exact_moments(R, q, 1.0, 5, 0, 0, 3)
    with pytest.raises(ValueError, match="C="):
        th.drift_slope(R, 1.0, 0, 0.1, 0.1)
    with pytest.raises(ValueError, match="sigma2_eta"):
        th.exact_moments(R, q, 1.0, 2, 0.0, -1e-3, 3)
    with pytest.raises(ValueError, match="sigma2_zeta"):
        th.drift_slope(R, 1.0, 2, -1.0, 0.1)
    with pytest.raises(ValueError, match="singular H"):
        th.wls_solution([np.ones((3, 2))] * 2, [np.ones(3)] * 2)
    with pytest.raises(ValueError, match=r"ys\[1\]"):
        th.wls_solution(Xs, [ys[0], ys[1][:-1]] + ys[2:])
    with pytest.raises(ValueError, match=r"Xs\[2\]"):
        th.wls_solution(Xs[:2] + [np.ones((3, 5))] + Xs[3:], ys)
    with pytest.raises(ValueError, match="Ws"):
        th.wls_solution(Xs, ys, Ws[:2])
    with pytest.raises(ValueError, match="variant"):
        th.scheme(th.local_N(R, 1.0), 1.0, 2, variant="fedsgd")
    with pytest.raises(ValueError, match="participation"):
        th.scheme(th.local_N(R, 1.0), 1.0, 2, participation="random")
    with pytest.raises(ValueError, match="init"):
        th.rerce_mean_bias(R, q, 1.0, 2, init="zero")
