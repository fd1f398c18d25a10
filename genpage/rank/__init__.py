"""Stage 3, rank: who should see which product, and why.

features (History, the feature planes) -> profile (a shopper's vectors) -> candidates and a learned scorer
(ranker, scorer) -> business rules (rules) -> diversity -> a reason per item (reasons). `split.py` holds the
chronological split the scorer learns from (and the evaluation measures on); `catalogue.py` the arrays the rules and
reasons share.
"""

from __future__ import annotations

from genpage.rank.ranker import RankConfig, Ranker, ablated
from genpage.rank.rules import RankFilters
from genpage.rank.split import split_last_basket

__all__ = ["RankConfig", "RankFilters", "Ranker", "ablated", "split_last_basket"]
