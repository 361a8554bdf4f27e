"""The query stage: prompts against every region, as maps and as pictures."""

from semlat.stages.query.stage import QueryResult, check_query, query_images, query_to_files

__all__ = ["QueryResult", "check_query", "query_images", "query_to_files"]
