"""Campaigns: campaign files (`files.py`), shopper segments (`segments.py`) and the audience a campaign reaches
(`audience.py`). Running a campaign's pages is `genpage.batch`."""

from __future__ import annotations

from genpage.campaigns.audience import select_audience
from genpage.campaigns.files import as_campaign, load_campaign, parse_campaign
from genpage.campaigns.segments import Segment, Segmentation, segment_users

__all__ = ["Segment", "Segmentation", "as_campaign", "load_campaign", "parse_campaign", "segment_users",
           "select_audience"]
