"""Records every layer names and none owns, below the store that keeps them: the inventory's access points and
sites (access_points.py), each AP's health (health.py), the outage ledger (outages.py), and what polling remembers
between cycles (polling.py). The rules that produce them live above: evaluate/, collectors/."""
