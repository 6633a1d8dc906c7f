"""What the engine's face returns, as types: the statuses and kinds it writes (StrEnums) and
the dicts its services hand back (TypedDicts).

A StrEnum member *is* its string: `TaskStatus.READY == "ready"`, `json.dumps` writes
`"ready"`, an f-string shows `ready`, and the database stores and compares `ready`. So the
engine writes and compares members, rows read back as plain strings compare equal, and the
JSON of the REST API is what it was.

A TypedDict is a plain dict at run time: callers index results as before
(`engine.tasks.get(tid)["status"]`); the types are for readers, mypy and the OpenAPI
document, whose component schemas web/api/openapi.py generates from these classes (so a key
added here shows up there). Dates and times are ISO 8601 text (`IsoDateTime`).

This module imports nothing of the engine (and no SQLAlchemy or SpiffWorkflow): web/ and
packages built on the engine may import it freely.
"""
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, Any, NotRequired, TypedDict


# -- statuses and kinds ---------------------------------------------------------------------------
class InstanceStatus(StrEnum):
    """instance.status"""

    RUNNING = "running"
    SUSPENDED = "suspended"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


# an instance that has not ended: it may be cancelled or moved to another version
LIVE_INSTANCE = (InstanceStatus.RUNNING, InstanceStatus.SUSPENDED)
ENDED_INSTANCE = (InstanceStatus.COMPLETED, InstanceStatus.CANCELLED)


class TaskStatus(StrEnum):
    """task.status (and task_candidate.status, its copy): READY ones are the inbox."""

    READY = "ready"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    RETURNED = "returned"      # 退单: sent back to the step that dispatched it (engine.handoff)


class IncidentStatus(StrEnum):
    """incident.status"""

    OPEN = "open"
    RESOLVED = "resolved"      # the handler succeeded on a retry, or an operator supplied its result
    CANCELLED = "cancelled"    # its instance was cancelled, or its task dropped by a return


class IncidentKind(StrEnum):
    """incident.kind: what failed, and so what retry and resolve mean for it."""

    HANDLER = "handler"        # a service task's handler raised: retry calls it again
    DELIVERY = "delivery"      # an outbox row (message, message start, webhook) cannot be delivered
    CALENDAR = "calendar"      # a deadline needs a year whose working calendar is not loaded
    SCRIPT = "script"          # a script, condition or expression failed; the step was rolled back
    TIMER = "timer"            # a due timer could not fire
    STALL = "stall"            # the instance can no longer move (the worker's stall check)


class WaitKind(StrEnum):
    """subscription.kind and message_start.kind: what an instance waits for, or a process starts on."""

    MESSAGE = "message"        # correlated to the instances waiting with that name (and business key)
    SIGNAL = "signal"          # broadcast to every instance waiting for it


class OutboxKind(StrEnum):
    """outbox.kind"""

    MESSAGE = "message"        # to instances waiting for it, or starting the processes it starts
    SIGNAL = "signal"          # to every instance waiting for it (but the sender), and the processes it starts
    WEBHOOK = "webhook"        # a POST of a notification to settings.notify_webhook
    NOTICE = "notice"          # a notice to one recipient on a channel (engine.runtime.channels)


class JobKind(StrEnum):
    """job.kind: what a due job does when the worker fires it."""

    TIMER = "timer"            # a waiting timer event fires
    RETRY = "retry"            # a failed external task's handler is called again
    SLA = "sla"                # a task turns to its next SLA colour (job.note)


class SlaColour(StrEnum):
    """task.sla_colour: how much of a task's working time is used (engine/runtime/sla.py)."""

    BLUE = "blue"
    GREEN = "green"
    YELLOW = "yellow"
    ORANGE = "orange"
    RED = "red"


class CandidateKind(StrEnum):
    """Who a task is offered to (task_candidate.kind) or a notification is for (recipient_kind)."""

    GROUP = "group"
    USER = "user"


class PriorityBand(StrEnum):
    """The band a task's priority falls in (engine.tasks.PRIORITIES)."""

    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"


class EventType(StrEnum):
    """history_event.type of the events the engine writes (the audit trail)."""

    INSTANCE_STARTED = "instance_started"
    INSTANCE_COMPLETED = "instance_completed"
    INSTANCE_CANCELLED = "instance_cancelled"
    INSTANCE_SUSPENDED = "instance_suspended"
    INSTANCE_RESUMED = "instance_resumed"
    INSTANCE_MIGRATED = "instance_migrated"
    TASK_CREATED = "task_created"
    TASK_CLAIMED = "task_claimed"
    TASK_UNCLAIMED = "task_unclaimed"
    TASK_COMPLETED = "task_completed"
    TASK_CANCELLED = "task_cancelled"
    TASK_REASSIGNED = "task_reassigned"
    TASK_RETURNED = "task_returned"
    TASK_ASSIGNED = "task_assigned"     # a 待分派 task given to a person by a dispatcher or administrator
    TASK_OFFERED = "task_offered"       # a 待分派 task offered to candidate groups / users by one of them
    ELEMENT_COMPLETED = "element_completed"
    TIMER_FIRED = "timer_fired"
    HANDLER_CALLED = "handler_called"
    BPMN_ERROR = "bpmn_error"           # a handler raised BpmnError (data: code, message, caught_by)
    ESCALATION = "escalation"           # a handler raised Escalation (data: code, message, caught_by)
    INCIDENT = "incident"
    INCIDENT_RESOLVED = "incident_resolved"
    INCIDENT_RETRIED = "incident_retried"
    INCIDENT_CANCELLED = "incident_cancelled"
    MESSAGE_THROWN = "message_thrown"
    MESSAGE_RECEIVED = "message_received"
    SIGNAL_THROWN = "signal_thrown"
    VARIABLES_SET = "variables_set"
    SIGNAL_RECEIVED = "signal_received"
    SLA_CHANGED = "sla_changed"
    DEADLINE_REPLANNED = "deadline_replanned"   # a provisional (暂定) due re-planned on its loaded year
    COMMENT_ADDED = "comment_added"
    ATTACHMENT_ADDED = "attachment_added"


# -- how a value is written -----------------------------------------------------------------------
@dataclass(frozen=True)
class Format:
    """Annotated metadata: the JSON Schema format of a text value."""

    name: str


IsoDateTime = Annotated[str, Format("date-time")]     # datetime.isoformat(), with its UTC offset


# -- repository ----------------------------------------------------------------------------------
class ProcessVersion(TypedDict):
    """What names a version of a process (the fields every version result shares)."""

    id: int
    key: str
    version: int
    name: str | None
    region: str | None


class DefinitionInfo(ProcessVersion):
    """A process version (engine.repository.definitions)."""

    deployment_id: int
    created_at: IsoDateTime


class DeployedDefinition(ProcessVersion):
    """A process of a deployed bundle: new is False when its version was already stored."""

    new: bool


class ProblemInfo(TypedDict):
    """A problem found in a deployed file (engine.errors.Problem.as_dict)."""

    file: str | None
    element: str | None
    line: int | None
    message: str


@dataclass
class DeployResult:
    """What engine.repository.deploy returns (a dataclass; the REST API sends asdict of it)."""

    deployment_id: int
    created: bool                      # False: identical content was already deployed
    definitions: list[DeployedDefinition] = field(default_factory=list)
    # accepted, but worth the administrator's eye: e.g. a user task naming nobody (待分派)
    warnings: list[ProblemInfo] = field(default_factory=list)


DeploymentResult = DeployResult


class VersionInfo(ProcessVersion):
    """A version of a process with who deployed it, whether new instances start on it
    (active; pinned: an administrator chose it) and how many of its instances are live."""

    deployment_id: int
    deployment: str
    deployed_by: str | None
    deployed_at: IsoDateTime
    active: bool
    pinned: bool
    running: int


class ElementChange(TypedDict):
    """An element added, removed or changed between two versions."""

    id: str
    type: str
    name: str | None


VersionDiff = TypedDict("VersionDiff", {
    "key": str,
    "from": int,
    "to": int,
    "added": list[ElementChange],
    "removed": list[ElementChange],
    "changed": list[ElementChange],
})
VersionDiff.__doc__ = "engine.repository.diff: elements added, removed and changed from one version to another."


class DefinitionFile(TypedDict):
    """The version whose BPMN file engine.repository.xml returns, with the file's name."""

    id: int
    key: str
    version: int
    name: str | None
    region: str | None
    deployment_id: int
    resource_name: str


# -- runtime -------------------------------------------------------------------------------------
class InstanceInfo(TypedDict):
    """A process instance (engine.runtime.get / instances)."""

    id: str
    definition_key: str
    definition_id: int
    business_key: str | None
    region: str | None
    status: InstanceStatus
    started_by: str | None
    started_at: IsoDateTime
    ended_at: IsoDateTime | None


class IncidentInfo(TypedDict):
    """Something that stopped an instance and waits for a person (engine.runtime.incidents)."""

    id: int
    instance_id: str
    task_id: str
    element_id: str | None
    topic: str | None
    kind: IncidentKind
    error_type: str
    message: str
    traceback: str | None
    retries_left: int
    status: IncidentStatus
    created_at: IsoDateTime
    resolved_at: IsoDateTime | None
    outbox_id: int | None          # a delivery: the outbox row ...
    receiver: str | None           # ... and the process it was for (display name; a webhook: its URL)
    # the instance it stops (for lists that filter and sort by them)
    definition_key: str | None
    business_key: str | None
    region: str | None
    # what an administrator can do about it: retry (call/deliver/fire again now) and
    # resolve (a handler: complete with data; calendar/script/stall: mark as handled)
    can_retry: bool
    can_resolve: bool


class Correlated(TypedDict):
    """engine.runtime.correlate: the instances a message reached, and those it started."""

    delivered: list[str]
    started: list[str]


class Overview(TypedDict):
    """engine.runtime.overview: totals for a start page."""

    running: int
    tasks: int
    incidents: int
    running_by_key: dict[str, int]
    tasks_by_key: dict[str, int]


# -- tasks ---------------------------------------------------------------------------------------
class TaskInfo(TypedDict):
    """A user task's inbox row (engine.tasks.list)."""

    id: str
    instance_id: str
    definition_key: str
    element_id: str
    name: str | None
    lane: str | None
    region: str | None
    candidate_groups: list[str]
    candidate_users: list[str]
    assignee: str | None
    due_at: IsoDateTime | None
    # due_at counted working days of a year not announced yet: show it as 暂定 (re-planned on load)
    due_provisional: bool
    priority: int
    sla_colour: SlaColour | None       # None without a due date
    status: TaskStatus
    created_at: IsoDateTime
    completed_at: IsoDateTime | None
    completed_by: str | None


class FormOption(TypedDict):
    id: str
    name: str | None


class FormField(TypedDict):
    """A camunda:formField: type is string, long, boolean, date, enum, …; options for enum only."""

    id: str
    label: str
    type: str
    default: Any
    validation: dict[str, Any]
    properties: dict[str, Any]
    options: NotRequired[list[FormOption]]


class FormInfo(TypedDict):
    key: str | None
    fields: list[FormField]


class TaskDetail(TaskInfo):
    """A task with its form (engine.tasks.get / visible_get)."""

    form: FormInfo


class InboxTask(TaskInfo):
    """A task of a page of engine.tasks.inbox."""

    business_key: str | None
    priority_band: PriorityBand
    workdays_left: float | None        # working days to the deadline, negative once overdue


class InboxPage(TypedDict):
    """engine.tasks.inbox: one page, the matches, counts per SLA colour ("none": no due date)
    and per region under the other filters, and the user's groups."""

    tasks: list[InboxTask]
    total: int
    counts: dict[str, int]
    groups: list[str]
    regions: dict[str, int]


class UnassignedPage(TypedDict):
    """engine.tasks.unassigned: one page of the 待分派 queue (open user tasks naming nobody:
    no assignee, no candidate group or user) that the caller may dispatch, and how many in all."""

    tasks: list[InboxTask]
    total: int


class Person(TypedDict):
    name: str
    display_name: str


class DispatchTargets(TypedDict):
    """engine.tasks.dispatch_targets: whom a 待分派 task may be assigned or offered to."""

    users: list[Person]
    groups: list[str]


# -- history -------------------------------------------------------------------------------------
class HistoryEventInfo(TypedDict):
    """An audit event (engine.history.events); type: an EventType for the engine's own events."""

    id: int
    instance_id: str
    at: IsoDateTime
    type: str
    element_id: str | None
    task_id: str | None
    user: str | None
    data: Any


class AttachmentRecord(TypedDict):
    id: int
    kind: str
    name: str
    size: int
    meta: Any
    created_at: IsoDateTime | None


class NotificationRecord(TypedDict):
    id: int
    to: str                            # "user:li" or "group:acceptor"
    title: str
    body: str | None
    created_at: IsoDateTime | None


class InstanceRecords(TypedDict):
    """engine.history.records: what handlers wrote for an instance."""

    attachments: list[AttachmentRecord]
    notifications: list[NotificationRecord]


class DiagramIncident(TypedDict):
    id: int
    element_id: str | None
    name: str
    message: str
    created_at: IsoDateTime


class Diagram(TypedDict):
    """engine.history.diagram: what the instance page draws over the process diagram."""

    instance_id: str
    process_key: str
    version: int
    definition_name: str
    status: InstanceStatus
    file: str
    xml: str
    has_diagram: bool
    completed: list[str]
    flows: list[str]
    active: list[str]
    waiting: list[str]
    incidents: list[DiagramIncident]


__all__ = [
    "InstanceStatus", "TaskStatus", "IncidentStatus", "JobKind", "SlaColour", "CandidateKind", "PriorityBand",
    "EventType", "LIVE_INSTANCE", "ENDED_INSTANCE", "Format", "IsoDateTime",
    "DefinitionInfo", "DeployedDefinition", "DeployResult", "DeploymentResult", "VersionInfo", "ElementChange",
    "VersionDiff", "DefinitionFile", "ProblemInfo",
    "InstanceInfo", "IncidentInfo", "Correlated", "Overview",
    "TaskInfo", "FormOption", "FormField", "FormInfo", "TaskDetail", "InboxTask", "InboxPage", "UnassignedPage",
    "Person", "DispatchTargets",
    "HistoryEventInfo", "AttachmentRecord", "NotificationRecord", "InstanceRecords", "DiagramIncident", "Diagram",
]
