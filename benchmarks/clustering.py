"""Topic 05 timings on flower.jpg, side by side in one process.

(a) k-means, k = 16, against scikit-learn's KMeans (n_init=1) from the same k-means++ centres, both run until the
    labels stop changing (the same iterations); on the distinct colours weighted by their counts, and also with
    scikit-learn on every pixel. Ours twice: the solution's plain Lloyd (`kmeans`, what students compare with) and
    the "going further" version with Hamerly's bounds (`lloyd_hamerly`), which skips the distances that cannot
    change a label.
(b) EM, k = 5, full covariances, against scikit-learn's GaussianMixture from the same initial parameters; ours on the
    weighted distinct colours (GaussianMixture takes no sample weights, so it fits every pixel), and ours on every
    pixel too.
(c) our whole k-means run against one assignment pass of a per-pixel Python loop (timed on 5,000 pixels and scaled
    to the image) times the number of iterations.

Run: python benchmarks/clustering.py
"""

from __future__ import annotations

import numpy as np
from _timing import best_time, paired_ratio, table
from sklearn.cluster import KMeans, kmeans_plusplus
from sklearn.mixture import GaussianMixture
from threadpoolctl import threadpool_limits

from latent_course.images import distinct_colours, load_image
from latent_course.tools.solutions import load_solution

solution = load_solution("05_image_clustering")
image = load_image("flower.jpg")
pixels = image.reshape(-1, 3).astype(float)
colours, counts, pixel_colour = distinct_colours(image)


def inertia(X, weight, centres, labels):
    return float(weight @ ((X - centres[labels]) ** 2).sum(axis=1))


def relative(a, b):
    return abs(a - b) / abs(b)


rows = []

# (a) k-means
start, _ = kmeans_plusplus(colours, 16, sample_weight=counts, random_state=0)
t_ours, (centres, labels) = best_time(lambda: solution.kmeans(colours, 16, sample_weight=counts, init=start))
ours = inertia(colours, counts, centres, labels)
t_sk_w, reference = best_time(lambda: KMeans(16, init=start, n_init=1, max_iter=300, tol=0).fit(
    colours, sample_weight=counts))
n_iter = reference.n_iter_
rows.append(["k-means k=16, weighted colours", f"{t_ours:.3f}", f"{t_sk_w:.3f}", f"{t_ours / t_sk_w:.2f}",
             f"{relative(ours, reference.inertia_):.1e}"])
t_sk_p, reference_pixels = best_time(lambda: KMeans(16, init=start, n_init=1, max_iter=300, tol=0).fit(pixels))
rows.append(["  ours (colours) vs sklearn (pixels)", f"{t_ours:.3f}", f"{t_sk_p:.3f}", f"{t_ours / t_sk_p:.2f}",
             f"{relative(ours, reference_pixels.inertia_):.1e}"])
t_fast, (fast_centres, fast_labels) = best_time(lambda: solution.lloyd_hamerly(colours, start, sample_weight=counts))
fast = inertia(colours, counts, fast_centres, fast_labels)
rows.append(["  Hamerly's bounds vs sklearn (colours)", f"{t_fast:.3f}", f"{t_sk_w:.3f}", f"{t_fast / t_sk_w:.2f}",
             f"{relative(fast, reference.inertia_):.1e}"])
# Like for like: one thread each (scikit-learn's OpenMP and both sides' BLAS), the same start and iterations, the
# same labels (asserted); the runs alternate, and the ratio is the median of the paired ratios.
with threadpool_limits(1):
    one_thread = KMeans(16, init=start, n_init=1, max_iter=300, tol=0).fit(colours, sample_weight=counts)
    assert np.array_equal(fast_labels, one_thread.labels_) and one_thread.n_iter_ == n_iter
    np.testing.assert_allclose(fast_centres, one_thread.cluster_centers_, rtol=1e-9)
    ratio, t_fast_1, t_sk_1 = paired_ratio(
        lambda: solution.lloyd_hamerly(colours, start, sample_weight=counts),
        lambda: KMeans(16, init=start, n_init=1, max_iter=300, tol=0).fit(colours, sample_weight=counts))
rows.append(["  Hamerly's bounds vs sklearn, 1 thread each", f"{t_fast_1:.3f}", f"{t_sk_1:.3f}", f"{ratio:.2f}",
             f"{relative(fast, one_thread.inertia_):.1e}"])
rows.append(["  Hamerly's bounds vs plain Lloyd", f"{t_fast:.3f}", f"{t_ours:.3f}", f"{t_fast / t_ours:.2f}",
             f"{relative(fast, ours):.1e}"])

# (b) EM
init_pi, init_mu, init_sigma, _ = solution.em(colours, 5, sample_weight=counts, max_iter=1, random_state=0)
init = (init_pi, init_mu, init_sigma)
t_em, (pi, mu, sigma, history) = best_time(lambda: solution.em(colours, 5, sample_weight=counts, init=init))
t_em_pixels, (_, _, _, history_pixels) = best_time(lambda: solution.em(pixels, 5, init=init))
t_gm, mixture = best_time(lambda: GaussianMixture(
    5, covariance_type="full", tol=1e-3, reg_covar=1e-6, max_iter=500, weights_init=init_pi, means_init=init_mu,
    precisions_init=np.linalg.inv(init_sigma)).fit(pixels))
rows.append(["EM k=5, ours on weighted colours", f"{t_em:.3f}", f"{t_gm:.3f}", f"{t_em / t_gm:.2f}",
             f"{relative(history[-1], mixture.lower_bound_):.1e}"])
rows.append(["EM k=5, ours on every pixel", f"{t_em_pixels:.3f}", f"{t_gm:.3f}", f"{t_em_pixels / t_gm:.2f}",
             f"{relative(history_pixels[-1], mixture.lower_bound_):.1e}"])


# (c) the per-pixel loop of a straightforward first attempt
def per_pixel_assignment(X, centres):
    labels = np.zeros(len(X), dtype=np.intp)
    for i, x in enumerate(X):
        labels[i] = np.argmin(np.linalg.norm(x - centres, axis=1) ** 2)
    return labels


subset = pixels[:: len(pixels) // 5000][:5000]
t_loop, _ = best_time(lambda: per_pixel_assignment(subset, start), repeat=1)
t_loop_full = t_loop * len(pixels) / len(subset) * n_iter
rows.append([f"k-means vs per-pixel loop ({n_iter} passes, scaled)", f"{t_ours:.3f}", f"{t_loop_full:.1f}",
             f"{t_ours / t_loop_full:.4f}", "-"])

print(f"flower.jpg: {len(pixels):,} pixels, {len(colours):,} distinct colours; {n_iter} k-means iterations, "
      f"{len(history)} EM steps (scikit-learn: {mixture.n_iter_})")
table(rows, ["case", "ours [s]", "baseline [s]", "ratio", "relative difference"])
