"""What sets detractors' comments apart from promoters': the terms and two-word phrases of each side.

Comments (French and English) are lower-cased, accents folded, split into words of 3+ letters, stop words
of both languages removed; terms are those words and the two-word phrases of consecutive remaining words.
Each comment counts a term once. A term's score is the log-odds ratio with an informative Dirichlet prior
(Monroe, Colaresi & Quinn 2008, "Fightin' Words", eq. 22), as a z-score: positive = detractors say it
more, negative = promoters do. The prior (the term's frequency over all comments) keeps rare terms from
topping the list on two mentions. Themes are computed for all comments, per quarter, per RFM segment and
per tenure band; examples come from the most loyal customers first (longest tenure, then most purchases,
then a customer's latest comment), shown with their pseudonymous key and with e-mail addresses, phone
numbers and links masked.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass

import numpy as np
import pandas as pd

STOP_WORDS = frozenset("""
a an and are as at be been but by can could did do does for from had has have he her here him his how i if
in into is it its just me more most my no not now of on once only or other our out over own same she should
so some such than that the their them then there these they this those through too under until up very was
we were what when where which while who why will with would you your yours also very really still even
much many get got one two would ive dont cant wont didnt isnt im its thats ever every all any each
alors au aucun aussi autre avant avec avoir bon car ce cela ces cet cette ceux chaque ci comme comment dans
des du donc dos elle elles en encore est et etaient etait etant ete etre eu fait faites fois font hors ici il
ils je juste la le les leur lui ma mais me meme mes moi moins mon ne ni nos notre nous on ont ou par parce
pas peu peut plupart pour pourquoi qu quand que quel quelle quelles quels qui sa sans se ses seulement si
sien son sont sous soyez sur ta tandis te tellement tes toi ton tous tout toute toutes tres trop tu un une
vos votre vous vu deja fois avait aux cest jai etais tjrs toujours rien bien tres
""".split())
MIN_WORD_LENGTH = 3
PRIOR_STRENGTH = 500.0  # total pseudo-count of the Dirichlet prior, spread by each term's overall frequency
TERMS_PER_SIDE = 10
MIN_COMMENTS_PER_SIDE = 5  # a scope with fewer detractor or promoter comments has no themes
EXAMPLE_LENGTH = 240

_WORD = re.compile(r"[a-z]+")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
_PHONE = re.compile(r"\+?\d[\d .-]{7,}\d")
_LINK = re.compile(r"https?://\S+|www\.\S+")


def fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def terms_of(comment: str) -> set[str]:
    words = [w for w in _WORD.findall(fold(comment)) if len(w) >= MIN_WORD_LENGTH and w not in STOP_WORDS]
    return set(words) | {f"{a} {b}" for a, b in zip(words, words[1:])}


def masked_example(comment: str) -> str:
    text = _LINK.sub("[link]", _EMAIL.sub("[e-mail]", comment))
    text = _PHONE.sub("[phone]", text)
    text = " ".join(text.split())
    return text if len(text) <= EXAMPLE_LENGTH else text[: EXAMPLE_LENGTH - 1].rstrip() + "…"


def tenure_band(tenure_days) -> str:
    if pd.isna(tenure_days):  # no purchase yet
        return "no purchase"
    if tenure_days < 182:
        return "under 6 months"
    if tenure_days < 365:
        return "6-12 months"
    if tenure_days < 730:
        return "1-2 years"
    return "2 years or more"


@dataclass(frozen=True)
class Scope:
    scope_type: str
    scope: str


def log_odds_z(detractor_counts: Counter, n_detractors: int, promoter_counts: Counter, n_promoters: int,
               prior_counts: Counter, n_prior: int) -> pd.DataFrame:
    """Monroe et al. (2008) weighted log-odds with an informative Dirichlet prior, on document counts."""
    terms = sorted(set(detractor_counts) | set(promoter_counts))
    if not terms:
        return pd.DataFrame(columns=["term", "z_score", "log_odds", "detractor_comments", "promoter_comments"])
    y_d = np.array([detractor_counts[t] for t in terms], float)
    y_p = np.array([promoter_counts[t] for t in terms], float)
    alpha = PRIOR_STRENGTH * np.array([prior_counts[t] for t in terms], float) / max(n_prior, 1) + 0.01
    alpha0 = PRIOR_STRENGTH
    delta = (np.log((y_d + alpha) / (n_detractors + alpha0 - y_d - alpha))
             - np.log((y_p + alpha) / (n_promoters + alpha0 - y_p - alpha)))
    variance = 1.0 / (y_d + alpha) + 1.0 / (y_p + alpha)
    return pd.DataFrame({"term": terms, "z_score": delta / np.sqrt(variance), "log_odds": delta,
                         "detractor_comments": y_d.astype(int), "promoter_comments": y_p.astype(int)})


def _first_examples(members: pd.DataFrame, wanted: set[str], per_term: int = 2) -> dict[str, list[str]]:
    """The first `per_term` comments (members are in loyalty order) holding each wanted term, in one pass."""
    examples: dict[str, list[str]] = {term: [] for term in wanted}
    missing = set(wanted)
    for customer_key, comment, terms in zip(members["customer_key"], members["comment"], members["terms"]):
        for term in missing & terms:
            examples[term].append(f"{customer_key if isinstance(customer_key, str) else 'anonymous'}: "
                                  f"{masked_example(comment)}")
            if len(examples[term]) == per_term:
                missing.discard(term)
        if not missing:
            break
    return examples


def _term_counter(frame: pd.DataFrame):
    """A function giving, for rows of `frame`, how many of them hold each term (a Counter).

    The (row, term) pairs are coded as integers once; each scope and side then counts with one bincount
    instead of a Counter over its millions of terms (61 of them took half the step at a million customers).
    """
    terms_per_row = np.array([len(terms) for terms in frame["terms"]], dtype=np.int64)  # (no comments: empty)
    row_of_pair = np.repeat(np.arange(len(frame)), terms_per_row)
    codes, vocabulary = pd.factorize(pd.Series([t for terms in frame["terms"] for t in terms], dtype=object))
    position = pd.Series(np.arange(len(frame)), index=frame.index)

    def count(rows: pd.DataFrame) -> Counter:
        selected = np.zeros(len(frame), bool)
        selected[position[rows.index].to_numpy()] = True
        counts = np.bincount(codes[selected[row_of_pair]], minlength=len(vocabulary))
        held = np.flatnonzero(counts)
        return Counter(dict(zip(vocabulary[held], counts[held].tolist())))

    return count


def feedback_themes(comments: pd.DataFrame) -> pd.DataFrame:
    """`comments`: customer_key, nps_score, comment, response_date, rfm_segment, tenure_days, purchases (the
    dbt model survey_comments: the as-of date and erasures already applied).

    One row per scope, side and term: the TERMS_PER_SIDE terms most typical of detractors (0-6) and of
    promoters (9-10) in each scope, with how many comments hold them and two examples.
    """
    frame = comments[comments["comment"].fillna("").str.strip() != ""].copy()
    frame["side"] = np.select([frame["nps_score"] <= 6, frame["nps_score"] >= 9], ["detractor", "promoter"], "passive")
    # Many customers write the same few words: tokenise each distinct comment once.
    frame["terms"] = frame["comment"].map({comment: terms_of(comment) for comment in frame["comment"].unique()})
    # An anonymous answer has no customer, hence no tenure: not to be mistaken for one who never purchased.
    frame["tenure_band"] = (frame["tenure_days"].map(tenure_band)
                            .where(frame["customer_key"].notna(), "anonymous"))
    quarter = pd.to_datetime(frame["response_date"]).dt.to_period("Q").astype(str)
    frame["quarter"] = quarter
    # Loyal customers first: their examples are chosen before anyone else's. A customer's (or the anonymous
    # answers') latest comment first, then by text: the order the warehouse returns them in is no order.
    frame = frame.sort_values(["tenure_days", "purchases", "customer_key", "response_date", "comment"],
                              ascending=[False, False, True, False, True], na_position="last", kind="stable")
    count_terms = _term_counter(frame)
    prior = count_terms(frame)
    scopes = [(Scope("all", "all"), frame)]
    scopes += [(Scope("quarter", q), g) for q, g in frame.groupby("quarter", sort=True)]
    scopes += [(Scope("rfm_segment", s), g) for s, g in frame.groupby(frame["rfm_segment"].fillna("unscored"), sort=True)]
    scopes += [(Scope("tenure_band", b), g) for b, g in frame.groupby("tenure_band", sort=True)]
    rows = []
    for scope, group in scopes:
        detractors, promoters = group[group["side"] == "detractor"], group[group["side"] == "promoter"]
        if len(detractors) < MIN_COMMENTS_PER_SIDE or len(promoters) < MIN_COMMENTS_PER_SIDE:
            continue
        scores = log_odds_z(count_terms(detractors), len(detractors), count_terms(promoters), len(promoters),
                            prior, len(frame))
        for side, members, ascending in (("detractor", detractors, False), ("promoter", promoters, True)):
            column = "detractor_comments" if side == "detractor" else "promoter_comments"
            top = scores[scores[column] >= 2].sort_values(["z_score", "term"], ascending=[ascending, True]).head(
                TERMS_PER_SIDE)
            examples_of = _first_examples(members, set(top["term"]))
            for rank, term in enumerate(top.itertuples(), start=1):
                if (term.z_score > 0) != (side == "detractor"):
                    continue
                examples = examples_of.get(term.term, [])
                rows.append({
                    "scope_type": scope.scope_type, "scope": scope.scope, "side": side, "rank": rank,
                    "term": term.term, "z_score": float(term.z_score), "log_odds": float(term.log_odds),
                    "comments_with_term": int(getattr(term, column)),
                    "detractor_comments_with_term": int(term.detractor_comments),
                    "promoter_comments_with_term": int(term.promoter_comments),
                    "detractor_comments_in_scope": len(detractors), "promoter_comments_in_scope": len(promoters),
                    "example_1": examples[0] if examples else None,
                    "example_2": examples[1] if len(examples) > 1 else None,
                })
    return pd.DataFrame(rows, columns=[
        "scope_type", "scope", "side", "rank", "term", "z_score", "log_odds", "comments_with_term",
        "detractor_comments_with_term", "promoter_comments_with_term", "detractor_comments_in_scope",
        "promoter_comments_in_scope", "example_1", "example_2"])
