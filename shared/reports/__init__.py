"""Trading reports: what the trades journal says about a period, computed one way for everyone.

The node's ``/api/v1/daily-summary``, the ``edge-ops report`` command and the scheduled report
functions all read the journal through ``queries`` and compute through ``figures``, so a figure
means the same thing wherever it is shown. Every definition is written in ``DEFINITIONS`` and
travels with the figures.
"""
