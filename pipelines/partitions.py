"""How Retentio's assets are partitioned and backfilled.

Everything is built from the whole history, incrementally (dbt's customer histories rebuild only the
customers whose purchases changed), so assets are not partitioned; the one exception is the order-day
rebuild request (pipelines/transform/rebuilds.py), whose daily partitions name the days a backfill
re-derives from the raw layer. Every asset builds a range of partitions in one run, which is what
`dagster asset materialize --partition-range` needs and how a backfill from the UI runs.
"""

import warnings

from dagster import BackfillPolicy, BetaWarning, DailyPartitionsDefinition

from pipelines.settings import Settings

# Single-run backfills are what the CLI's --partition-range needs; Dagster still calls the parameter beta.
warnings.filterwarnings("ignore", category=BetaWarning, message=".*backfill_policy.*")

# The first order day a backfill can name (RETENTIO_ORDER_DAYS_START); earlier days are still processed by every
# run. Read when the code location loads, as the partitions are part of the asset graph, not of a run.
order_day_partitions = DailyPartitionsDefinition(start_date=Settings.from_env().order_days_start.isoformat(),
                                                 end_offset=1)

IN_ONE_RUN = BackfillPolicy.single_run()
