"""The data routes of the dashboard's views, one module per view that needs its own."""
