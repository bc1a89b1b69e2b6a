"""Form bodies (``application/x-www-form-urlencoded``), read with bounds.

Every form of the app is small: the body, the number of fields and each value are
bounded, and a body past a bound is refused before anything is parsed further.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.requests import Request

from instance.inbox.receive import read_body
from instance.problems import Problem

__all__ = ["MAX_FIELDS", "MAX_FORM_BYTES", "Form", "read_form"]

MAX_FORM_BYTES = 65_536
MAX_FIELDS = 64


class Form(dict[str, str]):
    """The fields of a posted form (the first value of each name)."""

    def text(self, name: str, limit: int = 2000) -> str:
        value = self.get(name, "").strip()
        if len(value) > limit:
            raise Problem(400, f"{name} has at most {limit} characters", field=name)
        return value


async def read_form(request: Request) -> Form:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = await read_body(request, MAX_FORM_BYTES)
    if not body:
        return Form()  # a form with no fields (a bare button)
    if media != "application/x-www-form-urlencoded":
        raise Problem(415, "expected a form (application/x-www-form-urlencoded)", field="body")
    try:
        pairs = parse_qsl(
            body.decode("utf-8"),
            keep_blank_values=True,
            strict_parsing=False,
            max_num_fields=MAX_FIELDS,
        )
    except (UnicodeDecodeError, ValueError):
        raise Problem(400, "the form could not be read", field="body") from None
    form = Form()
    for name, value in pairs:
        form.setdefault(name, value)
    return form
