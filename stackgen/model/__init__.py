"""Derived facts with no output format: generated names, PromQL of the alert kinds, SLO tiers and
windows, Alertmanager routing prediction, deploy facts. Targets, checks and lint read them here."""
