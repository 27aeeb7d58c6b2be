"""Analysis: per-generation metrics, recovery after goal changes, printed summaries and plots."""
