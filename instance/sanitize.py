"""HTML reduced to what Mastodon keeps in a post: ``p``, ``br``, ``a`` and ``span``.

Everything we publish as post HTML goes through :func:`clean_html`, and so does post
HTML we receive before it is stored: other clients render it, and our pages may show it.
"""

from __future__ import annotations

import nh3

__all__ = ["POST_ATTRIBUTES", "POST_TAGS", "clean_html"]

#: The elements Mastodon keeps (docs: spec/activitypub, HTML sanitization).
POST_TAGS = {"p", "br", "a", "span"}
POST_ATTRIBUTES = {"a": {"href", "class"}, "span": {"class"}}


def clean_html(html: str) -> str:
    """Post HTML reduced to what Mastodon displays (links get ``rel=nofollow``)."""
    return nh3.clean(html, tags=POST_TAGS, attributes=POST_ATTRIBUTES, link_rel="nofollow noopener")
