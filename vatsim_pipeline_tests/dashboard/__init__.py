"""Tests of the dashboard: its reads, its routes over real HTTP, and the page in a real
browser (Debian's chromium driven by Playwright), on the five recorded snapshots of
2024-11-22 with the real sectors, located by the project's occupancy step."""
