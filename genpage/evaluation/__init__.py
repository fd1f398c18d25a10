"""Offline evaluation: the protocol (`Split`, `Method`, `evaluate_methods`), metrics, the baselines genpage is
measured against, and the evaluation run on a store or an events frame. Depends on `genpage.rank`, never the reverse.
"""

from __future__ import annotations

from genpage.evaluation.protocol import Method, Split, evaluate_methods
from genpage.evaluation.run import evaluate, run_evaluation

__all__ = ["Method", "Split", "evaluate", "evaluate_methods", "run_evaluation"]
