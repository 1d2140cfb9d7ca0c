#!/usr/bin/python3
"""Writes rdp_reference.json, the reference values of RdpAccountantTest.

An independent Python implementation of the RDP accountant of the Sampled Gaussian Mechanism as
computed by TensorFlow Privacy's rdp_accountant.compute_rdp and Opacus'
opacus/accountants/analysis/rdp.py (Mironov, Talwar, Zhang 2019, "Renyi Differential Privacy of
the Sampled Gaussian Mechanism", arXiv:1908.10530, Section 3.3): log A_alpha by the binomial series
for integer alpha and by the two-sided erfc series for fractional alpha, RDP = log A / (alpha - 1),
times the number of steps; q = 1 gives alpha / (2 z^2).

Conversions to (epsilon, delta):
  classic  (Mironov 2017, Prop. 3):      eps = rdp - log(delta) / (alpha - 1)
  balle    (Balle et al. 2020, Thm. 21;  eps = rdp - (log(delta) + log(alpha)) / (alpha - 1)
            as Opacus get_privacy_spent)        + log((alpha - 1) / alpha)
both minimised over the orders. The script first checks itself against the values published in
TF Privacy's rdp_accountant_test.py; it exits with an error if any differs.

Uses only the standard library, numpy and scipy (scipy.special.log_ndtr, binom).
Run:  /usr/bin/python3 make_rdp_reference.py   (from this directory; rewrites rdp_reference.json)
"""
import json
import math
import os
import sys

import numpy as np
import scipy
from scipy import special

TF_PRIVACY_ORDERS = [1.25, 1.5, 1.75, 2., 2.25, 2.5, 3., 3.5, 4., 4.5] + list(range(5, 64)) + [128, 256, 512]
OPACUS_ORDERS = [1 + x / 10.0 for x in range(1, 100)] + list(range(12, 64))
TF_TEST_ORDERS = [1.25, 1.5, 1.75, 2., 2.5, 3., 4., 5., 6., 7., 8., 10., 12., 14., 16., 20., 24., 28., 32., 64., 256.]


def log_add(a, b):
    lo, hi = min(a, b), max(a, b)
    if lo == -math.inf:
        return hi
    return hi + math.log1p(math.exp(lo - hi))


def log_sub(a, b):
    """log(exp(a) - exp(b)) for a >= b."""
    if a < b:
        raise ValueError("log_sub: negative result")
    if b == -math.inf:
        return a
    if a == b:
        return -math.inf
    return b + math.log(math.expm1(a - b))


def log_erfc(x):
    # erfc(x) = 2 Phi(-x sqrt 2)
    return math.log(2.0) + float(special.log_ndtr(-x * math.sqrt(2.0)))


def log_a_int(q, z, alpha):
    acc = -math.inf
    for i in range(alpha + 1):
        term = (math.log(special.binom(alpha, i)) + i * math.log(q) + (alpha - i) * math.log1p(-q)
                + (i * i - i) / (2.0 * z * z))
        acc = log_add(acc, term)
    return acc


def log_a_frac(q, z, alpha):
    a0, a1 = -math.inf, -math.inf
    z0 = z * z * math.log(1.0 / q - 1.0) + 0.5
    i = 0
    while True:
        coef = special.binom(alpha, i)
        log_coef = math.log(abs(coef))
        j = alpha - i
        t0 = log_coef + i * math.log(q) + j * math.log1p(-q)
        t1 = log_coef + j * math.log(q) + i * math.log1p(-q)
        e0 = math.log(0.5) + log_erfc((i - z0) / (math.sqrt(2.0) * z))
        e1 = math.log(0.5) + log_erfc((z0 - j) / (math.sqrt(2.0) * z))
        s0 = t0 + (i * i - i) / (2.0 * z * z) + e0
        s1 = t1 + (j * j - j) / (2.0 * z * z) + e1
        if coef > 0:
            a0, a1 = log_add(a0, s0), log_add(a1, s1)
        else:
            a0, a1 = log_sub(a0, s0), log_sub(a1, s1)
        i += 1
        if max(s0, s1) < -30:
            break
    return log_add(a0, a1)


def rdp_one(q, z, alpha):
    if q == 0:
        return 0.0
    if z == 0:
        return math.inf
    if q == 1.0:
        return alpha / (2.0 * z * z)
    if float(alpha).is_integer():
        return log_a_int(q, z, int(alpha)) / (alpha - 1)
    return log_a_frac(q, z, alpha) / (alpha - 1)


def rdp(q, z, steps, orders):
    return [steps * rdp_one(q, z, a) for a in orders]


def eps_classic(orders, r, delta):
    e = [ri - math.log(delta) / (a - 1) for a, ri in zip(orders, r)]
    k = int(np.nanargmin(e))
    return e[k], orders[k]


def eps_balle(orders, r, delta):
    e = [ri - (math.log(delta) + math.log(a)) / (a - 1) + math.log((a - 1) / a) for a, ri in zip(orders, r)]
    k = int(np.nanargmin(e))
    return e[k], orders[k]


def composed(parts, orders):
    total = [0.0] * len(orders)
    for q, z, steps in parts:
        total = [t + v for t, v in zip(total, rdp(q, z, steps, orders))]
    return total


def self_check():
    """The values published in TF Privacy tensorflow_privacy/privacy/analysis/rdp_accountant_test.py."""
    def close(a, b, tol, what):
        if abs(a - b) > tol:
            sys.exit("self-check failed: %s: %r vs published %r" % (what, a, b))
    close(rdp(1.0, 10, 1, [20])[0], 0.1, 1e-15, "test_compute_rdp_no_sampling")
    close(rdp(0.1, 2, 10, [5])[0], 0.07737, 1e-5, "test_compute_rdp_scalar")
    got = rdp(0.01, 2.5, 50, [1.5, 2.5, 5, 50, 100])
    for g, p in zip(got, [0.00065, 0.001085, 0.00218075, 0.023846, 167.416307]):
        close(g, p, 1e-5, "test_compute_rdp_sequence")
    r = composed([(1e-4, 0.4, 40000), (0.1, 2, 100)], TF_TEST_ORDERS)
    e, o = eps_classic(TF_TEST_ORDERS, r, 1e-5)
    close(e, 8.509656, 1e-5, "test_check_composition (old conversion)")
    close(o, 2.5, 0, "test_check_composition order")


def main():
    self_check()
    out = {
        "generator": "make_rdp_reference.py",
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "orders": {"tf_privacy": TF_PRIVACY_ORDERS, "opacus": OPACUS_ORDERS},
    }
    # RDP per order (one step times steps) for a spread of (q, z): small and large q, z < 1 and
    # z > 1, on the TF Privacy order list (fractional, integer, and 128..512).
    rdp_cases = []
    for q, z, steps in [(0.01, 1.1, 1), (256 / 60000, 1.1, 1), (0.05, 0.8, 10), (0.1, 2.0, 3),
                        (0.5, 1.5, 1), (0.9, 3.0, 1), (1e-3, 0.6, 100), (0.02, 5.0, 1000)]:
        rdp_cases.append({"q": q, "z": z, "steps": steps,
                          "rdp": rdp(q, z, steps, TF_PRIVACY_ORDERS)})
    out["rdp_tf_privacy_orders"] = rdp_cases
    # Epsilon for compositions, both conversions, both order lists.
    eps_cases = []
    for parts, delta in [([(256 / 60000, 1.1, 60 * (60000 // 256))], 1e-5),
                         ([(256 / 60000, 1.12, 60 * (60000 // 256))], 1e-5),
                         ([(0.01, 4.0, 10000)], 1e-5),
                         ([(0.1, 1.0, 100)], 1e-6),
                         ([(1e-4, 0.4, 40000), (0.1, 2.0, 100)], 1e-5),
                         ([(0.3, 0.9, 50), (0.05, 2.0, 400)], 1e-5),
                         ([(1.0, 8.0, 20)], 1e-5)]:
        case = {"parts": [list(p) for p in parts], "delta": delta}
        for name, orders in [("tf_privacy", TF_PRIVACY_ORDERS), ("opacus", OPACUS_ORDERS)]:
            r = composed(parts, orders)
            eb, ob = eps_balle(orders, r, delta)
            ec, oc = eps_classic(orders, r, delta)
            case[name] = {"balle_eps": eb, "balle_order": ob, "classic_eps": ec, "classic_order": oc}
        eps_cases.append(case)
    out["epsilon"] = eps_cases
    # log(erfc(x)) over the range the fractional series uses.
    xs = [-30.0, -5.0, -2.0, -1.0, -0.3, 0.0, 1e-3, 0.2, 0.5, 0.9, 1.5, 2.0, 2.5, 3.0, 4.0, 6.0,
          10.0, 27.0, 100.0, 1e3]
    out["log_erfc"] = [[x, log_erfc(x)] for x in xs]
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "rdp_reference.json"), "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    for c in eps_cases:
        print(c["parts"], c["delta"], c["tf_privacy"], c["opacus"])


if __name__ == "__main__":
    main()
