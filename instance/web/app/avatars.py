"""Pictures people upload for their profile: read from a bounded multipart form, and
accepted only as PNG, JPEG, GIF or WebP, recognised by their first bytes (never by
the name or the type the browser claims; no SVG, which can carry script).

The instance serves the picture itself (``/agents/NAME/avatar/DIGEST``): the pages'
content security policy loads images from their own origin only, so a picture at
another site's https URL would not show, and fetching one would make the instance
fetch whatever a person names.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import HTTP

from starlette.requests import Request

from instance.inbox.receive import read_body
from instance.problems import Problem

__all__ = ["MAX_AVATAR_BYTES", "Upload", "image_type", "read_upload"]

#: The largest picture accepted.
MAX_AVATAR_BYTES = 262_144
#: Room for the form's other fields and the multipart framing.
_FRAMING = 8_192

_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


def image_type(data: bytes) -> str | None:
    """The media type ``data`` starts like, among those accepted; None otherwise."""
    for signature, media in _SIGNATURES:
        if data.startswith(signature):
            return media
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


@dataclass(frozen=True)
class Upload:
    fields: dict[str, str]
    image: bytes
    media_type: str


async def read_upload(request: Request, field: str = "avatar") -> Upload:
    """The text fields and the picture of a ``multipart/form-data`` post, checked."""
    content_type = request.headers.get("content-type", "")
    if content_type.split(";")[0].strip().lower() != "multipart/form-data":
        raise Problem(415, "send the picture as a file form (multipart/form-data)", field=field)
    try:
        body = await read_body(request, MAX_AVATAR_BYTES + _FRAMING)
    except Problem as problem:
        raise Problem(problem.status, problem.detail, field=field) from None
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1", "replace") + b"\r\n\r\n" + body
    )
    if not message.is_multipart():
        raise Problem(400, "the form could not be read", field=field)
    fields: dict[str, str] = {}
    image = b""
    for part in list(message.iter_parts())[:16]:
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if not isinstance(name, str) or not isinstance(payload, bytes):
            continue
        if name == field:
            image = payload
        elif len(payload) <= 1000:
            fields.setdefault(name, payload.decode("utf-8", "replace"))
    if not image:
        raise Problem(400, "choose a picture to upload", field=field)
    if len(image) > MAX_AVATAR_BYTES:
        raise Problem(
            413, f"the picture is larger than {MAX_AVATAR_BYTES // 1024} KiB", field=field
        )
    media_type = image_type(image)
    if media_type is None:
        raise Problem(415, "the picture must be a PNG, JPEG, GIF or WebP image", field=field)
    return Upload(fields, image, media_type)
