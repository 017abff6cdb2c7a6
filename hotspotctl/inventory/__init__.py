"""The access points: the model, reading inventory files (csv/xlsx/geojson), checking rows, sites, the fleet."""
