"""Tests of the benches in `bench/`, at a tiny size."""
