"""Free-text survey comments, in French and English, whose vocabulary depends on the score.

Detractors complain about late deliveries, an unreachable customer service, prices and damaged
parcels; promoters praise quality, fast delivery and friendly staff; everyone mentions neutral things
(the order, the website). That difference is the signal a later feature looks for.

The texts are deliberately awkward to parse: accents, `;`, commas, double quotes and line breaks. A few
hold characters Latin-1 cannot encode (emoji, typographic apostrophes); the French writer replaces them.
The catalogue is built once from a fixed seed, so it does not depend on the run's seed.
"""

from __future__ import annotations

import itertools

import numpy as np
import pyarrow as pa

DETRACTOR, PASSIVE, PROMOTER = 0, 1, 2
FRENCH, ENGLISH = 0, 1

_PHRASES = {
    (DETRACTOR, FRENCH): (
        "Livraison en retard de deux semaines",
        "livraison en retard, encore une fois",
        "Service client injoignable",
        "le service client est injoignable ; aucune réponse à mes e-mails",
        "Trop cher pour ce que c'est",
        "beaucoup trop cher",
        "Colis abîmé à l'arrivée",
        "colis abîmé et produit cassé",
        "Remboursement jamais reçu",
        "Très déçu",
        "j'ai attendu le \"remboursement express\" pendant un mois",
        "Le suivi indiquait \"livré\" alors que je n'ai rien reçu",
        "Plus jamais ça 😡",
        "c’est la dernière fois que je commande",
    ),
    (DETRACTOR, ENGLISH): (
        "Late delivery, again",
        "delivery was two weeks late",
        "Customer service unreachable",
        "customer service never answers; I gave up",
        "Too expensive for what it is",
        "way too expensive",
        "Damaged parcel",
        "the parcel arrived damaged, the item was broken",
        "Refund never arrived",
        "Very disappointed",
        "the \"express\" shipping took ten days",
        "Tracking said \"delivered\" but nothing came",
        "Never again 😡",
        "I’m not ordering from you again",
    ),
    (PASSIVE, FRENCH): (
        "Correct sans plus",
        "Prix un peu élevé mais ça va",
        "emballage à améliorer",
        "Rien à signaler",
        "délai de livraison raisonnable",
        "Bon produit, site un peu lent",
        "choix limité ; qualité correcte",
    ),
    (PASSIVE, ENGLISH): (
        "OK overall",
        "A bit pricey, but fine",
        "packaging could be better",
        "Nothing special",
        "delivery time was reasonable",
        "Good product, the website is slow",
        "limited choice; decent quality",
    ),
    (PROMOTER, FRENCH): (
        "Qualité excellente",
        "qualité excellente, je recommande",
        "Livraison rapide",
        "livraison rapide et soignée",
        "Personnel sympathique et à l'écoute",
        "personnel très sympathique",
        "Je recommande à 100 %",
        "Produits \"haut de gamme\" à prix juste",
        "Parfait ; rien à redire",
        "Superbe service 👍",
        "offert à ma sœur, elle a adoré",
    ),
    (PROMOTER, ENGLISH): (
        "Great quality",
        "great quality, I recommend them",
        "Fast delivery",
        "fast delivery and well packed",
        "Friendly staff",
        "very friendly and helpful staff",
        "Highly recommend",
        "\"Premium\" products at a fair price",
        "Perfect; nothing to add",
        "Brilliant service 👍",
        "I’ll definitely order again",
    ),
}

_NEUTRAL = {
    FRENCH: ("commande passée sur le site", "produit conforme à la description", "deuxième commande",
             "commande pour Noël", "le site", "pour la maison"),
    ENGLISH: ("ordered on the website", "product as described", "second order", "Christmas order",
              "the website", "for the house"),
}

# How two fragments are glued: the separators CSV readers trip over are the point.
_JOINERS = (". ", "; ", ", ", "\n", " - ", " ; ", ".\n\n")
_SENTENCE_ENDS = (". ", "\n", ".\n\n")
_VARIANTS_PER_GROUP = 120
_CATALOGUE_SEED = 20250314


def _build_catalogue() -> tuple[pa.Array, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(_CATALOGUE_SEED)
    texts: list[str] = []
    starts, sizes = np.zeros((3, 2), dtype=np.int64), np.zeros((3, 2), dtype=np.int64)
    for sentiment, language in itertools.product((DETRACTOR, PASSIVE, PROMOTER), (FRENCH, ENGLISH)):
        phrases, neutral = _PHRASES[sentiment, language], _NEUTRAL[language]
        starts[sentiment, language] = len(texts)
        group = list(phrases)  # every phrase alone, then combinations
        while len(group) < _VARIANTS_PER_GROUP:
            first, second = rng.choice(len(phrases), size=2, replace=False)
            parts = [phrases[first]]
            if rng.random() < 0.5:
                parts.append(phrases[second])
            if rng.random() < 0.4:
                parts.insert(int(rng.integers(len(parts) + 1)), neutral[rng.integers(len(neutral))])
            text = _sentence_case(parts[0])
            for part in parts[1:]:
                joiner = _JOINERS[rng.integers(len(_JOINERS))]
                text += joiner + (_sentence_case(part) if joiner in _SENTENCE_ENDS else _mid_sentence(part))
            group.append(text)
        sizes[sentiment, language] = len(group)
        texts.extend(group)
    return pa.array(texts), starts, sizes


def _sentence_case(phrase: str) -> str:
    return phrase[0].upper() + phrase[1:]


def _mid_sentence(phrase: str) -> str:
    first_word = phrase.split(" ", 1)[0]
    keeps_capital = first_word.isupper() or first_word == "Noël" or first_word.startswith(("I’", '"'))
    return phrase if keeps_capital else phrase[0].lower() + phrase[1:]


CATALOGUE, _GROUP_START, _GROUP_SIZE = _build_catalogue()


def sentiment_of(nps_scores: np.ndarray) -> np.ndarray:
    return np.select([nps_scores <= 6, nps_scores <= 8], [DETRACTOR, PASSIVE], PROMOTER)


def pick_comments(nps_scores: np.ndarray, languages: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Index into CATALOGUE of a comment matching each score's sentiment and the customer's language."""
    sentiment = sentiment_of(nps_scores)
    size = _GROUP_SIZE[sentiment, languages]
    return _GROUP_START[sentiment, languages] + (rng.random(len(nps_scores)) * size).astype(np.int64)
