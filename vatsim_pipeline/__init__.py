"""Records the VATSIM network on Dagster and makes its history queryable."""
