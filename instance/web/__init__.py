"""What the server serves over HTTP: the routes, one module per area (:mod:`.routes`),
the JSON documents of our actors (:mod:`.documents`) and the paged collections
(:mod:`.collections`) that ActivityPub clients read, and the HTML pages people read
(:mod:`.pages`, rendered from ``templates/`` with the stylesheet in ``static/``).
"""
