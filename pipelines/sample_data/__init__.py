"""Sample data with a known story: CRM, order, survey and spend extracts, plus the truth behind them.

    from pipelines.sample_data import generate
    generate("data/landing", customers=10_000, seed=7)

or `python -m pipelines.sample_data --customers 10000 --seed 7 --out data/landing`. See `parameters`
for the model behind the numbers and `dirty` for the bad rows of `--dirty`. `--lines` writes the same
orders one row per order line; `--without-customers` leaves the CRM extract out.
"""

from pipelines.sample_data.generator import FORMATS, GenerationSummary, generate

__all__ = ["FORMATS", "GenerationSummary", "generate"]
