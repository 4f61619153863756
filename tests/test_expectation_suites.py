"""The committed Great Expectations suites say what the contract and the metric definitions say."""

from __future__ import annotations

import json

from pipelines.checks.gx_suites import EXPECTATIONS_DIR, build_suites


def _comparable(expectation: dict) -> tuple:
    return expectation["type"], json.dumps(expectation["kwargs"], sort_keys=True)


def test_committed_suites_match_the_contract():
    for name, expectations in build_suites().items():
        path = EXPECTATIONS_DIR / "gx" / "expectations" / f"{name}.json"
        assert path.exists(), f"run: python -m pipelines.checks.gx_suites ({path} is missing)"
        committed = sorted(_comparable(e) for e in json.loads(path.read_text())["expectations"])
        built = sorted(_comparable(e.configuration.to_json_dict()) for e in expectations)
        assert committed == built, f"{path.name} is stale: run python -m pipelines.checks.gx_suites"
