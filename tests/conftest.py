"""Hypothesis runs the same examples on every run and has no time limit per example: the
suite's verdict must not depend on the machine's load or on a fresh random draw (CI runs
it on two shared cores). `HYPOTHESIS_PROFILE=explore` draws new examples instead."""

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("explore", deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
