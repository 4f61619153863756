"""Who the customers are in the CRM: names with accents, e-mails derived from them, countries.

Names are drawn from small catalogues and combined with Arrow string kernels, so a million customers
cost a few vectorised calls. Every name fits in Latin-1, because the French export is Latin-1 encoded.
E-mails use the example.* domains reserved for documentation (RFC 2606).
"""

from __future__ import annotations

import unicodedata

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

FIRST_NAMES = (
    "Élodie", "François", "Hélène", "Jérôme", "Cécile", "Amélie", "Léa", "Chloé", "Noémie", "Inès",
    "Zoé", "Maëlle", "Anaïs", "Gaëlle", "Agnès", "Adèle", "Loïc", "Raphaël", "Joël", "Benoît",
    "Clément", "Théo", "Jérémy", "Stéphane", "Frédéric", "Sébastien", "Valérie", "Thérèse", "Nathalie",
    "Camille", "Julien", "Thomas", "Nicolas", "Sophie", "Marie", "Pierre", "Lucas", "Emma", "Louis",
    "Manon", "Hugo", "Sarah", "Antoine", "Juliette", "Mathis", "Céline", "Aurélien", "Solène",
    "Jürgen", "Björn", "Søren", "José", "María", "Núria", "Sinéad", "Siobhán", "John", "Emily",
    "Giulia", "Niccolò", "Anouk", "Ruth",
)

LAST_NAMES = (
    "Lefèvre", "Dupré", "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand",
    "Leroy", "Moreau", "Simon", "Laurent", "Lefebvre", "Michel", "Garcia", "David", "Bertrand", "Roux",
    "Vincent", "Fournier", "Morel", "Girard", "André", "Mercier", "Boyer", "Blanc", "Guérin", "Müller",
    "Gauthier", "Perrin", "Rousseau", "Chevalier", "François", "Lemaître", "Bénard", "Hébert", "Noël",
    "Faure", "Gaillard", "Barbé", "Côté", "Jérôme", "Lacroix", "Ménard", "Besnard", "Daniélou",
    "Schäfer", "Weiß", "Núñez", "Peña", "Ibáñez", "O'Brien", "Smith", "De Luca", "Van der Berg",
    "Da Silva", "Le Gall", "Kerouédan",
)

EMAIL_DOMAINS = ("example.com", "example.org", "example.net")


def _email_part(name: str) -> str:
    """'Maëlle' -> 'maelle', 'Van der Berg' -> 'vanderberg', 'Weiß' -> 'weiss'."""
    folded = unicodedata.normalize("NFKD", name.replace("ß", "ss"))
    return "".join(c for c in folded if c.isascii() and c.isalnum()).lower()


_FIRST = pa.array(FIRST_NAMES)
_LAST = pa.array(LAST_NAMES)
_FIRST_EMAIL = pa.array([_email_part(n) for n in FIRST_NAMES])
_LAST_EMAIL = pa.array([_email_part(n) for n in LAST_NAMES])
_DOMAINS = pa.array(EMAIL_DOMAINS)


def names_and_emails(customer_numbers: np.ndarray, rng: np.random.Generator) -> tuple[pa.Array, pa.Array]:
    """Full names and e-mails; the customer number in the e-mail keeps addresses unique."""
    first = rng.integers(len(FIRST_NAMES), size=len(customer_numbers))
    last = rng.integers(len(LAST_NAMES), size=len(customer_numbers))
    domain = rng.integers(len(EMAIL_DOMAINS), size=len(customer_numbers))
    full_names = pc.binary_join_element_wise(_FIRST.take(first), _LAST.take(last), " ")
    emails = pc.binary_join_element_wise(
        _FIRST_EMAIL.take(first), pa.scalar("."), _LAST_EMAIL.take(last),
        pc.cast(pa.array(customer_numbers + 1), pa.string()), pa.scalar("@"), _DOMAINS.take(domain), "",
    )
    return full_names, emails
