"""Reading the warehouse from a check: read-only, and closed at once, since the run's next step writes it."""


from contextlib import contextmanager


@contextmanager
def _read_only(warehouse_db):
    import duckdb  # loads when a step runs, not with the code location

    con = duckdb.connect(str(warehouse_db), read_only=True)
    try:
        yield con
    finally:
        con.close()


def one_row(warehouse_db, sql: str) -> tuple:
    with _read_only(warehouse_db) as con:
        return con.execute(sql).fetchone()


def rows_as_dicts(warehouse_db, sql: str) -> list[dict]:
    with _read_only(warehouse_db) as con:
        result = con.execute(sql)
        columns = [d[0] for d in result.description]
        return [dict(zip(columns, row)) for row in result.fetchall()]
