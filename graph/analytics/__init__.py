"""Analytics over a projection of the graph: compute in numpy/scipy/igraph, write results back.

Every analysis runs inside :func:`graph.analytics.runs.analytics_run`, which records an
``(:AnalyticsRun {runId, kind, parameters, inputSizes, timings, counts, status})`` node; every
score written back carries that run's id and ``computedAt``.
"""
