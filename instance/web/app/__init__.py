"""The Agent app: the pages a person signs in to, to see and run their exchanges.

- :mod:`.passwords`: Argon2id hashes, checked off the event loop.
- :mod:`.throttle`: failed sign-ins slowed per account and per address.
- :mod:`.sessions`: server-side browser sessions behind an HttpOnly cookie.
- :mod:`.csrf`: the token every form carries.
- :mod:`.forms`: bounded form bodies.
"""
