"""Shared fixtures: the CDNOW 1/10 sample read from the installed lifetimes package, summarised by our own
helper (calibration 1997-01-01..1997-09-30 = weeks 1-39, holdout to 1998-06-30 = weeks 40-78, in weeks),
and the fits on it. lifetimes is only a reference implementation here: its dataset loaders and summary
helpers are not used (broken with setuptools >= 82 / pandas 3)."""

from __future__ import annotations

import os
import warnings

import lifetimes
import numpy as np
import pandas as pd
import pytest

from models.bgnbd import fit_bgnbd
from models.gamma_gamma import fit_gamma_gamma
from models.summaries import summarise_calibration_and_holdout

LIFETIMES_DATASETS = os.path.join(os.path.dirname(lifetimes.__file__), "datasets")
CALIBRATION_END = "1997-09-30"
HOLDOUT_END = "1998-06-30"
HOLDOUT_WEEKS = 39.0
# lifetimes' BFGS stops at tol=1e-7 by default; 1e-9 is the tightest at which it still reports success on
# CDNOW, and brings its estimates to ~1e-8 of the exact maximum.
LIFETIMES_TOL = 1e-9


@pytest.fixture(scope="session")
def cdnow_transactions() -> pd.DataFrame:
    """CDNOW_sample.txt: no header; master id, sample id, date YYYYMMDD, number of CDs, dollar value."""
    raw = pd.read_csv(
        os.path.join(LIFETIMES_DATASETS, "CDNOW_sample.txt"),
        sep=r"\s+",
        header=None,
        names=["master_id", "customer_id", "date", "number_of_cds", "dollar_value"],
        dtype={"date": str},
    )
    raw["date"] = pd.to_datetime(raw["date"], format="%Y%m%d")
    return raw


@pytest.fixture(scope="session")
def cdnow(cdnow_transactions) -> pd.DataFrame:
    """One row per customer (sample id 1..2357): calibration summary plus holdout_frequency."""
    t = cdnow_transactions
    return summarise_calibration_and_holdout(
        t["customer_id"], t["date"], t["dollar_value"], CALIBRATION_END, HOLDOUT_END, time_unit="weeks"
    )


@pytest.fixture(scope="session")
def cdnow_bgnbd(cdnow):
    return fit_bgnbd(cdnow["frequency"], cdnow["recency"], cdnow["T"], time_unit="weeks")


@pytest.fixture(scope="session")
def cdnow_gamma_gamma(cdnow):
    return fit_gamma_gamma(cdnow["frequency"], cdnow["monetary_value"])


@pytest.fixture(scope="session")
def lifetimes_bgnbd(cdnow):
    """lifetimes' own BG/NBD fit on the same arrays."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return lifetimes.BetaGeoFitter(penalizer_coef=0.0).fit(
            cdnow["frequency"], cdnow["recency"], cdnow["T"], tol=LIFETIMES_TOL
        )


@pytest.fixture(scope="session")
def lifetimes_gamma_gamma(cdnow):
    repeat = cdnow[cdnow["frequency"] > 0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return lifetimes.GammaGammaFitter(penalizer_coef=0.0).fit(
            repeat["frequency"], repeat["monetary_value"]
        )


@pytest.fixture(scope="session")
def lifetimes_bgnbd_with():
    """Factory: a lifetimes BetaGeoFitter carrying given (r, alpha, a, b), without fitting."""

    def make(params) -> lifetimes.BetaGeoFitter:
        fitter = lifetimes.BetaGeoFitter()
        fitter.params_ = pd.Series(np.asarray(params, dtype=float), index=["r", "alpha", "a", "b"])
        fitter.predict = fitter.conditional_expected_number_of_purchases_up_to_time  # as fit() does
        return fitter

    return make


@pytest.fixture(scope="session")
def lifetimes_gamma_gamma_with():
    """Factory: a lifetimes GammaGammaFitter carrying given (p, q, gamma), without fitting."""

    def make(params) -> lifetimes.GammaGammaFitter:
        fitter = lifetimes.GammaGammaFitter()
        fitter.params_ = pd.Series(np.asarray(params, dtype=float), index=["p", "q", "v"])
        return fitter

    return make
