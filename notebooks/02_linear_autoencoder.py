# %% [markdown]
# # 02 · The linear autoencoder and PCA
#
# A linear autoencoder without biases encodes a $D$-dimensional row $\mathbf{x}$ into $K$ numbers,
# $\mathbf{h} = \mathbf{x} W_1$, and decodes them back, $\hat{\mathbf{x}} = \mathbf{h} W_2$. For a data matrix
# $X \in \mathbb{R}^{N \times D}$, with $W_1 \in \mathbb{R}^{D \times K}$ and $W_2 \in \mathbb{R}^{K \times D}$,
#
# $$f(X) = X W_1 W_2, \qquad L(W_1, W_2) = \frac{1}{N} \lVert X - X W_1 W_2 \rVert_F^2 .$$
#
# With $K < D$ it cannot reconstruct every input perfectly: $X W_1 W_2$ has rank at most $K$. This notebook makes
# that argument concrete, trains the autoencoder by gradient descent and finds that it learns exactly what PCA
# computes in closed form. The lecture notes are [derivations/02_linear_autoencoder.md](../derivations/02_linear_autoencoder.md).
#
# **Your tasks**
#
# 1. `autoencoder_loss(X, W1, W2)`: the loss and its gradients with respect to $W_1$ and $W_2$, with matrix
#    products rather than a loop over the samples (training calls it thousands of times; the self-check tests
#    the values only).
# 2. `train_autoencoder(X, K, ...)`: full-batch gradient descent with a step size set from the data.
# 3. `pca(X, K, center)`: the top-$K$ principal directions and the reconstruction error, by the SVD.

# %%
import matplotlib.pyplot as plt
import numpy as np
from scipy.linalg import subspace_angles
from sklearn.datasets import load_digits

from latent_course import checks
from latent_course.validation import check_autoencoder, check_matrix, check_positive_float, check_positive_int

np.set_printoptions(precision=3, suppress=True)

# %% [markdown]
# ## Task 1: the loss and its gradients
#
# Write $H = X W_1$ (the codes, $N \times K$) and $E = H W_2 - X$ (the reconstruction errors, $N \times D$). Then
# $L = \lVert E \rVert_F^2 / N$ and, by the chain rule,
#
# $$\frac{\partial L}{\partial W_2} = \frac{2}{N} H^\top E, \qquad \frac{\partial L}{\partial W_1} = \frac{2}{N} X^\top E\, W_2^\top .$$
#
# Check the shapes: $H^\top E$ is $K \times D$ like $W_2$, and $X^\top E W_2^\top$ is $D \times K$ like $W_1$.

# %%
def autoencoder_loss(X, W1, W2):
    """Reconstruction loss of a linear autoencoder without biases, and its gradients.

    Parameters
    ----------
    X : np.ndarray, shape (N, D)
        The data, one sample per row.
    W1 : np.ndarray, shape (D, K)
        The encoder.
    W2 : np.ndarray, shape (K, D)
        The decoder.

    Returns
    -------
    loss : float
        ||X - X W1 W2||_F^2 / N, the mean squared reconstruction error per sample.
    grad_W1 : np.ndarray, shape (D, K)
    grad_W2 : np.ndarray, shape (K, D)
    """
    X, W1, W2 = check_autoencoder(X, W1, W2)
    # TODO: compute H = X W1 and E = H W2 - X once, then the loss and both gradients from them.
    raise NotImplementedError


# %%
checks.autoencoder_loss(autoencoder_loss)

# %% [markdown]
# ## Task 2: training by gradient descent
#
# Gradient descent repeats $W_1 \leftarrow W_1 - \eta\, \partial L / \partial W_1$ and
# $W_2 \leftarrow W_2 - \eta\, \partial L / \partial W_2$. Too large a step $\eta$ makes it diverge; too small makes it
# crawl. The curvature of $L$ is governed by the data's largest singular value $s_1$: at a minimum the largest
# eigenvalue of the Hessian is $4 s_1^2 / N$, so near a minimum gradient descent is stable for steps below
# $2 / (4 s_1^2 / N) = N / (2 s_1^2)$, and we take half of that, $\eta = N / (4 s_1^2)$. This is a local argument:
# along the way the curvature can be larger (the lecture notes bound it by $8 s_1^2 / N$ while the weights have
# spectral norms at most 1), and nothing guarantees in general that the loss falls at every step. On the data of
# this notebook it does.
#
# Start from small random weights (standard deviation 0.01, from `np.random.default_rng(random_state)`), record the
# loss at every step, and stop when the loss decreased by less than `tol` times its value, or after `max_iter`
# steps.
#
# One thing is provided: the loss depends on $X$ only through $X^\top X$. With the QR decomposition $X = QR$
# ($Q^\top Q = I$, $R$ is $D \times D$ when $N \ge D$), $\lVert X - X W \rVert_F = \lVert R - R W \rVert_F$, so when $N > D$ we train on
# $\sqrt{D / N}\, R$, which has the same loss and the same gradients as $X$ and only $D$ rows. Its $s_1^2$ is $D / N$
# times that of the original data, so the step $\eta = n / (4 s_1^2)$ is the same when $n$ and $s_1$ come from the same
# matrix: use `X.shape[0]` and $s_1$ of the `X` you train on (mixing the original $N$ with the reduced $s_1$ gives a
# step $N / D$ times too large).

# %%
def train_autoencoder(X, K, step_size=None, max_iter=50_000, tol=1e-10, random_state=0):
    """Fit a linear autoencoder by full-batch gradient descent.

    Parameters
    ----------
    X : np.ndarray, shape (N, D)
        The data.
    K : int
        The code size, 1 <= K <= D.
    step_size : float, optional
        The gradient step; by default N / (4 s_1^2) with s_1 the largest singular value of X.
    max_iter : int
        The largest number of gradient steps.
    tol : float
        Stop when the loss decreases by less than tol times its value.
    random_state : int or np.random.Generator
        Seed for the initial weights.

    Returns
    -------
    W1 : np.ndarray, shape (D, K)
    W2 : np.ndarray, shape (K, D)
    losses : np.ndarray, shape (n_steps + 1,)
        The loss before each step and after the last one; n_steps <= max_iter.
    """
    X = check_matrix(X)
    N, D = X.shape
    K = check_positive_int(K, "K", high=D)
    if step_size is not None:
        step_size = check_positive_float(step_size, "step_size")
    max_iter = check_positive_int(max_iter, "max_iter")
    tol = check_positive_float(tol, "tol")
    if N > D:
        X = np.linalg.qr(X, mode="r") * np.sqrt(D / N)  # from here on X has X.shape[0] = D rows, not N
    rng = np.random.default_rng(random_state)
    # TODO: default step N / (4 s_1^2); small random weights; step until the relative decrease is below tol.
    raise NotImplementedError


# %%
checks.train_autoencoder(train_autoencoder)

# %% [markdown]
# ## Task 3: PCA by the singular value decomposition
#
# Centre the data (when `center` is true), take its SVD $X = U S V^\top$, and keep the first $K$ rows of $V^\top$: the
# principal directions, orthonormal, in order of decreasing singular value. Projecting onto them and back,
# $\hat X = X V_K V_K^\top$, gives the best rank-$K$ approximation of $X$ (Eckart-Young), with error
# $\lVert X - \hat X \rVert_F^2 = \sum_{i > K} s_i^2$. Return that error divided by $N$, the same normalisation as
# the autoencoder's loss.

# %%
def pca(X, K, center=True):
    """Principal component analysis by the SVD.

    Parameters
    ----------
    X : np.ndarray, shape (N, D)
        The data.
    K : int
        The number of components, 1 <= K <= D.
    center : bool
        Subtract the mean of each column first.

    Returns
    -------
    components : np.ndarray, shape (K, D)
        The principal directions as orthonormal rows, by decreasing singular value.
    error : float
        The mean squared reconstruction error per sample, ||X - X V_K V_K^T||_F^2 / N (X centred if `center`).
    """
    X = check_matrix(X)
    K = check_positive_int(K, "K", high=X.shape[1])
    # TODO: centre if asked, SVD, keep the first K right singular vectors, sum the discarded s_i^2 / N.
    raise NotImplementedError


# %%
checks.pca(pca)

# %% [markdown]
# ## The rank argument, made concrete
#
# $X W_1 W_2$ is a product through a $K$-dimensional bottleneck, so its rank is at most $K$: every reconstruction
# lies in the $K$-dimensional row space of $W_2$. Data that already lies in a $K$-dimensional subspace can be
# reconstructed perfectly; data that does not, cannot. Two synthetic data sets in $D = 10$ dimensions show both cases:
# `in_subspace` is exactly of rank 3, `full_rank` is the same data plus a little noise in all 10 directions.

# %%
rng = np.random.default_rng(0)
N_synthetic, D_synthetic, K_synthetic = 500, 10, 3
basis = np.linalg.qr(rng.normal(size=(D_synthetic, K_synthetic)))[0].T
in_subspace = rng.normal(size=(N_synthetic, K_synthetic)) * [3.0, 2.0, 1.5] @ basis
full_rank = in_subspace + 0.3 * rng.normal(size=(N_synthetic, D_synthetic))

for name, data in [("in_subspace", in_subspace), ("full_rank", full_rank)]:
    W1, W2, losses = train_autoencoder(data, K_synthetic, max_iter=5000)
    rank = np.linalg.matrix_rank(data @ W1 @ W2)
    relative_error = losses[-1] / np.mean(np.sum(data**2, axis=1))
    assert rank <= K_synthetic
    assert (relative_error < 1e-12) == (np.linalg.matrix_rank(data) <= K_synthetic)
    print(f"{name:11s}: rank of X = {np.linalg.matrix_rank(data):2d}, rank of X W1 W2 = {rank}, "
          f"relative error {'below 1e-12' if relative_error < 1e-12 else f'{relative_error:.3f}'}")

# %% [markdown]
# On `in_subspace` the error falls to the limit of floating point; on `full_rank` it stops at the share of the
# variance that lies outside the best 3-dimensional subspace, and no amount of training lowers it further.

# %% [markdown]
# ## The autoencoder finds PCA's error
#
# The digits data set has $N = 1797$ images of $8 \times 8 = 64$ pixels; we scale the pixels to $[0, 1]$ and centre
# them. For each code size $K$, the trained autoencoder's loss should equal PCA's error, and that error should equal
# the sum of the discarded squared singular values divided by $N$ (the Eckart-Young theorem).

# %%
digits = load_digits().data / 16
mean_digit = digits.mean(axis=0)
centred = digits - mean_digit
N, D = centred.shape
singular_values = np.linalg.svd(centred, compute_uv=False)

code_sizes = [2, 8, 16, 32]
autoencoders = {}
for K in code_sizes:
    W1, W2, losses = train_autoencoder(centred, K)
    components, pca_error = pca(digits, K)
    np.testing.assert_allclose(pca_error, np.sum(singular_values[K:] ** 2) / N, rtol=1e-10)
    np.testing.assert_allclose(losses[-1], pca_error, rtol=0.01)
    assert np.all(np.diff(losses) <= 0)
    autoencoders[K] = W1, W2, components
    print(f"K = {K:2d}: PCA error {pca_error:.3f} = sum of discarded s_i^2 / N; autoencoder loss within 1 % of it")

# %% [markdown]
# ## The decoder spans the principal subspace, but the weights are not unique
#
# The principal angles between the row space of $W_2$ and the span of the top-$K$ principal directions measure how
# far apart the two subspaces are; all of them are close to zero. Yet $W_2$ is not $V_K^\top$: for any invertible
# $K \times K$ matrix $A$, the pair $(W_1 A, A^{-1} W_2)$ computes exactly the same map $X W_1 A A^{-1} W_2 = X W_1 W_2$,
# so the loss cannot prefer one over the other. Only the subspace is determined, not a basis of it.

# %%
K = 8
W1, W2, components = autoencoders[K]
angles = np.degrees(subspace_angles(W2.T, components.T))
assert angles.max() < 1.0, angles
print(f"K = {K}: the largest principal angle between rows of W2 and the principal directions is below 1 degree")

A = np.random.default_rng(1).normal(size=(K, K))
W1_other, W2_other = W1 @ A, np.linalg.solve(A, W2)
np.testing.assert_allclose(centred @ W1_other @ W2_other, centred @ W1 @ W2, atol=1e-8)
print(f"W1 A and A^-1 W2 give the same reconstructions; |W2| = {np.linalg.norm(W2):.2f}, "
      f"|A^-1 W2| = {np.linalg.norm(W2_other):.2f}")
np.testing.assert_allclose(W1.T @ W1, W2 @ W2.T, atol=0.01)
np.testing.assert_allclose(W2 @ W2.T, np.eye(K), atol=0.05)
np.testing.assert_allclose(W1, W2.T, atol=0.05)
print("balanced: W1^T W1 = W2 W2^T within 0.01; rows of W2 orthonormal and W1 = W2^T, both within 0.05")

# %% [markdown]
# Gradient descent from small weights lands near a *balanced* solution: the difference $W_1^\top W_1 - W_2 W_2^\top$
# stays almost constant during gradient descent, and it starts near zero. Balance alone would not make $W_1 = W_2^\top$,
# but at a minimum it does, up to the small initial weights of the three constant pixels, which never change (the
# lecture notes give the argument): the rows of $W_2$ are then orthonormal. Even so, they are a rotated basis of the
# principal subspace, not the principal directions themselves.
#
# ## Centring matters, because the model has no bias
#
# PCA subtracts the mean before finding directions. The autoencoder has no bias term, so on raw, uncentred pixels it
# must spend part of its $K$ dimensions reconstructing the mean image, and its error is that of the SVD of the
# *uncentred* data, which is never smaller (equal only when the mean lies in the best centred subspace).

# %%
K = 8
_, _, losses_raw = train_autoencoder(digits, K)
_, error_uncentred = pca(digits, K, center=False)
_, error_centred = pca(digits, K, center=True)
np.testing.assert_allclose(losses_raw[-1], error_uncentred, rtol=0.01)
assert error_uncentred >= error_centred
print(f"K = {K}: autoencoder on raw pixels {losses_raw[-1]:.3f} ~ uncentred SVD {error_uncentred:.3f} "
      f"> centred PCA {error_centred:.3f}")

# %% [markdown]
# ## Reconstructed digits
#
# Each row reconstructs the same eight digits through a code of $K$ numbers (adding the mean image back).

# %%
shown = np.arange(8)
fig, axes = plt.subplots(len(code_sizes) + 1, len(shown), figsize=(8, 5.5))
rows = [("original", digits[shown])] + [
    (f"K = {K}", centred[shown] @ autoencoders[K][0] @ autoencoders[K][1] + mean_digit) for K in code_sizes]
for row, (label, images) in zip(axes, rows):
    for ax, image in zip(row, images):
        ax.imshow(image.reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
        ax.set(xticks=[], yticks=[])
    row[0].set_ylabel(label)
fig.suptitle("Digits reconstructed by the trained linear autoencoder")
plt.show()

# %%
all_K = np.arange(1, D + 1)
fig, ax = plt.subplots(figsize=(7, 4))
ax.plot(all_K, [np.sum(singular_values[K:] ** 2) / N for K in all_K], label="PCA: sum of discarded $s_i^2$ / N")
ax.plot(code_sizes, [((centred @ W1 @ W2 - centred) ** 2).sum() / N for W1, W2, _ in autoencoders.values()],
        "o", label="trained autoencoder")
ax.set(xlabel="code size K", ylabel="mean squared error per image", ylim=(0, None),
       title="Reconstruction error against the code size")
ax.legend()
plt.show()

# %% [markdown]
# ## What to take away
#
# * $X W_1 W_2$ has rank at most $K$, so a linear autoencoder with $K < D$ reconstructs perfectly only data that lies
#   in a $K$-dimensional subspace.
# * Its best possible error is PCA's, $\sum_{i > K} s_i^2 / N$, and on the digits gradient descent gets within 1 % of
#   it, with the decoder spanning the principal subspace. Baldi and Hornik (1989) explain why no local minimum can
#   trap it when the covariance is invertible with distinct eigenvalues; the digits' covariance is not (three pixels
#   are constant), which only adds flat directions: a constant pixel is a zero column of the centred $X$, so the
#   weights on it change neither the loss nor its gradient, and the minimum stays PCA's.
# * The weights are determined only up to an invertible $K \times K$ matrix, and without a bias the data must be
#   centred for the comparison with PCA to hold.
#
# The lecture notes [derivations/02_linear_autoencoder.md](../derivations/02_linear_autoencoder.md) prove these
# statements and discuss what changes with a non-linear activation.

# %% [markdown]
# ## All tasks at a glance
#
# The cell below runs every self-check of this notebook once more and prints one row per task: passed, failed (with
# the first line of the check's message), not started, or error. Run it when you think you are done. From a
# terminal, `python -m latent_course progress` prints the same table for every topic, from your saved notebooks.

# %%
checks.summary("02_linear_autoencoder")
