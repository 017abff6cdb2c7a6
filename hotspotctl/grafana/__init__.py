"""The NOC's Grafana: the shipped dashboards (grafana/), their checks, Grafana's InfluxQL templating, provisioning.

- ``dashboards.py``: find and read the shipped dashboards, ``check`` them (uids, panel ids, datasource
  references, variables, queries), and list every query a dashboard runs.
- ``templating.py``: ``expand`` does to an InfluxQL query what Grafana does before sending it ($timeFilter,
  $__interval, $district, ...), so the tests and ``grafana check --live`` run exactly what Grafana would.
- ``provisioning.py``: ``export`` writes a provisioning folder for a Grafana install, filled from settings.
- ``live.py``: runs a dashboard's queries against the configured InfluxDB over InfluxQL.
"""
