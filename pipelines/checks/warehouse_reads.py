"""Reading the warehouse from a check: read-only, and closed at once, since the run's next step writes it."""


def one_row(warehouse_db, sql: str) -> tuple:
    import duckdb  # loads when a step runs, not with the code location

    con = duckdb.connect(str(warehouse_db), read_only=True)
    try:
        return con.execute(sql).fetchone()
    finally:
        con.close()
