"""Dagster's own storage, as the project configures it (see `pooled_postgres`)."""
