"""The inventory: reading files (csv/xlsx/geojson), checking rows, importing, sites, the fleet and its zones,
maintenance windows. Its records (AccessPoint, Site) are in ``hotspotctl.models.access_points``."""
