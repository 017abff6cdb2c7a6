"""Collecting from access points: profiles, the SNMP engine and codec, discovery, polling."""
