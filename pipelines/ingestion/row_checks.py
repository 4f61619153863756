"""Type every value of an extract and give each bad row one reason, as one set-based DuckDB query.

Every check is derived from the contract (contracts.py): a required column may not be empty, a value must
parse as its column's type, a date lie between 1900 and the load day, a currency be the reporting one, a
value be one its column allows (`OneOf`) and a number lie in its column's `Range`.

The input is a batch of text columns named after the contract plus `_source_row`; the output has the
typed columns and, for a rejected row, `_reject_reason`, `_reject_column`, `_reject_detail` and the raw
values as JSON. A row's reason is the first failing check in column order, so it is deterministic.

A file of order lines is checked line by line here for what a line can be wrong about on its own (a
quantity that is not a number, a date that does not exist); what only the whole order can tell (no line
names the customer, the lines net below zero on a completed order) is checked when the lines are rolled
up (order_lines.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from pipelines.ingestion.contracts import (
    Column,
    ColumnType,
    Extract,
    OneOf,
    RejectReason,
)

SQL_TYPES = {
    ColumnType.TEXT: "varchar", ColumnType.IDENTIFIER: "varchar", ColumnType.CURRENCY: "varchar",
    ColumnType.DATE: "date", ColumnType.TIMESTAMP: "timestamp", ColumnType.DECIMAL: "decimal(18, 2)",
    ColumnType.INTEGER: "integer", ColumnType.BOOLEAN: "boolean", ColumnType.QUANTITY: "decimal(18, 4)",
    ColumnType.UNIT_PRICE: "decimal(18, 6)",
}

# Active ISO 4217 codes. An order in one of these but not in the reporting currency is a
# currency_mismatch (convert it upstream); anything else is an unknown_currency.
ISO_4217_CODES = frozenset(
    """AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN
    BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP
    GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD
    KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK
    NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD
    SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD
    XCG XOF XPF YER ZAR ZMW ZWG""".split()
)
# Currency symbols that name one currency: an amount written '£12.50' in a row with no currency code states
# GBP. '$' (dollars of a dozen countries) and '¥' (yen or yuan) state nothing.
CURRENCY_SYMBOLS = {"£": "GBP", "€": "EUR"}
TRUE_WORDS = ("true", "t", "yes", "y", "1", "oui", "o", "vrai")
FALSE_WORDS = ("false", "f", "no", "n", "0", "non", "faux")
# Dates later than the load day (plus a day for time zones) cannot be real yet.
FUTURE_TOLERANCE_DAYS = 1

_TZ_SUFFIX = r"\d:\d\d(:\d\d(\.\d+)?)?\s*(Z|[+-]\d\d(:?\d\d)?)$"
# A time followed by a zone's name: '10:15:00 CET', '10:15 America/New_York'.
_NAMED_ZONE_SUFFIX = r"\d:\d\d(:\d\d(\.\d+)?)?\s+[A-Za-z][A-Za-z_/+-]*$"
_TZ_FORMATS = ["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M:%S%z", "%Y-%m-%dT%H:%M:%S.%f%z",
               "%Y-%m-%d %H:%M:%S.%f%z", "%Y-%m-%dT%H:%M%z", "%Y-%m-%d %H:%M%z"]


@dataclass(frozen=True)
class ParseRules:
    """How to read this file's values: decimal mark and day/month order, from its dialect; the reporting
    currency; the file's shape (one row per order or per order line, a status column or none) and the
    order statuses the shop uses besides the three.

    `date_order` is None until the dates have told (pipelines/ingestion/date_order.py). `date_formats`
    holds, per date column, the format most of the file's first values have ('cast', a strptime format, or
    one of the forms no format reads: 'french month', 'excel serial', 'unix time'): it is tried first,
    because trying a list of formats on every value costs thirty times more.
    """

    decimal: str
    date_order: str | None
    load_date: date
    currency: str
    date_formats: tuple[tuple[str, str], ...] = ()
    line_level: bool = False
    derived: tuple[str, ...] = ()                  # required columns the file lacks, worked out instead
    # The shop's words for the values of a column whose OneOf takes synonyms (orders' status): the
    # contract's, with retentio_sources.yml's.
    status_synonyms: tuple[tuple[str, str], ...] = ()

    def date_format(self, column: str) -> str | None:
        return dict(self.date_formats).get(column)

    def describe(self) -> dict:
        """What changes the outcome of a parse, for its cache key."""
        return {"decimal": self.decimal, "date_order": self.date_order, "currency": self.currency,
                "line_level": self.line_level, "derived": list(self.derived),
                "statuses": [list(pair) for pair in self.status_synonyms]}


def _sql_list(values) -> str:
    return "[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def _numeric_dates(date_order: str | None) -> list[str]:
    """The layouts of a date in digits, which a time may follow: ISO, then the file's day/month order."""
    slash = "%d/%m/%Y" if date_order == "dmy" else "%m/%d/%Y"
    dotted = "%d.%m.%Y" if date_order == "dmy" else "%m.%d.%Y"
    dashed = "%d-%m-%Y" if date_order == "dmy" else "%m-%d-%Y"
    # Two-digit years ('01/23/24') before four: '%Y' reads '24' as the year 24. The first format of those
    # that read a column equally well is the one kept (parsing._with_likely_date_formats).
    short_year = [f.replace("%Y", "%y") for f in (slash, dotted, dashed)]
    return ["%Y-%m-%d", *short_year, slash, dotted, dashed]


def _date_formats(date_order: str | None) -> list[str]:
    numeric_dates = _numeric_dates(date_order)
    # English month names ('Mar 1, 2024', '01-Mar-2024'), compact dates ('20240301'), and a month alone
    # ('2024-01', a monthly spend sheet), read as its first day. Two-digit years first here too: French
    # abbreviations are English ones ('1 oct 24', '01-mar-24'), and '%Y' would read the year 24.
    named_month_four = ["%b %d, %Y", "%B %d, %Y", "%d %b %Y", "%d %B %Y", "%d-%b-%Y"]
    named_month = [f.replace("%Y", "%y") for f in named_month_four] + named_month_four
    formats = [*numeric_dates, "%Y/%m/%d", *named_month, "%Y%m%d", "%Y-%m"]
    # US exports write 12-hour times: '3/1/2024 2:15:00 PM'.
    times = [" %H:%M:%S", " %H:%M:%S.%f", " %H:%M", "T%H:%M:%S", "T%H:%M:%S.%f", "T%H:%M",
             " %I:%M:%S %p", " %I:%M %p"]
    return formats + [f + t for f in numeric_dates for t in times]


def _french_time_formats(date_order: str | None) -> list[str]:
    """French exports write the hour with an 'h', with or without minutes, maybe after 'à'
    ('01/03/2024 14h', '2024-03-01 à 14h05'): tried after every other layout, by values with an 'h' or an
    'à' only."""
    french_times = [" %Hh%M", " %Hh", " à %Hh%M", " à %Hh", " à %H:%M"]
    return [f + t for f in _numeric_dates(date_order) for t in french_times]


def candidate_date_formats(date_order: str) -> list[str]:
    """Every naive date/time layout accepted, in the order they are tried."""
    return _date_formats(date_order) + _french_time_formats(date_order)


# French exports name the month in French ('1 mars 2024', '1er févr. 2024 14:05'); accents and capitals are
# folded before the look-up ('Août', 'aout', 'DÉC.').
FRENCH_MONTHS = {
    "janvier": 1, "janv": 1, "jan": 1, "fevrier": 2, "fevr": 2, "fev": 2, "mars": 3, "mar": 3, "avril": 4,
    "avr": 4, "mai": 5, "juin": 6, "juillet": 7, "juil": 7, "juill": 7, "aout": 8, "septembre": 9,
    "sept": 9, "sep": 9, "octobre": 10, "oct": 10, "novembre": 11, "nov": 11, "decembre": 12, "dec": 12,
}
# a day of the week, skipped; day (with '1er' for the first; none for a month alone), month word (maybe
# with its abbreviation's point), year, apart by spaces or dashes ('01-mars-2024'); a time, maybe after
# 'à', with ':' or 'h' ('14h05'), or the hour alone ('14h')
_WEEKDAYS = "lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche|lun|mar|mer|jeu|ven|sam|dim"
_FRENCH_TIME = r",?(?:\s+a)?(\s+\d{1,2}(?:[:h]\d\d(?::\d\d)?|h))?$"
_FRENCH_DATE = (rf"^(?:(?:{_WEEKDAYS})\.?,?\s+)?(?:(\d{{1,2}})(?:er)?[\s-]+)?([a-z]+)\.?[\s-]+(\d{{4}})"
                + _FRENCH_TIME)
# The same with a two-digit year ('1 mars 24'), the day required: 'mars 24' may be the 24th of March.
_FRENCH_DATE_SHORT_YEAR = (rf"^(?:(?:{_WEEKDAYS})\.?,?\s+)?(\d{{1,2}})(?:er)?[\s-]+([a-z]+)\.?[\s-]+(\d\d)"
                           + _FRENCH_TIME)
# The layouts of a French date once rewritten (french_month_sql): '14h' has become '14:'; a two-digit year
# follows a '~', which no layout of a four-digit year reads ('%Y' would read '24' as the year 24).
_FRENCH_REWRITTEN_LAYOUTS = ["%Y-%m-%d", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-", "%Y-%m-%d %H:",
                             "~%y-%m-%d", "~%y-%m-%d %H:%M", "~%y-%m-%d %H:%M:%S", "~%y-%m-%d %H:"]
# Excel's serial days, read from 1990-01-01 to 2100-01-01 (both five digits long); Unix times of ten digits
# (seconds) or thirteen (milliseconds) start in September 2001 and are read until 2100-01-01.
_FIRST_SERIAL, _LAST_SERIAL = "32874", "73051"
_UNIX_2100 = "4102444800"


def french_month_sql(value: str) -> str:
    """SQL reading the trimmed text `value` as a date (and time) whose month is a French word, NULL when
    it is not one. 'mars 2024', a month alone, is its first day, as '2024-03' is. A two-digit year is read
    as '%y' reads '01/03/24': 00 to 68 are 2000 to 2068, 69 to 99 are 1969 to 1999 ('1 mars 24' is
    2024-03-01; a year after the load day is a future_date anyway).

    DuckDB's %b and %B read English only: the value is rewritten '2024-mars-1 14:05' ('~24-mars-1 14:05'
    with a two-digit year), then the month's word, between its dashes, becomes its number. Each function is
    written once: DuckDB computes an expression written twice for every row, before the coalesce that
    spares the values read earlier.
    """
    rewritten = f"regexp_replace(strip_accents(lower({value})), '{_FRENCH_DATE}', '\\3-\\2-\\1\\4')"
    # A four-digit year's rewriting ('2024-mars-1') never matches the pattern of a two-digit one.
    rewritten = f"regexp_replace({rewritten}, '{_FRENCH_DATE_SHORT_YEAR}', '~\\3-\\2-\\1\\4')"
    for word, number in FRENCH_MONTHS.items():
        rewritten = f"replace({rewritten}, '-{word}-', '-{number:02d}-')"
    rewritten = f"replace({rewritten}, 'h', ':')"  # no month's word is left: only a time's 'h' ('14h05')
    return f"try_strptime({rewritten}, {_sql_list(_FRENCH_REWRITTEN_LAYOUTS)})"


def excel_serial_sql(value: str) -> str:
    """SQL reading the trimmed text `value` as an Excel serial date, NULL when it is not one.

    A CSV file saved from Excel with its date column formatted as a number holds each day's serial: the
    days since 1899-12-30 (Excel's 1900 system counts a 29 February 1900 that never was, so its day 1 is
    1900-01-01), 45352 for 2024-03-01; decimals are the time of day ('45352.75' or, from a French Excel,
    '45352,75': 18:00), rounded to the second. Serials of five digits from 1990 to 2100 only: another number
    in a date column is not a date. They are compared as text (of one length, text orders as numbers), so
    that only a serial is cast.
    """
    return (f"case when regexp_matches({value}, '^[0-9]{{5}}([.,][0-9]+)?$') "
            f"and left({value}, 5) between '{_FIRST_SERIAL}' and '{_LAST_SERIAL}' "
            f"then timestamp '1899-12-30' "
            f"+ to_seconds(round(cast(replace({value}, ',', '.') as double) * 86400)) end")


def unix_time_sql(value: str) -> str:
    """SQL reading the trimmed text `value` as a Unix time, in UTC, NULL when it is not one.

    Stripe and most APIs write seconds since 1970 (1709294400, ten digits) or milliseconds (1709294400000,
    thirteen). Only those before 2100: as text, a thirteen-digit value lies below the ten digits of
    2100-01-01 exactly when its seconds do.
    """
    return (f"case when regexp_matches({value}, '^[1-9][0-9]{{9}}([0-9]{{3}})?$') "
            f"and {value} < '{_UNIX_2100}' then epoch_ms(cast(rpad({value}, 13, '0') as bigint)) end")


def _date_forms_beyond_formats(value: str) -> dict[str, str]:
    """The dates no strptime format reads, by the name the likely-format search gives them: SQL over the
    trimmed text `value`, each NULL on any other value."""
    return {"french month": french_month_sql(value), "excel serial": excel_serial_sql(value),
            "unix time": unix_time_sql(value)}


def year_first_cast_sql(value: str) -> str:
    """DuckDB's cast of a date, for the values that start with a four-digit year (2024-03-01, 2024/3/1,
    2024-03-01T10:15): the cast also reads 15/03/24 as the 24th of March of the year 15, where the formats
    read the 15th of March 2024."""
    return f"try_cast(case when substring({value}, 5, 1) in ('-', '/') then {value} end as timestamp)"


def detect_date_format_sql(value: str, date_order: str) -> str:
    """SQL giving, over a sample, how many values each candidate format, and each form no format reads,
    parses (to pick the likeliest)."""
    counts = ", ".join(f"count(try_strptime({value}, '{f}')) as \"{f}\""
                       for f in candidate_date_formats(date_order))
    beyond = ", ".join(f"count({sql}) as \"{name}\""
                       for name, sql in _date_forms_beyond_formats(value).items())
    return f"count({year_first_cast_sql(value)}) as \"cast\", {counts}, {beyond}"


def identifier_sql(value: str) -> str:
    """SQL: the customer id the trimmed text `value` names, NULL when it cannot name one exactly.

    Spreadsheets and pandas write a numeric id column holding blanks as floats (17850.0); the same customer
    elsewhere is 17850. Only values with a point pay for the regular expression. An id a spreadsheet showed
    in scientific notation (1.23457E+11) has lost its last digits: read as such, different customers would
    become one, so it does not parse (invalid_identifier). An e-mail address used as the id (a shop without
    customer numbers) is compared in lower case: Jean.Dupont@Gmail.com and jean.dupont@gmail.com are one
    customer. Shopify's customer export writes '7000000001 (the quote stops Excel from rounding it): the
    quote goes. Erasure requests name customers the same way (erasure.py).
    """
    return (f"case when contains({value}, '+') and regexp_matches({value}, '{SCIENTIFIC_NOTATION}') "
            f"then null "
            f"when starts_with({value}, chr(39)) then ltrim({value}, chr(39)) "  # chr(39): a quote
            f"when contains({value}, '@') then lower({value}) "
            f"when contains({value}, '.') then regexp_replace({value}, '^([0-9]+)\\.0+$', '\\1') "
            f"else {value} end")


def _parse_expression(kind: ColumnType, value: str, rules: ParseRules, column: str = "") -> str:
    """SQL turning the trimmed text `value` into the column's type, NULL when it does not parse."""
    if kind in (ColumnType.TEXT,):
        return value
    if kind is ColumnType.IDENTIFIER:
        return identifier_sql(value)
    if kind is ColumnType.CURRENCY:
        return f"coalesce(upper({value}), '{rules.currency}')"
    if kind in (ColumnType.DATE, ColumnType.TIMESTAMP):
        likely = rules.date_format(column)
        beyond_formats = _date_forms_beyond_formats(value)
        if likely == "cast":
            # The file's first rows all start with a four-digit year: cast without the guard, which costs
            # a quarter of a second per 10M values (a later 15/03/24 is read as the year 15, and
            # quarantined as before 1900, not loaded wrong).
            first_try = f"try_cast({value} as timestamp)"
        elif likely is None:
            first_try = year_first_cast_sql(value)
        elif likely in beyond_formats:
            first_try = beyond_formats.pop(likely)
        else:
            first_try = f"try_strptime({value}, '{likely}')"
        # coalesce evaluates its later arguments only for the values the first one left null: ISO dates
        # (most) never reach the formats, nor the French months, serials and Unix times after them.
        every_format = _sql_list(_date_formats(rules.date_order))
        french_time = (f"case when contains({value}, 'h') or contains({value}, 'à') "
                       f"then try_strptime({value}, {_sql_list(_french_time_formats(rules.date_order))}) end")
        naive = (f"coalesce({first_try}, try_strptime({value}, {every_format}), {french_time}, "
                 f"{', '.join(beyond_formats.values())})")
        # Shopify writes '2025-10-07 09:50:26 +0200': the space before the offset goes.
        offset_joined = f"regexp_replace(regexp_replace({value}, '\\s*Z$', '+00:00'), '\\s+([+-]\\d\\d:?\\d\\d)$', '\\1')"
        zoned = f"(try_strptime({offset_joined}, {_sql_list(_TZ_FORMATS)}) at time zone 'UTC')"
        # DuckDB's cast drops a trailing word: a zone's name ('10:15 CET') or an AM/PM ('02:15 PM' at 02:15).
        # Values ending in a letter (one cheap test: most values end in a digit) are read without it: AM/PM
        # by the formats alone, a zone's name as a timestamptz, which knows the IANA names and the common
        # abbreviations; any other word leaves the value unread (invalid_date) rather than ignored.
        # A French hour ('01/03/2024 14h') ends in a letter but is no word: it goes where dates ending in a
        # digit go.
        ends_in_word = (f"ord(substring({value}, length({value}), 1)) > 64 "
                        f"and not regexp_matches({value}, '[0-9][hH]$')")
        twelve_hour = f"try_strptime({value}, {every_format})"
        in_named_zone = (f"case when regexp_matches({value}, '{_NAMED_ZONE_SUFFIX}') "
                         f"then (try_cast({value} as timestamptz) at time zone 'UTC') end")
        parsed = (f"case when regexp_matches({value}, '{_TZ_SUFFIX}') then {zoned} "
                  f"when {ends_in_word} then (case when upper(right({value}, 2)) in ('AM', 'PM') "
                  f"then {twelve_hour} else {in_named_zone} end) else {naive} end")
        return f"cast({parsed} as date)" if kind is ColumnType.DATE else f"cast({parsed} as timestamp)"
    if kind in (ColumnType.DECIMAL, ColumnType.QUANTITY, ColumnType.UNIT_PRICE):
        sql_type = SQL_TYPES[kind]
        # Accounting exports write a negative amount in parentheses, '(12.50)', or with its sign after it,
        # '12.50-' (SAP): only a value nothing else reads pays for the regular expressions.
        unsigned = f"regexp_replace({value}, '{_ACCOUNTING_NEGATIVE}', '\\1\\2')"
        accounting = (f"case when regexp_matches({value}, '{_ACCOUNTING_NEGATIVE}') "
                      f"then -({_number_sql(unsigned, sql_type, rules)}) end")
        return f"coalesce({_number_sql(value, sql_type, rules)}, {accounting})"
    if kind is ColumnType.INTEGER:
        # A score must be a whole number: casting '7.5' straight to integer would round it to 8. Survey tools
        # label the ends of the scale ('10 - Extremely likely'): the number before the label is the score.
        as_double = _number_sql(value, "double", rules)
        labelled = (f"case when regexp_matches({value}, '{_LABELLED_NUMBER}') "
                    f"then cast(regexp_extract({value}, '^[0-9]+') as integer) end")
        whole = f"case when {as_double} = floor({as_double}) then cast({as_double} as integer) end"
        return f"coalesce({whole}, {labelled})"
    if kind is ColumnType.BOOLEAN:
        return (f"case when lower({value}) in {tuple(TRUE_WORDS)} then true "
                f"when lower({value}) in {tuple(FALSE_WORDS)} then false end")
    raise ValueError(f"no parser for {kind}")


SCIENTIFIC_NOTATION = r"^[0-9](\.[0-9]+)?[eE]\+[0-9]+$"
_ACCOUNTING_NEGATIVE = r"^\((.+)\)$|^([^-].*)-$"
_LABELLED_NUMBER = r"^[0-9]+\s*[-–—:]\s*[^0-9\s]"


def _number_sql(value: str, sql_type: str, rules: ParseRules) -> str:
    """SQL reading the trimmed text `value` as a number of `sql_type`, NULL when it is none.

    Currency symbols go; no-break spaces are thousands separators; a sign before the symbol ('-£2.00', as
    Excel's currency format writes a refund) joins the digits.
    """
    cleaned = f"regexp_replace({value}, '[€$£]', '', 'g')"
    cleaned = f"trim(regexp_replace({cleaned}, '[\u00a0\u202f\\s]+', ' ', 'g'))"
    cleaned = f"regexp_replace({cleaned}, '^([+-]) ', '\\1')"
    # `normalised` is written from `value`, not from `cleaned`: were `cleaned` written twice, DuckDB
    # would compute it once for every row, regular expressions and all, before the CASE that spares the
    # plain numbers (a third of the typing time of ten million orders). On a value whose cleaned form
    # matches `pattern`, dropping every character but digits, signs and the marks it keeps is the same.
    if rules.decimal == ",":
        pattern = r"^[+-]?(\d{1,3}([ .]\d{3})+|\d+)(,\d+)?$"
        normalised = f"replace(regexp_replace({value}, '[^0-9+,-]', '', 'g'), ',', '.')"
    else:
        pattern = r"^[+-]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?$"
        normalised = f"regexp_replace({value}, '[^0-9+.-]', '', 'g')"
    # Plain numbers (most of them) are cast directly; only the rest pay for the regular expression.
    plain = (f"try_cast(replace({value}, ',', '.') as {sql_type})" if rules.decimal == ","
             else f"try_cast({value} as {sql_type})")
    plain_guard = f"not contains({value}, '.')" if rules.decimal == "," else "true"
    return (f"coalesce(case when {plain_guard} then {plain} end, "
            f"case when regexp_matches({cleaned}, '{pattern}') then try_cast({normalised} as {sql_type}) end)")


_INVALID_REASON = {
    ColumnType.IDENTIFIER: (RejectReason.INVALID_IDENTIFIER, "is a number in scientific notation: a "
                            "spreadsheet rounded the id; export the column as text"),
    ColumnType.DATE: (RejectReason.INVALID_DATE, "is not a valid date"),
    ColumnType.TIMESTAMP: (RejectReason.INVALID_DATE, "is not a valid date and time"),
    ColumnType.DECIMAL: (RejectReason.INVALID_NUMBER, "is not a number"),
    ColumnType.QUANTITY: (RejectReason.INVALID_NUMBER, "is not a quantity"),
    ColumnType.UNIT_PRICE: (RejectReason.INVALID_NUMBER, "is not a price"),
    ColumnType.INTEGER: (RejectReason.INVALID_NUMBER, "is not a whole number"),
    ColumnType.BOOLEAN: (RejectReason.INVALID_BOOLEAN, "is not yes/no, true/false, oui/non or 1/0"),
}


def _quoted(raw: str) -> str:
    """The offending value, shortened, for a human-readable detail."""
    return f"'''' || left({raw}, 80) || ''''"


def _words(words: str) -> str:
    """`words` as the end of a detail: a SQL string starting with a space."""
    return "' " + words.replace("'", "''") + "'"


def allowed_value_sql(text: str, allowed: OneOf, rules: ParseRules) -> str:
    """The value `text` states, as one of the allowed values (orders: completed | refunded | cancelled);
    NULL when it is none of them, nor a shop's word for one.

    The values themselves (most rows) are settled by the first branch; only the shop's own words pay for
    normalising (lower case, accents folded, spaces and hyphens as underscores, as source_config.status_key)
    and the look-up.
    """
    canonical = _sql_list(allowed.values)[1:-1]
    synonyms = rules.status_synonyms if allowed.synonyms else ()
    if not synonyms:
        return f"case when lower({text}) in ({canonical}) then lower({text}) end"
    keyed = f"regexp_replace(strip_accents(lower(trim({text}))), '[\\s-]+', '_', 'g')"
    lookup = " ".join(f"when '{word}' then '{meaning}'" for word, meaning in synonyms)
    return f"case when lower({text}) in ({canonical}) then lower({text}) else (case {keyed} {lookup} end) end"


def range_violated_sql(column: Column) -> str:
    """SQL true when the typed value of `column` lies outside its declared Range."""
    rule, typed = column.range, f"p_{column.name}"
    if rule.minimum is not None and rule.maximum is not None:
        outside = f"{typed} not between {rule.minimum} and {rule.maximum}"
    elif rule.minimum is not None:
        outside = f"{typed} < {rule.minimum}"
    else:
        outside = f"{typed} > {rule.maximum}"
    if rule.only_when is None:
        return outside
    other, value = rule.only_when
    return f"{outside} and p_{other} = '{value}'"


def _column_checks(extract: Extract, rules: ParseRules) -> list[tuple[str, str, RejectReason, str]]:
    """(column, SQL condition, reason, SQL detail), in the order they are tried."""
    checks = []
    stated_per_order = set(extract.lines.stated_per_order) if rules.line_level else set()
    for column in extract.file_columns(rules.line_level):
        text, typed = f"t_{column.name}", f"p_{column.name}"
        if column.name in rules.derived:
            # Not in the file: worked out from the other columns; from optional ones, it may be left empty (a
            # customer without an e-mail address).
            needs = extract.derived_when_absent[column.name].needs
            if column.required and needs:
                checks.append((column.name, f"({_typed_value(extract, column.name, rules)}) is null",
                               RejectReason.MISSING_VALUE,
                               f"'required value is empty (it is worked out from {', '.join(needs)})'"))
            continue
        # A line may leave what its order states elsewhere empty: the roll-up checks the order has it.
        if column.required and column.name not in stated_per_order:
            checks.append((column.name, f"{text} is null", RejectReason.MISSING_VALUE,
                           "'required value is empty'"))
        if column.type in _INVALID_REASON:
            reason, words = _INVALID_REASON[column.type]
            checks.append((column.name, f"{text} is not null and {typed} is null", reason,
                           f"{_quoted(text)} || ' {words}'"))
        if column.type in (ColumnType.DATE, ColumnType.TIMESTAMP):
            checks.append((column.name, f"year({typed}) < 1900", RejectReason.INVALID_DATE,
                           f"{_quoted(text)} || ' is before 1900'"))
            checks.append((
                column.name,
                f"cast({typed} as date) > date '{rules.load_date.isoformat()}' + {FUTURE_TOLERANCE_DAYS}",
                RejectReason.FUTURE_DATE,
                f"{_quoted(text)} || ' is after the load date {rules.load_date.isoformat()}'",
            ))
        if column.type is ColumnType.CURRENCY:
            unknown = f"{typed} not in {_sql_list(sorted(ISO_4217_CODES))[1:-1].join('()')}"
            if rules.currency in ISO_4217_CODES:
                # A CASE compares with the codes one by one: the reporting currency (most rows) goes first.
                unknown = f"{typed} <> '{rules.currency}' and {unknown}"
            checks.append((column.name, unknown,
                           RejectReason.UNKNOWN_CURRENCY, f"{_quoted(text)} || ' is not an ISO 4217 code'"))
            checks.append((column.name, f"{typed} <> '{rules.currency}'", RejectReason.CURRENCY_MISMATCH,
                           f"{_quoted(typed)} || ' is not the reporting currency {rules.currency}'"))
        if column.allowed is not None:
            checks.append((column.name, f"{text} is not null and {typed} is null", column.allowed.reason,
                           f"{_quoted(text)} || {_words(column.allowed.otherwise)}"))
        if column.range is not None:
            checks.append((column.name, range_violated_sql(column), column.range.reason,
                           f"{_quoted(text)} || {_words(column.range.otherwise)}"))
    return checks


def _stated_text(column: Column, columns: tuple[Column, ...]) -> str:
    """The column's text, NULL when empty; an empty currency is the one the money column's symbol names."""
    if column.type is ColumnType.CURRENCY:
        return stated_currency_sql(column.name, columns)
    return f"nullif(r.{column.name}, '')"


def stated_currency_sql(currency: str, columns: tuple[Column, ...]) -> str:
    """SQL over a row `r` of trimmed text: the currency it states, its `currency` cell, else the one its
    money column's symbol names (CURRENCY_SYMBOLS); NULL for none. The ingestion's typing and the count of
    what a file not yet parsed states (currency.py) both use it."""
    text = f"nullif(r.{currency}, '')"
    money = next((c.name for c in columns if c.type in (ColumnType.DECIMAL, ColumnType.UNIT_PRICE)), None)
    return text if money is None else f"coalesce({text}, {currency_of_symbol_sql(f'r.{money}')})"


def stated_currency_of_raw_record_sql(raw_record: str = "raw_record") -> str:
    """SQL: the currency a quarantined row stated, from its raw record (the JSON of its text values): its
    currency code, else the one its amount's symbol names."""
    money = (f"coalesce(json_extract_string({raw_record}, '$.amount'), "
             f"json_extract_string({raw_record}, '$.unit_price'))")
    return (f"coalesce(nullif(upper(trim(json_extract_string({raw_record}, '$.currency'))), ''), "
            f"{currency_of_symbol_sql(money)})")


def currency_of_symbol_sql(amount_text: str) -> str:
    """SQL: the currency the symbol in `amount_text` names (CURRENCY_SYMBOLS), NULL for none."""
    return "case " + " ".join(f"when contains({amount_text}, '{symbol}') then '{code}'"
                              for symbol, code in CURRENCY_SYMBOLS.items()) + " end"


def _parsed_value(column: Column, rules: ParseRules) -> str:
    """SQL typing the trimmed text of `column`, NULL when it does not parse or is not an allowed value."""
    text = f"t_{column.name}"
    if column.allowed is not None:
        return allowed_value_sql(text, column.allowed, rules)
    return _parse_expression(column.type, text, rules, column.name)


def _typed_value(extract: Extract, column: str, rules: ParseRules) -> str:
    """The output value of `column`: parsed, or worked out when the file does not have it (a file of order
    lines leaves that to the roll-up, per order)."""
    stated_per_order = extract.lines.stated_per_order if rules.line_level else ()
    if column in rules.derived and column not in stated_per_order:
        typed_values = {c.name: f"p_{c.name}" for c in extract.columns}
        return extract.derived_when_absent[column].sql.format(**typed_values)
    return f"p_{column}"


def typed_rows_sql(extract: Extract, rules: ParseRules, relation: str = "batch") -> str:
    """The query that types and checks every row of `relation` (values already trimmed by the reader).

    Besides the file's columns, typed, the output has `_stated_currency` for an extract with a currency:
    the code as the file wrote it (or as the amount's symbol names it), before an empty one became the
    reporting currency (pipelines/ingestion/currency.py counts them).
    """
    columns = extract.file_columns(rules.line_level)
    trimmed = ",\n    ".join(f"{_stated_text(c, columns)} as t_{c.name}" for c in columns)
    parsed = ",\n    ".join(f"{_parsed_value(c, rules)} as p_{c.name}" for c in columns)
    checks = _column_checks(extract, rules)
    # Each condition is evaluated once, into the number of the first failing check.
    first_failure = "case " + " ".join(f"when {cond} then {i}" for i, (_, cond, _, _) in enumerate(checks, 1)) + " end"
    reasons = _sql_list([reason.value for _, _, reason, _ in checks])
    check_columns = _sql_list([column for column, _, _, _ in checks])
    detail = "case _check " + " ".join(f"when {i} then {det}" for i, (_, _, _, det) in enumerate(checks, 1)) + " end"
    typed_out = ",\n    ".join(f"{_typed_value(extract, c.name, rules)} as {c.name}" for c in columns)
    currency = next((c for c in columns if c.type is ColumnType.CURRENCY), None)
    if currency is not None:
        typed_out += f",\n    case when t_{currency.name} is not null then p_{currency.name} end as _stated_currency"
    raw_json = ("cast(to_json(struct_pack(" + ", ".join(f"{c.name} := r.{c.name}" for c in columns)
                + ")) as varchar)")
    return f"""
with trimmed as (
  select r.*,
    {trimmed}
  from {relation} as r
),
parsed as (
  select *,
    {parsed}
  from trimmed as r
),
checked as (
  select *, {first_failure} as _check
  from parsed as r
)
select
    r._source_row,
    {typed_out},
    {reasons}[_check] as _reject_reason,
    {check_columns}[_check] as _reject_column,
    {detail} as _reject_detail,
    case when _check is not null then {raw_json} end as _raw_record
from checked as r
"""
