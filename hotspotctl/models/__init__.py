"""Records every layer names and none owns: the inventory's access points and sites (below the store and the
pure evaluation, which keep and judge them)."""
