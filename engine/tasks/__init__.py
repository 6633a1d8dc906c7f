"""Tasks: user tasks as people work them. The inbox, claim, complete with a form, 转办 and
退单 (handoff.py), comments and attachments, and the notifications handlers leave."""
from qihu.engine.tasks.service import TaskService

__all__ = ["TaskService"]
