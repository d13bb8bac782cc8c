"""Reports over many runs: collect results.json files, group them, set them beside the paper's tables."""

from arae.reporting.collect import Job, collect
from arae.reporting.compare import compare
from arae.reporting.paper import paper_table
from arae.reporting.summary import group_jobs

__all__ = ["Job", "collect", "compare", "group_jobs", "paper_table"]
