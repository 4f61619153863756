"""`make ci` (`python -m pipelines.ci`): what a team's CI runs on a change to the dbt models (README, "Changing the models")."""
