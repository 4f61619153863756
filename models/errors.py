"""Why a model could not be fitted: one exception type, whose message says what is wrong with the data."""

from __future__ import annotations


class ModelFitError(ValueError):
    """Input that no fit can be produced from (empty, negative, inconsistent, or without the needed signal).

    Raised before any optimisation starts, so the message describes the data, not the optimiser: the person
    reading it usually has to go and fix an upstream table. A fit that runs but does not converge is not an
    error; it comes back with ``converged=False`` and a message, and the caller decides whether to publish.
    """

    def __init__(self, model: str, problem: str):
        self.model = model
        self.problem = problem
        super().__init__(f"cannot fit {model}: {problem}")
