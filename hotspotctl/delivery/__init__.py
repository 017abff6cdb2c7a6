"""Where crew lists go: the email, webhook and Open311 senders, and the dispatch that sends through them."""
