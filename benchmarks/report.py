"""The harness's results as Markdown: a summary table (tiers as columns), the growth, each tier's detail."""

from __future__ import annotations

import math

STAGE_LABELS = {
    "startup": "startup (imports, definitions, until the first step)",
    "ingest": "ingest",
    "checks": "checks (row accounting, rejected share, Great Expectations)",
    "dbt": "dbt (both invocations)",
    "models": "models (predictions)",
    "publish": "publish",
    "other": "other steps",
    "summary": "summary printed after the run",
}
# the speed issue's targets at 1M: the full run within 6x the floor in 4 GB, a new day of orders in at most 15 %
# of the full rebuild, the code location loaded in 3 s; the CLV issue's: the predictions step within 15 s.
# At 10M: the full run within 45 minutes and 12 GB. Other tiers have none.
TARGET_RATIO, TARGET_RSS_MB = 6.0, 4096
TARGET_DAILY_SHARE = 0.15
TARGET_LOAD_SECONDS = 3.0
TARGET_MODELS_SECONDS = 15.0
TARGET_10M_SECONDS, TARGET_10M_RSS_MB = 45 * 60, 12 * 1024


def _met(met: bool) -> str:
    return "met" if met else "not met"


def target_lines(tier: dict) -> list[str]:
    """The issue's targets for this tier's size (1M and 10M customers; none for the others), met or not."""
    pipeline = tier.get("pipeline") or {}
    lines = []
    if tier.get("customers") == 1_000_000:
        ratio = pipeline_floor_ratio(tier)
        if ratio is not None and pipeline:
            rss = pipeline["peak_rss_mb"]
            lines += [f"Target at {tier['label']}: pipeline ≤ {TARGET_RATIO:.0f}× the floor and peak RSS ≤ "
                      f"{TARGET_RSS_MB / 1024:.0f} GB. Measured: {_ratio(ratio)} ({_met(ratio <= TARGET_RATIO)}), "
                      f"{rss / 1024:.1f} GB ({_met(rss <= TARGET_RSS_MB)})."]
        models = pipeline.get("stages", {}).get("models", {}).get("seconds")
        if models is not None:
            lines += [f"Target at {tier['label']}: the predictions step (every fit, the intervals and the "
                      f"back-test, with reading and writing) ≤ {TARGET_MODELS_SECONDS:.0f} s. Measured: "
                      f"{_s(models)} s ({_met(models <= TARGET_MODELS_SECONDS)})."]
        daily = daily_full_ratio(tier)
        if daily is not None:
            lines += [f"Target at {tier['label']}: a new day of orders processed in ≤ {TARGET_DAILY_SHARE:.0%} of "
                      f"the full rebuild's time. Measured: {_percent(daily)} ({_met(daily <= TARGET_DAILY_SHARE)})."]
    elif tier.get("customers") == 10_000_000 and pipeline.get("end_to_end_seconds") is not None:
        seconds, rss = pipeline["end_to_end_seconds"], pipeline["peak_rss_mb"]
        lines += [f"Target at {tier['label']}: the full run within {TARGET_10M_SECONDS // 60} minutes and "
                  f"{TARGET_10M_RSS_MB // 1024} GB on this machine. Measured: {seconds / 60:.1f} min "
                  f"({_met(seconds <= TARGET_10M_SECONDS)}), {rss / 1024:.1f} GB ({_met(rss <= TARGET_10M_RSS_MB)})."]
    return [line for target in lines for line in ("", target)]


def _s(value) -> str:
    if value is None:
        return "–"
    if value < 10:
        return f"{value:,.2f}"
    return f"{value:,.1f}" if value < 100 else f"{value:,.0f}"


def _wall_cpu(measure: dict | None) -> str:
    """'wall (CPU)' seconds of a stage or a process."""
    if not measure or measure.get("seconds") is None:
        return "–"
    cpu = measure.get("cpu_seconds")
    return _s(measure["seconds"]) + ("" if cpu is None else f" ({_s(cpu)})")


def _mb(value) -> str:
    return "–" if value is None else f"{value:,.0f}"


def _ratio(value) -> str:
    return "–" if value is None else f"{value:,.1f}×"


def _table(header: list[str], rows: list[list[str]], align: str = "l") -> list[str]:
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join(["---"] + [("---:" if align == "r" else "---")] * (len(header) - 1)) + "|",
    ]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def dbt_seconds(tier: dict) -> dict[str, float]:
    return {
        step["key"]: step["seconds"]
        for step in tier.get("pipeline", {}).get("steps", [])
        if step["stage"] == "dbt"
    }


def floor_seconds(tier: dict) -> float | None:
    """The floor's process, start to exit (Python and DuckDB start-up included, as in the pipeline's)."""
    return tier.get("floor", {}).get("process_seconds")


def pandas_seconds(tier: dict) -> float | None:
    pandas = tier.get("pandas", {})
    return None if pandas.get("skipped") else pandas.get("process_seconds")


def pipeline_floor_ratio(tier: dict) -> float | None:
    pipeline, floor = tier.get("pipeline"), floor_seconds(tier)
    if not pipeline or not pipeline.get("succeeded") or not floor:
        return None
    return pipeline["end_to_end_seconds"] / floor


def daily_full_ratio(tier: dict) -> float | None:
    """The daily run's time as a share of the full rebuild's (the tier's pipeline run)."""
    pipeline, daily = tier.get("pipeline"), tier.get("daily", {}).get("run")
    if not pipeline or not daily or not pipeline.get("succeeded") or not daily.get("succeeded"):
        return None
    return daily["end_to_end_seconds"] / pipeline["end_to_end_seconds"]


def _percent(value) -> str:
    return "–" if value is None else f"{100 * value:.0f} %"


def summary_rows(tiers: list[dict]) -> list[list[str]]:
    rows = []

    def row(label: str, cells) -> None:
        rows.append([label, *cells])

    row("customers", [f"{t['customers']:,}" for t in tiers])
    row("orders (rows in the landing CSVs)", [f"{t['data']['orders']:,}" for t in tiers])
    row("landing CSV size (MB)", [_mb(t["data"]["size_bytes"] / 2**20) for t in tiers])
    for stage, label in STAGE_LABELS.items():
        cells = [_wall_cpu(t.get("pipeline", {}).get("stages", {}).get(stage)) for t in tiers]
        if any(c != "–" for c in cells):
            row(f"{label}, s (CPU s)", cells)
    row(
        "&nbsp;&nbsp;dbt models+tests, first invocation (s)",
        [_s(dbt_seconds(t).get("retentio_dbt_models")) for t in tiers],
    )
    row(
        "&nbsp;&nbsp;dbt with predictions, second invocation (s)",
        [_s(dbt_seconds(t).get("retentio_dbt_models_with_predictions")) for t in tiers],
    )
    row(
        "**pipeline end to end, s (CPU s)**",
        [f"**{_wall_cpu(_end_to_end(t.get('pipeline')))}**" for t in tiers],
    )
    row(
        "**pipeline peak RSS, process tree (MB)**",
        [f"**{_mb(t.get('pipeline', {}).get('peak_rss_mb'))}**" for t in tiers],
    )
    for stage in ("ingest", "checks", "dbt", "models", "publish"):
        row(
            f"&nbsp;&nbsp;peak RSS during {stage} (MB)",
            [_mb(t.get("pipeline", {}).get("stages", {}).get(stage, {}).get("peak_rss_mb")) for t in tiers],
        )
    row(
        "new day's orders (share of the history)",
        [f"{t['daily']['day_orders']:,} ({t['daily']['day_share_pct']:.2f} %)" if t.get("daily", {}).get("day_orders")
         else "–" for t in tiers],
    )
    row("**daily run, s (CPU s)**", [f"**{_wall_cpu(_end_to_end(t.get('daily', {}).get('run')))}**" for t in tiers])
    for stage in ("ingest", "checks", "dbt", "models", "publish"):
        row(f"&nbsp;&nbsp;daily {stage}, s",
            [_s(t.get("daily", {}).get("run", {}).get("stages", {}).get(stage, {}).get("seconds")) for t in tiers])
    row("daily run peak RSS (MB)", [_mb(t.get("daily", {}).get("run", {}).get("peak_rss_mb")) for t in tiers])
    row("**daily run / full rebuild**", [f"**{_percent(daily_full_ratio(t))}**" for t in tiers])
    row("published tables: daily run = full rebuild", [_equal(t.get("daily", {}).get("comparison")) for t in tiers])
    row(
        "**floor: floor.sql in one DuckDB process, s (CPU s)**",
        [f"**{_wall_cpu(_process(t.get('floor')))}**" for t in tiers],
    )
    row("floor peak RSS (MB)", [_mb(t.get("floor", {}).get("peak_rss_mb")) for t in tiers])
    row("**pipeline / floor**", [f"**{_ratio(pipeline_floor_ratio(t))}**" for t in tiers])
    row("retention_metrics: pipeline = floor", [_equal(t.get("floor", {}).get("comparison")) for t in tiers])
    row("pandas, same metrics, s (CPU s)", [_pandas(t) for t in tiers])
    row("pandas peak RSS (MB)", [_mb(t.get("pandas", {}).get("peak_rss_mb")) for t in tiers])
    row(
        "retention_metrics: pipeline = pandas", [_equal(t.get("pandas", {}).get("comparison")) for t in tiers]
    )
    row(
        "CLV fit + predict, ours (s)",
        [_s(t.get("clv", {}).get("ours", {}).get("total_seconds")) for t in tiers],
    )
    row(
        "CLV fit + predict, lifetimes (s)",
        [_s(t.get("clv", {}).get("lifetimes", {}).get("total_seconds")) for t in tiers],
    )
    row("lifetimes / ours", [_ratio(t.get("clv", {}).get("speedup_fit_and_predict")) for t in tiers])
    row(
        "CLV estimates and predictions agree to 1e-4",
        [
            _equal({"equal": t["clv"]["agree_to_1e-4"]}) if t.get("clv", {}).get("ours") else "–"
            for t in tiers
        ],
    )
    return rows


def _equal(comparison: dict | None) -> str:
    if not comparison:
        return "–"
    if comparison["equal"]:
        return "yes"
    return f"**NO** ({comparison.get('mismatch_count', len(comparison.get('different', [])) or '?')} differences)"


def _pandas(tier: dict) -> str:
    pandas = tier.get("pandas", {})
    if pandas.get("skipped"):
        return f"skipped: {pandas['skipped']}"
    return _wall_cpu(_process(pandas))


def _end_to_end(pipeline: dict | None) -> dict | None:
    return pipeline and {
        "seconds": pipeline["end_to_end_seconds"],
        "cpu_seconds": pipeline.get("cpu_seconds"),
    }


def _process(peer: dict | None) -> dict | None:
    return (
        peer
        and peer.get("process_seconds") is not None
        and {"seconds": peer["process_seconds"], "cpu_seconds": peer.get("cpu_seconds")}
    )


def exponents(tiers: list[dict], seconds_of) -> list[str]:
    """log-log slopes of seconds against customers between consecutive tiers, and the least-squares fit."""
    points = [(t["customers"], seconds_of(t)) for t in tiers]
    points = [(n, s) for n, s in points if s]
    cells = []
    for (n1, s1), (n2, s2) in zip(points, points[1:]):
        cells.append(f"{math.log(s2 / s1) / math.log(n2 / n1):.2f}")
    if len(points) >= 3:
        xs, ys = [math.log(n) for n, _ in points], [math.log(s) for _, s in points]
        mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
        slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
        cells.append(f"{slope:.2f}")
    return cells


GROWTH_SERIES = {
    "pipeline end to end": lambda t: t.get("pipeline", {}).get("end_to_end_seconds"),
    "pipeline without startup and summary": lambda t: _work_seconds(t),
    "ingest": lambda t: t.get("pipeline", {}).get("stages", {}).get("ingest", {}).get("seconds"),
    "checks": lambda t: t.get("pipeline", {}).get("stages", {}).get("checks", {}).get("seconds"),
    "dbt": lambda t: t.get("pipeline", {}).get("stages", {}).get("dbt", {}).get("seconds"),
    "models (predictions)": lambda t: (
        t.get("pipeline", {}).get("stages", {}).get("models", {}).get("seconds")
    ),
    "publish": lambda t: t.get("pipeline", {}).get("stages", {}).get("publish", {}).get("seconds"),
    "floor": floor_seconds,
    "pandas": pandas_seconds,
}


def _work_seconds(tier: dict) -> float | None:
    pipeline = tier.get("pipeline")
    if not pipeline:
        return None
    stages = pipeline.get("stages", {})
    return pipeline["end_to_end_seconds"] - sum(
        stages.get(s, {}).get("seconds", 0) for s in ("startup", "summary")
    )


def growth_rows(tiers: list[dict]) -> tuple[list[str], list[list[str]]]:
    pairs = [f"{a['label']}→{b['label']}" for a, b in zip(tiers, tiers[1:])]
    header = ["seconds", *[t["label"] for t in tiers], *[f"exponent {p}" for p in pairs]]
    if len(tiers) >= 3:
        header.append("fitted exponent")
    rows = []
    for label, seconds_of in GROWTH_SERIES.items():
        values = [seconds_of(t) for t in tiers]
        if not any(values):
            continue
        slopes = exponents(tiers, seconds_of) if all(values) else []
        slopes += ["–"] * (len(header) - 1 - len(tiers) - len(slopes))
        rows.append([label, *[_s(v) for v in values], *slopes])
    return header, rows


def tier_detail(tier: dict) -> list[str]:
    lines = [f"### {tier['label']} ({tier['customers']:,} customers)", ""]
    pipeline = tier.get("pipeline")
    if pipeline:
        lines.append(
            f"Run `{pipeline.get('run_id')}`: {'succeeded' if pipeline['succeeded'] else '**FAILED**'}, "
            f"{_s(pipeline['end_to_end_seconds'])} s end to end, peak RSS {_mb(pipeline['peak_rss_mb'])} MB, "
            f"load average {tier.get('load_average', {}).get('pipeline', '?')}."
        )
        if pipeline.get("quarantined_rows"):
            lines.append(
                f"**{pipeline['quarantined_rows']} rows quarantined: the floor comparison is not like for "
                "like.**"
            )
        lines += ["", "Steps, slowest first:", ""]
        steps = sorted(pipeline["steps"], key=lambda s: -s["seconds"])
        lines += _table(
            ["step", "stage", "s", "CPU s", "RSS at start (MB)", "peak RSS (MB)"],
            [
                [
                    s["key"],
                    s["stage"],
                    _s(s["seconds"]),
                    _s(s.get("cpu_seconds")),
                    _mb(s["rss_at_start_mb"]),
                    _mb(s["peak_rss_mb"]),
                ]
                for s in steps[:12]
            ],
        )
        if len(steps) > 12:
            rest = steps[12:]
            lines.append(
                f"| {len(rest)} more steps | | {_s(sum(s['seconds'] for s in rest))} | "
                f"{_s(sum(s.get('cpu_seconds') or 0 for s in rest))} | | |"
            )
        probes = pipeline.get("probes", {}).get("totals", {})
        if probes:
            lines += ["", "Inside the steps (stopwatches around pipeline functions, summed over calls):", ""]
            lines += _table(["function", "s"], [[k, _s(v)] for k, v in sorted(probes.items())])
        by_extract = pipeline.get("probes", {}).get("by_extract", {})
        ingest = [
            (extract, values)
            for extract, values in by_extract.items()
            if any(k.startswith("ingest:") for k in values)
        ]
        if ingest:
            lines += [
                "",
                "Ingestion per extract (s): fingerprint = checksum + dialect, read = pyarrow CSV to text "
                "batches, type+check = the rest of stage 1 (DuckDB typing, row checks, Parquet), "
                "reconcile = stage 2:",
                "",
            ]
            rows = []
            for extract, values in sorted(ingest):
                parse = values.get("ingest: stage 1 parse + type + row checks", 0)
                fingerprint = values.get("ingest: fingerprint file + detect dialect", 0)
                read = values.get("ingest: read CSV into text batches (pyarrow)", 0)
                rows.append(
                    [
                        extract,
                        _s(fingerprint),
                        _s(read),
                        _s(parse - fingerprint - read),
                        _s(parse),
                        _s(values.get("ingest: stage 2 reconcile across files", 0)),
                    ]
                )
            lines += _table(
                ["extract", "fingerprint", "read", "type+check", "stage 1 total", "reconcile"], rows
            )
        for dbt in pipeline.get("dbt", []):
            step_seconds = dbt_seconds(tier).get(dbt["step"])
            lines += [
                "",
                f"dbt `{dbt['step']}`: step {_s(step_seconds)} s, dbt's own elapsed "
                f"{_s(dbt['elapsed_seconds'])} s; node seconds by type (summed over dbt's threads): "
                + ", ".join(f"{k} {_s(v)}" for k, v in sorted(dbt["seconds_by_type"].items()))
                + ".",
            ]
            phases = dbt.get("phases") or {}
            if phases:
                lines[-1] += (
                    " Phases of the step (s): "
                    + ", ".join(
                        f"{name.replace('_', ' ')} {_s(phases[name])}"
                        for name in (
                            "until_dbt_started",
                            "parse",
                            "before_first_node",
                            "nodes",
                            "after_last_node",
                        )
                        if name in phases
                    )
                    + (
                        " — partial parsing used."
                        if phases.get("partial_parse")
                        else " — **full parse**: " + "; ".join(phases.get("why_no_partial_parse", [])) + "."
                    )
                )
            lines += ["", "Slowest nodes:", ""]
            lines += _table(
                ["node", "type", "s"], [[n["node"], n["type"], _s(n["seconds"])] for n in dbt["nodes"][:10]]
            )
    floor = tier.get("floor")
    if floor and floor.get("statements"):
        lines += [
            "",
            f"Floor: {_s(floor['process_seconds'])} s as a process, {_s(floor['seconds'])} s running "
            f"floor.sql, peak RSS {_mb(floor['peak_rss_mb'])} MB:",
            "",
        ]
        lines += _table(
            ["statement", "s"], [[f"`{s['statement']}`", _s(s["seconds"])] for s in floor["statements"]]
        )
    daily_run = tier.get("daily", {}).get("run")
    if daily_run:
        lines += [
            "",
            f"Daily run: yesterday's warehouse (everything before {tier['daily']['day']}, built in "
            f"{_s(tier['daily'].get('yesterday_seconds'))} s), then the {tier['daily'].get('day_orders', 0):,} orders "
            f"of {tier['daily']['day']} as their own file: {_s(daily_run['end_to_end_seconds'])} s, peak RSS "
            f"{_mb(daily_run['peak_rss_mb'])} MB. Steps, slowest first:",
            "",
        ]
        steps = sorted(daily_run["steps"], key=lambda s: -s["seconds"])
        lines += _table(["step", "stage", "s", "CPU s"],
                        [[s["key"], s["stage"], _s(s["seconds"]), _s(s.get("cpu_seconds"))] for s in steps[:10]])
        for dbt in daily_run.get("dbt", []):
            lines += ["", f"Daily dbt `{dbt['step']}`, slowest nodes:", ""]
            lines += _table(["node", "type", "s"],
                            [[n["node"], n["type"], _s(n["seconds"])] for n in dbt["nodes"][:8]])
        comparison = tier["daily"].get("comparison")
        if comparison and not comparison["equal"]:
            lines += ["", f"**The daily run's tables differ from the full rebuild's: {comparison['different']}**"]
    for name in ("floor", "pandas"):
        comparison = (tier.get(name) or {}).get("comparison")
        if comparison and not comparison["equal"]:
            lines += [
                "",
                f"**{name} differs from the pipeline** ({comparison['mismatch_count']}), first ones:",
                "",
            ]
            lines += [f"- {m}" for m in comparison["mismatches"][:10]]
    clv = tier.get("clv")
    if clv and clv.get("ours"):
        lines += [
            "",
            f"CLV on this tier's {clv['customers']:,} purchasing customers: ours fit "
            f"{_s(clv['ours']['fit_seconds'])} s + predict {_s(clv['ours']['predict_seconds'])} s "
            f"(peak RSS {_mb(clv['ours']['peak_rss_mb'])} MB), lifetimes fit "
            f"{_s(clv['lifetimes']['fit_seconds'])} s"
            f" + predict {_s(clv['lifetimes']['predict_seconds'])} s (peak RSS "
            f"{_mb(clv['lifetimes']['peak_rss_mb'])} MB); largest relative differences: parameters "
            f"{clv['max_relative_difference_params']:.1e}, predictions "
            f"{clv['max_relative_difference_predictions']:.1e}.",
        ]
    for problem in tier.get("problems", []):
        lines.append(f"\n**Problem:** {problem}")
    return lines + [""]


def markdown(results: dict) -> str:
    tiers = results["tiers"]
    meta = results["environment"]
    code = results["code"]
    lines = [
        "# Retentio benchmarks",
        "",
        f"{results['finished_at']} · {meta['cpus']} CPUs, {meta['memory_gb']:.0f} GB RAM · "
        f"Python {meta['python']}, DuckDB {meta['duckdb']}, Dagster {meta['dagster']}, "
        f"dbt-core {meta['dbt']}, pandas {meta['pandas']} · "
        f"code: {code['code']} at {code['commit'][:12]}"
        + (
            f" with {len(code['uncommitted_changes'])} uncommitted changes"
            if code.get("uncommitted_changes")
            else ""
        )
        + f" · activity window {results['settings']['activity_window_days']} days · DuckDB memory limit "
        f"{results['settings']['duckdb_memory_limit']}, {results['settings']['duckdb_threads']} threads.",
        "",
        *(
            [
                f"**Experiment, not the pipeline as it is: {', '.join(results['settings']['experiments'])}** "
                "(see benchmarks/README.md).",
                "",
            ]
            if results["settings"].get("experiments")
            else []
        ),
        "Seconds are wall-clock, with CPU seconds (user + system, whole process tree) in parentheses; RSS is "
        "the sum over the process tree (dbt's subprocess included), sampled every "
        f"{results['settings']['sample_interval']} s. See benchmarks/README.md for what each number means.",
        "",
    ]
    lines += _table(["", *[t["label"] for t in tiers]], summary_rows(tiers), align="r")
    for tier in tiers:
        lines += target_lines(tier)
    load = results.get("code_location_load")
    if load:
        lines += [
            "",
            f"Code location load (a fresh Python importing `pipelines.definitions`, building the repository and "
            f"its snapshot, as `dagster dev`'s code server does; interpreter teardown excluded), median of "
            f"{len(load['seconds'])}: "
            f"{_s(load['median_seconds'])} s (target ≤ {TARGET_LOAD_SECONDS:.0f} s: "
            f"{'met' if load['median_seconds'] <= TARGET_LOAD_SECONDS else 'not met'}).",
        ]
    if len(tiers) >= 2:
        header, rows = growth_rows(tiers)
        lines += [
            "",
            "## Growth",
            "",
            "Exponent k in time ∝ customersᵏ between tiers (1 = linear; below 1, fixed costs still "
            "dominate).",
            "",
        ]
        lines += _table(header, rows, align="r")
    lines += ["", "## Per tier", ""]
    for tier in tiers:
        lines += tier_detail(tier)
    return "\n".join(lines) + "\n"
