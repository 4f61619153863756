"""Command line: `python -m pipelines.sample_data --customers 10000 --seed 7 --out data/landing`."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from pipelines.sample_data.generator import DEFAULT_END_DATE, DEFAULT_MONTHS, FORMATS, generate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pipelines.sample_data",
        description="Write sample CRM, order, survey and marketing-spend extracts, and the truth behind them",
    )
    parser.add_argument("--customers", type=int, required=True, help="customers in the CRM, leads included")
    parser.add_argument("--seed", type=int, required=True, help="same seed and arguments, same bytes")
    parser.add_argument("--out", type=Path, required=True, help="landing directory for the extracts")
    parser.add_argument("--truth-out", type=Path, default=None,
                        help="directory for the truth (default: <out>/../truth; never inside --out)")
    parser.add_argument("--format", choices=FORMATS, default="csv",
                        help="csv (UTF-8, ','), french (Latin-1, ';', decimal comma, dd/mm/yyyy) or parquet")
    parser.add_argument("--end-date", type=date.fromisoformat, default=DEFAULT_END_DATE,
                        help=f"last day of the data (default {DEFAULT_END_DATE})")
    parser.add_argument("--months", type=int, default=DEFAULT_MONTHS,
                        help="months of acquisition ending at the end date (at least 24)")
    parser.add_argument("--dirty", action="store_true", help="insert a known number of bad rows of each kind")
    parser.add_argument("--lines", action="store_true",
                        help="write the orders one row per order line (quantity, unit_price), as shops export them")
    parser.add_argument("--without-customers", action="store_true",
                        help="leave the CRM extract out (the orders carry the country), as for a shop with only orders")
    parser.add_argument("--quiet", action="store_true", help="no progress bar and no summary")
    args = parser.parse_args(argv)
    try:
        summary = generate(
            args.out, customers=args.customers, seed=args.seed, fmt=args.format, end_date=args.end_date,
            months=args.months, dirty=args.dirty, truth_dir=args.truth_out, progress=not args.quiet,
            lines=args.lines, without_customers=args.without_customers,
        )
    except ValueError as exc:
        parser.error(str(exc))
    if not args.quiet:
        lines = f" in {summary.order_lines} lines" if summary.order_lines != summary.orders else ""
        print(f"{summary.customers} customers ({summary.leads} leads), {summary.orders} orders{lines}, "
              f"{summary.survey_responses} survey responses, {summary.marketing_spend_rows} spend rows")
        print(f"extracts in {summary.out_dir}, truth in {summary.truth_dir}")
        if summary.bad_rows:
            print(f"bad rows: {sum(sum(c.values()) for c in summary.bad_rows.values())} "
                  f"(see {summary.truth_dir / 'dirty_manifest.json'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
