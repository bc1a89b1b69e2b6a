"""The economic records and the rules that guard them: whether an agreement fits its
proposal (:mod:`.exchange`), whether an economic event may be asserted and what it
fulfils (:mod:`.fulfilment`), what it does to resources (:mod:`.resources`, read from
the actions table), peers' resource specifications (:mod:`.specs`), the integrity
proofs on every record (:mod:`.integrity`), and comparing two parties' records of one
agreement (:mod:`.audit`).
"""
