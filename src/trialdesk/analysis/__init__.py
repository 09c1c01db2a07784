"""The analysis plan, run: from the analysis tables of a locked snapshot to the results document.

>>> from trialdesk.analysis import run_plan, to_json
>>> results = run_plan(protocol, tables, seed=20110228)     # doctest: +SKIP
>>> text = to_json(results)                                  # doctest: +SKIP

Pure: no Django. The Django app :mod:`trialdesk.apps.analysis` reads the snapshot and stores the run.
"""

from trialdesk.analysis.run import ALGORITHM_VERSION, run_plan, to_json

__all__ = ["ALGORITHM_VERSION", "run_plan", "to_json"]
