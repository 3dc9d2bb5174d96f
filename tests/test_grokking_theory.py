"""Exact properties of theory/grokking.py (float64): DFT identities, the energy's closed form, its Fourier critical
points and invariances, the Eq.-4 Woodbury identity, the analytic networks, product groups and bad input."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from theory import grokking as th
from theory.stats import float_tolerance

EPS = float(np.finfo(np.float64).eps)
odd_p = st.integers(1, 75).map(lambda k: 2 * k + 1)


@given(odd_p, st.integers(0, 1000))
def test_cosine_sum_over_frequencies(p, s):
    # sum_{f=1}^{(p-1)/2} cos(2 pi f s / p) = (p-1)/2 if s == 0 mod p else -1/2; tolerance: p terms of size 1
    total = np.cos(2 * np.pi * np.arange(1, (p - 1) // 2 + 1) * s / p).sum()
    expected = (p - 1) / 2 if s % p == 0 else -0.5
    assert abs(total - expected) <= float_tolerance(EPS, p * (1 + s))


@given(odd_p, st.integers(0, 500))
def test_roots_of_unity_and_parseval(p, s):
    total = np.exp(2j * np.pi * np.arange(p) * s / p).sum()
    assert abs(total - (p if s % p == 0 else 0)) <= float_tolerance(EPS, p * (1 + s))
    x = np.random.default_rng(s).standard_normal(p)
    # Parseval for the unnormalised DFT: sum |X_k|^2 = p ||x||^2, and the orbits partition the power
    assert np.isclose(th.orbit_power(x, p).sum(), p * (x @ x), rtol=1e-12)


@pytest.mark.parametrize("M", [5, 8, 23])
def test_fourier_basis_is_orthonormal(M):
    B = th.fourier_basis(M)
    assert np.allclose(B.T @ B, np.eye(M), atol=float_tolerance(EPS, M))
    assert len(th.fourier_basis_frequencies(M)) == M


@settings(max_examples=25)
@given(st.sampled_from([3, 4, 5, 8, 13, 23, 24, (2, 3), (4, 7), (2, 2, 3)]), st.integers(0, 10_000))
def test_energy_closed_form_matches_brute_force(M, seed):
    w = np.random.default_rng(seed).standard_normal(2 * th.group_order(M))
    brute, closed = th.energy(w, M), th.energy_dft(w, M)
    assert abs(brute - closed) <= 1e-9 * abs(brute)  # float64 sums over M^2 rows


@pytest.mark.parametrize("M", [5, 12, (3, 4)])
def test_energy_gradient_and_hessian_are_exact(M):
    n = th.group_order(M)
    w = np.random.default_rng(1).standard_normal(2 * n)
    g, h = th.energy_grad(w, M), 1e-5
    fd = np.array([(th.energy_dft(w + h * e, M) - th.energy_dft(w - h * e, M)) / (2 * h) for e in np.eye(2 * n)])
    # central differences of a quartic: O(h^2 E'''') error, plus float cancellation eps·E/h
    assert np.allclose(g, fd, rtol=1e-6, atol=1e-6 * np.abs(g).max())
    H = th.energy_hessian(w, M)
    assert np.allclose(H @ w, 3 * g, rtol=1e-10, atol=1e-10 * np.abs(g).max())  # Euler, degree 4
    assert np.allclose(H, H.T)


@settings(max_examples=30)
@given(st.integers(3, 60), st.data(), st.floats(0, 2 * np.pi), st.floats(0, 2 * np.pi))
def test_single_frequency_neurons_are_flat_maxima_with_E_quarter_M(M, data, phi1, phi2):
    k = data.draw(st.integers(1, (M - 1) // 2))
    w = th.character_neuron(M, k, phi1, phi2)
    E = th.energy_dft(w, M)
    assert abs(E - M / 4) <= 1e-10 * M  # E = M/4, rel 1e-10
    assert abs(E - th.energy_max(M, k)) <= 1e-10 * M
    assert np.abs(th.riemannian_grad(w, M)).max() <= 1e-9 * M
    delta = np.random.default_rng(k).standard_normal(2 * M)
    delta -= (delta @ w) * w
    w2 = w + 1e-3 * delta / np.linalg.norm(delta)
    assert th.energy_dft(w2 / np.linalg.norm(w2), M) <= E + 1e-10 * M


@pytest.mark.parametrize("M", [4, 10, 24])
def test_even_M_real_character_has_E_half_M_and_no_flat_direction(M):
    w = th.character_neuron(M, M // 2, 0.0, 0.0)
    assert math.isclose(th.energy_dft(w, M), M / 2, rel_tol=1e-10)
    eig = th.riemannian_hessian_eigenvalues(w, M)
    assert eig[-1] < -0.5 * M  # strict maximum: the phase of a real character is not free


@pytest.mark.parametrize("M", [13, 23])
def test_complex_pair_maximum_is_flat(M):
    eig = th.riemannian_hessian_eigenvalues(th.character_neuron(M, 2, 0.4, 1.3), M)
    assert abs(eig[-1]) <= 1e-10 * M and abs(eig[-2]) <= 1e-10 * M  # Cor. 1: the two phases are flat
    assert eig[-3] < -0.1 * M


def test_paper_constant_is_a_quarter_of_the_corrected_one():
    assert th.energy_max_paper(23) == 23 / 16 and th.energy_max(23) == 23 / 4
    assert th.energy_max_paper(24, 12) == 24 / 8


@given(st.integers(3, 40), st.integers(0, 100), st.floats(0.1, 3.0))
def test_energy_invariances(M, s, lam):
    rng = np.random.default_rng(s)
    u, v = rng.standard_normal(M), rng.standard_normal(M)
    E = th.energy_dft(np.concatenate([u, v]), M)
    shifted = np.concatenate([np.roll(u, s), np.roll(v, -s)])  # u(. - s), v(. + s) keeps a + b
    assert math.isclose(th.energy_dft(shifted, M), E, rel_tol=1e-10)
    assert math.isclose(th.energy_dft(lam * np.concatenate([u, v]), M), lam ** 4 * E, rel_tol=1e-10)
    # a separate phase shift at one frequency of u alone: rotate (cos, sin) coefficients of frequency 1
    B = th.fourier_basis(M)
    c = B.T @ u
    theta = 0.7
    c1, c2 = c[1], c[2]
    c[1], c[2] = math.cos(theta) * c1 - math.sin(theta) * c2, math.sin(theta) * c1 + math.cos(theta) * c2
    assert math.isclose(th.energy_dft(np.concatenate([B @ c, v]), M), E, rel_tol=1e-9)


@pytest.mark.parametrize("moduli,k", [((4, 7), (1, 2)), ((3, 5), (1, 0)), ((2, 3, 4), (1, 1, 1)), ((4, 6), (2, 3))])
def test_product_group_characters(moduli, k):
    n = math.prod(moduli)
    w = th.character_neuron(moduli, k, 0.3, 0.9)
    assert math.isclose(th.energy(w, moduli), th.energy_max(moduli, k), rel_tol=1e-10)
    table = th.cayley_table(moduli)
    assert sorted(table[0]) == list(range(n)) and (table == table.T).all()


@settings(max_examples=20)
@given(st.integers(0, 1000), st.floats(1e-3, 10.0))
def test_eq4_woodbury_identity(seed, eta):
    rng = np.random.default_rng(seed)
    n, K, M = 40, 12, 7
    F = th.centre_rows(rng.standard_normal((n, K)))
    Y = np.zeros((n, M))
    Y[np.arange(n), rng.integers(0, M, n)] = 1
    Y = th.centre_rows(Y)
    a, b = th.gf_fixed_point(F, Y, eta), th.gf_residual_form(F, Y, eta)
    cond = np.linalg.cond(F.T @ F + eta * np.eye(K))
    assert np.linalg.norm(a - b) <= 1e-8 * cond * np.linalg.norm(b)  # rel 1e-8·cond


@settings(max_examples=12)
@given(st.integers(1, 20).map(lambda k: 2 * k + 1), st.sampled_from([3, 4, 5]))
def test_phase_grid_network_is_exact(p, J):
    W_in, W_out = th.phase_grid_network(p, J)
    logits = th.network_logits(W_in, W_out, p)
    target = (np.arange(p)[:, None] + np.arange(p)[None, :]) % p
    assert th.network_accuracy(W_in, W_out, p) == 1.0
    correct = np.take_along_axis(logits, target[..., None], axis=-1)[..., 0]
    wrong = np.where(np.arange(p)[None, None, :] == target[..., None], np.nan, logits)
    tol = float_tolerance(EPS, J * J * p * p)
    assert np.allclose(correct - np.nanmax(wrong, axis=-1), J * J * p / 4, atol=tol * p)  # margin J²p/4
    assert np.nanmax(wrong, axis=-1) - np.nanmin(wrong, axis=-1) == pytest.approx(0, abs=tol * p)  # all equal
    assert math.isclose(th.normalized_margin(W_in, W_out, p), th.morwani_max_margin(p), rel_tol=1e-9)


@pytest.mark.parametrize("p", [5, 9, 23, 41])
def test_phase_grid_with_J2_fails(p):
    assert th.network_accuracy(*th.phase_grid_network(p, 2), p) < 0.7  # negative control


def test_random_phase_network_needs_width():
    rng = np.random.default_rng(0)
    acc = lambda p, N: th.network_accuracy(*th.gromov_random_network(p, N, rng), p)  # noqa: E731
    assert np.mean([acc(71, 4 * 71) for _ in range(2)]) >= 0.999  # docs/grokking.md table: 1.0 at 4p for p = 71
    assert acc(23, 11) < 0.8  # p/2 is far too narrow


def test_frequency_shares_random_baseline_and_pure_neurons():
    W = np.random.default_rng(0).standard_normal((2 * 41, 2000))
    share = th.neuron_frequency_shares(W, 41)["share"]
    # unweighted mean over 2000 Gaussian neurons (4000 i.i.d. halves): SE ~ 0.0009, so 4 SE = 0.0037 < the 0.0063
    # an off-by-one in m moves H_m/m at M = 41 (m = 21 gives 0.1736 instead of 0.1799)
    assert abs(share.mean() - th.random_share_baseline(41)) < 4 * share.std(ddof=1) / np.sqrt(share.size)
    assert abs(th.random_share_baseline(41) - 3.5977396571436819 / 20) < 1e-12  # H_20 / 20
    pure = np.stack([th.character_neuron(41, k % 20 + 1, k, 2 * k) for k in range(40)], axis=1)
    res = th.neuron_frequency_shares(pure, 41)
    assert np.allclose(res["share"], 1.0) and np.allclose(res["spectrum"], 1 / 20)


def test_critical_fraction_values():
    assert th.critical_fraction(23) == pytest.approx(0.375, abs=1e-3)
    assert th.critical_fraction(127) == pytest.approx(0.105, abs=1e-3)


@pytest.mark.parametrize("call,arg", [
    (lambda: th.energy(np.zeros(4), 2), "M"),
    (lambda: th.group_moduli((1, 5)), "M"),
    (lambda: th.phase_grid_network(4), "p"),
    (lambda: th.phase_grid_network(5, 0), "J"),
    (lambda: th.gromov_random_network(7, 0, np.random.default_rng(0)), "N"),
    (lambda: th.morwani_max_margin(2), "p"),
    (lambda: th.energy(np.zeros(5), 3), "w"),
    (lambda: th.character_neuron(5, 0), "k"),
    (lambda: th.gf_fixed_point(np.ones((3, 2)), np.ones((3, 2)), 0.0), "eta"),
])
def test_bad_input_names_the_argument(call, arg):
    with pytest.raises(ValueError, match=arg):
        call()


def test_phase_alignment_grid_random_and_broken():
    for p in (5, 23, 41):
        W_in, W_out = th.phase_grid_network(p, 3)
        res = th.phase_alignment(W_in, W_out, p)
        assert abs(res["coherence"] - 1) < 1e-12 and np.allclose(res["cos"], 1)
    W_in, W_out = th.phase_grid_network(23, 3)
    assert abs(th.phase_alignment(W_in, -W_out, 23)["coherence"] + 1) < 1e-12  # phi3 = phi1 + phi2 + pi
    rng = np.random.default_rng(1)
    coh = [th.phase_alignment(rng.standard_normal((82, 400)), rng.standard_normal((400, 41)), 41)["coherence"]
           for _ in range(20)]
    assert abs(np.mean(coh)) < 4 * np.std(coh, ddof=1) / np.sqrt(20)  # sign-symmetric law: expectation 0
    with pytest.raises(ValueError, match="W_out"):
        th.phase_alignment(W_in, W_out[:, :-1], 23)


def test_omnigrok_time_is_inverse_in_gamma():
    g = np.array([1e-3, 2e-3, 4e-3])
    t = th.omnigrok_time(g, 3.0)
    assert np.allclose(t, np.log(3.0) / g) and np.allclose(t[:-1] / t[1:], 2.0)
    for bad in (dict(gamma=[0.0]), dict(gamma=[1e-3], w0_over_wc=1.0)):
        with pytest.raises(ValueError):
            th.omnigrok_time(**bad)
