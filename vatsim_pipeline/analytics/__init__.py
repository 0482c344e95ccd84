"""Analytics over the stored tables: plain functions over rows and frames, without Dagster."""
