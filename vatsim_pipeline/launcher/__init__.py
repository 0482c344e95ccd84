"""The run launcher that starts each run from a warm process instead of a new interpreter."""
