#!/usr/bin/env python3
"""Generate the committed reference data for FlowSentry's novelty-detector tests.

Writes, under Tests/DetectionTests/Data/:

  lof_reference.csv        400 x 12 reference (training) rows
  lof_query.csv            100 x 12 query rows
  lof_expected.csv         100 sklearn LocalOutlierFactor(novelty=True, n_neighbors=20).score_samples
  lof_params.csv           key,value pairs: n_neighbors, ocsvm nu and gamma, sklearn version
  lof_ocsvm_expected.csv   100 sklearn OneClassSVM(kernel="rbf", nu, gamma).decision_function

All values are float32-representable (the data is rounded through float32 before
fitting) so that the Swift Float API sees exactly the same numbers as sklearn's
float64 fit.  The Swift tests need no Python: rerun this script only to regenerate.

    pip install scikit-learn numpy
    python3 scripts/make_lof_reference.py
"""
import os
import sys

import numpy as np
import sklearn
from sklearn.neighbors import LocalOutlierFactor
from sklearn.svm import OneClassSVM

SEED = 20260422
N_REF = 400
N_QUERY = 100
DIM = 12
K = 20
NU = 0.1

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "DetectionTests", "Data")


def make_data(rng):
    # Mixed clusters with different spreads (LOF's local density matters).
    centres = rng.normal(0.0, 6.0, size=(4, DIM))
    spreads = np.array([0.3, 1.0, 2.0, 0.6])
    sizes = [120, 110, 80, 60]  # 370 clustered rows
    parts = []
    for c, s, n in zip(centres, spreads, sizes):
        parts.append(c + rng.normal(0.0, s, size=(n, DIM)))
    clustered = np.vstack(parts)
    # Heavy tails: 20 rows drawn from a Student-t with 1.5 degrees of freedom.
    tails = rng.standard_t(1.5, size=(20, DIM)) * 2.0
    base = np.vstack([clustered, tails])  # 390 rows
    # Duplicates: 10 duplicate rows (some rows twice, one row three times),
    # fewer copies than n_neighbors so k-distances stay positive.
    dup_src = list(rng.choice(len(base), size=8, replace=False))
    dups = [base[i] for i in dup_src] + [base[dup_src[0]], base[dup_src[1]]]
    ref = np.vstack([base, np.array(dups)])
    rng.shuffle(ref)
    assert ref.shape == (N_REF, DIM)

    # Queries: 60 near the clusters, 20 far outliers, 10 heavy-tailed, 10 exact copies of reference rows.
    q_parts = []
    for i in range(60):
        c = i % 4
        q_parts.append(centres[c] + rng.normal(0.0, spreads[c] * 1.2, size=DIM))
    for _ in range(20):
        q_parts.append(rng.uniform(-25.0, 25.0, size=DIM))
    for _ in range(10):
        q_parts.append(rng.standard_t(1.5, size=DIM) * 2.0)
    for i in rng.choice(N_REF, size=10, replace=False):
        q_parts.append(ref[i].copy())
    query = np.array(q_parts)
    rng.shuffle(query)
    assert query.shape == (N_QUERY, DIM)

    # Round through float32 so Swift's Float path sees identical values.
    return ref.astype(np.float32).astype(np.float64), query.astype(np.float32).astype(np.float64)


def write_matrix(name, m):
    with open(os.path.join(OUT, name), "w") as f:
        for row in np.atleast_2d(m):
            f.write(",".join(repr(float(v)) for v in row) + "\n")


def main():
    rng = np.random.default_rng(SEED)
    ref, query = make_data(rng)

    lof = LocalOutlierFactor(n_neighbors=K, novelty=True)
    lof.fit(ref)
    expected = lof.score_samples(query)

    gamma = 1.0 / (DIM * ref.var())  # what gamma="scale" would pick, written out explicitly
    gamma = float(np.float32(gamma))
    svm = OneClassSVM(kernel="rbf", nu=NU, gamma=gamma, tol=1e-6, shrinking=True)
    svm.fit(ref)
    svm_expected = svm.decision_function(query)

    os.makedirs(OUT, exist_ok=True)
    write_matrix("lof_reference.csv", ref)
    write_matrix("lof_query.csv", query)
    write_matrix("lof_expected.csv", expected.reshape(-1, 1))
    write_matrix("lof_ocsvm_expected.csv", svm_expected.reshape(-1, 1))
    with open(os.path.join(OUT, "lof_params.csv"), "w") as f:
        f.write(f"n_neighbors,{K}\n")
        f.write(f"nu,{NU!r}\n")
        f.write(f"gamma,{gamma!r}\n")
        f.write(f"tol,{1e-6!r}\n")
        f.write(f"ocsvm_n_support,{int(svm.support_vectors_.shape[0])}\n")
        f.write(f"lof_algorithm,{lof._fit_method}\n")
        f.write(f"sklearn_version,{sklearn.__version__}\n")
        f.write(f"numpy_version,{np.__version__}\n")
    print(f"wrote {OUT}: LOF scores in [{expected.min():.4f}, {expected.max():.4f}], "
          f"OCSVM {svm.support_vectors_.shape[0]} SVs, decision in "
          f"[{svm_expected.min():.4f}, {svm_expected.max():.4f}]", file=sys.stderr)


if __name__ == "__main__":
    main()
