"""The same core retention metrics in plain pandas (and numpy), from the same landing CSV files.

    .venv/bin/python -m benchmarks.pandas_peer --landing LANDING_DIR --out pandas.parquet [--json t.json]

What an analyst would write without a warehouse: read the CSVs with `pandas.read_csv`, merge each
customer's purchase days into activity spells (a gap of W days or more starts a new one), then for every
month, quarter and year mark who is active at s - 1 and at the period's end as boolean arrays over the
customers. Columns as in `retention_metrics` (see floor.sql for the list); same assumptions as the floor
(clean files, plain CSV dialect).
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

EPOCH = date(1970, 1, 1)


def _days(values: pd.Series) -> np.ndarray:
    """Timestamps -> whole days since 1970-01-01 (int64)."""
    return values.to_numpy(dtype="datetime64[D]").astype(np.int64)


def _read(landing: Path, prefix: str, columns: list[str], timestamp: str) -> pd.DataFrame:
    frames = [pd.read_csv(path, usecols=columns) for path in sorted(landing.glob(f"{prefix}*.csv"))]
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    fmt = "%Y-%m-%d %H:%M:%S" if len(frame[timestamp].iloc[0]) > 10 else "%Y-%m-%d"
    frame["day"] = _days(pd.to_datetime(frame[timestamp], format=fmt))
    return frame.drop(columns=[timestamp])


def periods(first_day: int, as_of: int) -> list[tuple[str, date, date, date, bool]]:
    """(grain, start, end, measured through, is complete) from the first purchase's month to the as-of's."""
    first, last = EPOCH + timedelta(days=first_day), EPOCH + timedelta(days=as_of)

    def add_months(day: date, months: int) -> date:
        index = day.year * 12 + day.month - 1 + months
        return date(index // 12, index % 12 + 1, 1)

    months, current = [], date(first.year, first.month, 1)
    while current <= last:
        months.append(current)
        current = add_months(current, 1)
    starts = [("month", m, add_months(m, 1)) for m in months]
    quarters = sorted({date(m.year, 3 * ((m.month - 1) // 3) + 1, 1) for m in months})
    starts += [("quarter", q, add_months(q, 3)) for q in quarters]
    starts += [("year", date(y, 1, 1), date(y + 1, 1, 1)) for y in sorted({m.year for m in months})]
    result = []
    for grain, start, following in starts:
        end = following - timedelta(days=1)
        result.append((grain, start, end, min(end, last), end <= last))
    return result


def retention_metrics(
    landing: Path, activity_window_days: int = 365, as_of_date: str | None = None
) -> pd.DataFrame:
    window = activity_window_days
    orders = _read(landing, "orders", ["customer_id", "ordered_at", "amount", "status"], "ordered_at")
    as_of = (date.fromisoformat(as_of_date) - EPOCH).days if as_of_date else int(orders["day"].max())
    purchases = orders[(orders["status"] == "completed") & (orders["day"] <= as_of)]
    del orders
    customer, _ = pd.factorize(purchases["customer_id"])
    purchases = pd.DataFrame(
        {"customer": customer, "day": purchases["day"].to_numpy(), "amount": purchases["amount"].to_numpy()}
    )
    customers = int(customer.max()) + 1

    # Activity spells: distinct purchase days per customer, in order; a gap of W days or more starts a spell.
    days = (
        purchases[["customer", "day"]].drop_duplicates().sort_values(["customer", "day"], ignore_index=True)
    )
    new_customer = days["customer"].ne(days["customer"].shift())
    starts_spell = new_customer | (days["day"].diff() >= window)
    spells = days.groupby(starts_spell.cumsum()).agg(
        customer=("customer", "first"), start=("day", "min"), last=("day", "max")
    )
    spell_customer = spells["customer"].to_numpy()
    spell_start = spells["start"].to_numpy()
    spell_end = spells["last"].to_numpy() + window - 1
    first_purchase = days.groupby("customer")["day"].min().reindex(range(customers)).to_numpy()

    def active_at(day: int) -> np.ndarray:
        active = np.zeros(customers, dtype=bool)
        active[spell_customer[(spell_start <= day) & (spell_end >= day)]] = True
        return active

    revenue_by_day = purchases.groupby("day")["amount"].sum()
    answers = _read(landing, "survey_responses", ["responded_at", "nps_score"], "responded_at")
    answers_by_day = (
        answers.assign(promoter=answers["nps_score"] >= 9, detractor=answers["nps_score"] <= 6)
        .groupby("day")
        .agg(responses=("nps_score", "size"), promoters=("promoter", "sum"), detractors=("detractor", "sum"))
    )
    spend = _read(landing, "marketing_spend", ["spend_date", "amount"], "spend_date")
    spend_by_day = spend.groupby("day")["amount"].sum()

    rows = []
    for grain, start, end, measured, is_complete in periods(int(first_purchase.min()), as_of):
        s, m = (start - EPOCH).days, (measured - EPOCH).days
        at_start, at_end = active_at(s - 1), active_at(m)
        new = (first_purchase >= s) & (first_purchase <= m)
        cs, ce, cn = int(at_start.sum()), int(at_end.sum()), int(new.sum())
        churned, retained = int((at_start & ~at_end).sum()), int((at_start & at_end).sum())
        answered = answers_by_day.loc[s:m].sum()
        spent = float(spend_by_day.loc[s:m].sum())
        rows.append(
            {
                "period_grain": grain,
                "period_start": start,
                "period_end": end,
                "is_complete": is_complete,
                "customers_at_start": cs,
                "customers_at_end": ce,
                "new_customers": cn,
                "retention_rate_pct": 100.0 * ((ce - cn) / cs) if cs else None,
                "churned_customers": churned,
                "churn_rate_pct": 100.0 * (churned / cs) if cs else None,
                "retained_customers": retained,
                "reactivated_customers": int((at_end & ~at_start & ~new).sum()),
                "new_customers_inactive_at_end": int((new & ~at_end).sum()),
                "revenue": float(revenue_by_day.loc[s:m].sum()),
                "nps": (
                    100.0 * (answered["promoters"] / answered["responses"])
                    - 100.0 * (answered["detractors"] / answered["responses"])
                )
                if answered["responses"]
                else None,
                "nps_responses": int(answered["responses"]),
                "marketing_spend": spent,
                "cac": spent / cn if cn else None,
            }
        )
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--landing", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--activity-window-days", type=int, default=365)
    parser.add_argument("--as-of-date")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    metrics = retention_metrics(args.landing, args.activity_window_days, args.as_of_date)
    seconds = time.perf_counter() - started
    args.out.parent.mkdir(parents=True, exist_ok=True)
    metrics.to_parquet(args.out, index=False)
    report = {
        "seconds": seconds,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rows": len(metrics),
        "pandas": pd.__version__,
    }
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    print(f"{seconds:.2f} s, peak RSS {report['peak_rss_mb']:.0f} MB, {len(metrics)} rows")


if __name__ == "__main__":
    main()
