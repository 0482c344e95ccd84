"""The traffic dashboard: one page served at `/` by `vatsim-pipeline serve`, beside the
HTTP API, offline and self-contained (its scripts, styles and base map are package data
in `static/`; nothing is loaded from another host).

A view is one JavaScript module in `static/views/` and, when it needs data the API does
not already serve, one module of routes in `views/`; `registry.VIEWS` lists the views the
page shows, in order. `router.dashboard_router` serves the page, its assets and every
registered view's routes.
"""
