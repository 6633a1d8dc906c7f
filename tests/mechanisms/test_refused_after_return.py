"""The class of issue 13 finding 3: after a 退单, a refused form and then the right one must
never strand an appeal.

For every bundled mechanism (bpmn/*.bpmn deployed as one bundle with the demo users, as `qihu
demo` does; portal-offered processes submitted on the portal, the rest started by staff) and
every user step that can be returned (camunda:property returnTo), found in the diagrams
themselves so a new mechanism is covered without a line here:

  walk to that step with valid forms → refuse a submission there → 退单 → at the step it went
  back to and at every step after it, refuse a submission first (a required field blank or a
  value that is not allowed, in turn) and then give a valid one, the enterprise through its
  portal link → the appeal reaches its end or its next wait, with no open incident anywhere.

A refused submission rolls its transaction back and drops the cached tree, so the next step
loads the instance as stored: the bug was a state that lost its variables on that load.
Form values are drawn from each field's type and options with a fixed seed per case
(several seeds are tried to reach the returnable step), so a run is repeatable.
"""
import random
import re
from datetime import timedelta
from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import func, select

from qihu import appeals
from qihu.appeals.demo import DEMO_USERS, seed
from qihu.engine.dialect.timers import TIMEZONE
from qihu.engine.errors import ValidationFailed
from qihu.engine.storage.models import Job
from tests.scenario import Scenario

ROOT = Path(__file__).resolve().parents[2]
FILES = sorted((ROOT / "bpmn").glob("*.bpmn"))
BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
CAMUNDA = "{http://camunda.org/schema/1.0/bpmn}"
CREDIT_CODE = "91330100799655058B"
SEEDS = range(12)            # walks tried to reach a returnable step
MAX_STEPS = 45               # user-task completions after the return before we call it a loop
REASON = "不属于本单位职责，退回重新分派"
MISSING = re.compile(r"name '(\w+)' is not defined")
# What staff enter when they start an appeal by hand (API or command line; the diagrams of
# such processes have no intake form): the appeal's usual variables, the enterprise's account
# being the demo's enterprise user. A start whose first steps name one more variable (e.g. the
# observation point an observer reports in 鹿城) gets it as text.
STAFF_START = {"company": "测试实业有限公司", "summary": "厂房扩建审批材料反复补正，希望尽快协调办理",
               "category": "其他", "channel": "电话", "enterprise_user": "qiye"}


def returnable_steps():
    """(file name, process id, user task id, returnTo target) of every bundled diagram."""
    out = []
    for path in FILES:
        for process in etree.parse(str(path)).getroot().iter(BPMN + "process"):
            for task in process.iter(BPMN + "userTask"):
                for prop in task.iter(CAMUNDA + "property"):
                    if prop.get("name") == "returnTo" and prop.get("value"):
                        out.append((path.name, process.get("id"), task.get("id"), prop.get("value")))
    return out


def processes():
    """(file name, process id) of every executable process of the bundled diagrams."""
    return [(path.name, p.get("id")) for path in FILES
            for p in etree.parse(str(path)).getroot().iter(BPMN + "process") if p.get("isExecutable") == "true"]


CASES = returnable_steps()
PROCESSES = processes()


def test_the_bundled_diagrams_have_returnable_steps():
    assert len({c[0] for c in CASES}) >= 8, CASES


class Walker:
    """Works an instance's inbox as staff (demo users) and the enterprise (its portal link) would."""

    def __init__(self, engine, clock, rng):
        self.engine, self.clock, self.rng = engine, clock, rng
        self.sc = Scenario(engine, clock)
        self.portal = appeals.of(engine).portal
        self.tokens = {}                      # enterprise user -> its tracking link's token
        self.steps = []                       # element ids completed, in order

    # -- starting as the demo does -------------------------------------------------------------
    def start(self, key):
        definition = self.engine.db_get_definition(self.engine.repository.definitions(key=key)[0]["id"])
        if self.portal.offered(definition):
            categories = self.portal._categories(self.engine.repository.process(definition))
            made = self.portal.submit(key, "测试实业有限公司", CREDIT_CODE, "吴经理", "13905780000",
                                      categories[0]["id"] if categories else "其他",
                                      "厂房扩建审批材料反复补正，希望尽快协调办理")
            self.tokens[f"qiye:{made['tracking_no']}"] = made["token"]
            return made["instance_id"]
        starters = self.engine.access.starters(definition)[0]
        user = next((u for u, groups in DEMO_USERS.items() if set(groups) & set(starters)), None)
        data = dict(STAFF_START)
        for _ in range(10):
            try:
                return self.engine.runtime.start(key, data, business_key=f"T-{key}", user=user)
            except Exception as e:        # noqa: BLE001 - a start script names what staff enter
                missing = MISSING.search(str(e))
                if missing is None or missing.group(1) in data:
                    raise
                data[missing.group(1)] = "按要求填写的发起信息"
        raise AssertionError(f"{key}: the start needs more than {sorted(data)}")

    # -- who acts ------------------------------------------------------------------------------
    def actor(self, t):
        if t["assignee"]:
            return t["assignee"]
        if t["candidate_users"]:
            return t["candidate_users"][0]
        group = t["candidate_groups"][0]
        demo = sorted(u for u, groups in DEMO_USERS.items() if group in groups)
        if demo:
            return demo[0]
        self.engine.tasks.add_member(f"w_{group}", group)      # a group named by a typed value
        return f"w_{group}"

    # -- form values ---------------------------------------------------------------------------
    def valid(self, field):
        rules = field["validation"]
        kind = field["type"]
        if kind == "enum":
            return self.rng.choice([o["id"] for o in field["options"]])
        if kind == "boolean":
            return self.rng.choice([True, False])
        if kind in ("long", "integer"):
            low = int(float(rules.get("min") or 1))
            high = int(float(rules.get("max") or max(low, 5)))
            return self.rng.randint(low, max(low, min(high, low + 4)))
        if kind == "date":
            return self.clock.now().astimezone(TIMEZONE).date().isoformat()
        text = "按要求填写的办理内容"
        low = int(rules.get("minlength") or 0)
        text = (text * (low // len(text) + 1)) if low > len(text) else text
        return text[:int(rules["maxlength"])] if rules.get("maxlength") else text

    def refused(self, fields, n):
        """A submission the form must refuse (blank required field, or a value not allowed), or
        None when nothing in this form can be refused."""
        good = {f["id"]: self.valid(f) for f in fields}
        required = [f for f in fields if "required" in f["validation"]]
        invalid = {"enum": "不存在的选项", "boolean": "也许", "long": "不是数字", "integer": "不是数字",
                   "date": "不是日期"}
        typed = [f for f in fields if f["type"] in invalid]
        kinds = (["blank"] if required else []) + (["invalid"] if typed else [])
        if not kinds:
            return None
        if kinds[n % len(kinds)] == "blank":
            good[required[0]["id"]] = ""
        else:
            good[typed[0]["id"]] = invalid[typed[0]["type"]]
        return good

    def submit(self, t, values):
        user = self.actor(t)
        if user in self.tokens:               # the enterprise: on the portal, as it rates
            self.portal.rate(self.tokens[user], t["id"], values)
        else:
            self.engine.tasks.complete(t["id"], user, values)

    # -- the walk ------------------------------------------------------------------------------
    def ready(self, iid):
        return sorted(self.sc.tasks(iid), key=lambda t: (t["created_at"], t["element_id"], t["id"]))

    def fire_next_timer(self, iid):
        with self.engine.db.read() as s:
            due = s.scalar(select(func.min(Job.due_at)).where(Job.instance_id == iid))
        if due is None:
            return False
        self.clock.set(max(self.clock.now(), due) + timedelta(seconds=1))
        while self.sc.worker.run_once():
            pass
        return True

    def walk(self, iid, until=None, refuse=False, limit=MAX_STEPS):
        """Complete ready tasks (refusing a submission first when `refuse`) until `until` is
        ready (returns that task), the instance stops running or waits on nothing we can fire,
        or `limit` completions; returns None then."""
        for n in range(limit):
            if self.sc.status(iid) != "running":
                return None
            ready = self.ready(iid)
            hit = [t for t in ready if t["element_id"] == until]
            if hit:
                return hit[0]
            if not ready:
                if not self.fire_next_timer(iid):
                    return None
                continue
            t = ready[0]
            fields = self.engine.tasks.get(t["id"])["form"]["fields"]
            if refuse:
                self.refuse(t, fields, n)
            self.submit(t, {f["id"]: self.valid(f) for f in fields})
            self.steps.append(t["element_id"])
        return None

    def refuse(self, t, fields, n):
        bad = self.refused(fields, n)
        if bad is not None:
            with pytest.raises(ValidationFailed):
                self.submit(t, bad)


@pytest.mark.parametrize("file,key,element,target", CASES, ids=[f"{c[1]}-{c[2]}" for c in CASES])
def test_refused_forms_after_a_return_do_not_strand_the_appeal(engine, clock, file, key, element, target):
    list(seed(engine, ROOT / "bpmn"))
    for attempt in SEEDS:
        w = Walker(engine, clock, random.Random(f"{key}/{element}/{attempt}"))
        iid = w.start(key)
        t = w.walk(iid, until=element, limit=30)
        if t is not None:
            break
    else:
        pytest.fail(f"{file}: no walk reached {element} in {len(SEEDS)} tries")

    fields = engine.tasks.get(t["id"])["form"]["fields"]
    w.refuse(t, fields, 0)
    engine.handoff.return_task(t["id"], w.actor(t), REASON)
    assert [x["element_id"] for x in w.ready(iid)] == [target]

    w.walk(iid, refuse=True)
    where = f"{file} after {' → '.join(w.steps)}"
    assert [(i["element_id"], i["message"]) for i in engine.runtime.incidents()] == [], where
    status = w.sc.status(iid)
    waits = status == "running" and not w.ready(iid)
    assert status == "completed" or waits or len(w.steps) >= MAX_STEPS, where
    assert target in w.steps, where


@pytest.mark.parametrize("file,key", PROCESSES, ids=[p[1] for p in PROCESSES])
def test_refused_forms_at_every_step_do_not_strand_the_appeal(engine, clock, file, key):
    """The same without a return, for every mechanism (those without a returnable step too):
    each step refuses a submission first, then takes a valid one."""
    list(seed(engine, ROOT / "bpmn"))
    w = Walker(engine, clock, random.Random(key))
    iid = w.start(key)
    w.walk(iid, refuse=True)
    where = f"{file} after {' → '.join(w.steps)}"
    assert [(i["element_id"], i["message"]) for i in engine.runtime.incidents()] == [], where
    status = w.sc.status(iid)
    assert status == "completed" or (status == "running" and not w.ready(iid)) or len(w.steps) >= MAX_STEPS, where
    assert w.steps, where
