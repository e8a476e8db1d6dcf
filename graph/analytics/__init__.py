"""Analytics over a projection of the graph: compute in numpy/scipy/igraph, write results back.

Every analysis runs inside :func:`graph.analytics.runs.analytics_run`, which records an
``(:AnalyticsRun {runId, kind, parameters, inputSizes, timings, counts, status})`` node; every
score written back carries that run's id and ``computedAt``.

One module per analysis, named after it:
- ``influence``: weighted PageRank, degree and 2-hop reach of every user (``run_influence``).
- ``social_communities``: Leiden communities on the social graph (``run_social_communities``).
- ``rfm``: recency, frequency and monetary quintile scores.
- ``lifecycle``: lifecycle tiers (new, prospect, dormant, core, loyal, potential, occasional).
- ``segments``: the segment run, writing RFM scores and lifecycle tiers in one pass (``run_segments``).
- ``personas``: persona clustering, names, identity across runs and the persona run (``run_personas``).
- ``bought_together``: product pairs, support, confidence and lift, BOUGHT_WITH edges (``bought_with``).
- ``product_communities``: Leiden communities of products bought together.
- ``copurchase``: the co-purchase run, writing pairs and product communities (``run_copurchase``).
- ``attribution``: channel acquisition, conversion and revenue credit (``run_attribution``).
- ``lookalikes``: users most like a set of seed users (``lookalikes``).
- ``predictions``: churn probability and expected spend, time-split and held out, compared with RFM-only
  and the churn_risk rule (``run_predictions``; features in ``predictions_features``, models and metrics
  in ``predictions_models``).
- ``insights``: typed reads of what the analyses wrote (communities, personas, influencers, runs).

Shared parts:
- ``runs``: AnalyticsRun bookkeeping.
- ``projection``: bulk id-range reads into numpy arrays (users, edge lists, weighted adjacency).
- ``social_projection``: the social graph (users and ties) that influence and communities share.
- ``user_features``: per-user orders, spend mix, channels, hours and tags.
- ``leiden``: seeded Leiden community detection.
- ``gds_engine``, ``gds_social``, ``gds_products``: the GDS engine (``--engine gds``): influence, social
  and product communities computed by Graph Data Science inside Neo4j, written like the Python engine's.
"""
