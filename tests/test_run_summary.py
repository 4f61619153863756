"""The console summary writes each retention_metrics column as its yml declares it (count, percent, money,
...), in columns as wide as their values: 226 reactivated customers next to £1,039,318.80 of revenue must
read as two numbers."""

from __future__ import annotations

from datetime import date

import duckdb

from pipelines.run_summary import SUMMARY_COLUMNS, print_retention_metrics
from pipelines.settings import Settings


def write_retention_metrics(bi_db, months: list[tuple]) -> None:
    con = duckdb.connect(str(bi_db))
    counts = {"customers_at_start", "customers_at_end", "new_customers", "churned_customers", "reactivated_customers"}
    columns = ", ".join(f"{column} {'bigint' if column in counts else 'double'}" for _, column in SUMMARY_COLUMNS)
    con.execute(f"create table retention_metrics (period_grain varchar, period_start date, is_complete boolean, "
                f"{columns}, is_history_shorter_than_window boolean)")
    for month in months:
        con.execute(f"insert into retention_metrics values ('month', ?, true, {', '.join('?' * len(month[1:]))}, "
                    "false)", month)
    con.close()


def test_counts_money_and_percentages_are_written_as_declared_in_columns_of_their_own(tmp_path, capsys):
    settings = Settings(landing_dir=tmp_path / "landing", warehouse_dir=tmp_path, currency="GBP")
    #                   CS     CE     CN   CRR   churned churn react. revenue      NPS   CAC   CLV:CAC
    write_retention_metrics(settings.bi_db, [
        (date(2011, 10, 1), 3900, 4000, 350, 94.9, 180, 4.6, 12, 998_412.35, None, None, None),
        (date(2011, 11, 1), 4000, 4100, 300, 95.0, 200, 5.0, 226, 1_039_318.8, None, None, None),
    ])

    print_retention_metrics(settings)

    lines = capsys.readouterr().out.splitlines()
    assert lines[1] == "retention_metrics, last 2 complete months (activity window 365 days, amounts in GBP):"
    header, october, november = (line.split() for line in lines[2:5])
    assert header == ["month", *(h for h, _ in SUMMARY_COLUMNS)]
    assert november == ["2011-11", "4,000", "4,100", "300", "95.0%", "200", "5.0%", "226", "£1,039,318.80",
                        "—", "—", "—"]
    assert october[8] == "£998,412.35"
    assert len({len(line) for line in lines[2:5]}) == 1  # right-aligned in columns as wide as their values
    assert lines[5] == "  unknown, shown as '—': NPS (no survey extract), CAC (no spend extract)"
