"""What dbt gives a model's Jinja beyond sqlfluff's own dbt builtins (ref, source, config, var, this,
is_incremental), for sqlfluff's jinja templater (`library_path` in .sqlfluff): every name defined here is a
variable of the templates it renders.

The jinja templater lints without a dbt connection, parse or warehouse (the dbt templater needs all three,
and compiles each model through dbt: several times slower). These stand-ins render what the macros would
call as plain SQL of the same shape, e.g. `adapter.dispatch('first_by')(value, ordering)` as
`first_by(value, ordering)`: the model's own SQL, which is what the lint judges, is unchanged.
"""

from __future__ import annotations


def _sql(value) -> str:
    if isinstance(value, (list, tuple)):
        return ", ".join(_sql(item) for item in value)
    return str(value)


def _call(name: str):
    def render(*args, **kwargs) -> str:
        return f"{name}({', '.join(_sql(a) for a in [*args, *kwargs.values()])})"
    return render


class _Adapter:
    """`adapter.dispatch(name)` returns a stand-in for the engine's macro; sources stay their relation."""

    def dispatch(self, name: str, macro_namespace: str | None = None):
        if name == "source_relation":
            return lambda relation, *_: relation
        return _call(name)

    def quote(self, identifier: str) -> str:
        return f'"{identifier}"'


class _Dbt:
    """dbt's cross-database macros (`dbt.dateadd`, `dbt.type_string`, ...)."""

    def type_string(self) -> str:
        return "varchar"

    def generate_series(self, upper_bound) -> str:
        return f"select generate_series as generated_number from generate_series(1, {upper_bound})"

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return _call(name)


class _Builtins:
    """`builtins.source(...)`, which macros/sources.sql wraps: a relation's name."""

    def source(self, source_name: str, table_name: str) -> str:
        return f"{source_name}__{table_name}"

    def ref(self, *names: str, **_) -> str:
        return names[-1]


class _Target:
    type = "duckdb"
    name = "duckdb"
    schema = "main"
    database = "retentio"


def env_var(name: str, default: str = "") -> str:
    return default


adapter = _Adapter()
dbt = _Dbt()
builtins = _Builtins()
target = _Target()
execute = False
