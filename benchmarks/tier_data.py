"""The tiers' landing data: generated once per (customers, seed), reused while the files are intact.

Clean CSV (no `--dirty`), so the pipeline quarantines nothing and the floor, which reads the same files
without a contract, sees the same rows.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

MARKER = "benchmark-data.json"  # written last: a directory without it was never completed


@dataclass(frozen=True)
class Tier:
    label: str  # "10k", "100k", "1M"
    customers: int


def parse_tiers(text: str) -> list[Tier]:
    """`10k,100k,1M` -> tiers; plain numbers work too (`2500,10k`)."""
    tiers = []
    for label in (part.strip() for part in text.split(",") if part.strip()):
        multiplier = {"k": 1_000, "m": 1_000_000}.get(label[-1].lower(), 1)
        number = label[:-1] if multiplier > 1 else label
        try:
            customers = int(float(number) * multiplier)
        except ValueError:
            raise ValueError(f"tier {label!r}: expected a customer count such as 10k, 100k or 1M") from None
        if customers <= 0:
            raise ValueError(f"tier {label!r}: needs at least one customer")
        tiers.append(Tier(label, customers))
    return tiers


@dataclass(frozen=True)
class TierData:
    landing_dir: Path
    generation: dict  # what the generator wrote (rows per file, totals)
    generated_seconds: float | None  # None: reused from an earlier run
    size_bytes: int


def _landing_files(landing: Path) -> dict[str, int]:
    return {p.name: p.stat().st_size for p in sorted(landing.iterdir()) if p.is_file()}


def tier_data(work_dir: Path, tier: Tier, seed: int, log=print) -> TierData:
    """The tier's landing directory, generated unless an intact one with the same size and seed exists."""
    from pipelines.sample_data import generate

    root = work_dir / "data" / f"csv-{tier.customers}-seed{seed}"
    landing, truth = root / "landing", root / "truth"
    marker = root / MARKER
    arguments = {"customers": tier.customers, "seed": seed, "format": "csv", "dirty": False}
    if marker.exists():
        recorded = json.loads(marker.read_text())
        if (
            recorded["arguments"] == arguments
            and landing.is_dir()
            and _landing_files(landing) == recorded["files"]
        ):
            log(f"[{tier.label}] reusing generated data in {landing}")
            return TierData(landing, recorded["generation"], None, sum(recorded["files"].values()))
    marker.unlink(missing_ok=True)
    shutil.rmtree(root, ignore_errors=True)
    log(f"[{tier.label}] generating {tier.customers:,} customers (seed {seed}) into {landing}...")
    started = time.perf_counter()
    generate(
        landing, customers=tier.customers, seed=seed, fmt="csv", dirty=False, truth_dir=truth, progress=False
    )
    seconds = time.perf_counter() - started
    generation = json.loads((truth / "generation.json").read_text())
    files = _landing_files(landing)
    marker.write_text(
        json.dumps(
            {"arguments": arguments, "files": files, "generation": generation, "generated_seconds": seconds},
            indent=2,
        )
    )
    return TierData(landing, generation, seconds, sum(files.values()))


@dataclass(frozen=True)
class DailySplit:
    """The tier's data as a day before the last, plus the last day's orders as their own delivery."""

    history_dir: Path   # every landing file, with the last order day taken out of its year's file
    day_file: Path      # orders_<day>.csv: that day's orders (about 0.3 % of the history)
    day: str
    day_orders: int
    all_orders: int


def daily_split(data: TierData, log=print) -> DailySplit:
    """Split (once per tier data) the last order day out of the landing files, for the daily-run benchmark."""
    import duckdb

    root = data.landing_dir.parent / "daily"
    marker = root / MARKER
    if marker.exists():
        recorded = json.loads(marker.read_text())
        return DailySplit(Path(recorded["history_dir"]), Path(recorded["day_file"]), recorded["day"],
                          recorded["day_orders"], recorded["all_orders"])
    shutil.rmtree(root, ignore_errors=True)
    history = root / "history"
    history.mkdir(parents=True)
    con = duckdb.connect()
    orders = f"read_csv('{data.landing_dir}/orders_*.csv', all_varchar = true, header = true)"
    day = con.execute(f"select max(left(ordered_at, 10)) from {orders}").fetchall()[0][0]
    log(f"splitting the orders of {day} out of {data.landing_dir}...")
    for path in data.landing_dir.iterdir():
        if not path.name.startswith(f"orders_{day[:4]}"):
            (history / path.name).symlink_to(path)
    year_files = sorted(data.landing_dir.glob(f"orders_{day[:4]}*.csv"))
    con.execute(f"create table year_orders as select * from read_csv({[str(p) for p in year_files]}, "
                "all_varchar = true, header = true)")
    con.execute(f"copy (select * from year_orders where left(ordered_at, 10) <> '{day}') "
                f"to '{history}/orders_{day[:4]}.csv' (header)")
    day_file = root / f"orders_{day}.csv"
    con.execute(f"copy (select * from year_orders where left(ordered_at, 10) = '{day}') to '{day_file}' (header)")
    day_orders = con.execute(f"select count(*) from read_csv('{day_file}')").fetchall()[0][0]
    all_orders = con.execute(f"select count(*) from {orders}").fetchall()[0][0]
    con.close()
    split = DailySplit(history, day_file, day, day_orders, all_orders)
    marker.write_text(json.dumps({k: str(v) if isinstance(v, Path) else v for k, v in split.__dict__.items()}))
    return split
