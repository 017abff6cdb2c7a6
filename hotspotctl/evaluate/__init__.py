"""Pure evaluation of polled figures: rates, statuses, outages. No I/O; `now` is passed in."""
