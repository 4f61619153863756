"""Per-customer predictive intervals: what this customer will do, not only how sure we are of the average.

Purchases. ``models.purchase_counts`` gives the exact distribution of a customer's purchases X in the next t
under the fitted model. The parameters are themselves estimates: their maximum-likelihood estimate theta
(logs, logits) is asymptotically normal with the fit's covariance Sigma (``models.intervals`` uses the same).
The count distribution is mixed over that sampling distribution deterministically with the 2k symmetric sigma
points theta +- sqrt(k) L_j (L the Cholesky factor of Sigma, L_j its columns, weight 1/(2k) each), which
reproduce the normal's mean and covariance exactly (the unscented transform without a centre point, so every
weight is positive and the mixture is a distribution). A fit without a covariance is used at its estimate
only. The published p10 / p90 are the smallest whole k with P(X <= k) >= 0.1 / 0.9: "80 % of customers like
this one make between p10 and p90 purchases". Being quantiles of a count they are whole numbers, and they
need not bracket the expected purchases (a customer likely gone: p10 = p90 = 0, expected 0.05).

The survival P(X > k) = sum_j w_j P_j(alive) S_N,j(k) D_j(k) is evaluated for k = 0, 1, ... while any
history still has more than ``tail`` of its mass above k; each step evaluates the rate and drop-out parts
once per distinct (x, T) still in play and the mixture once per distinct history (x, t_x, T), so the work is
the number of distinct histories times the few k most of them need, plus the long tail of heavy buyers.

Customer value. Over the CLV horizon the customer's purchases X are valued at their own mean order value mu
(the Gamma-Gamma posterior of a customer's mean spend, independent of X under the model's assumption) and
discounted: CLV ~= delta X mu, with delta = (discounted expected purchases) / (expected purchases), the
expected discount factor per purchase (``models.clv``'s monthly discounting). This is the approximation: each
purchase is discounted by the customer's average factor rather than by its own month (over 12 months at 1 %
a month the factors lie between 0.89 and 0.99), and the spread of single baskets around mu is left out. It
keeps E[delta X mu] equal to the published point CLV. Gamma-Gamma (note 025): nu | x, m ~ Gamma(q + p x,
gamma + m x), so mu = p / nu is inverse-gamma with shape q + p x and scale p (gamma + m x) (for x = 0 the
population's, shape q, scale p gamma); P(mu <= y) = Q(shape, scale / y), the regularized upper incomplete
gamma function. The limits: common spend, mu = p / nu for everyone; own spend, mu = m for a repeat buyer and
inverse-gamma(q, p gamma) for the others; constant spend, the one amount. A known mu gives the quantile
delta mu q_X directly. Otherwise mu = scale / V with V ~ Gamma(shape), and CLV = delta scale W, W = X / V,
whose distribution depends on the history only (the shape depends on x alone): P(W <= w) = P(X = 0) + sum_k
P(X = k) Q(shape, k / w), with X's mass above its last evaluated k (at most ``tail``) counted as above every
w, and X mixed over the purchase model's sigma points as for the counts. Its quantiles are found once per
distinct history by a bracketed root search on log w (relative precision ``CLV_RELATIVE_PRECISION``) and
scaled per customer by delta and their own scale.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from scipy import special

from models import purchase_counts
from models.distinct import distinct_rows
from models.intervals import INTERVAL_QUANTILES

# The mass of X left above the last k evaluated (counted as "more than any c" for the CLV quantiles).
DEFAULT_TAIL = 1e-3
CLV_RELATIVE_PRECISION = 1e-4
MAX_PURCHASES = 100_000  # a safety stop for the k loop
_SPLIT_HISTORIES = 20_000  # from this many distinct histories, the k loop runs on two threads


def sigma_points(theta, covariance) -> tuple[np.ndarray, np.ndarray]:
    """(points of shape (2k, k), weights (2k,)): theta +- sqrt(k) L_j, weight 1/(2k) each; theta alone (weight
    1) when the covariance is missing, not finite or not positive-definite."""
    theta = np.asarray(theta, dtype=float)
    k = theta.size
    covariance = np.asarray(covariance, dtype=float)
    if k == 0 or covariance.shape != (k, k) or not np.all(np.isfinite(covariance)):
        return theta[None, :], np.ones(1)
    try:
        factor = np.linalg.cholesky(covariance)
    except np.linalg.LinAlgError:
        return theta[None, :], np.ones(1)
    spread = np.sqrt(k) * factor.T  # rows: sqrt(k) L_j
    return np.concatenate([theta + spread, theta - spread]), np.full(2 * k, 1.0 / (2 * k))


@dataclass(frozen=True)
class PurchaseCountDistribution:
    """The distribution of X, mixed over the parameters, per distinct history (x, t_x, T): ``history[i]`` is
    customer i's. ``zero`` = P(X = 0) per history; the flat arrays ``row`` (history), ``count`` and
    ``probability`` hold P(X = count) for count >= 1 up to the count where at most ``tail`` is left
    (count-major, as the k loop made them: sorting ten million rows by history would cost more than anything
    that reads them). ``quantiles``: the requested ones per customer."""

    history: np.ndarray
    zero: np.ndarray
    row: np.ndarray
    count: np.ndarray
    probability: np.ndarray
    levels: tuple[float, ...]
    quantiles: tuple[np.ndarray, ...]

    def customer_zero(self) -> np.ndarray:
        """P(X = 0) per customer."""
        return self.zero[self.history]


class CountTable:
    """The bookkeeping of a k loop over distinct histories: at k = 0, 1, ... a model gives P(X > k) for the
    histories still in play (``add``), and the table keeps P(X = k), the first k where each level is reached,
    and which histories go on (more than ``tail``, and more than 1 - the highest level, of their mass above
    k). ``distribution`` hands the result over per customer."""

    def __init__(self, n: int, levels, tail: float):
        self.levels = tuple(float(v) for v in levels)
        self.stop = min([tail] + [1.0 - level for level in self.levels])
        self.quantiles = [np.full(n, np.nan) for _ in self.levels]
        self.previous = np.ones(n)  # P(X > k-1); P(X > -1) = 1
        self.zero = np.zeros(n)
        self.rows, self.counts, self.probabilities = [], [], []
        self.active = np.arange(n)

    def add(self, k: int, survival: np.ndarray) -> np.ndarray:
        """P(X > k) of the active histories; returns the histories still in play after k."""
        active = self.active
        survival = np.clip(survival, 0.0, self.previous[active])  # monotone despite rounding
        mass = self.previous[active] - survival
        if k == 0:
            self.zero[active] = mass
        else:
            # 32-bit rows and counts: ten million customers' tables hold hundreds of millions of them
            self.rows.append(active.astype(np.int32))
            self.counts.append(np.full(active.size, k, dtype=np.int32))
            self.probabilities.append(mass)
        for quantile, level in zip(self.quantiles, self.levels, strict=True):
            reached = np.isnan(quantile[active]) & (1.0 - survival >= level - 1e-12)
            quantile[active[reached]] = k
        self.previous[active] = survival
        self.active = active[survival > self.stop]
        return self.active

    @classmethod
    def merged(cls, tables: list[CountTable], parts: list[np.ndarray], n: int) -> CountTable:
        """One table of n histories from tables filled for disjoint ``parts`` of them (indices). The tables'
        rows are handed over: they are left without them."""
        merged = cls(n, tables[0].levels, tail=tables[0].stop)
        for table, part in zip(tables, parts, strict=True):
            merged.zero[part] = table.zero
            for quantile, part_quantile in zip(merged.quantiles, table.quantiles, strict=True):
                quantile[part] = part_quantile
            part = part.astype(np.int32)
            merged.rows += [part[rows] for rows in table.rows]
            merged.counts += table.counts
            merged.probabilities += table.probabilities
            table.rows = []  # the part's own numbering, no longer needed: freed as it goes
        merged.active = np.zeros(0, dtype=int)
        return merged

    def distribution(self, history: np.ndarray) -> PurchaseCountDistribution:
        """Per customer, ``history`` giving each one's distinct history; a level never reached within
        MAX_PURCHASES (no realistic customer) has a NaN quantile. Called once: the table's rows are handed
        over (joined, and let go here, so that they are never held twice)."""
        if self.rows:
            # one array at a time, each list let go once joined: not all of them twice at once
            row = np.concatenate(self.rows)
            self.rows = []
            count = np.concatenate(self.counts)
            self.counts = []
            probability = np.concatenate(self.probabilities)
            self.probabilities = []
        else:
            row, count, probability = np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0)
        return PurchaseCountDistribution(history, self.zero, row, count, probability, self.levels,
                                         tuple(q[history] for q in self.quantiles))


def purchase_count_distribution(
    variant,
    theta,
    covariance,
    t,
    frequency,
    recency,
    T,
    *,
    levels=INTERVAL_QUANTILES,
    tail: float = DEFAULT_TAIL,
) -> PurchaseCountDistribution:
    """The mixture of the module docstring over the purchase model's sigma points, for purchases in the next
    t. Computed once per distinct history (x, t_x, T). ``t`` may also be one horizon per customer (a
    covariate cell's customers are the plain model's on a stretched clock, ``models.covariate_forecast``):
    a history is then (x, t_x, T, t)."""
    x = np.asarray(frequency, dtype=float).ravel()
    t_x = np.asarray(recency, dtype=float).ravel()
    age = np.asarray(T, dtype=float).ravel()
    horizons = () if np.ndim(t) == 0 else (np.broadcast_to(np.asarray(t, dtype=float).ravel(), x.shape),)
    histories = distinct_rows(x, t_x, age, *horizons)
    n = histories.columns[0].size

    def fill(table: CountTable, rows) -> None:
        x, t_x, age, *horizon = (c[rows] for c in histories.columns)
        _fill_count_table(table, variant, theta, covariance, horizon[0] if horizon else float(t), x, t_x, age)

    if n < _SPLIT_HISTORIES:
        table = CountTable(n, levels, tail)
        fill(table, slice(None))
        return table.distribution(histories.inverse)
    # Two interleaved halves of the histories (heavy buyers, who need many k, sit together at the end), each
    # with its own k loop on its own thread: the loop's array operations release the GIL.
    halves = [np.arange(half, n, 2) for half in (0, 1)]
    tables = [CountTable(half.size, levels, tail) for half in halves]

    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(fill, tables, halves))
    return CountTable.merged(tables, halves, n).distribution(histories.inverse)


def fitted_count_distribution(purchase_fit, t, frequency, recency, T, *, levels=INTERVAL_QUANTILES,
                              tail: float = DEFAULT_TAIL) -> PurchaseCountDistribution:
    """The count distribution of a fitted purchase model (``models.selection``'s BG/NBD family, mixed over its
    sigma points, or ``models.pareto_nbd_forecast``'s Pareto/NBD at its estimate)."""
    if purchase_fit.model == "pareto_nbd":
        from models import pareto_nbd_forecast  # (it builds on this module)

        return pareto_nbd_forecast.purchase_count_distribution(purchase_fit, t, frequency, recency, T,
                                                               levels=levels, tail=tail)
    return purchase_count_distribution(purchase_fit.variant, purchase_fit.theta, purchase_fit.covariance, t,
                                       frequency, recency, T, levels=levels, tail=tail)


def _fill_count_table(table: CountTable, variant, theta, covariance, t, x, t_x, age) -> None:
    """The k loop of the module docstring on distinct histories (``t``: one horizon, or one per history)."""
    points, weights = sigma_points(theta, covariance)
    params = [variant.params(point) for point in points]
    # P(alive) per point and history, times the point's weight
    weighted_alive = np.stack(
        [w * variant.probability_alive(p, x, t_x, age) for p, w in zip(points, weights, strict=True)]
    )
    pairs = distinct_rows(x, age, *(() if np.ndim(t) == 0 else (t,)))
    pair_x, pair_age, *pair_t = pairs.columns
    pair_index = pairs.inverse
    t = pair_t[0] if pair_t else t
    active = table.active
    in_play = np.zeros(pair_x.size, dtype=bool)
    pair_survival = np.zeros((len(points), pair_x.size))
    steps = [purchase_counts.SurvivalSteps(variant, p, pair_x, pair_age, t) for p in params]
    for k in range(MAX_PURCHASES + 1):
        if active.size == 0:
            break
        in_play[:] = False
        in_play[pair_index[active]] = True
        live_pairs = np.flatnonzero(in_play)
        for j, step in enumerate(steps):
            if k:
                step.step(live_pairs)
            pair_survival[j, live_pairs] = step.value(live_pairs)
        survival = np.einsum("ji,ji->i", weighted_alive[:, active], pair_survival[:, pair_index[active]])
        active = table.add(k, survival)


@dataclass(frozen=True)
class MeanSpendPosterior:
    """Each customer's mean order value mu: inverse-gamma(shape, scale) where ``shape`` is finite, the point
    ``value`` where it is infinite (known exactly)."""

    shape: np.ndarray
    scale: np.ndarray
    value: np.ndarray

    def cdf(self, y, index=None) -> np.ndarray:
        """P(mu <= y) per customer (``index`` picks the customer of each y)."""
        shape, scale, value = (self.shape, self.scale, self.value) if index is None else (
            self.shape[index], self.scale[index], self.value[index])
        y = np.asarray(y, dtype=float)
        point = ~np.isfinite(shape)
        with np.errstate(divide="ignore", invalid="ignore"):
            spread = special.gammaincc(np.where(point, 1.0, shape), np.where(y > 0, scale / y, np.inf))
        return np.where(point, (y >= value).astype(float), spread)

    def quantile(self, level: float) -> np.ndarray:
        point = ~np.isfinite(self.shape)
        with np.errstate(divide="ignore", invalid="ignore"):
            spread = self.scale / special.gammainccinv(np.where(point, 1.0, self.shape), level)
        return np.where(point, self.value, spread)


def gamma_gamma_posterior(p, q, gamma, frequency, monetary_value) -> MeanSpendPosterior:
    """Gamma-Gamma's posterior of each customer's mean order value (module docstring): inverse-gamma with
    shape q + p x and scale p (gamma + m x). ``gamma`` may be one per customer (a covariate cell's)."""
    x = np.asarray(frequency, dtype=float).ravel()
    m = np.where(x > 0, np.asarray(monetary_value, dtype=float).ravel(), 0.0)
    return MeanSpendPosterior(q + p * x, p * (gamma + m * x), np.full(x.shape, np.nan))


def mean_spend_posterior(spend_variant, theta, frequency, monetary_value) -> MeanSpendPosterior:
    """The posterior of each customer's mean order value under the fitted spend model (module docstring)."""
    params = spend_variant.params(theta)
    x = np.asarray(frequency, dtype=float).ravel()
    m = np.where(x > 0, np.asarray(monetary_value, dtype=float).ravel(), 0.0)
    inf = np.full(x.shape, np.inf)
    nan = np.full(x.shape, np.nan)
    if spend_variant.name == "gamma_gamma":
        return gamma_gamma_posterior(params["p"], params["q"], params["gamma"], x, m)
    if spend_variant.name == "common_spend":
        return MeanSpendPosterior(inf, nan, np.full(x.shape, params["p"] / params["nu"]))
    if spend_variant.name == "own_spend":
        repeat = x > 0
        return MeanSpendPosterior(np.where(repeat, np.inf, params["q"]), np.full(x.shape, params["p_gamma"]),
                                  np.where(repeat, m, np.nan))
    if spend_variant.name == "constant_spend":
        return MeanSpendPosterior(inf, nan, np.full(x.shape, params["order_value"]))
    raise ValueError(f"no mean-spend posterior for the spend model {spend_variant.name!r}")


def value_quantiles(
    counts: PurchaseCountDistribution, spend: MeanSpendPosterior, discount, levels=INTERVAL_QUANTILES
) -> list[np.ndarray]:
    """Quantiles of delta X mu per customer (module docstring), ``discount`` = delta per customer.

    A known mu (a point) gives delta mu q_X. An inverse-gamma mu = scale / V, V ~ Gamma(shape), gives delta
    scale W with W = X / V, whose distribution depends on the history only (shape depends on x alone): the
    quantiles of W are found once per distinct history and scaled per customer. ``levels`` must be the ones
    ``counts`` has quantiles for."""
    levels = tuple(float(v) for v in levels)
    if levels != counts.levels:
        raise ValueError(f"the count distribution has quantiles at {counts.levels}, not {levels}")
    n = counts.history.size
    delta = np.asarray(discount, dtype=float).ravel() * np.ones(n)
    point = ~np.isfinite(spend.shape)
    spread = ~point & np.isfinite(spend.scale) & (spend.scale > 0)
    histories = counts.zero.size
    # the shape of each history's customers with a spread (the same for all of them: it depends on x)
    shape = np.full(histories, np.nan)
    shape[counts.history[spread]] = spend.shape[spread]
    needed = np.isfinite(shape)
    w_quantiles = _ratio_quantiles(counts, shape, needed, levels)
    result = []
    for level_index, count_quantile in enumerate(counts.quantiles):
        value = np.full(n, np.nan)
        value[point] = (delta * spend.value * count_quantile)[point]
        value[spread] = (delta * spend.scale * w_quantiles[level_index][counts.history])[spread]
        result.append(value)
    return result


# Rows per block of the CLV quantiles' sums: temporaries of 2 MB stay in cache and are reused from the heap,
# where whole-length ones (90 MB at a million customers) are fresh memory at every pass (a million customers'
# first solve in a fresh process: 5.6 s whole-length, 3.8 s by blocks).
_BLOCK_ROWS = 1 << 18
# Rows of the distribution per task of the CLV quantiles: a task's temporaries are about 60 bytes a row, and
# two tasks run at once. Halving all the histories, as at a million customers, held 9 GB of them at ten
# million (peak RSS 21 GB); 8M rows a task, 11.0 GB; 4M, 10.4 GB, in the same time (at a million customers
# too: 11.2-11.6 s either way, peak 2.0 -> 1.7 GB).
_ROWS_PER_TASK = 1 << 22


def _cdf_slope_curvature(u, n, who, mass, log_k, s, log_gamma, log_s):
    """``_ratio_quantiles``' P(X / V <= e^u) (less P(X = 0)), its slope and its curvature in u, summed per
    history (``who``, of n) over a block of (history, k) rows."""
    log_y = log_k - u[who]
    y = np.exp(log_y)
    near = np.flatnonzero(y - s - s * (log_y - log_s) <= 40.0)
    upper = (y < s).astype(float)
    upper[near] = special.gammaincc(s[near], y[near])
    density = mass * np.exp(s * log_y - y - log_gamma)
    return (np.bincount(who, weights=mass * upper, minlength=n),
            np.bincount(who, weights=density, minlength=n),
            np.bincount(who, weights=density * (y - s), minlength=n))


def _rows_by_part(row: np.ndarray, parts: int) -> list[np.ndarray]:
    """The indices of ``row`` whose history falls in each part (history % parts), in order, as 32-bit
    integers; grouped a block at a time, so that no whole-length 64-bit index array is ever made."""
    pieces: list[list[np.ndarray]] = [[] for _ in range(parts)]
    for start in range(0, row.size, _ROWS_PER_TASK):
        part = (row[start:start + _ROWS_PER_TASK] % parts).astype(np.int16)
        order = np.argsort(part, kind="stable")  # a radix sort: each part's rows stay in order
        bounds = np.concatenate([[0], np.cumsum(np.bincount(part, minlength=parts))])
        for index, piece in enumerate(pieces):
            piece.append((order[bounds[index]:bounds[index + 1]] + start).astype(np.int32))
    grouped = []
    for piece in pieces:
        grouped.append(np.concatenate(piece) if piece else np.zeros(0, np.int32))
        piece.clear()
    return grouped


def _ratio_quantiles(counts: PurchaseCountDistribution, shape, needed, levels) -> list[np.ndarray]:
    """Per history: the w with P(X / V <= w) = level, V ~ Gamma(shape, 1) independent of X, to
    ``CLV_RELATIVE_PRECISION`` (NaN where not ``needed``). P(X / V <= w) = P(X = 0) + sum_k P(X = k) Q(shape,
    k / w), Q the regularized upper incomplete gamma function; it is continuous and increasing for w > 0. In
    u = log w, with y = k / w and phi(y) = y^shape e^-y / Gamma(shape), its slope is sum_k P(X = k) phi(y) and
    its curvature sum_k P(X = k) phi(y) (y - shape): both cost a fraction of Q, which is nearly all the work.
    So the root is found by Halley's method on u (cubic convergence), safeguarded as in Numerical Recipes'
    rtsafe: a bracket is kept (its ends: one purchase at V's 1 - 1e-9 quantile, where the CDF is P(X = 0) to
    within 1e-9, and the last count at V's 1e-9 quantile, where it is all the mass kept), and a step that
    leaves it or does not halve the previous one is a bisection. The start is the count's own quantile at V's
    mean (exact as shape grows). A history is done when its step falls below the precision, or when two
    Halley steps in a row, the first below 0.1, shrank cubically enough that the error left (about step^4 /
    previous step^3) is a tenth of it: at a million customers most histories are done after two evaluations.

    Q is only evaluated where it is neither 0 nor 1 to double precision: by Chernoff's bound P(V <= y) and
    P(V >= y) are below e^-D, D = y - shape - shape ln(y / shape), on their sides of shape, so beyond D = 40
    (4e-18) Q is taken as 1 or 0 (most rows for the low level, whose w is small). The histories of each level
    are dealt in interleaved parts (two up to _ROWS_PER_TASK rows each, more beyond) solved on two threads:
    the incomplete gamma function releases the GIL."""
    h = counts.zero.size
    row, count, probability = counts.row, counts.count, counts.probability
    last = np.ones(h)
    np.maximum.at(last, row, count)
    safe_shape = np.where(needed, shape, 1.0)
    # V's extreme quantiles depend on the shape alone, which takes one value per frequency
    shapes, shape_index = np.unique(safe_shape, return_inverse=True)
    low = -np.log(special.gammainccinv(shapes, 1e-9))[shape_index] - 1e-6
    high = np.log(last) - np.log(special.gammainccinv(shapes, 1.0 - 1e-9))[shape_index] + 1e-6
    tolerance = np.log1p(CLV_RELATIVE_PRECISION)
    kept = counts.zero + np.bincount(row, weights=probability, minlength=h)
    # the count quantiles per history (every customer of a history has the same)
    count_quantiles = []
    for quantile in counts.quantiles:
        per_history = np.ones(h)
        per_history[counts.history] = quantile
        count_quantiles.append(np.maximum(per_history, 1.0))

    # The histories are dealt into `parts` interleaved by index (heavy buyers, with many counts, sit together
    # at the end of the histories' order), with few enough rows each that two in flight stay small.
    parts = 2 * max(1, -(-row.size // (2 * _ROWS_PER_TASK)))
    rows_of_part = _rows_by_part(row, parts)

    def solve(level: float, count_quantile, histories: np.ndarray, candidates: np.ndarray) -> np.ndarray:
        """log w for ``histories`` (indices), each with its own rows of the distribution, all among the rows
        ``candidates``."""
        n = histories.size
        local = np.full(h, -1)
        local[histories] = np.arange(n)
        taken = candidates[local[row[candidates]] >= 0]
        who, mass, log_k = local[row[taken]], probability[taken], np.log(count[taken])
        history_shape = safe_shape[histories]
        s, log_gamma = history_shape[who], special.gammaln(history_shape)[who]
        log_s = np.log(s)
        lo, hi = low[histories], high[histories]
        u = np.clip(np.log(count_quantile[histories]) - np.log(history_shape), lo, hi)
        previous_step = hi - lo
        previous_good = np.zeros(n, dtype=bool)
        active = np.ones(n, dtype=bool)
        zero = counts.zero[histories]
        for _ in range(200):
            if not active.any():
                break
            f, slope, curvature = zero - level, np.zeros(n), np.zeros(n)
            for block in range(0, who.size, _BLOCK_ROWS):
                rows = slice(block, block + _BLOCK_ROWS)
                f_part, slope_part, curvature_part = _cdf_slope_curvature(
                    u, n, who[rows], mass[rows], log_k[rows], s[rows], log_gamma[rows], log_s[rows])
                f += f_part
                slope += slope_part
                curvature += curvature_part
            lo = np.where(active & (f < 0), u, lo)
            hi = np.where(active & (f >= 0), u, hi)
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                halley = u - 2.0 * f * slope / (2.0 * slope * slope - f * curvature)
                step = np.abs(halley - u)
                good = np.isfinite(halley) & (halley > lo) & (halley < hi) & (step <= 0.5 * previous_step)
                new = np.where(good, halley, 0.5 * (lo + hi))
                taken_step = np.abs(new - u)
                # two Halley steps in a row, the first already small, the second cubically smaller: the
                # asymptotic regime, where what is left is about step^4 / previous^3 (a small step after a
                # large one can be a far point on a flat stretch of a bimodal distribution, not the root)
                settled = (good & previous_good & (previous_step <= 0.1)
                           & (taken_step ** 4 <= 0.1 * tolerance * previous_step ** 3))
            previous_good = good
            previous_step = np.where(active, taken_step, previous_step)
            u = np.where(active, new, u)
            active &= (previous_step > 0.5 * tolerance) & ((hi - lo) > tolerance) & ~settled
            still = active[who]
            if np.count_nonzero(still) < 0.7 * who.size:  # drop the rows of settled histories
                rows = (who, mass, log_k, s, log_gamma, log_s)
                who, mass, log_k, s, log_gamma, log_s = (a[still] for a in rows)
        return np.clip(u, lo, hi)

    answers, tasks = [], []
    for level, count_quantile in zip(levels, count_quantiles, strict=True):
        answer = np.zeros(h)  # P(X = 0) >= level: the quantile is 0
        open_ = needed & (counts.zero < level)
        # where the level lies in the tail not evaluated, the bracket's upper end is the answer
        answer[open_] = np.exp(high[open_])
        solved = np.flatnonzero(open_ & (kept >= level))
        tasks += [(answer, level, count_quantile, solved[solved % parts == part], rows_of_part[part])
                  for part in range(parts)]
        answer[~needed] = np.nan
        answers.append(answer)

    def run(task) -> None:
        answer, level, count_quantile, histories, candidates = task
        answer[histories] = np.exp(solve(level, count_quantile, histories, candidates))  # parts are disjoint

    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(run, tasks))
    return answers


@dataclass(frozen=True)
class PredictiveIntervals:
    """Per customer: the ``levels`` quantiles of purchases in the horizon (whole numbers) and of CLV (NaN when
    the spend model was not fitted)."""

    levels: tuple[float, ...]
    purchases: tuple[np.ndarray, ...]
    clv: tuple[np.ndarray, ...]


def forecast_intervals(
    purchase_fit,
    spend_fit,
    frequency,
    recency,
    T,
    monetary_value,
    *,
    purchase_horizon: float,
    expected_purchases,
    discounted_purchases,
    levels=INTERVAL_QUANTILES,
) -> PredictiveIntervals:
    """The published intervals from fitted models (``models.selection``'s fits; the purchase fit must be
    fitted): count quantiles over ``purchase_horizon`` and, when ``spend_fit`` is fitted, CLV quantiles with
    the expected discount factor per purchase ``discounted_purchases / expected_purchases`` (module docstring)."""
    x = np.asarray(frequency, dtype=float).ravel()
    counts = fitted_count_distribution(purchase_fit, purchase_horizon, x, recency, T, levels=levels)
    spend = None
    if spend_fit is not None and spend_fit.is_fitted:
        spend = mean_spend_posterior(spend_fit.variant, spend_fit.theta, x, monetary_value)
    return intervals_from(counts, spend, expected_purchases, discounted_purchases)


def intervals_from(counts: PurchaseCountDistribution, spend: MeanSpendPosterior | None, expected_purchases,
                   discounted_purchases) -> PredictiveIntervals:
    """``forecast_intervals``' result from a count distribution and each customer's mean-spend posterior
    (None: no spend model, CLV quantiles NaN)."""
    n = counts.history.size
    if spend is None:
        no_value = tuple(np.full(n, np.nan) for _ in counts.levels)
        return PredictiveIntervals(counts.levels, counts.quantiles, no_value)
    expected = np.asarray(expected_purchases, dtype=float).ravel()
    discounted = np.asarray(discounted_purchases, dtype=float).ravel()
    with np.errstate(divide="ignore", invalid="ignore"):
        delta = np.where(expected > 0, discounted / expected, 1.0)
    return PredictiveIntervals(counts.levels, counts.quantiles,
                               tuple(value_quantiles(counts, spend, delta, counts.levels)))
