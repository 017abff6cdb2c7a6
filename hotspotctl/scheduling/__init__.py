"""Running collection: one poll cycle now, and (with the scheduler) every interval."""
