"""Files people add to an appeal (evidence, scans, replies): checked, then kept in the database.

Kept in the `attachment` table, never on a path derived from the upload, so a name like
`../../etc/passwd` is only text. Every file is checked for size, an allowed extension and
content that is what the extension says (a renamed .exe is not a .pdf); the type a download
is served with comes from this list, never from the uploader.
"""
import re
import unicodedata

import filetype
from sqlalchemy import select

from qihu.engine.errors import NotFound, ValidationFailed
from qihu.engine.storage.models import Attachment

MAX_BYTES = 10 * 1024 * 1024
MAX_NAME = 120

# extension -> (content type served, what `filetype` must see; None: checked by _plain_text)
ALLOWED = {
    "pdf": ("application/pdf", "pdf"),
    "jpg": ("image/jpeg", "jpg"),
    "jpeg": ("image/jpeg", "jpg"),
    "png": ("image/png", "png"),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    "txt": ("text/plain; charset=utf-8", None),
}


def safe_name(name):
    """The uploader's file name reduced to a plain base name: no folders, control characters
    or leading dots; at most MAX_NAME characters (the extension kept)."""
    name = unicodedata.normalize("NFC", str(name or ""))
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C").strip().lstrip(".").strip()
    if len(name) > MAX_NAME:
        stem, dot, ext = name.rpartition(".")
        name = (stem[:MAX_NAME - len(ext) - 1] + dot + ext) if dot and len(ext) <= 10 else name[:MAX_NAME]
    return name


def _size_text(n):
    return f"{n / (1024 * 1024):g} MB" if n >= 1024 * 1024 else f"{n / 1024:g} KB"


def _plain_text(content):
    if b"\x00" in content:
        return False
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def check(filename, content, max_bytes=MAX_BYTES):
    """(safe name, content type) of an acceptable upload; ValidationFailed (field "file") says why not."""
    def bad(msg):
        raise ValidationFailed(f"附件 {filename!r}: {msg}", {"file": msg})

    name = safe_name(filename)
    if not name or "." not in name:
        bad("文件名无效，须带扩展名 (file name must have an extension)")
    ext = name.rsplit(".", 1)[1].lower()
    if ext not in ALLOWED:
        bad(f"不支持的文件类型 .{ext}，可上传：{', '.join(sorted(ALLOWED))} (file type not allowed)")
    if not content:
        bad("文件为空 (empty file)")
    if len(content) > max_bytes:
        bad(f"文件超过 {_size_text(max_bytes)} (file too large)")
    content_type, kind = ALLOWED[ext]
    if kind is None:
        ok = _plain_text(content)
    else:
        guessed = filetype.guess(content)
        ok = guessed is not None and (guessed.extension == kind or (kind == "jpg" and guessed.extension == "jpeg"))
    if not ok:
        bad(f"文件内容与扩展名 .{ext} 不符 (content is not a .{ext} file)")
    return name, content_type


def attachment_dict(a):
    return {"id": a.id, "instance_id": a.instance_id, "task_id": a.task_id, "kind": a.kind, "name": a.name,
            "content_type": a.content_type, "size": a.size, "created_at": a.created_at.isoformat(),
            "created_by": a.created_by}


class Uploads:
    def __init__(self, engine):
        self.engine = engine

    def add(self, instance_id, filename, content, user, task_id=None, kind="upload", session=None):
        """Check and store one file of an instance; returns its attachment_dict. With `session`
        the row joins the caller's transaction (e.g. an appeal submitted with its files)."""
        name, content_type = check(filename, content, self.engine.settings.upload_max_bytes)
        row = Attachment(instance_id=instance_id, task_id=task_id, kind=kind, name=name,
                         content_type=content_type, size=len(content), content=content,
                         created_at=self.engine.clock.now(), created_by=user)
        if session is not None:
            session.add(row)
            session.flush()
            return attachment_dict(row)
        self.engine.runtime.get(instance_id)          # NotFound for an unknown instance
        with self.engine.db.write() as s:
            s.add(row)
            s.flush()
            return attachment_dict(row)

    def list(self, instance_id):
        with self.engine.db.read() as s:
            rows = s.execute(select(Attachment.id, Attachment.instance_id, Attachment.task_id, Attachment.kind,
                                    Attachment.name, Attachment.content_type, Attachment.size,
                                    Attachment.created_at, Attachment.created_by)
                             .where(Attachment.instance_id == instance_id).order_by(Attachment.id)).all()
            return [attachment_dict(r) for r in rows]

    def get(self, attachment_id):
        """(attachment_dict, bytes)."""
        with self.engine.db.read() as s:
            a = s.get(Attachment, attachment_id)
            if a is None:
                raise NotFound(f"no attachment {attachment_id}")
            return attachment_dict(a), a.content
