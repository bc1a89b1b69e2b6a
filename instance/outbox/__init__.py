"""Activities going out: what an agent's client may post (:mod:`.c2s`, with
:mod:`.vfdocs` reading the ValueFlows documents in it), storing ours and queueing one
delivery per recipient inbox (:mod:`.publish`), the worker that sends them signed
(:mod:`.delivery`), and the Note that shows a proposal to servers that do not speak
ValueFlows (:mod:`.fediverse`), sent to the hosts :mod:`.servers` finds lack it.
"""
