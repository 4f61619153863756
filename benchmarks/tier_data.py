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
