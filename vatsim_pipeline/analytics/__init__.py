"""Traffic patterns, coverage and forecasts as plain functions over frames (pandas),
tested without Dagster; `defs/` materializes them and `storage/` reads and writes them."""
