"""Sample appeals for the demo: every state an inbox and the 晾晒 dashboard show (new, in progress in
each colour, returned, rated well and badly, stalled, closed) across the four named mechanisms.

Each sample is walked the way people would: enterprises submit through the portal and rate on their
tracking page, staff complete their steps through engine.tasks.complete with a demo user of the
step's group. Forms are filled from the step's own fields (an enum by option, a rating by the
name of its level: 不满意 for a bad one), so a diagram that changes its fields or its scale still
seeds. Samples start at moments in the past on a clock of their own (a second engine on the same
database with a ManualClock), and the worker then brings that clock to now: colours, reminders and
retries happen as they would have, so deadlines fall in different colours today.
Idempotent: a sample whose appeal exists (by business key, or by company for a portal one) is skipped.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Iterator

from sqlalchemy import select

from qihu.appeals.models import AppealTicket
from qihu.engine.clock import ManualClock
from qihu.engine.dialect.timers import TIMEZONE
from qihu.engine.storage.models import Instance

DAY = 86400.0
BAD_WORDS = "不满意"     # a bad rating level's name contains it (不满意, 非常不满意)


@dataclass(frozen=True)
class Sample:
    """One appeal to seed. `back`: how many working days ago it starts; `stop`: the step it waits
    at (None: walked to its end, or until no step is left to a person: a failing handler)."""
    key: str                       # business key (staff) or company name (portal): what makes it exist
    mechanism: str
    state: str                     # what it shows, e.g. "yellow", "returned", "rated_bad"
    back: float
    stop: str | None = None
    portal: bool = False
    rating: str = "good"
    returned: str | None = None    # a 退单 reason: the stop step is returned with it
    answers: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)


HZ = {"category": "investment", "board_result": "solved", "fallback_result": "solved", "make_rule": False,
      "board_reply": "已会同市自然资源和规划局现场踏勘，用地指标已纳入本批次统筹。",
      "reply_text": "您反映的问题已办理完毕，如有疑问请联系企服中心。", "review_note": "同类问题按板块快速流转。"}
HZ_STUCK = {**HZ, "board_result": "unsolved", "fallback_result": "unsolved", "invite_enterprise": True,
            "agenda_title": "家居产业园配套道路建设", "agenda_content": "道路红线与地块出让条件冲突"}
QT = {"multi_handoff": True, "long_cycle": True, "wide_benefit": True, "board": "qt_board_project",
      "plan_result": "feasible", "responsible_group": "qt_unit_planning", "responsible_unit": "区规划和自然资源分局",
      "measures": "容缺受理，并联审批", "milestones": "方案审查5日，许可核发3日"}
LC = {"accepted": True, "unit_group": "lc_unit_market", "responsible_unit": "区市场监管局",
      "checklist_class": "slow", "stalled_stage": "handle", "rectify_result": "done", "cleared": True,
      "experience_class": "slow", "make_rule": False, "good_case": False, "promote": False,
      "problem": "个体工商户变更登记反复补正材料"}
LC_START = {"enterprise_user": "qiye", "observation_point": "鞋革行业协会观测点", "observer": "周观察员"}
LQ = {"say_no_kind": "cannot", "selected": False, "department": "区交通运输局", "enterprise_user": "qiye",
      "summary": "厂区门口公交站点迁移申请被答复不能办"}

# who registers a staff-started appeal of each mechanism (a demo user of its first step's group)
STARTERS = {"huzhou_joint_meeting": "hz_qifu", "qiantang_target_tracking": "qt_zhongxin",
            "lucheng_mock_accountability": "lc_guancha", "luqiao_say_no_review": "lq_pingtai"}

SAMPLES = [
    Sample("湖州演示新材料有限公司", "huzhou_joint_meeting", "new", 0.05, "Task_register", portal=True,
           data={"summary": "新厂房用地指标迟迟未落实，影响二期投产"}),
    Sample("湖州演示精密机械有限公司", "huzhou_joint_meeting", "green", 1.0, "Task_board_handle", portal=True,
           answers=HZ, data={"summary": "技改项目设备补贴申报后三个月未到账"}),
    Sample("湖州演示纺织科技有限公司", "huzhou_joint_meeting", "yellow", 3.5, "Task_board_handle", portal=True,
           answers=HZ, data={"summary": "印染车间环评批复办理进度缓慢"}),
    Sample("湖州演示生物医药有限公司", "huzhou_joint_meeting", "orange", 4.5, "Task_board_handle", portal=True,
           answers=HZ, data={"summary": "新药生产线消防验收排期过长"}),
    Sample("湖州演示物流有限公司", "huzhou_joint_meeting", "red", 8.0, "Task_board_handle", portal=True,
           answers=HZ, data={"summary": "冷链仓储项目施工许可迟迟未批"}),
    Sample("湖州演示电子商务有限公司", "huzhou_joint_meeting", "returned", 2.0, "Task_board_handle", portal=True,
           answers=HZ, returned="诉求属于准入准营类，分派板块有误，请重新登记分派",
           data={"summary": "跨境电商仓库营业执照经营范围变更受阻"}),
    Sample("湖州演示食品有限公司", "huzhou_joint_meeting", "rated_good", 15.0, None, portal=True,
           answers=HZ, data={"summary": "食品生产许可证延续办理咨询无人答复"}),
    Sample("湖州演示建材有限公司", "huzhou_joint_meeting", "rated_bad", 12.0, "Task_second_supervision",
           portal=True, rating="bad", answers=HZ, data={"summary": "厂区外道路积水多次反映未解决"}),
    Sample("DEMO-HZ-STALL", "huzhou_joint_meeting", "stalled", 6.0, None, answers=HZ_STUCK,
           data={"company": "湖州演示家居有限公司", "summary": "家居产业园配套道路迟迟未建", "channel": "talks",
                 "enterprise_user": ""}),         # registered without the enterprise's account: cannot invite it
    Sample("DEMO-QT-001", "qiantang_target_tracking", "new", 0.1, "Task_assess", answers=QT,
           data={"company": "钱塘演示生物科技有限公司", "summary": "研发中心装修审批流转环节多", "enterprise_user": "qiye"}),
    Sample("DEMO-QT-002", "qiantang_target_tracking", "in_progress", 2.0, "Task_work", answers=QT,
           data={"company": "钱塘演示半导体有限公司", "summary": "新建厂房规划许可多部门审批", "enterprise_user": "qiye"}),
    Sample("DEMO-QT-003", "qiantang_target_tracking", "rated_good", 20.0, None, answers=QT,
           data={"company": "钱塘演示汽车零部件有限公司", "summary": "厂区用电增容报装周期长", "enterprise_user": "qiye"}),
    Sample("DEMO-LC-001", "lucheng_mock_accountability", "yellow", 3.5, "Task_investigate", answers=LC,
           data={"company": "鹿城演示鞋业有限公司", "summary": "个转企变更登记迟迟未办结", **LC_START}),
    Sample("DEMO-LC-002", "lucheng_mock_accountability", "closed", 20.0, None, answers=LC,
           data={"company": "鹿城演示眼镜有限公司", "summary": "眼镜出口备案材料反复退回", **LC_START}),
    Sample("DEMO-LQ-001", "luqiao_say_no_review", "new", 0.2, "Task_register", answers=LQ,
           data={"company": "路桥演示机电有限公司"}),
    Sample("DEMO-LQ-002", "luqiao_say_no_review", "closed", 10.0, None, answers=LQ,
           data={"company": "路桥演示塑料制品有限公司"}),
]


def credit_code(n: int) -> str:
    """A valid unified social credit code (GB 32100-2015) of a 湖州 company, from a serial number."""
    from qihu.appeals.portal import CREDIT_CHARS, CREDIT_WEIGHTS, ORG_WEIGHTS
    org = f"{73000000 + n:08d}"
    body = sum(int(ch) * w for ch, w in zip(org, ORG_WEIGHTS))
    org += {10: "X", 11: "0"}.get(11 - body % 11, str(11 - body % 11))
    code = "91330500" + org
    total = sum(CREDIT_CHARS.index(ch) * w for ch, w in zip(code, CREDIT_WEIGHTS))
    return code + CREDIT_CHARS[(31 - total % 31) % 31]


def working_back(now: datetime, days: float, is_workday) -> datetime:
    """The moment `days` working days (whole calendar days that are working days) before now."""
    left, cursor = days * DAY, now.astimezone(TIMEZONE)
    for _ in range(400):
        start = cursor.replace(hour=0, minute=0, second=0, microsecond=0)
        if start == cursor:
            start -= timedelta(days=1)          # Beijing has no daylight saving: a day is 24 hours
        if is_workday(start.date()):
            span = (cursor - start).total_seconds()
            if span >= left:
                return cursor - timedelta(seconds=left)
            left -= span
        cursor = start
    raise ValueError(f"no {days} working days before {now}")


def fill(form: dict, answers: dict, known: dict, rating: str, today: datetime) -> dict:
    """Values for a step's form: the sample's answer, else the appeal's own value, else a plain one."""
    out: dict[str, Any] = {}
    for f in form.get("fields", []):
        fid, kind, options = f["id"], f["type"], f.get("options") or []
        ids = [o["id"] for o in options]
        if kind == "enum" and any("满意" in (o["name"] or "") for o in options):
            bad = [o["id"] for o in options if BAD_WORDS in (o["name"] or "")]
            good = [o["id"] for o in options if o["id"] not in bad]
            out[fid] = bad[0] if rating == "bad" and bad else good[0]
            continue
        for value in (answers.get(fid), known.get(fid)):
            if value is not None and value != "" and (kind != "enum" or str(value) in ids):
                out[fid] = value
                break
        else:
            if kind == "enum":
                out[fid] = ids[0]
            elif kind == "boolean":
                out[fid] = False
            elif kind in ("long", "integer"):
                out[fid] = 10 if "days" in fid else 1
            elif kind == "date":
                out[fid] = (today + timedelta(days=30)).date().isoformat()
            elif "comment" in fid or "opinion" in fid:
                out[fid] = "办理不及时，问题仍未解决" if rating == "bad" else "办理及时，问题已解决"
            else:
                out[fid] = f"{f['label']}（演示）"
    return out


class Seeder:
    """Walks the samples on an engine whose clock it moves (engine.clock is a ManualClock)."""

    def __init__(self, engine: Any, users: dict[str, list[str]]):
        from qihu.appeals import of
        from qihu.engine.runtime.worker import Worker
        self.engine, self.users, self.portal = engine, users, of(engine).portal
        self.clock: ManualClock = engine.clock
        self.worker = Worker(engine)

    def exists(self, sample: Sample) -> bool:
        with self.engine.db.read() as s:
            if sample.portal:
                return s.scalar(select(AppealTicket.id).where(AppealTicket.company == sample.key).limit(1)) is not None
            return s.scalar(select(Instance.id).where(Instance.business_key == sample.key).limit(1)) is not None

    def user_for(self, task: dict) -> str:
        if task["assignee"]:
            return task["assignee"]
        for user, groups in self.users.items():
            if set(groups) & set(task["candidate_groups"]):
                return user
        if task["candidate_users"]:
            return task["candidate_users"][0]
        raise LookupError(f"no demo user may work on {task['element_id']} ({task['candidate_groups']})")

    def walk(self, sample: Sample, n: int, start: datetime) -> str:
        self.clock.set(max(start, self.clock.now()))      # time only moves on
        token = None
        if sample.portal:
            opened = self.portal.submit(sample.mechanism, sample.key, credit_code(n), "张经理", f"1385720{n:04d}",
                                        sample.answers.get("category") or self._first_category(sample.mechanism),
                                        sample.data.get("summary", "演示诉求"))
            iid, token = opened["instance_id"], opened["token"]
        else:
            iid = self.engine.runtime.start(sample.mechanism, dict(sample.data), business_key=sample.key,
                                            user=STARTERS.get(sample.mechanism))
        for _ in range(60):
            ready = self.engine.tasks.list(instance_id=iid)
            if not ready:
                return iid
            task = ready[0]
            if task["element_id"] == sample.stop:
                if sample.returned:
                    self.engine.handoff.return_task(task["id"], self.user_for(task), sample.returned)
                return iid
            self.clock.advance(minutes=1)          # each step a minute after the last
            form = self.engine.tasks.get(task["id"])["form"]
            values = fill(form, sample.answers, {**sample.data, **self.engine.runtime.data(iid)}, sample.rating,
                          self.clock.now())
            user = self.user_for(task)
            if token and user.startswith("qiye:"):
                self.portal.rate(token, task["id"], values)
            else:
                self.engine.tasks.complete(task["id"], user, values)
        raise RuntimeError(f"sample {sample.key} did not reach {sample.stop}")

    def _first_category(self, key: str) -> str:
        [d] = [d for d in self.portal.portal_definitions() if d["key"] == key]
        return (d["categories"] or [{"id": "other"}])[0]["id"]

    def catch_up(self, now: datetime) -> None:
        """Bring the clock to now (never back); the worker fires what fell due meanwhile."""
        self.clock.set(max(now, self.clock.now()))
        for _ in range(1000):
            if not self.worker.run_once():
                return


def sample_appeals(engine: Any, users: dict[str, list[str]]) -> Iterator[str]:
    """Seed SAMPLES not yet in the database; yields a line per sample added."""
    from qihu import appeals
    from qihu.engine.core import Engine
    now = engine.clock.now()
    clock = ManualClock(now)
    walker_engine = Engine(settings=engine.settings, handlers=engine.handlers, clock=clock, migrate=False)
    try:
        appeals.install(walker_engine)
        seeder = Seeder(walker_engine, users)
        todo = [(working_back(now, s.back, walker_engine.calendar.is_workday), n, s)
                for n, s in enumerate(SAMPLES, 1) if not seeder.exists(s)]
        todo.sort(key=lambda item: item[0])            # the oldest first: the clock only moves on
        if todo:
            clock.set(todo[0][0])
        for start, n, sample in todo:
            seeder.catch_up(start)
            seeder.walk(sample, n, start)
            yield f"sample appeal {sample.key} ({sample.mechanism}): {sample.state}"
        seeder.catch_up(now)
    finally:
        walker_engine.close()
