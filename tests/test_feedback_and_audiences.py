"""Feedback themes and marketing audiences: pure functions, then what a full run publishes."""

from __future__ import annotations

import csv
from collections import Counter
from contextlib import closing

import duckdb
import pandas as pd

from pipelines.feedback.themes import feedback_themes, log_odds_z, masked_example, terms_of


def test_comments_are_folded_split_and_stripped_of_stop_words():
    terms = terms_of("Le service client est injoignable ; livraison EN RETARD, très déçu !")
    assert {"service", "client", "injoignable", "livraison", "retard", "deçu".replace("ç", "c")} <= terms
    assert "service client" in terms and "client injoignable" in terms and "livraison retard" in terms
    assert not {"le", "est", "en", "tres"} & terms


def test_a_shop_without_comments_has_no_themes():
    """No answer, or answers without a comment (a small shop): an empty table, not an error."""
    for comments in ([], [None, "  "]):
        frame = pd.DataFrame({
            "customer_key": [f"k{i}" for i in range(len(comments))], "nps_score": [3.0] * len(comments),
            "comment": pd.Series(comments, dtype=object),
            "response_date": pd.to_datetime(["2025-01-01"] * len(comments)),
            "rfm_segment": [None] * len(comments), "tenure_days": [10.0] * len(comments),
            "purchases": [1.0] * len(comments)})
        assert feedback_themes(frame).empty


def test_examples_hide_contact_details():
    text = masked_example("Write to jean.dupont@mail.fr or +33 6 12 34 56 78, see https://shop.example/x")
    assert "@" not in text and "12 34" not in text and "https" not in text
    assert "[e-mail]" in text and "[phone]" in text and "[link]" in text


def test_log_odds_favour_the_side_that_uses_a_term_more():
    detractors = Counter({"retard": 30, "prix": 10})
    promoters = Counter({"rapide": 40, "prix": 12})
    prior = detractors + promoters
    scores = log_odds_z(detractors, 50, promoters, 60, prior, 110).set_index("term")["z_score"]
    assert scores["retard"] > 2 > -2 > scores["rapide"]
    assert abs(scores["prix"]) < abs(scores["retard"])


def test_feedback_and_audiences_read_their_dbt_models_which_are_never_published():
    from pipelines.feedback.assets import feedback_themes_asset
    from pipelines.publish.assets import audiences
    from pipelines.publish.bi_file import PUBLISHED_TABLES

    def upstream_models(asset) -> set[str]:
        return {dep.asset_key.path[-1] for dep in next(iter(asset.specs)).deps}

    assert "survey_comments" in upstream_models(feedback_themes_asset)
    assert "audience_members" in upstream_models(audiences)
    assert not {"survey_comments", "audience_members"} & set(PUBLISHED_TABLES)   # personal data


def test_published_themes_set_detractors_apart_with_pseudonymous_examples(published_workspace):
    workspace, _ = published_workspace
    con = duckdb.connect(str(workspace.bi_db), read_only=True)
    try:
        overall = con.execute("select side, term, example_1 from feedback_themes where scope_type = 'all'").fetchall()
        scopes = {row[0] for row in con.execute("select distinct scope_type from feedback_themes").fetchall()}
    finally:
        con.close()
    detractor_terms = {term for side, term, _ in overall if side == "detractor"}
    promoter_terms = {term for side, term, _ in overall if side == "promoter"}
    assert detractor_terms and promoter_terms and not detractor_terms & promoter_terms
    assert any(word in " ".join(detractor_terms) for word in ("injoignable", "retard", "late", "cher", "abime"))
    assert {"all", "quarter", "rfm_segment", "tenure_band"} <= scopes
    for _, _, example in overall:
        assert example.startswith("c_") and "@" not in example


def test_audiences_hold_only_consented_customers(published_workspace):
    workspace, _ = published_workspace
    directory = workspace.warehouse_dir / "audiences"
    files = sorted(directory.glob("*/*.csv"))
    assert {p.parent.name for p in files} == {"rfm_segment", "health_band"}
    rows = [row for path in files for row in csv.DictReader(path.open())]
    assert rows and all(row["customer_key"].startswith("c_") for row in rows)
    assert sum(bool(row["email"]) for row in rows) > 0.8 * len(rows)  # a few CRM records have no e-mail
    con = duckdb.connect(str(workspace.bi_db), read_only=True)
    try:
        consent = dict(con.execute("select customer_key, has_marketing_consent from customers").fetchall())
        consenting_buyers = con.execute(
            "select count(*) from customers where has_marketing_consent and has_purchased").fetchall()[0][0]
    finally:
        con.close()
    assert all(consent[row["customer_key"]] for row in rows)
    with closing(duckdb.connect(str(workspace.bi_db), read_only=True)) as con:
        published = {name for (name,) in con.execute("select table_name from information_schema.tables").fetchall()}
    assert not {"audience_members", "survey_comments"} & published and "channel_economics" in published
    health_rows = [row for path in files if path.parent.name == "health_band" for row in csv.DictReader(path.open())]
    assert len(health_rows) == len({row["customer_key"] for row in health_rows}) == consenting_buyers
