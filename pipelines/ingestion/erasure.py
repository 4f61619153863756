"""Erasure requests: customers who asked to be forgotten (`erasure_requests*.csv` in the landing directory).

The next run anonymises them where their data is read: each erased customer's id becomes an opaque token
(`erased-000001`, in request order), their e-mail, name and survey comments are emptied, their consent is
set to no, and any rejected row mentioning them keeps only its reason. Their orders and answers stay, under
the token, so every aggregate (retention, cohorts, revenue, NPS) is what it was; customer-level tables,
exports and audiences leave them out. Copies that could still hold their data (cached parses, earlier raw
versions, the warehouse file, earlier exports) are removed.

The landing directory holds the business's own exports: those must be corrected where they are produced.
Which requests a step's output reflects (the erasure state) is recorded with pipelines/shared.py.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.ingestion.row_checks import identifier_sql

ERASED_PREFIX = "erased-"
REQUEST_FILE_PREFIX = "erasure_requests"


class ErasureRequestError(ValueError):
    pass


@dataclass(frozen=True)
class ErasureRequests:
    tokens: dict[str, str] = field(default_factory=dict)  # customer_id -> token

    @property
    def fingerprint(self) -> str:
        if not self.tokens:
            return ""
        return hashlib.blake2b("\n".join(sorted(self.tokens)).encode(), digest_size=8).hexdigest()

    def __bool__(self) -> bool:
        return bool(self.tokens)


def read_erasure_requests(landing_dir: Path) -> ErasureRequests:
    import duckdb

    files = sorted(p for p in landing_dir.glob(f"{REQUEST_FILE_PREFIX}*.csv") if p.is_file()) if landing_dir.is_dir() else []
    if not files:
        return ErasureRequests()
    con = duckdb.connect()
    try:
        rows = []
        for path in files:
            try:
                relation = con.read_csv(str(path), all_varchar=True, header=True)
            except duckdb.Error as exc:
                raise ErasureRequestError(f"file {path.name}: not a readable CSV ({exc})") from None
            if "customer_id" not in relation.columns:
                raise ErasureRequestError(f"file {path.name}: column 'customer_id' missing (found {relation.columns})")
            requested = "requested_at" if "requested_at" in relation.columns else "null"
            # The id as the extracts' rows are typed (an e-mail address in lower case), so that they match.
            named = identifier_sql("trim(customer_id)")
            rows += con.execute(
                f"select {named}, {requested} from relation where nullif({named}, '') is not null"
            ).fetchall()
    finally:
        con.close()
    ordered = sorted({cid: req for cid, req in sorted(rows, key=lambda r: (r[1] or "", r[0]), reverse=True)}.items(),
                     key=lambda item: (item[1] or "", item[0]))
    return ErasureRequests({cid: f"{ERASED_PREFIX}{position:06d}" for position, (cid, _) in enumerate(ordered, 1)})


def anonymised_rows_sql(extract_name: str, typed: str, erased: str) -> str:
    """Wrap the typed rows of one file (`typed`) so erased customers' values are replaced.

    `erased` is a relation (customer_id, token). Accepted rows are matched on customer_id; rejected rows on
    any mention of an erased id in their raw text, since their customer_id may not have parsed.
    """
    replaced = {"customer_id": "coalesce(e.token, t.customer_id)"}
    if extract_name == "customers":
        replaced |= {"email": "case when e.token is null then t.email end",
                     "full_name": "case when e.token is null then t.full_name end",
                     "marketing_consent": "case when e.token is null then t.marketing_consent else false end"}
    if extract_name == "survey_responses":
        replaced["comment"] = "case when e.token is null then t.comment end"
    # An e-mail address is compared in lower case (row_checks.identifier_sql): so is the raw text it is in.
    raw_text = "case when contains(m.customer_id, '@') then lower(t._raw_record) else t._raw_record end"
    mentioned = (f"exists (select 1 from {erased} as m "
                 f"where t._raw_record is not null and contains({raw_text}, m.customer_id))")
    replaced |= {
        "_raw_record": f"case when {mentioned} then '{{\"erased\": true}}' else t._raw_record end",
        "_reject_detail": f"case when {mentioned} then 'details removed (erasure request)' else t._reject_detail end",
    }
    replacements = ", ".join(f"{expression} as {column}" for column, expression in replaced.items())
    return (f"select t.* replace ({replacements}) from ({typed}) as t "
            f"left join {erased} as e on e.customer_id = t.customer_id")
