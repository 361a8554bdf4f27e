"""Collection-wide semantic retrieval: text, example region or vector → ranked regions and images."""

from semlat.stages.search.core import (
    BY,
    RELEVANCY_POOL,
    SEARCH_SCORES,
    SearchHit,
    parse_like,
    search,
)
from semlat.stages.search.index import (
    AUTO_INDEX_ROWS,
    IndexSettings,
    build_index,
    ensure_index,
    index_info,
    needs_index,
)
from semlat.stages.search.sheet import contact_sheet, write_results

__all__ = [
    "AUTO_INDEX_ROWS",
    "BY",
    "RELEVANCY_POOL",
    "SEARCH_SCORES",
    "IndexSettings",
    "SearchHit",
    "build_index",
    "contact_sheet",
    "ensure_index",
    "index_info",
    "needs_index",
    "parse_like",
    "search",
    "write_results",
]
