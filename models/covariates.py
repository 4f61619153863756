"""BG/NBD and Gamma-Gamma with time-invariant covariates: Fader & Hardie (2007), "Incorporating
time-invariant covariates into the Pareto/NBD and BG/NBD models" (FH07 below), for purchases; the same idea
applied to the Gamma-Gamma spend model of note 025.

FH07 keep each model's story and let the scale of a heterogeneity distribution depend on a customer's
covariates z_i (here dummy codes of categorical covariates: acquisition channel, country, cohort year):

- BG/NBD purchase rate: lambda_i ~ Gamma(r, alpha_i), alpha_i = alpha0 exp(-beta'z_i). The mean rate while
  alive is r / alpha_i = (r / alpha0) exp(beta'z_i), so beta_j > 0 means customers at level j buy more
  often, by the factor exp(beta_j), than customers at the baseline level.
- BG/NBD dropout: p_i ~ Beta(a_i, b_i), a_i = a0 exp(gamma'z_i), b_i = b0 exp(delta'z_i). The mean dropout
  probability after a purchase is a_i / (a_i + b_i): gamma_j > 0 raises it, delta_j > 0 lowers it.
- Gamma-Gamma spend: nu_i ~ Gamma(q, gamma_i), gamma_i = gamma0 exp(eta'z_i). The mean order value is
  p gamma_i / (q - 1), so exp(eta_j) is the ratio of mean order values of level j to the baseline (eta_j > 0:
  higher spend). gamma is a rate of nu but the scale of spend, hence no minus sign here, unlike alpha.

Because only the parameters change, every individual-level formula stays as it is with (r, alpha_i, a_i,
b_i) or (p, q, gamma_i) in place of the population values (FH07's point): the likelihood is FHL eq. (6)
(``models.bgnbd.log_likelihood_contributions``) and note 025 eq. (1a)
(``models.gamma_gamma.log_likelihood_contributions``), and E[Y(t) | x, t_x, T], P(alive) and E[Z | x, m]
are the plain models' functions, which broadcast over per-customer parameter arrays.

The fit maximises the likelihood over (ln r, ln alpha0, ln a0, ln b0, beta, gamma, delta) — logarithms for
the base parameters, raw coefficients (which are already log-ratios) — starting from the plain fit with
all coefficients 0; the covariance is the inverse numerical Hessian in that space (``models.optimise``).
Dummy covariates take few distinct combinations ("cells"), so customers are collapsed to distinct
(x, t_x, T, cell) with counts (``models.distinct``), and inside the objective every log, Gamma function and
ratio is computed once per distinct (cell, x), (cell, T) or (cell, t_x) and gathered: a million customers
cost what their distinct histories cost, as in the plain fit.

``design_from_frame`` builds the dummy codes: one column per non-baseline level, the baseline being each
covariate's most frequent level; levels with fewer than ``min_customers`` customers are pooled into
"other" (a coefficient estimated from a handful of customers is noise, and one from a level without repeat
buyers runs off to infinity).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy import special, stats

from models import bgnbd, gamma_gamma
from models.bgnbd import BGNBDFit, BGNBDParams, fit_bgnbd
from models.distinct import distinct_rows
from models.errors import ModelFitError
from models.gamma_gamma import GammaGammaFit, GammaGammaParams, fit_gamma_gamma
from models.optimise import dot, minimise_negative_log_likelihood
from models.time_units import check_time_unit

BGNBD_MODEL_NAME = "BG/NBD with covariates"
GAMMA_GAMMA_MODEL_NAME = "Gamma-Gamma with covariates"

OTHER_LEVEL = "other"  # where rare levels are pooled
MISSING_LEVEL = "missing"  # the level of a missing (NaN/None) covariate value
# A level needs this many customers to get its own coefficient. With ~100 customers, of whom perhaps a
# third buy again, a rate ratio is known to within roughly +-30 % (one standard error), which is about the
# least that is worth reporting.
DEFAULT_MIN_CUSTOMERS = 100


# --- Design: dummy codes of categorical covariates ----------------------------------------------------------


@dataclass(frozen=True)
class CovariateDesign:
    """Dummy (treatment) codes of categorical covariates, one row per customer of the frame it was built from.

    ``levels[column]`` lists the coded levels, baseline first (it has no dummy column), then the others
    sorted, "other" last when rare levels were pooled. ``level_map[column]`` sends every level seen when the
    design was built to its coded level (itself, "other", or the baseline when the pooled "other" was itself
    rare). ``names`` labels the dummy columns "column=level"; ``matrix`` holds them (n x k floats).
    """

    columns: tuple[str, ...]
    levels: dict[str, tuple[str, ...]]
    baseline: dict[str, str]
    level_map: dict[str, dict[str, str]]
    names: tuple[str, ...]
    matrix: np.ndarray = field(repr=False, compare=False)

    @property
    def n_customers(self) -> int:
        return int(self.matrix.shape[0])

    @property
    def folded(self) -> dict[str, tuple[str, ...]]:
        """The levels pooled into another one, per column."""
        return {c: tuple(sorted(k for k, v in m.items() if k != v)) for c, m in self.level_map.items()}

    def encode(self, frame: pd.DataFrame) -> np.ndarray:
        """Dummy rows (len(frame) x k) for customers in ``frame``, with this design's levels.

        A level not seen when the design was built had fewer than ``min_customers`` customers then (none), so
        it goes where the rare levels went: "other" when the design has it, else the baseline.
        """
        missing = [c for c in self.columns if c not in frame.columns]
        if missing:
            raise ValueError(f"covariate column(s) {missing} not in the frame (have {list(frame.columns)})")
        positions = []
        for column in self.columns:
            uniques, codes = _labels(frame[column])
            coded_levels = self.levels[column]
            unseen_goes_to = OTHER_LEVEL if OTHER_LEVEL in coded_levels else self.baseline[column]
            level_map = self.level_map[column]
            position = np.array(
                [coded_levels.index(level_map.get(u, unseen_goes_to)) for u in uniques], dtype=np.intp
            )
            positions.append(position[codes])
        return _one_hot(positions, [len(self.levels[c]) for c in self.columns], len(frame))


def _labels(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Covariate values as string levels ("2021" for a cohort year, MISSING_LEVEL for NaN/None): the distinct
    levels, sorted, and each row's position among them.

    Factorized first, so that str() runs once per distinct value, not once per customer; values with the same
    string (2021 and "2021") become one level.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    names = np.array([str(u) for u in uniques] + [MISSING_LEVEL], dtype=object)
    levels, level_of_code = np.unique(names, return_inverse=True)
    return levels, level_of_code.ravel()[np.where(codes < 0, len(uniques), codes)]


def _one_hot(positions: list[np.ndarray], n_levels: list[int], n: int) -> np.ndarray:
    """The dummy matrix: per covariate, one-hot columns for level positions 1..n_levels-1 (position 0, the
    baseline, has none), written into one matrix rather than stacked from blocks (at a million rows each
    copy costs a tenth of a second)."""
    matrix = np.zeros((n, sum(levels - 1 for levels in n_levels)))
    offset = 0
    for position, levels in zip(positions, n_levels, strict=True):
        coded = np.flatnonzero(position > 0)
        matrix[coded, offset + position[coded] - 1] = 1.0
        offset += levels - 1
    return matrix


def design_from_frame(
    frame: pd.DataFrame, columns: Sequence[str], *, min_customers: int = DEFAULT_MIN_CUSTOMERS
) -> CovariateDesign:
    """Dummy codes of the categorical ``columns`` of ``frame`` (one row per customer).

    Per column: levels with fewer than ``min_customers`` customers are pooled into "other"; when "other"
    itself has fewer than ``min_customers`` it joins the baseline instead (its coefficient would not be
    estimable either). The baseline is the most frequent remaining level (ties: the first in sort order),
    so the base parameters describe the largest group and every coefficient is a contrast against it.
    Missing values form their own level, "missing". A column left with one level contributes no dummy.
    """
    columns = tuple(columns)
    absent = [c for c in columns if c not in frame.columns]
    if absent:
        raise ValueError(f"covariate column(s) {absent} not in the frame (have {list(frame.columns)})")
    if len(set(columns)) != len(columns):
        raise ValueError(f"covariate columns repeat: {list(columns)}")
    levels, baseline, level_maps, names, positions = {}, {}, {}, [], []
    for column in columns:
        uniques, codes = _labels(frame[column])
        counts = np.bincount(codes, minlength=uniques.size)
        count_of = {u: c for u, c in zip(uniques.tolist(), counts.tolist(), strict=True) if c > 0}
        kept = [u for u in count_of if count_of[u] >= min_customers and u != OTHER_LEVEL]
        pooled = [u for u in count_of if u not in kept]
        pooled_count = sum(count_of[u] for u in pooled)
        if not kept:  # every level rare: one pooled level, nothing to contrast
            base = OTHER_LEVEL
            level_map = {u: OTHER_LEVEL for u in count_of}
            coded = (OTHER_LEVEL,)
        else:
            base = min(kept, key=lambda u: (-count_of[u], u))
            pool_into = OTHER_LEVEL if pooled_count >= min_customers else base
            level_map = {u: (u if u in kept else pool_into) for u in count_of}
            others = sorted(u for u in kept if u != base)
            coded = (base, *others, *((OTHER_LEVEL,) if pool_into == OTHER_LEVEL else ()))
        position = np.array([coded.index(level_map.get(u, base)) for u in uniques.tolist()], dtype=np.intp)
        positions.append(position[codes])
        levels[column], baseline[column], level_maps[column] = coded, base, level_map
        names.extend(f"{column}={level}" for level in coded[1:])
    matrix = _one_hot(positions, [len(levels[c]) for c in columns], len(frame))
    return CovariateDesign(columns, levels, baseline, level_maps, tuple(names), matrix)


class DesignCells(NamedTuple):
    rows: np.ndarray  # the distinct design rows ("cells"), G x k
    of_customer: np.ndarray  # customer i is in cell of_customer[i]


def _design_matrix(design, n_customers: int, model: str) -> tuple[np.ndarray, tuple[str, ...]]:
    """The n x k matrix and column names of a CovariateDesign or of a plain 2-D array (names z0, z1, ...)."""
    if isinstance(design, CovariateDesign):
        matrix, names = design.matrix, design.names
    else:
        try:
            matrix = np.asarray(design, dtype=float)
        except (TypeError, ValueError):
            raise ModelFitError(model, "the design must be a CovariateDesign or a numeric matrix") from None
        if matrix.ndim == 1:
            matrix = matrix[:, None]
        names = tuple(f"z{j}" for j in range(matrix.shape[1]))
    if matrix.ndim != 2 or matrix.shape[0] != n_customers:
        raise ModelFitError(
            model, f"the design has {matrix.shape[0]} rows for {n_customers} customers (one row per customer)"
        )
    if not np.all(np.isfinite(matrix)):
        raise ModelFitError(model, "the design has missing or infinite values")
    return matrix, names


def design_cells(matrix: np.ndarray) -> DesignCells:
    """Distinct rows of the design: dummies of a few categorical covariates take a few dozen combinations.

    Rows of 0/1 dummies are read as binary numbers, first column most significant, so that one factorize of
    one key finds them in the same (lexicographic) order as ``distinct_rows`` over every column, which at a
    million customers and twenty dummies costs ten times more."""
    n, k = matrix.shape
    if k == 0:
        return DesignCells(np.zeros((1, 0)), np.zeros(n, dtype=np.intp))
    if k <= 52 and np.all((matrix == 0.0) | (matrix == 1.0)):  # exact integers in a double up to 2^53
        bits = 2.0 ** np.arange(k - 1, -1, -1)
        codes, keys = pd.factorize(matrix @ bits, sort=True)
        rows = (keys.astype(np.int64)[:, None] >> np.arange(k - 1, -1, -1)) & 1
        return DesignCells(rows.astype(float), codes.astype(np.intp))
    distinct = distinct_rows(*matrix.T)
    return DesignCells(np.column_stack(distinct.columns), distinct.inverse)


def _check_identifiable(cell_rows: np.ndarray, names: tuple[str, ...], model: str) -> None:
    """Raise when the coefficients cannot be told apart: a dummy that is constant over the customers (a level
    with nobody in it) or a combination of dummies equal to another (e.g. a channel used in one country only).
    """
    k = cell_rows.shape[1]
    if k == 0:
        return
    with_intercept = np.column_stack([np.ones(cell_rows.shape[0]), cell_rows])
    if np.linalg.matrix_rank(with_intercept) < k + 1:
        constant = [names[j] for j in range(k) if np.ptp(cell_rows[:, j]) == 0]
        detail = f"constant over all customers: {constant}" if constant else "some are collinear"
        raise ModelFitError(
            model,
            f"the {k} covariate columns cannot all be estimated ({detail}); "
            "drop or merge levels (design_from_frame's min_customers pools rare ones)",
        )


def _rows_for(design_rows, n_coefficients: int) -> np.ndarray:
    """Design rows for prediction as an n x k float matrix (a single row may be given as a 1-D array)."""
    if isinstance(design_rows, CovariateDesign):
        design_rows = design_rows.matrix
    rows = np.asarray(design_rows, dtype=float)
    if rows.ndim == 1:
        rows = rows.reshape(-1, n_coefficients)
    if rows.ndim != 2 or rows.shape[1] != n_coefficients:
        raise ValueError(f"design rows must have {n_coefficients} columns, got shape {rows.shape}")
    return rows


class _GroupedValues:
    """Distinct (cell, value) pairs of a set of rows: per-evaluation work such as ln(alpha_cell + T) is done
    once per pair and gathered back with ``inverse`` (a few dozen cells times a few hundred whole-day times
    is far fewer pairs than rows)."""

    def __init__(self, cell: np.ndarray, values: np.ndarray, weights: np.ndarray):
        value_levels, value_index = np.unique(values, return_inverse=True)
        key = cell.astype(np.int64) * value_levels.size + value_index.ravel()
        inverse, keys = pd.factorize(key)
        self.inverse = inverse.astype(np.intp, copy=False)
        self.cell = (keys // value_levels.size).astype(np.intp)
        self.value = value_levels[keys % value_levels.size]
        self.weight = np.bincount(self.inverse, weights=weights, minlength=keys.size)


class _CellObjective:
    """A covariate likelihood's shape: each customer's likelihood depends on a few parameters every customer
    shares (``shared``: indices into theta, e.g. ln r) and on C parameters of their cell (ln alpha_c, ...),
    each a linear function of theta: ``jacobian[c, j, :]`` is d(parameter j of cell c)/d theta, and the
    theta index ``base[j]`` (ln alpha0, ...) moves parameter j of every cell alike. ``parts(theta)`` gives
    the mean negative log-likelihood, its gradient in the shared parameters (S,) and in each cell's own
    (G, C); the theta gradient follows by the chain rule.

    The Hessian follows the same way: in (shared, cells' parameters) it is block-diagonal over the cells (no
    customer belongs to two), so shifting one base index moves every cell's parameter j at once and the
    change of each cell's own gradient is still that cell's column; with one shift per shared parameter and
    one per base index the whole Hessian costs 1 + S + C gradients instead of one per theta (23 for twenty
    dummies), then ``J' H J``. Forward differences with ``models.optimise.numerical_hessian``'s step."""

    shared: np.ndarray
    base: np.ndarray
    jacobian: np.ndarray

    def parts(self, theta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        raise NotImplementedError

    def __call__(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        value, shared_gradient, cell_gradient = self.parts(theta)
        gradient = np.einsum("gjp,gj->p", self.jacobian, cell_gradient)
        gradient[self.shared] += shared_gradient
        return value, gradient

    def hessian(self, theta: np.ndarray, _gradient=None, step: float = 1e-6) -> np.ndarray:
        """``models.optimise``'s ``hessian_of``: the gradient it passes is not used (the differences need the
        per-cell gradients at theta, which it does not hold)."""
        _, shared0, cells0 = self.parts(theta)
        n_cells, n_cell_params = cells0.shape
        shared_block = np.empty((self.shared.size, self.shared.size))
        cell_by_shared = np.empty((n_cells, n_cell_params, self.shared.size))
        cell_blocks = np.empty((n_cells, n_cell_params, n_cell_params))
        for i, index in enumerate(self.shared):
            _, shared1, cells1 = self.parts(_shifted(theta, index, step))
            shared_block[:, i] = (shared1 - shared0) / step
            cell_by_shared[:, :, i] = (cells1 - cells0) / step
        for j, index in enumerate(self.base):
            cell_blocks[:, :, j] = (self.parts(_shifted(theta, index, step))[2] - cells0) / step
        J = self.jacobian
        hessian = np.einsum("gip,gij,gjq->pq", J, cell_blocks, J)
        cross = np.einsum("gip,gis->ps", J, cell_by_shared)  # d2 / d theta_p d shared_s
        hessian[:, self.shared] += cross
        hessian[self.shared, :] += cross.T
        hessian[np.ix_(self.shared, self.shared)] += shared_block
        return (hessian + hessian.T) / 2


def _shifted(theta: np.ndarray, index: int, step: float) -> np.ndarray:
    shifted = theta.copy()
    shifted[index] += step
    return shifted


# --- BG/NBD with covariates ---------------------------------------------------------------------------------


def bgnbd_customer_params(
    params: BGNBDParams,
    design_rows,
    rate_coefficients,
    dropout_a_coefficients=None,
    dropout_b_coefficients=None,
) -> BGNBDParams:
    """(r, alpha_i, a_i, b_i) per customer: alpha_i = alpha0 exp(-beta'z_i), a_i = a0 exp(gamma'z_i),
    b_i = b0 exp(delta'z_i) (FH07). Arrays, one entry per design row; None dropout coefficients mean the
    dropout does not depend on the covariates."""
    beta = np.asarray(rate_coefficients, dtype=float).ravel()
    z = _rows_for(design_rows, beta.size)
    r, alpha0, a0, b0 = params
    n = z.shape[0]

    def scaled(base: float, coefficients) -> np.ndarray:
        if coefficients is None:
            return np.full(n, float(base))
        return base * np.exp(z @ np.asarray(coefficients, dtype=float))

    return BGNBDParams(
        np.full(n, float(r)),
        scaled(alpha0, -beta),
        scaled(a0, dropout_a_coefficients),
        scaled(b0, dropout_b_coefficients),
    )


class _BGNBDCovariateObjective(_CellObjective):
    """-(sum_i w_i ln L_i) / sum_i w_i and its analytic gradient in
    theta = (ln r, ln alpha0, ln a0, ln b0, beta, [gamma, delta]): shared ln r, per cell (ln alpha_c, ln a_c,
    ln b_c) (``_CellObjective``).

    Per customer (FHL eq. 6 with alpha_c, a_c, b_c of the customer's cell c), with w4 the share of the
    'dropped out after t_x' term in the bracket (0 when x = 0), the derivatives in the cell's log-parameters:
      d/d ln alpha_c = r - (r+x) [(1-w4) alpha_c/(alpha_c+T) + w4 alpha_c/(alpha_c+t_x)]
      d/d ln a_c     = a_c [psi(a_c+b_c) - psi(a_c+b_c+x)] + w4
      d/d ln b_c     = b_c [psi(a_c+b_c) + psi(b_c+x) - psi(b_c) - psi(a_c+b_c+x)] - w4 b_c/(b_c+x-1)
      d/dr           = psi(r+x) - psi(r) + ln alpha_c - (1-w4) ln(alpha_c+T) - w4 ln(alpha_c+t_x)
    They are summed per cell; ln alpha_c = ln alpha0 - z_c'beta, so d/d beta = -Z' (d/d ln alpha_c) and
    d/d ln alpha0 is their sum (likewise for a and b with a plus sign). x-only terms are summed per distinct
    x, the Beta-function terms per distinct (cell, x), logs and ratios of times per distinct (cell, T) and
    (cell, t_x); customers without repeat purchase are aggregated to (cell, T) entirely.
    """

    def __init__(
        self,
        x: np.ndarray,
        t_x: np.ndarray,
        age: np.ndarray,
        cell: np.ndarray,
        cell_rows: np.ndarray,
        weights: np.ndarray,
        dropout_covariates: bool,
    ):
        w = weights / weights.sum()
        self.z = cell_rows
        self.n_cells, self.k = cell_rows.shape
        self.dropout_covariates = dropout_covariates
        self.weight_of_cell = np.bincount(cell, weights=w, minlength=self.n_cells)
        self.x_values, x_index = np.unique(x, return_inverse=True)
        self.weight_of_x = np.bincount(x_index.ravel(), weights=w, minlength=self.x_values.size)
        once = x == 0
        self.once_times = _GroupedValues(cell[once], age[once], w[once])
        repeat = ~once
        self.rep_cell, self.rep_w, self.rep_x = cell[repeat], w[repeat], x[repeat]
        self.rep_ages = _GroupedValues(self.rep_cell, age[repeat], self.rep_w)
        self.rep_recencies = _GroupedValues(self.rep_cell, t_x[repeat], self.rep_w)
        self.rep_frequencies = _GroupedValues(self.rep_cell, self.rep_x, self.rep_w)
        k, n_cells = self.k, self.n_cells
        self.shared, self.base = np.array([0]), np.array([1, 2, 3])
        self.jacobian = np.zeros((n_cells, 3, self.n_parameters))
        self.jacobian[:, :, 1:4] = np.eye(3)
        self.jacobian[:, 0, 4 : 4 + k] = -cell_rows
        if dropout_covariates:
            self.jacobian[:, 1, 4 + k : 4 + 2 * k] = cell_rows
            self.jacobian[:, 2, 4 + 2 * k :] = cell_rows

    @property
    def n_parameters(self) -> int:
        return 4 + self.k * (3 if self.dropout_covariates else 1)

    def cell_log_params(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        k, z = self.k, self.z
        log_alpha = theta[1] - z @ theta[4 : 4 + k]
        if self.dropout_covariates:
            return log_alpha, theta[2] + z @ theta[4 + k : 4 + 2 * k], theta[3] + z @ theta[4 + 2 * k :]
        return log_alpha, np.full(self.n_cells, theta[2]), np.full(self.n_cells, theta[3])

    def parts(self, theta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        gammaln, digamma = special.gammaln, special.digamma
        r = float(np.exp(theta[0]))
        log_alpha, log_a, log_b = self.cell_log_params(theta)
        alpha, a, b = np.exp(log_alpha), np.exp(log_a), np.exp(log_b)
        n_cells = self.n_cells

        # x-only and cell-only terms: ln G(r+x) - ln G(r) + r ln alpha_c
        xv, wx, wc = self.x_values, self.weight_of_x, self.weight_of_cell
        value = dot(wx, gammaln(r + xv)) - gammaln(r) + r * dot(wc, log_alpha)
        d_r = dot(wx, digamma(r + xv)) - digamma(r) + dot(wc, log_alpha)
        d_log_alpha = r * wc

        # no repeat purchase: bracket = -r ln(alpha_c + T)
        once = self.once_times
        once_alpha = alpha[once.cell]
        once_log = np.log(once_alpha + once.value)
        value -= r * dot(once.weight, once_log)
        d_r -= dot(once.weight, once_log)
        d_log_alpha = d_log_alpha - np.bincount(
            once.cell, weights=once.weight * r * once_alpha / (once_alpha + once.value), minlength=n_cells
        )

        # Beta-function terms of repeat buyers per (cell, x): ln B(a, b+x) - ln B(a, b) (0 when x = 0)
        fx = self.rep_frequencies
        a_fx, b_fx = a[fx.cell], b[fx.cell]
        value += dot(
            fx.weight, gammaln(b_fx + fx.value) - gammaln(a_fx + b_fx + fx.value) - gammaln(b_fx)
            + gammaln(a_fx + b_fx)
        )
        psi_ab, psi_abx = digamma(a_fx + b_fx), digamma(a_fx + b_fx + fx.value)
        d_log_a = np.bincount(fx.cell, weights=fx.weight * a_fx * (psi_ab - psi_abx), minlength=n_cells)
        d_log_b = np.bincount(
            fx.cell,
            weights=fx.weight * b_fx * (psi_ab + digamma(b_fx + fx.value) - digamma(b_fx) - psi_abx),
            minlength=n_cells,
        )

        # repeat buyers: bracket = logaddexp(A3, A4) as in models.bgnbd (max minus ln of the larger share)
        ages, recencies = self.rep_ages, self.rep_recencies
        alpha_T = alpha[ages.cell] + ages.value
        alpha_tx = alpha[recencies.cell] + recencies.value
        log_alpha_T = np.log(alpha_T)[ages.inverse]
        log_alpha_tx = np.log(alpha_tx)[recencies.inverse]
        r_x = r + self.rep_x
        b_x_1 = b_fx + fx.value - 1
        alive_term = -r_x * log_alpha_T
        dropped_term = (log_a[fx.cell] - np.log(b_x_1))[fx.inverse] - r_x * log_alpha_tx
        share_dropped = special.expit(dropped_term - alive_term)
        larger_share = np.maximum(share_dropped, 1.0 - share_dropped)
        bracket = np.maximum(alive_term, dropped_term) - np.log(larger_share)
        w = self.rep_w
        w4 = w * share_dropped
        w3 = w - w4
        value += dot(w, bracket)
        d_r -= dot(w3, log_alpha_T) + dot(w4, log_alpha_tx)
        # (r+x) w3 and (r+x) w4 summed per (cell, T) and (cell, t_x) pair, then times alpha_c/(alpha_c+T) or
        # alpha_c/(alpha_c+t_x) per pair: two row-length bincounts instead of gathering ratios per row.
        w4_r_x = w4 * r_x
        d_log_alpha = d_log_alpha - np.bincount(
            ages.cell,
            weights=np.bincount(ages.inverse, weights=w * r_x - w4_r_x, minlength=ages.cell.size)
            * (alpha[ages.cell] / alpha_T),
            minlength=n_cells,
        )
        d_log_alpha = d_log_alpha - np.bincount(
            recencies.cell,
            weights=np.bincount(recencies.inverse, weights=w4_r_x, minlength=recencies.cell.size)
            * (alpha[recencies.cell] / alpha_tx),
            minlength=n_cells,
        )
        w4_of_fx = np.bincount(fx.inverse, weights=w4, minlength=fx.cell.size)
        d_log_a = d_log_a + np.bincount(fx.cell, weights=w4_of_fx, minlength=n_cells)
        d_log_b = d_log_b - np.bincount(fx.cell, weights=w4_of_fx * b_fx / b_x_1, minlength=n_cells)

        return float(-value), -np.array([r * d_r]), -np.column_stack([d_log_alpha, d_log_a, d_log_b])


def _coefficient_table(
    names: list[str], estimates: np.ndarray, standard_errors: np.ndarray, n_base: int
) -> pd.DataFrame:
    """estimate, standard error, z and two-sided p-value; z and p only for coefficients (H0: 0), since a
    base parameter's 'zero' is not a hypothesis anyone holds."""
    z = np.where(np.arange(len(names)) >= n_base, estimates / standard_errors, np.nan)
    return pd.DataFrame(
        {
            "parameter": names,
            "estimate": estimates,
            "standard_error": standard_errors,
            "z": z,
            "p_value": 2 * stats.norm.sf(np.abs(z)),
        }
    )


class LikelihoodRatioTest(NamedTuple):
    statistic: float  # 2 (ln L_covariates - ln L_plain), >= 0
    degrees_of_freedom: int  # the number of coefficients the covariate model adds
    p_value: float  # P(chi2(df) >= statistic): small means the covariates explain something


def likelihood_ratio_test(
    plain_log_likelihood: float, covariate_log_likelihood: float, extra_parameters: int
) -> LikelihoodRatioTest:
    """Likelihood-ratio test of the plain model (all coefficients 0) within the covariate model.

    Valid when both were fitted to the same customers with the same weights and time unit. A statistic a
    hair below 0 (both optima found to rounding precision) is reported as 0. With no extra parameter (a design
    whose covariates all have a single level) the models are the same: statistic 0, p-value 1.
    """
    if int(extra_parameters) != extra_parameters or extra_parameters < 0:
        raise ValueError(f"extra_parameters must be a whole number >= 0, got {extra_parameters}")
    df = int(extra_parameters)
    if not (np.isfinite(plain_log_likelihood) and np.isfinite(covariate_log_likelihood)):
        return LikelihoodRatioTest(float("nan"), df, float("nan"))
    if df == 0:
        return LikelihoodRatioTest(0.0, 0, 1.0)
    statistic = max(0.0, 2.0 * (float(covariate_log_likelihood) - float(plain_log_likelihood)))
    return LikelihoodRatioTest(statistic, df, float(stats.chi2.sf(statistic, df)))


@dataclass(frozen=True)
class BGNBDCovariateFit:
    """A BG/NBD fit with covariates; times in and out of its methods are in ``time_unit``.

    ``params`` are (r, alpha0, a0, b0): the parameters of a customer at every covariate's baseline level.
    ``rate_coefficients`` (beta) act on the purchase rate, ``dropout_a_coefficients`` (gamma) and
    ``dropout_b_coefficients`` (delta) on the dropout; the last two are None when the dropout was fitted
    without covariates. ``covariance`` is that of (ln r, ln alpha0, ln a0, ln b0, beta[, gamma, delta]), the
    inverse numerical Hessian of the negative log-likelihood; NaN when it is not positive definite.
    ``plain_fit`` is the fit without covariates on the same customers (the starting point, and the null
    model of ``likelihood_ratio_test``).
    """

    params: BGNBDParams
    covariate_names: tuple[str, ...]
    rate_coefficients: np.ndarray
    dropout_a_coefficients: np.ndarray | None
    dropout_b_coefficients: np.ndarray | None
    log_likelihood: float
    converged: bool
    n_customers: int
    n_distinct_rows: int
    time_unit: str
    covariance: np.ndarray = field(repr=False, compare=False)
    plain_fit: BGNBDFit = field(repr=False, compare=False)
    message: str = "converged"

    @property
    def n_coefficients(self) -> int:
        return self.covariance.shape[0] - 4

    @property
    def estimates(self) -> np.ndarray:
        """The optimisation vector (ln r, ln alpha0, ln a0, ln b0, beta[, gamma, delta])."""
        dropout = [] if self.dropout_a_coefficients is None else [
            self.dropout_a_coefficients, self.dropout_b_coefficients
        ]
        log_params = np.log(np.asarray(self.params, dtype=float))
        return np.concatenate([log_params, self.rate_coefficients, *dropout])

    @property
    def _standard_errors(self) -> np.ndarray:
        return np.sqrt(np.diag(self.covariance))

    @property
    def standard_errors(self) -> BGNBDParams:
        """Standard errors of r, alpha0, a0, b0 by the delta method from the log-parameter covariance."""
        return BGNBDParams(*(np.asarray(self.params) * self._standard_errors[:4]))

    @property
    def rate_standard_errors(self) -> np.ndarray:
        k = len(self.covariate_names)
        return self._standard_errors[4 : 4 + k]

    @property
    def dropout_a_standard_errors(self) -> np.ndarray | None:
        k = len(self.covariate_names)
        return None if self.dropout_a_coefficients is None else self._standard_errors[4 + k : 4 + 2 * k]

    @property
    def dropout_b_standard_errors(self) -> np.ndarray | None:
        k = len(self.covariate_names)
        return None if self.dropout_b_coefficients is None else self._standard_errors[4 + 2 * k :]

    def coefficient_table(self) -> pd.DataFrame:
        """One row per parameter: r, alpha0, a0, b0 (estimate and delta-method standard error), then
        rate[name], dropout_a[name], dropout_b[name] with z and p-value against 0."""
        names = ["r", "alpha0", "a0", "b0", *(f"rate[{n}]" for n in self.covariate_names)]
        if self.dropout_a_coefficients is not None:
            names += [f"dropout_a[{n}]" for n in self.covariate_names]
            names += [f"dropout_b[{n}]" for n in self.covariate_names]
        estimates = self.estimates.copy()
        standard_errors = self._standard_errors.copy()
        estimates[:4] = np.asarray(self.params)
        standard_errors[:4] = np.asarray(self.standard_errors)
        return _coefficient_table(names, estimates, standard_errors, 4)

    def likelihood_ratio_test(self) -> LikelihoodRatioTest:
        """Do the covariates explain anything? The plain fit is the null model (all coefficients 0)."""
        return likelihood_ratio_test(self.plain_fit.log_likelihood, self.log_likelihood, self.n_coefficients)

    def customer_params(self, design_rows) -> BGNBDParams:
        """(r, alpha_i, a_i, b_i) arrays for customers with these design rows (n x k or a CovariateDesign)."""
        return bgnbd_customer_params(
            self.params,
            design_rows,
            self.rate_coefficients,
            self.dropout_a_coefficients,
            self.dropout_b_coefficients,
        )

    def mean_purchase_rate(self, design_rows) -> np.ndarray:
        """r / alpha_i: expected purchases per time unit while alive, per customer."""
        p = self.customer_params(design_rows)
        return p.r / p.alpha

    def probability_alive(self, frequency, recency, T, design_rows) -> np.ndarray:
        """P(alive | x, t_x, T) at T with each customer's own parameters (note 021)."""
        return bgnbd.probability_alive(self.customer_params(design_rows), frequency, recency, T)

    def expected_purchases(self, t, design_rows) -> np.ndarray:
        """FHL eq. (9) per customer: expected repeat purchases of a new customer in (0, t]."""
        return self.conditional_expected_purchases(t, 0.0, 0.0, 0.0, design_rows)

    def conditional_expected_purchases(self, t, frequency, recency, T, design_rows) -> np.ndarray:
        """FHL eq. (10) per customer: expected purchases in (T, T + t], = P(alive) * g(x, T, t).

        g needs a hypergeometric function but depends only on (t, x, T) and the customer's cell, so it is
        evaluated once per distinct (t, x, T, cell) and scattered back; P(alive) is cheap and per customer.
        """
        rows = _rows_for(design_rows, len(self.covariate_names))
        n = rows.shape[0]
        t, x, t_x, age = (
            np.broadcast_to(np.asarray(v, dtype=float), (n,)) for v in (t, frequency, recency, T)
        )
        cells = design_cells(rows)
        cell_params = self.customer_params(cells.rows)
        distinct = distinct_rows(t, x, age, cells.of_customer)
        dt, dx, dage, dcell = distinct.columns
        dcell = dcell.astype(np.intp)
        if_alive = bgnbd.expected_purchases_if_alive(
            BGNBDParams(*(p[dcell] for p in cell_params)), dt, dx, dage
        )[distinct.inverse]
        customer_params = BGNBDParams(*(p[cells.of_customer] for p in cell_params))
        return bgnbd.probability_alive(customer_params, x, t_x, age) * if_alive


def _weights(weights, n: int, model: str) -> np.ndarray:
    if weights is None:
        return np.ones(n)
    try:
        w = np.asarray(weights, dtype=float).ravel()
    except (TypeError, ValueError):
        raise ModelFitError(model, "weights must be numeric") from None
    if w.size != n or not np.all(np.isfinite(w)) or np.any(w <= 0):
        raise ModelFitError(model, "weights must be positive, finite and one per customer")
    return w


def fit_bgnbd_with_covariates(
    frequency,
    recency,
    T,
    design,
    *,
    time_unit: str,
    weights=None,
    dropout_covariates: bool = True,
    gradient_tolerance: float = 1e-9,
    plain: BGNBDFit | None = None,
) -> BGNBDCovariateFit:
    """Maximum-likelihood BG/NBD with alpha_i = alpha0 exp(-beta'z_i) and, when ``dropout_covariates``,
    a_i = a0 exp(gamma'z_i), b_i = b0 exp(delta'z_i) (FH07), from (x, t_x, T) in ``time_unit``.

    ``design`` is a CovariateDesign (``design_from_frame``) or an n x k numeric matrix, one row per
    customer; ``weights`` (optional) counts the customers each row stands for. Starts from the plain fit
    (``models.bgnbd.fit_bgnbd``) with all coefficients 0; times are divided by max(T) inside the optimiser.
    ``plain``: that fit on the same customers and weights when the caller has made it (a million customers'
    takes a second to repeat).

    Raises ModelFitError for the plain model's data problems (``models.bgnbd.check_histories``), a design
    with the wrong number of rows or non-finite values, or coefficients that cannot be estimated (a constant
    or collinear dummy). A level whose customers never buy again sends its coefficient to the bound: the
    fit then comes back with converged=False and says which parameter.
    """
    check_time_unit(time_unit)
    x, t_x, age = bgnbd.check_histories(frequency, recency, T)
    w = _weights(weights, x.size, BGNBD_MODEL_NAME)
    matrix, names = _design_matrix(design, x.size, BGNBD_MODEL_NAME)
    cells = design_cells(matrix)
    _check_identifiable(cells.rows, names, BGNBD_MODEL_NAME)

    distinct = distinct_rows(x, t_x, age, cells.of_customer)
    dx, dtx, dage, dcell = distinct.columns
    dcell = dcell.astype(np.intp)
    dw = np.bincount(distinct.inverse, weights=w, minlength=dx.size)
    if plain is None:
        plain = fit_bgnbd(dx, dtx, dage, time_unit=time_unit, weights=dw)

    scale = float(dage.max())
    objective = _BGNBDCovariateObjective(
        dx, dtx / scale, dage / scale, dcell, cells.rows, dw, dropout_covariates
    )
    theta0 = np.zeros(objective.n_parameters)
    theta0[:4] = plain.log_params - np.array([0.0, np.log(scale), 0.0, 0.0])
    optimum = minimise_negative_log_likelihood(objective, theta0, gradient_tolerance=gradient_tolerance,
                                               hessian_of=objective.hessian)

    theta = optimum.log_params
    k = len(names)
    params = BGNBDParams(*(float(v) for v in np.exp(theta[:4] + np.array([0.0, np.log(scale), 0.0, 0.0]))))
    rate = theta[4 : 4 + k].copy()
    dropout_a = theta[4 + k : 4 + 2 * k].copy() if dropout_covariates else None
    dropout_b = theta[4 + 2 * k :].copy() if dropout_covariates else None
    cell_params = bgnbd_customer_params(params, cells.rows, rate, dropout_a, dropout_b)
    total_weight = float(dw.sum())
    return BGNBDCovariateFit(
        params=params,
        covariate_names=names,
        rate_coefficients=rate,
        dropout_a_coefficients=dropout_a,
        dropout_b_coefficients=dropout_b,
        # The reported likelihood comes from the plain model's own per-customer formula, in the caller's
        # time unit, so that it is comparable with plain_fit.log_likelihood.
        log_likelihood=bgnbd.log_likelihood(BGNBDParams(*(p[dcell] for p in cell_params)), dx, dtx, dage, dw),
        converged=optimum.converged,
        n_customers=int(round(total_weight)),
        n_distinct_rows=int(dx.size),
        time_unit=time_unit,
        covariance=optimum.covariance(total_weight),
        plain_fit=plain,
        message=optimum.message,
    )


# --- Gamma-Gamma with covariates ----------------------------------------------------------------------------


def gamma_gamma_customer_params(
    params: GammaGammaParams, design_rows, spend_coefficients
) -> GammaGammaParams:
    """(p, q, gamma_i) per customer, gamma_i = gamma0 exp(eta'z_i): exp(eta_j) multiplies the mean order
    value p gamma_i / (q - 1)."""
    eta = np.asarray(spend_coefficients, dtype=float).ravel()
    z = _rows_for(design_rows, eta.size)
    p, q, gamma0 = params
    n = z.shape[0]
    return GammaGammaParams(np.full(n, float(p)), np.full(n, float(q)), gamma0 * np.exp(z @ eta))


class _GammaGammaCovariateObjective(_CellObjective):
    """Mean negative log-likelihood of note 025 eq. (1a) with gamma_c of the customer's cell c, and its
    analytic gradient in theta = (ln p, ln q, ln gamma0, eta) (shared ln p, ln q; per cell ln gamma_c):
      d/dp           = x [psi(px+q) - psi(px) + ln m + ln x - ln(gamma_c + m x)]
      d/dq           = psi(px+q) - psi(q) + ln gamma_c - ln(gamma_c + m x)
      d/d ln gamma_c = q - (px+q) gamma_c / (gamma_c + m x)
    summed per cell; ln gamma_c = ln gamma0 + z_c'eta. As in models.gamma_gamma, Gamma functions are summed
    per distinct x and the data-only sums computed once: per row and evaluation one log and one division.
    """

    def __init__(self, x: np.ndarray, m: np.ndarray, cell: np.ndarray, cell_rows: np.ndarray, weights):
        w = weights / weights.sum()
        self.z = cell_rows
        self.n_cells = cell_rows.shape[0]
        self.cell = cell
        self.weight_of_cell = np.bincount(cell, weights=w, minlength=self.n_cells)
        self.x_values, x_index = np.unique(x, return_inverse=True)
        self.weight_of_x = np.bincount(x_index.ravel(), weights=w, minlength=self.x_values.size)
        self.w, self.wx, self.mx = w, w * x, m * x
        log_m = np.log(m)
        self.sum_wx_log_m = dot(self.wx, log_m)
        self.sum_w_log_m = dot(w, log_m)
        self.sum_wx_log_x = dot(self.weight_of_x, self.x_values * np.log(self.x_values))
        self.shared, self.base = np.array([0, 1]), np.array([2])
        self.jacobian = np.zeros((self.n_cells, 1, 3 + cell_rows.shape[1]))
        self.jacobian[:, 0, 2] = 1.0
        self.jacobian[:, 0, 3:] = cell_rows

    def parts(self, theta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        gammaln, digamma = special.gammaln, special.digamma
        p, q = np.exp(theta[:2])
        log_gamma = theta[2] + self.z @ theta[3:]
        gamma = np.exp(log_gamma)
        xv, wx_of, wc = self.x_values, self.weight_of_x, self.weight_of_cell
        gamma_rows = gamma[self.cell]
        gamma_mx = gamma_rows + self.mx
        log_gamma_mx = np.log(gamma_mx)
        sum_w_log, sum_wx_log = dot(self.w, log_gamma_mx), dot(self.wx, log_gamma_mx)
        sum_w_log_gamma = dot(wc, log_gamma)
        pxv = p * xv
        psi_pxq = digamma(pxv + q)
        value = (
            dot(wx_of, gammaln(pxv + q) - gammaln(pxv))
            - gammaln(q)
            + q * sum_w_log_gamma
            + p * (self.sum_wx_log_m + self.sum_wx_log_x)
            - self.sum_w_log_m
            - p * sum_wx_log
            - q * sum_w_log
        )
        d_p = dot(wx_of, xv * (psi_pxq - digamma(pxv))) + self.sum_wx_log_m + self.sum_wx_log_x - sum_wx_log
        d_q = dot(wx_of, psi_pxq) - digamma(q) + sum_w_log_gamma - sum_w_log
        share = gamma_rows / gamma_mx
        d_log_gamma = q * wc - np.bincount(
            self.cell, weights=(p * self.wx + q * self.w) * share, minlength=self.n_cells
        )
        return float(-value), -np.array([p * d_p, q * d_q]), -d_log_gamma[:, None]


@dataclass(frozen=True)
class GammaGammaCovariateFit:
    """A Gamma-Gamma fit with gamma_i = gamma0 exp(eta'z_i). ``params`` are (p, q, gamma0), those of a
    customer at every baseline level; ``spend_coefficients`` is eta. ``covariance`` is that of
    (ln p, ln q, ln gamma0, eta). ``n_customers`` counts the repeat buyers used; ``plain_fit`` is the fit
    without covariates on the same customers."""

    params: GammaGammaParams
    covariate_names: tuple[str, ...]
    spend_coefficients: np.ndarray
    log_likelihood: float
    converged: bool
    n_customers: int
    covariance: np.ndarray = field(repr=False, compare=False)
    plain_fit: GammaGammaFit = field(repr=False, compare=False)
    message: str = "converged"

    @property
    def n_coefficients(self) -> int:
        return self.covariance.shape[0] - 3

    @property
    def estimates(self) -> np.ndarray:
        """The optimisation vector (ln p, ln q, ln gamma0, eta)."""
        return np.concatenate([np.log(np.asarray(self.params, dtype=float)), self.spend_coefficients])

    @property
    def standard_errors(self) -> GammaGammaParams:
        """Standard errors of p, q, gamma0 by the delta method."""
        return GammaGammaParams(*(np.asarray(self.params) * np.sqrt(np.diag(self.covariance))[:3]))

    @property
    def spend_standard_errors(self) -> np.ndarray:
        return np.sqrt(np.diag(self.covariance))[3:]

    def coefficient_table(self) -> pd.DataFrame:
        names = ["p", "q", "gamma0", *(f"spend[{n}]" for n in self.covariate_names)]
        estimates = np.concatenate([np.asarray(self.params), self.spend_coefficients])
        standard_errors = np.concatenate([np.asarray(self.standard_errors), self.spend_standard_errors])
        return _coefficient_table(names, estimates, standard_errors, 3)

    def likelihood_ratio_test(self) -> LikelihoodRatioTest:
        return likelihood_ratio_test(self.plain_fit.log_likelihood, self.log_likelihood, self.n_coefficients)

    def customer_params(self, design_rows) -> GammaGammaParams:
        return gamma_gamma_customer_params(self.params, design_rows, self.spend_coefficients)

    def population_mean_order_value(self, design_rows) -> np.ndarray:
        """E[Z] = gamma_i p / (q - 1) per customer: the expectation before seeing any of their orders."""
        p, q, gamma = self.customer_params(design_rows)
        return gamma * p / (q - 1) if self.params.q > 1 else np.full(gamma.shape, np.inf)

    def expected_order_value(self, frequency, monetary_value, design_rows) -> np.ndarray:
        """Note 025 eq. (5) with each customer's gamma_i: p (gamma_i + m x) / (p x + q - 1), a weighted
        average of the level's population mean and the customer's own average."""
        return gamma_gamma.expected_order_value(self.customer_params(design_rows), frequency, monetary_value)


def fit_gamma_gamma_with_covariates(
    frequency, monetary_value, design, *, weights=None, gradient_tolerance: float = 1e-9,
    plain: GammaGammaFit | None = None,
) -> GammaGammaCovariateFit:
    """Maximum-likelihood Gamma-Gamma with gamma_i = gamma0 exp(eta'z_i) from frequency x and average
    repeat-order value m; ``design`` and ``weights`` have one row per customer (customers with x = 0 are
    left out, with their rows). Starts from the plain fit (``models.gamma_gamma.fit_gamma_gamma``) with
    eta = 0; amounts are divided by their mean inside the optimiser. ``plain``: that fit of the same repeat
    buyers when the caller has made it.

    Raises ModelFitError for the plain model's data problems, a design of the wrong size, or coefficients
    that cannot be estimated among the repeat buyers.
    """
    all_x = np.asarray(frequency, dtype=float).ravel()
    x, m = gamma_gamma._repeat_buyers(frequency, monetary_value)
    repeat = all_x > 0
    w = _weights(weights, all_x.size, GAMMA_GAMMA_MODEL_NAME)[repeat]
    matrix, names = _design_matrix(design, all_x.size, GAMMA_GAMMA_MODEL_NAME)
    cells = design_cells(matrix[repeat])
    _check_identifiable(cells.rows, names, GAMMA_GAMMA_MODEL_NAME)
    if plain is None:
        plain = fit_gamma_gamma(x, m, weights=w)

    scale = dot(w, m) / float(w.sum())
    objective = _GammaGammaCovariateObjective(x, m / scale, cells.of_customer, cells.rows, w)
    theta0 = np.concatenate([plain.log_params - np.array([0.0, 0.0, np.log(scale)]), np.zeros(len(names))])
    optimum = minimise_negative_log_likelihood(objective, theta0, gradient_tolerance=gradient_tolerance,
                                               hessian_of=objective.hessian)

    theta = optimum.log_params
    params = GammaGammaParams(*(float(v) for v in np.exp(theta[:3] + np.array([0.0, 0.0, np.log(scale)]))))
    eta = theta[3:].copy()
    cell_params = gamma_gamma_customer_params(params, cells.rows, eta)
    customer_params = GammaGammaParams(*(v[cells.of_customer] for v in cell_params))
    total_weight = float(w.sum())
    return GammaGammaCovariateFit(
        params=params,
        covariate_names=names,
        spend_coefficients=eta,
        log_likelihood=gamma_gamma.log_likelihood(customer_params, x, m, w),
        converged=optimum.converged,
        n_customers=int(round(total_weight)),
        covariance=optimum.covariance(total_weight),
        plain_fit=plain,
        message=optimum.message,
    )
