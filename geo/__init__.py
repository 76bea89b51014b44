"""Grid layers and point matching for GridPatrol, free of Flask and SQLAlchemy.

* :mod:`geo.datum` — WGS-84/CGCS2000/GCJ-02/BD-09 conversion.
* :mod:`geo.layer` — reading, validating and repairing a grid layer
  (``read_layer``, ``format_report``, ``report_json``).
* :mod:`geo.match` — ``GridIndex``, the one point-to-grid matcher.
"""
