"""Where metrics go: InfluxDB line protocol, the on-disk spool that keeps them when InfluxDB cannot."""
