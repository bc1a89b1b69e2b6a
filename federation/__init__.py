"""The ActivityPub protocol: signatures, safe fetching, WebFinger, delivery policy."""
