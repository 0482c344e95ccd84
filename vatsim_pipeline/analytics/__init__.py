"""Analytics over the stored tables: traffic patterns, coverage, forecasts and anomaly
detectors as plain functions over frames (pandas) and rows, tested without Dagster;
`defs/` materializes them and `storage/` reads and writes them."""
