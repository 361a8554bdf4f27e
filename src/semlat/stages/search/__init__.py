"""Collection-wide semantic retrieval: text, example region or vector → ranked regions and images.

The vector index it uses lives with the storage (`semlat.workspace.build_index`).
"""

from semlat.stages.search.core import BY, RELEVANCY_POOL, SEARCH_SCORES, SearchHit, parse_like, search
from semlat.stages.search.sheet import contact_sheet, region_tile, write_results

__all__ = [
    "BY",
    "RELEVANCY_POOL",
    "SEARCH_SCORES",
    "SearchHit",
    "contact_sheet",
    "parse_like",
    "region_tile",
    "search",
    "write_results",
]
