"""genpage: a personalized e-commerce homepage for every shopper."""

from __future__ import annotations

__version__ = "0.1.0"
