"""Day first or month first: told by the dates themselves, over the whole column when the first rows cannot.

`13/01/2024` can only be day-first and `01/13/2024` only month-first; `01/02/2024` can be either. US
exports (the UCI Online Retail data: `12/1/2010 8:26`) are month-first, and their first thousands of
rows can all be ambiguous, so the first rows decide only when they hold a date that can be read one way
only; otherwise every date of the column is looked at. The files of one extract come from one system, so
a file whose dates never tell is read in the order the extract's other files prove (a US shop's weekly
drop of 1-7 March, next to the week holding 03/13); when no other file proves one, or they disagree, it is
read day-first, with a warning. `date_order` in retentio_sources.yml settles it for good.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from pipelines.ingestion.row_checks import candidate_date_formats

DEFAULT_DATE_ORDER = "dmy"
DATE_ORDER_NAMES = {"dmy": "day first (dd/mm/yyyy)", "mdy": "month first (mm/dd/yyyy)"}
_ORDER_WORDS = {"dmy": "day first", "mdy": "month first"}
SAMPLE_ROWS = 2000


@dataclass(frozen=True)
class DateOrderEvidence:
    """What the dates of a file say about their order."""

    day_first_only: int = 0      # dates that can only be read day first
    month_first_only: int = 0
    ambiguous: int = 0           # read both ways, to different days
    day_first_example: str | None = None
    month_first_example: str | None = None
    ambiguous_example: str | None = None

    @property
    def order(self) -> str | None:
        """'dmy' or 'mdy' when the dates tell (the larger count wins), None when they do not."""
        if self.day_first_only == self.month_first_only:
            return None
        return "dmy" if self.day_first_only > self.month_first_only else "mdy"

    @property
    def undecided(self) -> bool:
        """Dates that read both ways, to different days, and none that tells which way is right."""
        return self.order is None and self.ambiguous > 0

    def example_of(self, order: str) -> str | None:
        """A date that can only be read in `order`."""
        return self.day_first_example if order == "dmy" else self.month_first_example

    def basis(self, order: str, since: str | None = None) -> str:
        """In words, why the file is read in `order` (`since`: why not in another file's, when its dates
        do not tell)."""
        if self.order is None:
            if self.ambiguous:
                return (f"no date tells day from month (e.g. {self.ambiguous_example!r}): read "
                        f"{_ORDER_WORDS[order]}" + (f", since {since}" if since else "")
                        + "; if that is wrong, set date_order in retentio_sources.yml")
            return "no date with a day and a month that could be swapped"
        count, example, other = ((self.day_first_only, self.day_first_example, self.month_first_only)
                                 if order == "dmy" else (self.month_first_only, self.month_first_example,
                                                         self.day_first_only))
        said = f"{count} date(s) such as {example!r} can only be read {_ORDER_WORDS[order]}"
        return said + (f"; {other} date(s) read the other way only are rejected" if other else "")


@dataclass(frozen=True)
class OrderOfOtherFiles:
    """What the files of an extract whose own dates tell say about the files whose dates do not: the files
    of one extract come from one system, which writes its dates one way."""

    proofs: tuple[tuple[str, DateOrderEvidence], ...]   # (file name, its dates' evidence), by file name

    @classmethod
    def of(cls, evidence_by_file: dict[str, DateOrderEvidence | None]) -> OrderOfOtherFiles:
        return cls(tuple(sorted((name, evidence) for name, evidence in evidence_by_file.items()
                                if evidence is not None and evidence.order is not None)))

    @property
    def order(self) -> str | None:
        """The order every proving file agrees on; None when none proves one or they disagree."""
        orders = {evidence.order for _, evidence in self.proofs}
        return orders.pop() if len(orders) == 1 else None

    def _first_proof(self, order: str) -> tuple[str, str]:
        """(file name, date) of the first file, by name, whose dates prove `order`."""
        name, evidence = next((name, e) for name, e in self.proofs if e.order == order)
        return name, evidence.example_of(order)

    def decide(self, undecided: DateOrderEvidence) -> tuple[str, str]:
        """(order, why in words) for a file whose own dates, as `undecided` says, do not tell."""
        order = self.order
        if order is not None:
            name, example = self._first_proof(order)
            others = len(self.proofs) - 1
            words, ambiguous = _ORDER_WORDS[order], undecided.ambiguous_example
            return order, (f"no date of this file tells day from month (e.g. {ambiguous!r}); "
                           f"read {words} like {name}, whose date {example!r} can only be read {words}"
                           + (f" ({others} other file(s) agree)" if others else ""))
        if not self.proofs:
            return DEFAULT_DATE_ORDER, undecided.basis(DEFAULT_DATE_ORDER)
        day_first, month_first = self._first_proof("dmy"), self._first_proof("mdy")
        conflict = (f"the extract's other files disagree: {day_first[0]} can only be read day first "
                    f"({day_first[1]!r}), {month_first[0]} only month first ({month_first[1]!r})")
        return DEFAULT_DATE_ORDER, undecided.basis(DEFAULT_DATE_ORDER, since=conflict)


def _order_specific_formats(order: str) -> list[str]:
    """The layouts that read differently day-first and month-first (slashes, dots, dashes)."""
    other = candidate_date_formats("mdy" if order == "dmy" else "dmy")
    return [f for f in candidate_date_formats(order) if f not in other]


def _evidence_sql(column: str, source: str) -> str:
    def as_list(formats):
        return "[" + ", ".join(f"'{f}'" for f in formats) + "]"

    return f"""
        with dates as (select nullif(trim({column}), '') as v from {source}),
        read_both_ways as (
            select v, try_strptime(v, {as_list(_order_specific_formats('dmy'))}) as d,
                   try_strptime(v, {as_list(_order_specific_formats('mdy'))}) as m
            -- only a value starting with a day or a month can read both ways: ISO dates skip the formats,
            -- as do Excel serials, Unix times and French month names ('1 mars 2024'), read one way only
            from dates where regexp_matches(v, '^[0-9]{{1,2}}[/.-]')
        )
        select count(*) filter (where d is not null and m is null),
               count(*) filter (where m is not null and d is null),
               count(*) filter (where d <> m),
               min(v) filter (where d is not null and m is null),
               min(v) filter (where m is not null and d is null),
               min(v) filter (where d <> m)
        from read_both_ways"""


def date_order_evidence(con: duckdb.DuckDBPyConnection, relation: str, date_columns: list[str],
                        limit: int | None = None) -> DateOrderEvidence:
    """What the values of `date_columns` in `relation` (text, as read) say, over the first `limit` rows or all."""
    totals = [0, 0, 0, None, None, None]
    source = f"(select * from {relation} limit {int(limit)})" if limit else relation
    for column in date_columns:
        row = con.execute(_evidence_sql(column, source)).fetchall()[0]
        for i in range(3):
            totals[i] += row[i]
        for i in range(3, 6):
            totals[i] = totals[i] or row[i]
    return DateOrderEvidence(*totals)


def needs_whole_column(evidence: DateOrderEvidence) -> bool:
    """The first rows held dates that could be either, and none that could be one only."""
    return evidence.order is None and evidence.ambiguous > 0
