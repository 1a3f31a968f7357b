"""Runbook step kinds: one executor per kind, each with ``run`` (make the effect) and an
idempotent ``check`` (is the effect already in place?) used when resuming after a crash."""
