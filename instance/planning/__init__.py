"""Planning and production: the life of a commitment, plans and processes, recipes,
track and trace (ValueFlows planning; FEP-3264, FEP-c5a1).

The functions here take a session and never commit it; the handlers in
``instance/handlers/`` put them on the wire, and the web app can call them as they are.
"""
