"""Settings for the whole suite.

Hypothesis checks each example against a deadline (200 ms) and fails a test whose
data generation is slow (health check ``too_slow``) by default: wall-clock
assertions that fail on a loaded machine. No test here may depend on speed, so the
suite's profile has neither; speed goals live in ``benchmarks/``.
"""

from __future__ import annotations

import signal

from hypothesis import HealthCheck, settings

settings.register_profile("mlarray", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("mlarray")

# A shell that starts a command in the background without job control (``cmd &``
# in a script, nohup, some CI runners) makes it ignore SIGINT, and an ignored
# signal is inherited by every process it starts: the Ctrl-C tests would then
# test a command that cannot be interrupted. Take SIGINT back, as from a terminal;
# the processes the tests start then begin with its default disposition.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)
