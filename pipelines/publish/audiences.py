"""Marketing audiences: consented customers per RFM segment and per health band, as CSV for e-mail and
remarketing tools.

Who is in them is the dbt model `audience_members` (dbt_project/models/marts/private): purchasing customers
with marketing_consent = true, erased customers left out (nobody is contacted without consent). Each row:
pseudonymous customer_key, e-mail (consent given, so the tool may use it), segment, band, predicted CLV.
The whole directory is built beside the old one and swapped in by renaming a symlink, like the exports.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

AUDIENCE_COLUMNS = "customer_key, email, rfm_segment, health_band, predicted_clv_12m"
AUDIENCE_MEMBERS = "warehouse.private.audience_members"  # a view: its e-mails are read where they are kept


@dataclass
class Audiences:
    directory: Path
    counts: dict[str, int]


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def export_audiences(warehouse_db: Path, audiences_dir: Path) -> Audiences:
    building = audiences_dir.with_name(f".{audiences_dir.name}-{uuid.uuid4().hex[:12]}.tmp")
    building.mkdir(parents=True)
    counts: dict[str, int] = {}
    import duckdb

    con = duckdb.connect()
    try:
        con.execute(f"attach '{warehouse_db}' as warehouse (read_only)")
        con.execute(f"create temp table consented as select {AUDIENCE_COLUMNS} from {AUDIENCE_MEMBERS}")
        for dimension in ("rfm_segment", "health_band"):
            (building / dimension).mkdir()
            values = [v for (v,) in con.execute(
                f"select distinct {dimension} from consented where {dimension} is not null order by 1").fetchall()]
            for value in values:
                path = building / dimension / f"{slug(value)}.csv"
                con.execute(f"""
                    copy (select {AUDIENCE_COLUMNS} from consented where {dimension} = ?
                          order by predicted_clv_12m desc nulls last, customer_key)
                    to '{path}' (header, delimiter ',')
                """, [value])
                counts[f"{dimension}/{slug(value)}"] = con.execute(
                    f"select count(*) from consented where {dimension} = ?", [value]).fetchall()[0][0]
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    finally:
        con.close()
    version = f".{audiences_dir.name}-{building.name.split('-')[-1].removesuffix('.tmp')}"
    os.rename(building, audiences_dir.with_name(version))
    previous = os.readlink(audiences_dir) if audiences_dir.is_symlink() else None
    if audiences_dir.exists() and not audiences_dir.is_symlink():
        shutil.rmtree(audiences_dir)
    link = audiences_dir.with_name(f".{audiences_dir.name}.{uuid.uuid4().hex[:8]}.link")
    os.symlink(version, link)
    os.replace(link, audiences_dir)
    if previous:
        shutil.rmtree(audiences_dir.with_name(previous), ignore_errors=True)
    return Audiences(audiences_dir, counts)
