"""The query stage: prompts against every region, as maps and as pictures."""

from semlat.stages.query.stage import QueryResult, query_images, query_to_files

__all__ = ["QueryResult", "query_images", "query_to_files"]
