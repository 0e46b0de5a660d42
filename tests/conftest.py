"""Settings for the whole suite.

Hypothesis checks each example against a deadline (200 ms) and fails a test whose
data generation is slow (health check ``too_slow``) by default: wall-clock
assertions that fail on a loaded machine. No test here may depend on speed, so the
suite's profile has neither; speed goals live in ``benchmarks/``.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings

settings.register_profile("mlarray", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("mlarray")
