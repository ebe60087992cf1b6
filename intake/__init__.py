"""Batches, pages and cases: the processing pipeline and its orchestration."""
