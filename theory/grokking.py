r"""Closed forms for two-layer networks on group arithmetic: Tian's Li2 energy, Gromov's analytic network, Morwani's
max margin, the Eq.-4 ridge fixed point and the Fourier bookkeeping the simulator's logs are compared against.

Conventions (float64, numpy only):

- A group is given by ``M``: an int for :math:`\mathbb{Z}_M`, or a tuple of moduli ``(m1, m2, ...)`` for
  :math:`\mathbb{Z}_{m_1}\times\mathbb{Z}_{m_2}\times\cdots`, whose elements are flattened row-major
  (``g = g1*m2 + g2``), exactly as the simulator flattens them.
- A neuron is :math:`w=(u;v)\in\mathbb{R}^{2M}` and acts on the pair :math:`(a,b)` as :math:`\sigma(u_a+v_b)`: the
  frozen identity embedding of two one-hots, :math:`x_{ab}=(e_a,e_b)`.
- The DFT is unnormalised, :math:`U_k=\sum_m u_m e^{-2\pi i km/M}` (``numpy.fft``).

Reference: Y. Tian, arXiv 2509.21519 (Li2), Eqs. 1-7, Thms 1-4; A. Gromov, arXiv 2301.02679, Eqs. 6-13;
D. Morwani et al., arXiv 2311.07568, Thm 7.
"""
from __future__ import annotations

import math

import numpy as np

CRITICAL_C = 2.7482
r"""The reference code's empirical constant in :math:`p_c = c\,\ln M/M` (``use_critical_ratio``, Sept 2025)."""


# --------------------------------------------------------------------------------------------------------------------
# groups and tables


def group_moduli(M) -> tuple[int, ...]:
    r"""The moduli of the group: ``71 -> (71,)``, ``(4, 7) -> (4, 7)``; ValueError naming ``M`` if any is < 2 or the
    order is < 3.

    Parameters
    ----------
    M : int or tuple of int
        The group: an int m for Z_m, or a tuple of moduli for a product group (each >= 2, order >= 3).

    Returns
    -------
    tuple of int
        The moduli.

    References
    ----------
    Tian, arXiv 2509.21519 §5 (Abelian groups as products of cyclic groups).
    """
    moduli = (int(M),) if np.isscalar(M) else tuple(int(m) for m in M)
    if not moduli or any(m < 2 for m in moduli) or math.prod(moduli) < 3:
        raise ValueError(f"M={M!r} is not valid; use an int >= 3 or a tuple of moduli >= 2 with product >= 3")
    return moduli


def group_order(M) -> int:
    r"""The order :math:`|G| = \prod_i m_i` of the group.

    Parameters
    ----------
    M : int or tuple of int
        The group: an int m for Z_m, or a tuple of moduli for a product group (each >= 2, order >= 3).

    Returns
    -------
    int
        |G|.

    References
    ----------
    Tian, arXiv 2509.21519 §5.
    """
    return math.prod(group_moduli(M))


def cayley_table(M) -> np.ndarray:
    r"""The (|G|, |G|) table of flattened sums :math:`a\cdot b` of the Abelian group ``M``.

    Parameters
    ----------
    M : int or tuple of int
        The group: an int m for Z_m, or a tuple of moduli for a product group (each >= 2, order >= 3).

    Returns
    -------
    numpy.ndarray, shape (|G|, |G|)
        Flattened indices of a·b.

    References
    ----------
    Tian, arXiv 2509.21519 §2 (the task: a + b over the group).
    """
    moduli = group_moduli(M)
    coords = np.stack(np.unravel_index(np.arange(math.prod(moduli)), moduli), axis=1)
    total = (coords[:, None, :] + coords[None, :, :]) % np.asarray(moduli)
    return np.ravel_multi_index(tuple(np.moveaxis(total, -1, 0)), moduli)


def all_pairs(M) -> np.ndarray:
    r"""All (|G|^2, 2) pairs (a, b) in row-major order.

    Parameters
    ----------
    M : int or tuple of int
        The group: an int m for Z_m, or a tuple of moduli for a product group (each >= 2, order >= 3).

    Returns
    -------
    numpy.ndarray, shape (|G|², 2)
        All pairs (a, b).

    References
    ----------
    Tian, arXiv 2509.21519 §2.
    """
    n = group_order(M)
    a, b = np.divmod(np.arange(n * n), n)
    return np.stack([a, b], axis=1)


def _check_w(w, M) -> tuple[np.ndarray, int]:
    w = np.asarray(w, dtype=np.float64)
    n = group_order(M)
    if w.shape[-1] != 2 * n:
        raise ValueError(f"w has last dimension {w.shape[-1]}, expected 2M = {2 * n}")
    return w, n


# --------------------------------------------------------------------------------------------------------------------
# DFT and Fourier basis


def dft(x, M) -> np.ndarray:
    r"""Unnormalised DFT over the group along the last axis: :math:`X_k=\sum_g x_g \overline{\chi_k(g)}`, flattened
    like the elements.

    Parameters
    ----------
    x : array_like, shape (..., |G|)
        Vectors indexed by flattened group elements (last axis).
    M : int or tuple of int
        The group: an int m for Z_m, or a tuple of moduli for a product group (each >= 2, order >= 3).

    Returns
    -------
    numpy.ndarray (complex)
        X_k, same shape as x.

    References
    ----------
    Discrete Fourier transform on a finite Abelian group (numpy.fft.fftn over the moduli).
    """
    moduli = group_moduli(M)
    x = np.asarray(x, dtype=np.float64)
    lead = x.shape[:-1]
    return np.fft.fftn(x.reshape(*lead, *moduli), axes=tuple(range(-len(moduli), 0))).reshape(*lead, -1)


def negate_index(M) -> np.ndarray:
    r"""For each flattened frequency k, the flattened index of -k (the conjugate character).

    Parameters
    ----------
    M : int or tuple of int
        The group: an int m for Z_m, or a tuple of moduli for a product group (each >= 2, order >= 3).

    Returns
    -------
    numpy.ndarray of int, shape (|G|,)
        Index of −k per k.

    References
    ----------
    Characters of a finite Abelian group: χ_{−k} is the conjugate of χ_k.
    """
    moduli = group_moduli(M)
    coords = np.unravel_index(np.arange(math.prod(moduli)), moduli)
    return np.ravel_multi_index(tuple((-c) % m for c, m in zip(coords, moduli)), moduli)


def frequency_orbits(M) -> np.ndarray:
    r"""Orbit id of each flattened frequency under :math:`k\mapsto -k` (0 = the trivial character). For
    :math:`\mathbb{Z}_M` the ids are :math:`\min(k, M-k)`, i.e. the real frequencies
    :math:`0\ldots\lfloor M/2\rfloor`.

    Parameters
    ----------
    M : int or tuple of int
        The group: an int m for Z_m, or a tuple of moduli for a product group (each >= 2, order >= 3).

    Returns
    -------
    numpy.ndarray of int, shape (|G|,)
        Orbit id per frequency.

    References
    ----------
    Characters of a finite Abelian group (real frequencies pair k with −k).
    """
    neg = negate_index(M)
    rep = np.minimum(np.arange(neg.size), neg)
    _, ids = np.unique(rep, return_inverse=True)
    return ids


def fourier_basis(M) -> np.ndarray:
    r"""Real orthonormal Fourier basis of :math:`\mathbb{R}^{M}` for :math:`\mathbb{Z}_M` as columns:
    :math:`1/\sqrt M`, then :math:`\sqrt{2/M}\cos(2\pi km/M)`, :math:`\sqrt{2/M}\sin(2\pi km/M)` for
    :math:`k=1\ldots\lceil M/2\rceil-1`, then :math:`(-1)^m/\sqrt M` for even M. Returns (M, M) with
    :math:`B^\top B=I`. Column frequencies: :func:`fourier_basis_frequencies`.

    Parameters
    ----------
    M : int or tuple of int
        The group: an int m for Z_m, or a tuple of moduli for a product group (each >= 2, order >= 3).

    Returns
    -------
    numpy.ndarray, shape (M, M)
        Orthonormal columns B.

    References
    ----------
    The real Fourier basis of Z_M (Gromov, arXiv 2301.02679 §2).
    """
    (m,) = group_moduli(M) if np.isscalar(M) else (None,)
    if m is None:
        raise ValueError(f"M={M!r}: fourier_basis is for the cyclic group; pass an int")
    t = np.arange(m)
    cols = [np.full(m, 1 / math.sqrt(m))]
    for k in range(1, (m + 1) // 2):
        cols += [math.sqrt(2 / m) * np.cos(2 * np.pi * k * t / m), math.sqrt(2 / m) * np.sin(2 * np.pi * k * t / m)]
    if m % 2 == 0:
        cols.append((-1.0) ** t / math.sqrt(m))
    return np.stack(cols, axis=1)


def fourier_basis_frequencies(M: int) -> np.ndarray:
    r"""The frequency of each column of :func:`fourier_basis`.

    Parameters
    ----------
    M : int
        Modulus of Z_M.

    Returns
    -------
    numpy.ndarray of int, shape (M,)
        Frequency of each column.

    References
    ----------
    As :func:`fourier_basis`.
    """
    m = int(M)
    freqs = [0] + [k for k in range(1, (m + 1) // 2) for _ in (0, 1)]
    return np.asarray(freqs + ([m // 2] if m % 2 == 0 else []))


def orbit_power(x, M) -> np.ndarray:
    r"""Power :math:`\sum_{k\in\{\pm\ell\}}|X_k|^2` per frequency orbit :math:`\ell` (last axis), orbit 0 = DC. By
    Parseval the orbits sum to :math:`|G|\,\|x\|^2`.

    Parameters
    ----------
    x : array_like, shape (..., |G|)
        Vectors indexed by flattened group elements (last axis).
    M : int or tuple of int
        The group: an int m for Z_m, or a tuple of moduli for a product group (each >= 2, order >= 3).

    Returns
    -------
    numpy.ndarray
        Power per orbit, orbit 0 first.

    References
    ----------
    Parseval's identity on a finite Abelian group.
    """
    power = np.abs(dft(x, M)) ** 2
    ids = frequency_orbits(M)
    indicator = (ids[None, :] == np.arange(ids.max() + 1)[:, None]).astype(np.float64)
    return power @ indicator.T


def neuron_frequency_shares(W_in, M) -> dict:
    r"""Per-neuron Fourier concentration of input weights ``W_in`` of shape (2|G|, K) (columns are neurons
    :math:`(u_j; v_j)`).

    For each neuron and each input half the share of its non-DC power in its top frequency orbit,
    :math:`s = \max_\ell P_\ell / \sum_{\ell\ge1} P_\ell`; the two halves are averaged. ``weighted_share`` averages
    over neurons with weight :math:`\|w_j\|^2` (non-DC), so dead neurons do not count. A random Gaussian neuron has
    expected share :math:`H_m/m` (:func:`random_share_baseline`). ``spectrum`` is the aggregate non-DC power per
    orbit over all neurons and both halves, normalised to sum 1 (uniform = 1/m).

    Parameters
    ----------
    W_in : array_like, shape (2p, K)
        Input weights: rows a (first p) and p + b (last p), one column per neuron.
    M : int or tuple of int
        The group: an int m for Z_m, or a tuple of moduli for a product group (each >= 2, order >= 3).

    Returns
    -------
    dict
        ``share`` per neuron, ``weighted_share`` and ``spectrum`` (aggregate power per orbit, summing to 1).

    References
    ----------
    Li2 arXiv 2509.21519 Thm 2-3 (every neuron single-frequency, every frequency used); Morwani et al. arXiv
    2311.07568 Thm 7.
    """
    W_in = np.asarray(W_in, dtype=np.float64)
    n = group_order(M)
    if W_in.ndim != 2 or W_in.shape[0] != 2 * n:
        raise ValueError(f"W_in has shape {W_in.shape}, expected (2M, K) with 2M = {2 * n}")
    halves = [orbit_power(W_in[:n].T, M)[:, 1:], orbit_power(W_in[n:].T, M)[:, 1:]]
    shares, weights = [], []
    for P in halves:
        tot = P.sum(axis=1)
        shares.append(np.where(tot > 0, P.max(axis=1) / np.where(tot > 0, tot, 1.0), 0.0))
        weights.append(tot)
    share = 0.5 * (shares[0] + shares[1])
    weight = weights[0] + weights[1]
    spectrum = (halves[0] + halves[1]).sum(axis=0)
    return {"share": share, "weighted_share": float((share * weight).sum() / weight.sum()),
            "top_frequency": np.argmax(halves[0] + halves[1], axis=1) + 1,
            "spectrum": spectrum / spectrum.sum()}


def phase_alignment(W_in, W_out, M) -> dict:
    r"""Gromov's phase relation in a network :math:`f(a,b)_q=\sum_j W^{out}_{jq}\,\sigma(u_{ja}+v_{jb})`:
    per neuron j at its top frequency k (largest :math:`|U_k|^2+|V_k|^2`, k non-trivial), the phase mismatch
    :math:`\Delta_j=\arg(U_kV_k\overline{O_k})` with U, V, O the DFTs of :math:`u_j`, :math:`v_j` and the output
    row :math:`W^{out}_{j\cdot}`. A neuron :math:`u=\cos(\omega a+\varphi_1)`, :math:`v=\cos(\omega b+\varphi_2)`,
    :math:`W^{out}=\cos(\omega q+\varphi_3)` has :math:`\Delta=\varphi_1+\varphi_2-\varphi_3`; the cross term
    of :math:`\sigma=x^2` then adds :math:`\cos(\omega(a+b-q)+\Delta)` to the logits, which peaks at the right
    answer only when :math:`\Delta=0`.

    ``coherence`` is :math:`\sum_j\mathrm{Re}(U_kV_k\overline{O_k})/\sum_j|U_kV_kO_k|`, the cosine of
    :math:`\Delta_j` averaged with the weight each neuron carries in that logit term: 1 when every neuron obeys
    :math:`\varphi_3=\varphi_1+\varphi_2`, 0 in expectation for independent input and output weights whose law
    is symmetric under a sign flip (e.g. at init). ``cos`` holds the per-neuron :math:`\cos\Delta_j`.

    Parameters
    ----------
    W_in : array_like, shape (2M, K)
        Input weights: rows 0..M-1 embed the first operand a, rows M..2M-1 the second operand b.
    W_out : array_like, shape (K, M)
        Output weights, one row per neuron.
    M : int
        Modulus of the group Z_M (>= 3).

    Returns
    -------
    dict
        ``coherence`` (float in [-1, 1]) and ``cos`` (array of shape (K,), per-neuron cos Δ_j).

    References
    ----------
    Gromov, arXiv 2301.02679, Eqs. 6, 12-13; Morwani et al., arXiv 2311.07568, Thm 7
    (:math:`\theta_u^*+\theta_v^*=\theta_w^*`).
    """
    W_in, W_out = np.asarray(W_in, dtype=np.float64), np.asarray(W_out, dtype=np.float64)
    n = group_order(M)
    if W_in.ndim != 2 or W_in.shape[0] != 2 * n or W_out.shape != (W_in.shape[1], n):
        raise ValueError(f"W_in {W_in.shape}, W_out {W_out.shape}: expected (2M, K) and (K, M) with M = {n}")
    U, V, O = dft(W_in[:n].T, M), dft(W_in[n:].T, M), dft(W_out, M)
    power = np.abs(U) ** 2 + np.abs(V) ** 2
    power[:, 0] = -1.0
    k = power.argmax(axis=1)
    rows = np.arange(W_in.shape[1])
    term = U[rows, k] * V[rows, k] * np.conj(O[rows, k])
    size = np.abs(term)
    cos = np.where(size > 0, term.real / np.where(size > 0, size, 1.0), 0.0)
    return {"coherence": float(term.real.sum() / size.sum()) if size.sum() > 0 else 0.0, "cos": cos,
            "frequency": k}


def random_share_baseline(M: int) -> float:
    r"""Expected top-frequency share of a Gaussian vector over the :math:`m=(M-1)/2` real frequencies of odd M:
    the orbit powers are i.i.d. exponential, so :math:`E[\max/\mathrm{sum}] = H_m/m`.

    Parameters
    ----------
    M : int
        Odd modulus.

    Returns
    -------
    float
        H_m / m with m = (M − 1)/2.

    References
    ----------
    Order statistics of i.i.d. exponentials: E[max / sum] = H_m / m (derived here, checked by Monte Carlo in tests).
    """
    m = (int(M) - 1) // 2
    return float(sum(1 / j for j in range(1, m + 1)) / m)


# --------------------------------------------------------------------------------------------------------------------
# the energy (Li2 Thm 1) and its closed form


def _targets_centred(M, pairs) -> tuple[np.ndarray, np.ndarray]:
    """Sample-centred one-hot targets P_1^perp Y (n, |G|) of the given pairs."""
    n = group_order(M)
    table = cayley_table(M)
    Y = np.zeros((len(pairs), n))
    Y[np.arange(len(pairs)), table[pairs[:, 0], pairs[:, 1]]] = 1.0
    return Y - Y.mean(axis=0, keepdims=True)


def energy(w, M, pairs=None) -> float:
    r"""Li2 energy of one neuron with :math:`\sigma(x)=x^2`:

    .. math:: E(w)=\tfrac12\,\|\tilde Y^\top\sigma(Xw)\|_2^2,\qquad \tilde Y=P_1^\perp Y,\
              P_1^\perp=I-\mathbf 1\mathbf 1^\top/n,

    brute force over the rows of the table: all :math:`|G|^2` pairs, or the ``pairs`` (n, 2) of a subsampled table.

    Parameters
    ----------
    w : array_like, shape (2|G|,)
        One hidden neuron w = (u; v): input weights of the two one-hot halves.
    M : int or tuple of int
        The group: an int m for Z_m, or a tuple of moduli for a product group (each >= 2, order >= 3).
    pairs : array_like, shape (n, 2), optional
        Training pairs (a, b) of a subsampled table; None means all |G|² pairs.

    Returns
    -------
    float
        E(w).

    References
    ----------
    Tian, arXiv 2509.21519, Thm 1 / Eq. 7. Assumes :math:`\sigma(x)=x^2` and no biases.
    """
    w, n = _check_w(w, M)
    pairs = all_pairs(M) if pairs is None else np.asarray(pairs)
    Yt = _targets_centred(M, pairs)
    f = (w[pairs[:, 0]] + w[n + pairs[:, 1]]) ** 2
    return float(0.5 * np.sum((Yt.T @ f) ** 2))


def energy_dft(w, M) -> float:
    r"""Closed form of :func:`energy` on the full table (derived in docs/grokking.md, checked by tests):

    .. math:: E(w)=\frac{2}{M}\sum_{k\neq0}|U_k|^2|V_k|^2,\qquad U=\mathrm{DFT}(u),\ V=\mathrm{DFT}(v).

    Centring kills :math:`u^2`, :math:`v^2` and the constant; the cross term :math:`2(u\circledast v)` remains.

    Parameters
    ----------
    w : array_like, shape (2|G|,)
        One hidden neuron w = (u; v): input weights of the two one-hot halves.
    M : int or tuple of int
        The group: an int m for Z_m, or a tuple of moduli for a product group (each >= 2, order >= 3).

    Returns
    -------
    float
        E(w) on the full table.

    References
    ----------
    Tian, arXiv 2509.21519, Eq. 7 (full table, :math:`\sigma=x^2`); group generalisation via fftn.
    """
    w, n = _check_w(w, M)
    U, V = dft(w[..., :n], M), dft(w[..., n:], M)
    prod = np.abs(U) ** 2 * np.abs(V) ** 2
    return (2.0 / n) * (prod[..., 1:].sum(axis=-1))


def energy_grad(w, M) -> np.ndarray:
    r"""Euclidean gradient of :func:`energy_dft`: with :math:`\tilde c` the centred convolution
    (:math:`\hat{\tilde c}_k=U_kV_k`, :math:`k\ne0`), :math:`\partial E/\partial u = 4\,\tilde c\star v` and
    :math:`\partial E/\partial v = 4\,\tilde c\star u` (cross-correlations), computed as
    :math:`\mathrm{IDFT}(4\,C\bar V)` and :math:`\mathrm{IDFT}(4\,C\bar U)`.

    Parameters
    ----------
    w : array_like, shape (2|G|,)
        One hidden neuron w = (u; v): input weights of the two one-hot halves.
    M : int or tuple of int
        The group: an int m for Z_m, or a tuple of moduli for a product group (each >= 2, order >= 3).

    Returns
    -------
    numpy.ndarray, shape (2|G|,)
        ∇E(w).

    References
    ----------
    Tian, arXiv 2509.21519 Eq. 7 (gradient of the full-table energy, derived here).
    """
    w, n = _check_w(w, M)
    moduli = group_moduli(M)
    U, V = dft(w[:n], M), dft(w[n:], M)
    C = U * V
    C[0] = 0.0
    inv = lambda X: np.fft.ifftn(X.reshape(moduli)).reshape(-1).real  # noqa: E731
    return np.concatenate([4 * inv(C * np.conj(V)), 4 * inv(C * np.conj(U))])


def riemannian_grad(w, M) -> np.ndarray:
    r"""Gradient of E on the unit sphere :math:`\|w\|=1` (the constraint weight decay imposes, Li2 Thm 1):
    :math:`\operatorname{grad}E=(I-ww^\top)\nabla E` for unit ``w``.

    Parameters
    ----------
    w : array_like, shape (2|G|,)
        One hidden neuron w = (u; v): input weights of the two one-hot halves.
    M : int or tuple of int
        The group: an int m for Z_m, or a tuple of moduli for a product group (each >= 2, order >= 3).

    Returns
    -------
    numpy.ndarray, shape (2|G|,)
        The tangent gradient.

    References
    ----------
    Tian, arXiv 2509.21519 Thm 1 (the sphere constraint); Absil–Mahony–Sepulchre, Optimization on Matrix Manifolds,
    §3.6.
    """
    w, _ = _check_w(w, M)
    g = energy_grad(w, M)
    return g - (w @ g) / (w @ w) * w


def energy_hessian(w, M, pairs=None) -> np.ndarray:
    r"""Exact Euclidean Hessian of :func:`energy` (brute force, σ=x²):
    :math:`\nabla^2E = 2X^\top\mathrm{diag}(\tilde Y\tilde Y^\top h^2)X + 4AA^\top`, :math:`A = X^\top D_h\tilde Y`,
    :math:`h = Xw`.

    Parameters
    ----------
    w : array_like, shape (2|G|,)
        One hidden neuron w = (u; v): input weights of the two one-hot halves.
    M : int or tuple of int
        The group: an int m for Z_m, or a tuple of moduli for a product group (each >= 2, order >= 3).
    pairs : array_like, shape (n, 2), optional
        Training pairs (a, b) of a subsampled table; None means all |G|² pairs.

    Returns
    -------
    numpy.ndarray, shape (2|G|, 2|G|)
        ∇²E(w).

    References
    ----------
    Tian, arXiv 2509.21519 Eq. 7 (Hessian of the energy, derived here).
    """
    w, n = _check_w(w, M)
    pairs = all_pairs(M) if pairs is None else np.asarray(pairs)
    Yt = _targets_centred(M, pairs)
    h = w[pairs[:, 0]] + w[n + pairs[:, 1]]
    z = Yt @ (Yt.T @ h ** 2)
    rows = np.concatenate([pairs[:, 0], n + pairs[:, 1]])
    # X^T diag(z) X over the two one-hot blocks, assembled by index
    H = np.zeros((2 * n, 2 * n))
    np.add.at(H, (pairs[:, 0], pairs[:, 0]), 2 * z)
    np.add.at(H, (n + pairs[:, 1], n + pairs[:, 1]), 2 * z)
    np.add.at(H, (pairs[:, 0], n + pairs[:, 1]), 2 * z)
    np.add.at(H, (n + pairs[:, 1], pairs[:, 0]), 2 * z)
    A = np.zeros((2 * n, n))
    np.add.at(A, rows, np.concatenate([h[:, None] * Yt, h[:, None] * Yt]))
    return H + 4 * A @ A.T


def riemannian_hessian_eigenvalues(w, M, pairs=None) -> np.ndarray:
    r"""Eigenvalues of the Riemannian Hessian of E on the sphere at unit ``w``, restricted to the tangent space
    (2M-1 values, ascending): :math:`P(\nabla^2E-(w^\top\nabla E)I)P`, :math:`P=I-ww^\top`. A strict local max has
    all < 0; Li2 Cor. 1 says its maxima are flat: the largest is 0.

    Parameters
    ----------
    w : array_like, shape (2|G|,)
        One hidden neuron w = (u; v): input weights of the two one-hot halves.
    M : int or tuple of int
        The group: an int m for Z_m, or a tuple of moduli for a product group (each >= 2, order >= 3).
    pairs : array_like, shape (n, 2), optional
        Training pairs (a, b) of a subsampled table; None means all |G|² pairs.

    Returns
    -------
    numpy.ndarray, shape (2|G| − 1,)
        Ascending eigenvalues on the tangent space.

    References
    ----------
    Tian, arXiv 2509.21519 Cor. 1; Absil–Mahony–Sepulchre §5.5 (Riemannian Hessian on the sphere).
    """
    w, n = _check_w(w, M)
    w = w / np.linalg.norm(w)
    H = energy_hessian(w, M, pairs)
    g = H @ w / 3.0  # Euler: E is homogeneous of degree 4, so H w = 3 grad E
    Q = np.linalg.qr(np.column_stack([w, np.eye(2 * n)]))[0][:, 1:]
    return np.linalg.eigvalsh(Q.T @ (H - (w @ g) * np.eye(2 * n)) @ Q)


def character_neuron(M, k, phi1: float = 0.0, phi2: float = 0.0) -> np.ndarray:
    r"""The unit single-frequency neuron :math:`u_g=\cos(2\pi\langle k,g\rangle+\varphi_1)`,
    :math:`v_g=\cos(2\pi\langle k,g\rangle+\varphi_2)`, each half scaled to norm :math:`1/\sqrt2`. ``k`` is an int
    (cyclic) or a tuple (product group); :math:`\langle k,g\rangle=\sum_i k_i g_i/m_i`.

    Parameters
    ----------
    M : int or tuple of int
        The group: an int m for Z_m, or a tuple of moduli for a product group (each >= 2, order >= 3).
    k : int or tuple of int, optional
        Frequency: an int for a cyclic group, a tuple for a product group; None means a complex pair.
    phi1 : float, default 0.0
        Phase φ₁ of the first half.
    phi2 : float, default 0.0
        Phase φ₂ of the second half.

    Returns
    -------
    numpy.ndarray, shape (2|G|,)
        The unit neuron (u; v).

    References
    ----------
    Tian, arXiv 2509.21519 Thm 2 (single-frequency maxima).
    """
    moduli = group_moduli(M)
    k = (int(k),) if np.isscalar(k) else tuple(int(x) for x in k)
    if len(k) != len(moduli) or all(ki % m == 0 for ki, m in zip(k, moduli)):
        raise ValueError(f"k={k!r} must be a non-trivial frequency of the group {moduli}")
    coords = np.unravel_index(np.arange(math.prod(moduli)), moduli)
    theta = 2 * np.pi * sum(ki * c / m for ki, c, m in zip(k, coords, moduli))
    u, v = np.cos(theta + phi1), np.cos(theta + phi2)
    if np.linalg.norm(u) < 1e-12 or np.linalg.norm(v) < 1e-12:
        raise ValueError(f"phi1={phi1}, phi2={phi2} vanish on the real character k={k}; use another phase")
    return np.concatenate([u / np.linalg.norm(u), v / np.linalg.norm(v)]) / math.sqrt(2)


def energy_max(M, k=None) -> float:
    r"""Corrected value of E at a single-frequency maximum on :math:`\|w\|=1`, full table:
    :math:`E^*=|G|/4` for a complex character pair, :math:`|G|/2` for a real character (:math:`2k\equiv0`, e.g.
    :math:`k=M/2` for even M). ``k=None`` means a complex pair.

    Parameters
    ----------
    M : int or tuple of int
        The group: an int m for Z_m, or a tuple of moduli for a product group (each >= 2, order >= 3).
    k : int or tuple of int, optional
        Frequency: an int for a cyclic group, a tuple for a product group; None means a complex pair.

    Returns
    -------
    float
        E* on the unit sphere.

    References
    ----------
    Tian, arXiv 2509.21519, Thm 2 / Cor. 2 state :math:`M/16` and :math:`M/8`; the proof's :math:`S=(u\circ
    u)1^\top+1(v\circ v)^\top+uv^\top` drops the factor 2 of the cross term (it is the :math:`\sigma=x^2/2` value),
    so the paper's constants are 4x too small (see :func:`energy_max_paper`).
    """
    n = group_order(M)
    if k is None:
        return n / 4
    moduli = group_moduli(M)
    k = (int(k),) if np.isscalar(k) else tuple(int(x) for x in k)
    real = all((2 * ki) % m == 0 for ki, m in zip(k, moduli))
    return n / 2 if real else n / 4


def energy_max_paper(M, k=None) -> float:
    r"""The paper's stated maximum (Li2 Cor. 2): M/16 for complex pairs, M/8 for real characters.

    Parameters
    ----------
    M : int or tuple of int
        The group: an int m for Z_m, or a tuple of moduli for a product group (each >= 2, order >= 3).
    k : int or tuple of int, optional
        Frequency: an int for a cyclic group, a tuple for a product group; None means a complex pair.

    Returns
    -------
    float
        The paper's stated maximum.

    References
    ----------
    Tian, arXiv 2509.21519 Cor. 2.
    """
    return energy_max(M, k) / 4


# --------------------------------------------------------------------------------------------------------------------
# Stage I: the backpropagated gradient and its ridge fixed point (Li2 Eq. 2-5)


def centre_rows(A) -> np.ndarray:
    r""":math:`P_1^\perp A = A-\mathbf 1\mathbf 1^\top A/n` (centring over samples).

    Parameters
    ----------
    A : array_like, shape (n, m)
        Matrix whose rows are samples.

    Returns
    -------
    numpy.ndarray
        The centred matrix, same shape.

    References
    ----------
    Tian, arXiv 2509.21519 §3 (P₁^⊥).
    """
    A = np.asarray(A, dtype=np.float64)
    return A - A.mean(axis=0, keepdims=True)


def ridge_top(F, Y, eta: float) -> np.ndarray:
    r""":math:`V_{\mathrm{ridge}}=(\tilde F^\top\tilde F+\eta I)^{-1}\tilde F^\top\tilde Y` for already centred
    ``F``, ``Y`` (Li2 Prop. 1).

    Parameters
    ----------
    F : array_like, shape (n, K)
        Centred hidden features F̃ = σ(XW) (rows: samples).
    Y : array_like, shape (n, |G|)
        Centred one-hot targets Ỹ.
    eta : float
        Weight decay η (ridge coefficient), >= 0.

    Returns
    -------
    numpy.ndarray, shape (K, |G|)
        V_ridge.

    References
    ----------
    Tian, arXiv 2509.21519 Prop. 1.
    """
    F, Y = np.asarray(F, dtype=np.float64), np.asarray(Y, dtype=np.float64)
    if not eta >= 0:
        raise ValueError(f"eta={eta} must be >= 0")
    K = F.shape[1]
    return np.linalg.solve(F.T @ F + eta * np.eye(K), F.T @ Y)


def gf_fixed_point(F, Y, eta: float) -> np.ndarray:
    r"""Li2 Eq. 4, the Stage-I fixed point of :math:`G_F=P_1^\perp(Y-FV)V^\top` when V sits at its ridge solution:

    .. math:: G_F(+\infty)=\eta(\tilde F\tilde F^\top+\eta I)^{-1}\tilde Y\tilde Y^\top\tilde F
              (\tilde F^\top\tilde F+\eta I)^{-1}.

    ``F``, ``Y`` are already centred (:math:`\tilde F`, :math:`\tilde Y`); the n x n form is used as written.

    Parameters
    ----------
    F : array_like, shape (n, K)
        Centred hidden features F̃ = σ(XW) (rows: samples).
    Y : array_like, shape (n, |G|)
        Centred one-hot targets Ỹ.
    eta : float
        Weight decay η (ridge coefficient), >= 0.

    Returns
    -------
    numpy.ndarray, shape (n, K)
        G_F(+∞).

    References
    ----------
    Tian, arXiv 2509.21519, Prop. 1 / Eq. 4; App. C Props 3-4 (Woodbury: :math:`P_\eta=\eta(\tilde F\tilde
    F^\top+\eta I)^{-1}`). Assumes :math:`\eta>0` or :math:`\tilde F` of full column rank.
    """
    F, Y = np.asarray(F, dtype=np.float64), np.asarray(Y, dtype=np.float64)
    if not eta > 0:
        raise ValueError(f"eta={eta} must be > 0 for the n x n form (eta=0 gives G_F = 0 when realizable)")
    n, K = F.shape
    left = eta * np.linalg.solve(F @ F.T + eta * np.eye(n), Y @ (Y.T @ F))
    return np.linalg.solve(F.T @ F + eta * np.eye(K), left.T).T


def gf_residual_form(F, Y, eta: float) -> np.ndarray:
    r"""The same fixed point through the residual: :math:`(\tilde Y-\tilde FV_r)V_r^\top` with
    :math:`V_r` = :func:`ridge_top` (K x K solve; what the simulator evaluates).

    Parameters
    ----------
    F : array_like, shape (n, K)
        Centred hidden features F̃ = σ(XW) (rows: samples).
    Y : array_like, shape (n, |G|)
        Centred one-hot targets Ỹ.
    eta : float
        Weight decay η (ridge coefficient), >= 0.

    Returns
    -------
    numpy.ndarray, shape (n, K)
        G_F at the ridge top layer.

    References
    ----------
    Tian, arXiv 2509.21519 Prop. 1 / Eq. 4.
    """
    V = ridge_top(F, Y, eta)
    return (np.asarray(Y) - np.asarray(F) @ V) @ V.T


def effective_ridge(n: int, eta: float) -> float:
    r"""The code's coupled L2 :math:`\eta` on a mean (not ½-sum) loss is a ridge :math:`\eta_{\rm eff}=n\eta/2` in
    the paper's units (its loss is a ½-sum).

    Parameters
    ----------
    n : int
        Number of training pairs.
    eta : float
        Weight decay η (ridge coefficient), >= 0.

    Returns
    -------
    float
        η_eff = nη/2.

    References
    ----------
    Tian, arXiv 2509.21519 §3 (loss normalisation).
    """
    return n * eta / 2


def omnigrok_time(gamma, w0_over_wc: float = 2.0) -> np.ndarray:
    r"""Omnigrok's time to generalise from a large initial weight norm :math:`w_0` under weight decay
    :math:`\gamma`: the norm shrinks as :math:`w(t)=e^{-\gamma t}w_0` until it reaches the generalising norm
    :math:`w_c`, so :math:`t=\ln(w_0/w_c)/\gamma`, a power law in :math:`\gamma` with exponent -1.

    Parameters
    ----------
    gamma : array_like
        Weight decay γ (> 0), any shape.
    w0_over_wc : float, default 2.0
        Ratio of the initial to the generalising weight norm (> 1).

    Returns
    -------
    numpy.ndarray
        The time t = ln(w0/wc)/γ, the shape of ``gamma``.

    References
    ----------
    Liu, Michaud, Tegmark, arXiv 2210.01117, §3 (the LU mechanism; gradient flow, large init).
    """
    gamma = np.asarray(gamma, dtype=np.float64)
    if not np.all(gamma > 0):
        raise ValueError(f"gamma={gamma} must be > 0")
    if not w0_over_wc > 1:
        raise ValueError(f"w0_over_wc={w0_over_wc} must be > 1 (a large init shrinks to w_c)")
    return np.log(w0_over_wc) / gamma


# --------------------------------------------------------------------------------------------------------------------
# Theorem 4: sample complexity


def critical_fraction(M, c: float = CRITICAL_C, delta: float = 0.0) -> float:
    r"""The reference code's critical training fraction :math:`p_c=(c-\delta)\ln M/M` (``use_critical_ratio``),
    the empirical form of Li2 Thm 4's :math:`n\gtrsim M\log M`, i.e. :math:`p=O(M^{-1}\log M)`.

    Parameters
    ----------
    M : int or tuple of int
        The group: an int m for Z_m, or a tuple of moduli for a product group (each >= 2, order >= 3).
    c : float, default CRITICAL_C = 2.7482
        The code's fitted constant.
    delta : float, default 0.0
        Shift δ of the constant.

    Returns
    -------
    float
        p_c = (c − δ) ln M / M.

    References
    ----------
    Tian, arXiv 2509.21519, Thm 4 and Fig. 5; c = 2.7482 is the code's fit, not a theorem constant.
    """
    n = group_order(M)
    return float((c - delta) * math.log(n) / n)


# --------------------------------------------------------------------------------------------------------------------
# Gromov's analytic network and Morwani's max margin


def _check_odd_p(p) -> int:
    if int(p) != p or p < 3 or p % 2 == 0:
        raise ValueError(f"p={p!r} is not valid; use an odd integer >= 3")
    return int(p)


def network_logits(W_in, W_out, p: int) -> np.ndarray:
    r"""Logits :math:`f(a,b)_q=\sum_j W^{out}_{jq}(W^{in}_{a j}+W^{in}_{p+b,j})^2` on all :math:`p^2` pairs,
    shape (p, p, p) indexed [a, b, q] (Gromov Eq. 4 up to the 1/(DN) scale).

    Parameters
    ----------
    W_in : array_like, shape (2p, K)
        Input weights: rows a (first p) and p + b (last p), one column per neuron.
    W_out : array_like, shape (K, p)
        Output weights, one row per neuron.
    p : int
        Odd modulus p of Z_p (>= 3).

    Returns
    -------
    numpy.ndarray, shape (p, p, p)
        Logits indexed [a, b, q].

    References
    ----------
    Gromov, arXiv 2301.02679, Eq. 4.
    """
    W_in, W_out = np.asarray(W_in, dtype=np.float64), np.asarray(W_out, dtype=np.float64)
    h = (W_in[:p, None, :] + W_in[None, p:, :]).reshape(p * p, -1)
    return ((h ** 2) @ W_out).reshape(p, p, -1)  # one 2-D GEMM: numpy's stacked 3-D @ 2-D is far slower


def network_accuracy(W_in, W_out, p: int) -> float:
    r"""Fraction of all p^2 pairs whose argmax logit is (a + b) mod p.

    Parameters
    ----------
    W_in : array_like, shape (2p, K)
        Input weights: rows a (first p) and p + b (last p), one column per neuron.
    W_out : array_like, shape (K, p)
        Output weights, one row per neuron.
    p : int
        Odd modulus p of Z_p (>= 3).

    Returns
    -------
    float
        Accuracy over all p² pairs.

    References
    ----------
    Gromov, arXiv 2301.02679, Eq. 4.
    """
    logits = network_logits(W_in, W_out, p)
    target = (np.arange(p)[:, None] + np.arange(p)[None, :]) % p
    return float((logits.argmax(axis=-1) == target).mean())


def phase_grid_network(p: int, J: int = 3) -> tuple[np.ndarray, np.ndarray]:
    r"""The exact analytic network: per frequency :math:`f=1\ldots(p-1)/2` a :math:`J\times J` grid of neurons with
    :math:`\varphi_1=2\pi i/J`, :math:`\varphi_2=2\pi j/J`, :math:`\varphi_3=\varphi_1+\varphi_2` in Gromov's Eq. 6,

    .. math:: W^{in}_{a,n}=\cos(2\pi fa/p+\varphi_1),\ W^{in}_{p+b,n}=\cos(2\pi fb/p+\varphi_2),\
              W^{out}_{n,q}=\cos(2\pi fq/p+\varphi_3).

    For J >= 3 every unwanted phase combination sums to zero over the grid, so the logits are
    :math:`\mathrm{const}+\tfrac{J^2}{2}[\tfrac{p-1}{2}\text{ if }q\equiv a+b\text{ else }-\tfrac12]`: 100 %
    accurate for
    every odd p, margin :math:`J^2p/4`. J = 2 fails (a negative control). Returns (W_in (2p, K), W_out (K, p)),
    :math:`K=J^2(p-1)/2`.

    Parameters
    ----------
    p : int
        Odd modulus p of Z_p (>= 3).
    J : int, default 3
        Phases per axis of the grid (J >= 3 is exact).

    Returns
    -------
    tuple of numpy.ndarray
        (W_in (2p, K), W_out (K, p)), K = J²(p − 1)/2.

    References
    ----------
    Gromov, arXiv 2301.02679, Eqs. 6, 12-13 (random phases); the deterministic grid is this testbed's construction.
    """
    p = _check_odd_p(p)
    if int(J) != J or J < 1:
        raise ValueError(f"J={J!r} is not valid; use an integer >= 1")
    f = np.repeat(np.arange(1, (p - 1) // 2 + 1), J * J)
    i, j = np.meshgrid(np.arange(J), np.arange(J), indexing="ij")
    phi1 = np.tile(2 * np.pi * i.ravel() / J, (p - 1) // 2)
    phi2 = np.tile(2 * np.pi * j.ravel() / J, (p - 1) // 2)
    return _gromov_weights(p, f, phi1, phi2)


def _gromov_weights(p, f, phi1, phi2):
    t = np.arange(p)[:, None]
    theta = 2 * np.pi * f[None, :] * t / p
    W_in = np.concatenate([np.cos(theta + phi1), np.cos(theta + phi2)], axis=0)
    W_out = np.cos(theta + phi1 + phi2).T
    return W_in, W_out


def gromov_random_network(p: int, N: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    r"""Gromov's Claim I with random phases: neuron :math:`k=1\ldots N` has frequency :math:`k \bmod p` and phases
    :math:`\varphi_1,\varphi_2\sim U[0,2\pi)` i.i.d., :math:`\varphi_3=\varphi_1+\varphi_2` (Eq. 12). Accuracy rises
    with N; the (n+m-q) wave adds coherently to :math:`N/2\,\delta` while the rest are random-phase sums.

    Parameters
    ----------
    p : int
        Odd modulus p of Z_p (>= 3).
    N : int
        Number of neurons.
    rng : numpy.random.Generator
        Source of the random phases.

    Returns
    -------
    tuple of numpy.ndarray
        (W_in (2p, N), W_out (N, p)).

    References
    ----------
    Gromov, arXiv 2301.02679, Eqs. 6, 10-15.
    """
    p = _check_odd_p(p)
    if int(N) != N or N < 1:
        raise ValueError(f"N={N!r} is not valid; use an integer >= 1")
    f = np.arange(1, N + 1) % p
    phi1, phi2 = rng.uniform(0, 2 * np.pi, N), rng.uniform(0, 2 * np.pi, N)
    return _gromov_weights(p, f, phi1, phi2)


def normalized_margin(W_in, W_out, p: int) -> float:
    r"""Morwani's :math:`L_{2,3}`-normalised margin of a degree-3 homogeneous net:

    .. math:: \gamma=\frac{\min_{a,b}\big(f(a,b)_{a+b}-\max_{q\ne a+b}f(a,b)_q\big)}{\sum_i\|\omega_i\|_2^3},
              \qquad \omega_i=(u_i,v_i,w_i).

    Parameters
    ----------
    W_in : array_like, shape (2p, K)
        Input weights: rows a (first p) and p + b (last p), one column per neuron.
    W_out : array_like, shape (K, p)
        Output weights, one row per neuron.
    p : int
        Odd modulus p of Z_p (>= 3).

    Returns
    -------
    float
        γ.

    References
    ----------
    Morwani et al., arXiv 2311.07568, §4 (norm :math:`\|\theta\|_{2,3}^3=\sum_i\|\omega_i\|_2^3`).
    """
    W_in, W_out = np.asarray(W_in, dtype=np.float64), np.asarray(W_out, dtype=np.float64)
    logits = network_logits(W_in, W_out, p).reshape(p * p, p)
    target = ((np.arange(p)[:, None] + np.arange(p)[None, :]) % p).ravel()
    correct = logits[np.arange(p * p), target]
    wrong = logits.copy()
    wrong[np.arange(p * p), target] = -np.inf
    margin = float((correct - wrong.max(axis=1)).min())
    norms = np.sqrt((W_in ** 2).sum(axis=0) + (W_out ** 2).sum(axis=1))
    return margin / float((norms ** 3).sum())


def morwani_max_margin(p: int) -> float:
    r""":math:`\gamma^*=\sqrt{2/27}\,/\,(\sqrt p\,(p-1))`, the maximum :math:`L_{2,3}` margin on the full table.

    Parameters
    ----------
    p : int
        Odd modulus p of Z_p (>= 3).

    Returns
    -------
    float
        γ*.

    References
    ----------
    Morwani et al., arXiv 2311.07568, Thm 7 (p > 2 prime, width m >= 4(p-1)); the phase-grid network attains it for
    every odd p.
    """
    p = _check_odd_p(p)
    return math.sqrt(2 / 27) / (math.sqrt(p) * (p - 1))
