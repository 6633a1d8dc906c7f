"""The bundled diagrams open cleanly in Camunda Modeler / bpmn-js and read well.

bpmn-js draws only what the diagram interchange (BPMNDI) describes: a node without a
shape is invisible, a flow without an edge is lost on the next save. These checks hold
every file in bpmn/ to what a designer expects when opening it: a shape per node and
lane, an edge per flow that starts and ends on its nodes, nodes inside their lanes and
not on top of each other, and Chinese names for staff.
"""
import re
from pathlib import Path

import pytest
from lxml import etree

ROOT = Path(__file__).resolve().parents[2]
FILES = sorted((ROOT / "bpmn").glob("*.bpmn"))
NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
      "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
      "dc": "http://www.omg.org/spec/DD/20100524/DC",
      "di": "http://www.omg.org/spec/DD/20100524/DI"}
B = "{%s}" % NS["bpmn"]
NOT_NODES = {"sequenceFlow", "laneSet", "dataObject", "textAnnotation", "association", "extensionElements",
             "documentation", "ioSpecification", "property", "group", "category", "dataStoreReference",
             "dataObjectReference", "dataInputAssociation", "dataOutputAssociation", "messageFlow"}
CJK = re.compile(r"[\u4e00-\u9fff]")
SLACK = 3.0   # pixels an edge end may sit off a shape's border


def _bounds(shape):
    b = shape.find("dc:Bounds", NS)
    return tuple(float(b.get(k)) for k in ("x", "y", "width", "height"))


def _inside(inner, outer, slack=0.0):
    x, y, w, h = inner
    X, Y, W, H = outer
    return x >= X - slack and y >= Y - slack and x + w <= X + W + slack and y + h <= Y + H + slack


def _overlap(a, b):
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    return ax < bx + bw and bx < ax + aw and ay < by + bh and by < ay + ah


def _near(point, box):
    """The point lies on (or just inside) the shape: edges start and end at their nodes."""
    px, py = point
    x, y, w, h = box
    return x - SLACK <= px <= x + w + SLACK and y - SLACK <= py <= y + h + SLACK


class Diagram:
    def __init__(self, path):
        self.path = path
        self.tree = etree.parse(str(path))
        root = self.tree.getroot()
        self.processes = root.findall("bpmn:process", NS)
        self.shapes = {s.get("bpmnElement"): s for s in root.iter("{%s}BPMNShape" % NS["bpmndi"])}
        self.edges = {e.get("bpmnElement"): e for e in root.iter("{%s}BPMNEdge" % NS["bpmndi"])}

    def nodes(self):
        """(element, process) for every flow node, including those inside sub-processes."""
        out = []

        def walk(container, process):
            for el in container:
                if not isinstance(el.tag, str) or not el.tag.startswith(B):
                    continue
                local = el.tag[len(B):]
                if local in NOT_NODES:
                    continue
                out.append(el)
                if local in ("subProcess", "transaction"):
                    walk(el, process)
        for p in self.processes:
            walk(p, p)
        return out

    def flows(self):
        return [f for p in self.processes for f in p.iter(B + "sequenceFlow")]

    def lanes(self):
        return [lane for p in self.processes for lane in p.iter(B + "lane")]


@pytest.fixture(params=FILES, ids=[f.name for f in FILES])
def diagram(request):
    return Diagram(request.param)


def test_there_are_the_four_mechanisms_and_the_demo():
    names = {f.stem for f in FILES}
    assert {"appeal_basic", "huzhou_joint_meeting", "qiantang_target_tracking",
            "lucheng_mock_accountability", "luqiao_say_no_review"} <= names


def test_every_node_and_lane_has_a_shape_and_every_flow_an_edge(diagram):
    missing = [n.get("id") for n in diagram.nodes() if n.get("id") not in diagram.shapes]
    missing += [lane.get("id") for lane in diagram.lanes() if lane.get("id") not in diagram.shapes]
    assert missing == [], f"{diagram.path.name}: no BPMNShape for {missing}"
    no_edge = [f.get("id") for f in diagram.flows() if f.get("id") not in diagram.edges]
    assert no_edge == [], f"{diagram.path.name}: no BPMNEdge for {no_edge}"
    short = [i for i, e in diagram.edges.items() if len(e.findall("di:waypoint", NS)) < 2]
    assert short == [], f"{diagram.path.name}: edges with fewer than two waypoints: {short}"
    for pid in [p.get("id") for p in diagram.tree.getroot().iter(B + "participant")]:
        assert pid in diagram.shapes, f"{diagram.path.name}: no shape for participant {pid}"


def test_nodes_sit_inside_their_lane_and_do_not_overlap(diagram):
    lane_of = {}
    for lane in diagram.lanes():
        for ref in lane.findall("bpmn:flowNodeRef", NS):
            lane_of[ref.text.strip()] = lane.get("id")
    problems = []
    boxes = {}
    for n in diagram.nodes():
        nid = n.get("id")
        if nid not in diagram.shapes:
            continue
        box = _bounds(diagram.shapes[nid])
        if n.tag == B + "boundaryEvent":
            host = n.get("attachedToRef")
            hx, hy, hw, hh = _bounds(diagram.shapes[host])
            cx, cy = box[0] + box[2] / 2, box[1] + box[3] / 2
            on_border = ((abs(cx - hx) <= SLACK or abs(cx - hx - hw) <= SLACK) and hy - SLACK <= cy <= hy + hh + SLACK) or \
                        ((abs(cy - hy) <= SLACK or abs(cy - hy - hh) <= SLACK) and hx - SLACK <= cx <= hx + hw + SLACK)
            if not on_border:
                problems.append(f"boundary event {nid} is not on the border of {host}")
            continue
        if diagram.lanes():
            if nid not in lane_of and n.getparent().tag == B + "process":
                problems.append(f"{nid} is in no lane")
            elif nid in lane_of and not _inside(box, _bounds(diagram.shapes[lane_of[nid]])):
                problems.append(f"{nid} is drawn outside its lane {lane_of[nid]}")
        boxes[nid] = box
    ids = sorted(boxes)
    for i, a in enumerate(ids):
        for b in ids[i + 1:]:
            if _overlap(boxes[a], boxes[b]) and not (_inside(boxes[a], boxes[b]) or _inside(boxes[b], boxes[a])):
                problems.append(f"{a} and {b} overlap")
    assert problems == [], f"{diagram.path.name}: " + "; ".join(problems)


def test_lanes_stack_inside_their_pool(diagram):
    pools = [diagram.shapes[p.get("id")] for p in diagram.tree.getroot().iter(B + "participant")]
    if not pools:
        return
    pool = _bounds(pools[0])
    lanes = sorted((_bounds(diagram.shapes[lane.get("id")]) for lane in diagram.lanes()), key=lambda b: b[1])
    for lane in lanes:
        assert _inside(lane, pool, slack=1), f"{diagram.path.name}: a lane sticks out of the pool"
    for upper, lower in zip(lanes, lanes[1:]):
        assert abs(upper[1] + upper[3] - lower[1]) <= 1, f"{diagram.path.name}: lanes leave a gap or overlap"


def test_edges_start_and_end_on_their_nodes(diagram):
    problems = []
    for f in diagram.flows():
        e = diagram.edges.get(f.get("id"))
        src, dst = diagram.shapes.get(f.get("sourceRef")), diagram.shapes.get(f.get("targetRef"))
        if e is None or src is None or dst is None:
            continue
        points = [(float(p.get("x")), float(p.get("y"))) for p in e.findall("di:waypoint", NS)]
        if not _near(points[0], _bounds(src)):
            problems.append(f"{f.get('id')} does not start on {f.get('sourceRef')}")
        if not _near(points[-1], _bounds(dst)):
            problems.append(f"{f.get('id')} does not end on {f.get('targetRef')}")
    assert problems == [], f"{diagram.path.name}: " + "; ".join(problems)


def test_staff_read_chinese_names(diagram):
    unnamed = []
    for n in diagram.nodes():
        local = n.tag[len(B):]
        if local.endswith("Task") or local in ("task", "callActivity", "subProcess"):
            if not CJK.search(n.get("name") or ""):
                unnamed.append(n.get("id"))
    unnamed += [lane.get("id") for lane in diagram.lanes() if not CJK.search(lane.get("name") or "")]
    for p in diagram.processes:
        if not CJK.search(p.get("name") or ""):
            unnamed.append(p.get("id"))
    assert unnamed == [], f"{diagram.path.name}: no Chinese name on {unnamed}"


def test_the_whole_folder_deploys_as_one_bundle(engine):
    files = sorted(p for p in (ROOT / "bpmn").iterdir() if p.suffix in (".bpmn", ".dmn"))
    result = engine.repository.deploy(files, name="bundled diagrams")
    keys = {d["key"] for d in result.definitions}
    assert {"appeal_basic", "huzhou_joint_meeting", "qiantang_target_tracking",
            "lucheng_mock_accountability", "luqiao_say_no_review"} <= keys


def test_every_group_of_the_bundled_diagrams_has_a_demo_user():
    """Staff trying the demo find someone for every step: literal candidate groups, the
    groups an enum field chooses between (e.g. the responsible unit), and the DMN's boards."""
    from qihu.appeals.demo import DEMO_USERS
    held = {g for groups in DEMO_USERS.values() for g in groups}
    camunda = "{http://camunda.org/schema/1.0/bpmn}"
    wanted = {}
    for path in FILES:
        tree = etree.parse(str(path))
        for el in tree.iter():
            for g in (el.get(camunda + "candidateGroups") or "").split(","):
                if g.strip() and "${" not in g:
                    wanted.setdefault(g.strip(), path.name)
    # a region's groups share its prefix (hz_, qt_, dh_, ...): enum options and DMN outputs with
    # it name groups that some step is offered to
    group_like = re.compile(r"^(%s)_" % "|".join(sorted({g.split("_")[0] for g in wanted if "_" in g})))
    for path in FILES:
        tree = etree.parse(str(path))
        for field in tree.iter(camunda + "formField"):
            options = [v.get("id") for v in field.iter(camunda + "value")]
            if options and all(group_like.match(o) for o in options):
                for o in options:
                    wanted.setdefault(o, f"{path.name} field {field.get('id')}")
    for path in sorted((ROOT / "bpmn").glob("*.dmn")):
        for text in etree.parse(str(path)).iter("{*}outputEntry"):
            value = text.findtext("{*}text", "").strip().strip('"')
            if group_like.match(value):
                wanted.setdefault(value, path.name)
    missing = {g: where for g, where in wanted.items() if g not in held}
    assert missing == {}, f"groups no demo user holds: {missing}"
    assert len(wanted) > 30


def test_every_demo_user_has_a_display_name():
    from qihu.appeals.demo import DEMO_NAMES, DEMO_USERS
    assert set(DEMO_NAMES) == set(DEMO_USERS)
