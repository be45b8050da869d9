"""One module per API resource: the view functions that build its responses and the router that serves them.

``runs`` (the stored runs), ``decisions`` (a run's board decisions and prices), ``portfolio`` (cash, positions,
orders, fills, trades), ``performance`` (equity curve, daily P&L), ``signals``, ``risk``, ``alerts`` (risk and
health events as sentences; no route of its own), ``health``, ``config``, ``control`` (state, audit, actions) and
``live`` (the stream's cycle message). Each view takes the app's ``ApiContext`` (api/context.py) first
and is named after the schema it builds (``RunList``: ``run_list``, ``PortfolioView``: ``portfolio_view``);
``router(ctx)`` declares the module's routes, whose handlers keep the names that make the OpenAPI operation ids
and summaries (``portfolio``, ``run_detail``), so the published schema does not change with the layout.
"""
