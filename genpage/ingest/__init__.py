"""Stage 1, ingest: catalogue, shoppers and behaviour from CSV / TSV / JSONL / JSON / Parquet files, pandas frames or a
known export (`presets/`), validated and written to the store all or nothing."""

from __future__ import annotations

from genpage.ingest.mapping import ColumnMapping, load_mapping
from genpage.ingest.readers import IngestReport, ShopReport, ingest, ingest_directory

__all__ = ["ColumnMapping", "IngestReport", "ShopReport", "ingest", "ingest_directory", "load_mapping"]
