"""Repository: deploy bundles of .bpmn/.dmn files, keep versions, build specs once per version."""
from __future__ import annotations

import hashlib
import io
import threading
import zipfile
import zlib
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import Select, select, func
from sqlalchemy.orm import Session

from qihu.engine.dialect.checks import bundle_warnings, check_bundle
from qihu.engine.errors import DeployError, NotFound, Problem, QihuError, ValidationFailed, bilingual
from qihu.engine.storage.limits import check_text, problem
from qihu.engine.storage.models import ActiveVersion, Definition, Deployment, Instance, MessageStart, Resource
from qihu.engine.dialect.parser import ParsedBundle, ProcessInfo, parse_bundle
from qihu.engine.types import (LIVE_INSTANCE, DefinitionFile, DefinitionInfo, DeployedDefinition, DeployResult,
                               ProblemInfo, VersionDiff, VersionInfo, WaitKind)

if TYPE_CHECKING:   # the types of the engine's parts (RepositoryEngine)
    from qihu.engine.identity.audit import Audit
    from qihu.engine.clock import Clock
    from qihu.engine.dialect.sandbox import SandboxScriptEngine
    from qihu.engine.listeners import Listeners
    from qihu.engine.storage.db import Database
    from qihu.engine.topics import HandlerRegistry

# A file to deploy: a path (a .bpmn/.dmn file, a folder of them, a zip of them), or a
# (name, content) pair.
Item = str | Path | tuple[str, bytes | str]


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


ZIP_MAX_FILES = 200
ZIP_MAX_BYTES = 50 * 1024 * 1024     # unpacked: a zip bomb stops here, not in memory
ZIP_MAX_RATIO = 200                  # unpacked / packed: XML compresses well, but not a thousandfold


def read_zip(name: str, content: bytes) -> list[tuple[str, bytes]]:
    """The .bpmn/.dmn files of a zip (folders inside it flattened to base names); anything
    else in it, an unsafe or oversized archive, is a DeployError naming the zip and entry."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
        entries = [i for i in archive.infolist() if not i.is_dir()]
    except (zipfile.BadZipFile, ValueError) as e:
        raise DeployError([Problem(bilingual("无法读取 zip 文件", f"not a readable zip file: {e}"), file=name)]) from None
    problems: list[Problem] = []
    out: list[tuple[str, bytes]] = []
    total = 0
    for info in entries:
        base = PurePosixPath(info.filename.replace("\\", "/")).name
        if info.filename.startswith("__MACOSX/") or base.startswith("."):
            continue                                    # what desktop zip tools add
        if Path(base).suffix.lower() not in (".bpmn", ".dmn"):
            problems.append(Problem(bilingual(f"zip 中的 {info.filename!r} 不是 .bpmn 或 .dmn 文件",
                                                  f"zip entry {info.filename!r} is not a .bpmn or .dmn file"), file=name))
            continue
        total += info.file_size
        if len(out) >= ZIP_MAX_FILES or total > ZIP_MAX_BYTES:
            raise DeployError([Problem(bilingual(
                f"zip 中的文件超过 {ZIP_MAX_FILES} 个或解压后超过 {ZIP_MAX_BYTES // (1024 * 1024)} MB",
                f"zip holds more than {ZIP_MAX_FILES} files or {ZIP_MAX_BYTES // (1024 * 1024)} MB unpacked"),
                file=name)])
        if info.compress_size and info.file_size > ZIP_MAX_RATIO * info.compress_size and info.file_size > 1024 * 1024:
            raise DeployError([Problem(bilingual(f"zip 中的 {info.filename!r} 压缩比异常（疑似压缩炸弹）",
                                                 f"zip entry {info.filename!r} unpacks more than {ZIP_MAX_RATIO} "
                                                 "times its size (a zip bomb?)"), file=name)])
        try:
            with archive.open(info) as f:
                data = f.read(ZIP_MAX_BYTES + 1)          # the header's size may lie
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, ValueError,
                OSError) as e:
            # bad CRC, a size the header understates, encryption, an unknown compression ...
            raise DeployError([Problem(bilingual(f"zip 中的 {info.filename!r} 无法读取（文件损坏或格式不支持）",
                                                 f"zip entry {info.filename!r} cannot be read: {e}"),
                                       file=name)]) from None
        if len(data) > info.file_size:
            raise DeployError([Problem(bilingual(f"zip 中的 {info.filename!r} 比声明的大小更大",
                                                 f"zip entry {info.filename!r} is larger than it says"), file=name)])
        out.append((base, data))
    if problems:
        raise DeployError(problems)
    if not out:
        raise DeployError([Problem(bilingual("zip 中没有 .bpmn 或 .dmn 文件", "zip holds no .bpmn or .dmn file"), file=name)])
    return out


def read_resources(items: Iterable[Item]) -> list[tuple[str, bytes]]:
    """Accept paths (files, folders of .bpmn/.dmn, zips of them) or (name, bytes) pairs."""
    out = _read_resources(items)
    problems = []
    for name, _content in out:
        p = problem(name, Resource.name)
        if p is not None:
            problems.append(Problem(bilingual(f"文件名{p[0]}", f"file name {p[1]}"), file=name[:100]))
    if problems:
        raise DeployError(problems)
    return out


def _read_resources(items: Iterable[Item]) -> list[tuple[str, bytes]]:
    out: list[tuple[str, bytes]] = []
    for item in items:
        if isinstance(item, tuple):
            name, content = item
            content = content.encode("utf-8") if isinstance(content, str) else content
            out.extend(read_zip(name, content) if name.lower().endswith(".zip") else [(name, content)])
            continue
        p = Path(item)
        if p.is_dir():
            files = sorted(f for f in p.iterdir() if f.suffix.lower() in (".bpmn", ".dmn"))
            if not files:
                raise DeployError([Problem(bilingual("文件夹中没有 .bpmn 或 .dmn 文件", "folder holds no .bpmn or .dmn file"), file=str(p))])
            out.extend((f.name, f.read_bytes()) for f in files)
        elif p.is_file() and p.suffix.lower() == ".zip":
            out.extend(read_zip(p.name, p.read_bytes()))
        elif p.is_file():
            out.append((p.name, p.read_bytes()))
        else:
            raise DeployError([Problem(bilingual("文件不存在", "no such file"), file=str(p))])
    names = [n for n, _ in out]
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        raise DeployError([Problem(bilingual("部署中有两个文件同名", "two files of the bundle have the same name"), file=n) for n in sorted(dupes)])
    return out


class _NothingNew(Exception):
    def __init__(self, result: DeployResult) -> None:
        self.result = result


def _region_arg(region: object) -> str | None:
    """A deploy's region: stripped text, or None; ValidationFailed for what a region cannot be."""
    if region is None:
        return None
    if not isinstance(region, str) or len(region.strip()) > 100 or "," in region or problem(region) is not None:
        raise ValidationFailed(f"地区名称无效 (invalid region {region!r}: text of at most 100 characters, "
                               "no commas)", {"region": "地区名称无效 (invalid region)"})
    return region.strip() or None


def _deployment_name(name: str | None, shas: Mapping[str, str]) -> str:
    """The given name, else the files' names, cut to the column's 200 characters (a folder of
    diagrams lists more than that)."""
    name = name or ", ".join(sorted(shas))
    return name if len(name) <= 200 else name[:199] + "…"


def _process_region(info: ProcessInfo, region: str | None) -> str | None:
    """The region a process is deployed for: the deploy's, else its own `region` property."""
    return region or ((info.properties or {}).get("region") or "").strip() or None


class RepositoryEngine(Protocol):
    """What the repository uses of the engine it belongs to (qihu.engine.Engine is one)."""

    @property
    def db(self) -> Database: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def audit(self) -> Audit: ...

    @property
    def listeners(self) -> Listeners: ...

    @property
    def handlers(self) -> HandlerRegistry: ...

    @property
    def script_engine(self) -> SandboxScriptEngine: ...   # its helpers: what deploy lets expressions call


class Repository:
    def __init__(self, engine: RepositoryEngine) -> None:
        self.engine = engine
        self._bundles: dict[int, ParsedBundle] = {}       # deployment id -> ParsedBundle
        self._lock = threading.Lock()
        # definition id -> (declared group names, group ids named); definitions never change
        self._groups: dict[int, tuple[dict[str, str], set[str]]] = {}

    # -- deploy -------------------------------------------------------------------------
    def check(self, items: Iterable[Item]) -> ParsedBundle:
        """Parse and check without storing; returns the ParsedBundle or raises DeployError."""
        resources = read_resources(items)
        return parse_bundle(resources, check=lambda b: check_bundle(b, self.engine.handlers, self.engine.listeners,
                                                             functions=self.engine.script_engine.environment.globals))

    @staticmethod
    def warnings(bundle: ParsedBundle) -> list[ProblemInfo]:
        """What a bundle deploys with but its administrator should see (file, line, element and
        a Chinese message with the English in brackets): the user tasks that name nobody and
        so wait in the 待分派 queue."""
        return [p.as_dict() for p in bundle_warnings(bundle)]

    def deploy(self, items: Iterable[Item], name: str | None = None, user: str | None = None, activate: bool = True,
               region: str | None = None) -> DeployResult:
        """Check and store a bundle; each changed process gets a new version.

        activate: new instances start on the new versions (as in Camunda). False stages them:
        the version that was current stays active until `activate(key, version)`.
        region: the region (tenant) the bundle is for, e.g. 丽水市庆元县; each process of it
        carries that region (else its own `region` property), and so do its instances. A
        process key belongs to one region: deploying it for another is refused (the variant
        needs its own process id), so one region's rollout never replaces another's.
        The result's `warnings` list what was accepted but needs an eye (Repository.warnings).
        """
        region = _region_arg(region)
        check_text(name, "name")                        # NUL or control characters; the length is cut to fit
        resources = read_resources(items)
        bundle = parse_bundle(resources, check=lambda b: check_bundle(b, self.engine.handlers, self.engine.listeners,
                                                             functions=self.engine.script_engine.environment.globals))
        shas = {n: _sha(c) for n, c in resources}
        bundle_sha = _sha("\n".join([*(f"{n}:{shas[n]}" for n in sorted(shas)), f"region:{region or ''}"]).encode())
        dmn_shas = sorted(s for n, s in shas.items() if n.lower().endswith(".dmn"))

        try:
            result = self._store(resources, bundle, shas, bundle_sha, dmn_shas, name, user, activate, region)
        except _NothingNew as e:
            e.result.warnings = self.warnings(bundle)
            return e.result
        result.warnings = self.warnings(bundle)
        if result.created:
            with self._lock:
                self._bundles[result.deployment_id] = bundle
        return result

    def _store(self, resources: list[tuple[str, bytes]], bundle: ParsedBundle, shas: dict[str, str], bundle_sha: str,
               dmn_shas: list[str], name: str | None, user: str | None, activate: bool = True,
               region: str | None = None) -> DeployResult:
        with self.engine.db.write() as s:
            self._check_regions(s, bundle, region)
            same = s.scalars(select(Deployment).where(Deployment.sha256 == bundle_sha)).first()
            if same is not None:
                defs = s.scalars(select(Definition).where(Definition.deployment_id == same.id)).all()
                return DeployResult(same.id, False, [self._def_dict(d, False) for d in defs])
            dep = Deployment(name=_deployment_name(name, shas), sha256=bundle_sha, deployed_by=user,
                             deployed_at=self.engine.clock.now())
            s.add(dep)
            s.flush()
            s.add_all(Resource(deployment_id=dep.id, name=n, sha256=shas[n], content=c) for n, c in resources)
            result = DeployResult(dep.id, True)
            created = 0
            for key, info in sorted(bundle.processes.items()):
                # A definition's identity: its own file, the DMN tables and the files of the processes it calls.
                called = sorted({shas[bundle.files[k]] for k in info.subprocess_specs if k in bundle.files})
                sha = _sha("|".join([shas[info.filename], *dmn_shas, *called]).encode())
                latest = s.scalars(select(Definition).where(Definition.key == key)
                                   .order_by(Definition.version.desc()).limit(1)).first()
                if latest is not None and latest.sha256 == sha:
                    result.definitions.append(self._def_dict(latest, False))
                    continue
                d = Definition(key=key, version=(latest.version + 1) if latest else 1, name=info.name,
                               deployment_id=dep.id, resource_name=info.filename, sha256=sha,
                               region=_process_region(info, region), created_at=self.engine.clock.now())
                s.add(d)
                s.flush()
                s.add_all(MessageStart(message_name=m, definition_id=d.id, kind=WaitKind.MESSAGE) for m in info.message_starts)
                s.add_all(MessageStart(message_name=m, definition_id=d.id, kind=WaitKind.SIGNAL) for m in info.signal_starts)
                self._after_new_version(s, d, latest, activate, user)
                result.definitions.append(self._def_dict(d, True))
                created += 1
            if created == 0:
                # Same definitions, only the bundle differs (e.g. an extra unchanged file): store nothing.
                raise _NothingNew(DeployResult(0, False, result.definitions))
            self.engine.audit.record("deploy", actor=user, target=dep.name, session=s, detail={
                "deployment_id": dep.id, "region": region, "activate": activate,
                "versions": [f"{d['key']}:{d['version']}" for d in result.definitions if d.get("new")]})
            return result

    def _check_regions(self, s: Session, bundle: ParsedBundle, region: str | None) -> None:
        """DeployError (nothing stored) when a process of the bundle already belongs to another region."""
        problems = []
        for key, info in sorted(bundle.processes.items()):
            latest = s.scalars(select(Definition).where(Definition.key == key)
                               .order_by(Definition.version.desc()).limit(1)).first()
            wanted = _process_region(info, region)
            if latest is not None and (latest.region or None) != wanted:
                file, line = bundle.where(key)
                problems.append(Problem(
                    f"流程 {key} 已部署给{latest.region or '全国通用'}，不能再部署给{wanted or '全国通用'}；"
                    f"地区变体请使用另一个流程标识 (process {key} belongs to {latest.region or 'no region'}; "
                    f"a variant for {wanted or 'no region'} needs its own process id)",
                    file=file, element=key, line=line))
        if problems:
            raise DeployError(problems)

    def _after_new_version(self, s: Session, d: Definition, previous: Definition | None, activate: bool,
                           user: str | None) -> None:
        """Keep the active version as asked: a pinned choice follows the new version when it is
        activated; a staged one pins the version that was current."""
        row = s.get(ActiveVersion, d.key)
        now = self.engine.clock.now()
        if activate and row is not None:
            row.version, row.activated_by, row.activated_at = d.version, user, now
        elif not activate and row is None and previous is not None:
            s.add(ActiveVersion(key=d.key, version=previous.version, activated_by=user, activated_at=now))

    @staticmethod
    def _def_dict(d: Definition, new: bool) -> DeployedDefinition:
        return {"id": d.id, "key": d.key, "version": d.version, "name": d.name, "region": d.region, "new": new}

    # -- queries -------------------------------------------------------------------------
    def definitions(self, key: str | None = None, latest_only: bool = True) -> list[DefinitionInfo]:
        """Definitions by key and version; latest_only: only the version each key starts on
        now (its active version: the administrator's choice, else the latest)."""
        with self.engine.db.read() as s:
            q = select(Definition)
            if key:
                q = q.where(Definition.key == key)
            if latest_only:
                q = q.where(Definition.id.in_(self.current_ids(key)))
            rows = s.scalars(q.order_by(Definition.key, Definition.version)).all()
            return [{"id": d.id, "key": d.key, "version": d.version, "name": d.name, "region": d.region,
                     "deployment_id": d.deployment_id, "created_at": d.created_at.isoformat()} for d in rows]

    def region_of(self, definition: Definition) -> str | None:
        """The region a version's instances belong to: the one it was deployed for, else (versions
        deployed before regions were stored) its process's `region` property, else None."""
        if getattr(definition, "region", None):
            return definition.region
        try:
            info = self.process(definition)
        except (QihuError, KeyError):
            return None
        return (info.properties.get("region") or "").strip() or None

    @staticmethod
    def current_ids(key: str | None = None) -> Select[int]:
        """SQL: the ids of the definitions new instances start on (active version, else latest)."""
        newest = select(Definition.key, func.max(Definition.version).label("v")).group_by(Definition.key)
        if key:
            newest = newest.where(Definition.key == key)
        latest = newest.subquery()
        current = (select(Definition.id).join(latest, Definition.key == latest.c.key)
                   .outerjoin(ActiveVersion, ActiveVersion.key == Definition.key)
                   .where(Definition.version == func.coalesce(ActiveVersion.version, latest.c.v)))
        return current

    def get_definition(self, session: Session, key: str, version: int | None = None) -> Definition:
        """A given version, or the one new instances start on (active, else latest)."""
        if version:
            q = select(Definition).where(Definition.key == key, Definition.version == version)
        else:
            q = select(Definition).where(Definition.id.in_(self.current_ids(key)))
        d = session.scalars(q).first()
        if d is None:
            raise NotFound(f"no definition {key!r}" + (f" version {version}" if version else ""))
        return d

    def versions(self, key: str) -> list[VersionInfo]:
        """Every version of a process, oldest first: who deployed it and when, whether it is
        the active one, and how many of its instances are running."""
        with self.engine.db.read() as s:
            rows = s.execute(select(Definition, Deployment.deployed_by, Deployment.deployed_at, Deployment.name)
                             .join(Deployment, Deployment.id == Definition.deployment_id)
                             .where(Definition.key == key).order_by(Definition.version)).all()
            if not rows:
                raise NotFound(f"no definition {key!r}")
            active = self.get_definition(s, key).version
            chosen = s.get(ActiveVersion, key)
            running = dict(s.execute(select(Instance.definition_id, func.count())
                                     .where(Instance.definition_key == key, Instance.status.in_(LIVE_INSTANCE))
                                     .group_by(Instance.definition_id)).all())
        return [{"id": d.id, "key": d.key, "version": d.version, "name": d.name, "region": d.region,
                 "deployment_id": d.deployment_id,
                 "deployment": dep_name, "deployed_by": by, "deployed_at": at.isoformat(),
                 "active": d.version == active, "pinned": chosen is not None and chosen.version == d.version,
                 "running": running.get(d.id, 0)} for d, by, at, dep_name in rows]

    def activate(self, key: str, version: int | str, user: str | None = None) -> list[VersionInfo]:
        """Make `version` the one new instances of `key` start on; running instances keep theirs.
        Audited by the row itself (who, when); returns versions(key)."""
        with self.engine.db.write() as s:
            self.get_definition(s, key, int(version))           # NotFound for a version that does not exist
            row = s.get(ActiveVersion, key)
            if row is None:
                s.add(ActiveVersion(key=key, version=int(version), activated_by=user, activated_at=self.engine.clock.now()))
            else:
                row.version, row.activated_by, row.activated_at = int(version), user, self.engine.clock.now()
            self.engine.audit.record("activate", actor=user, target=key, detail={"version": int(version)}, session=s)
        return self.versions(key)

    def diff(self, key: str, old_version: int | str, new_version: int | str) -> VersionDiff:
        """Elements added, removed and changed from one version of `key` to another (engine.versions)."""
        from qihu.engine.repository.versions import diff
        with self.engine.db.read() as s:
            a, b = self.get_definition(s, key, int(old_version)), self.get_definition(s, key, int(new_version))
        changes = diff(self._xml(a), self._xml(b), key)
        return {"key": key, "from": a.version, "to": b.version,
                "added": changes["added"], "removed": changes["removed"], "changed": changes["changed"]}

    def xml(self, key: str, version: int | str | None = None) -> tuple[DefinitionFile, bytes]:
        """The stored BPMN file of a version (default: the one new instances start on):
        (definition dict with its resource_name, content bytes). NotFound for an unknown key or version."""
        with self.engine.db.read() as s:
            d = self.get_definition(s, key, int(version) if version else None)
            info: DefinitionFile = {"id": d.id, "key": d.key, "version": d.version, "name": d.name,
                    "region": d.region, "deployment_id": d.deployment_id, "resource_name": d.resource_name}
        return info, dict(self.resources(info["deployment_id"]))[info["resource_name"]]

    def _xml(self, definition: Definition) -> bytes:
        return dict(self.resources(definition.deployment_id))[definition.resource_name]

    def resources(self, deployment_id: int) -> list[tuple[str, bytes]]:
        with self.engine.db.read() as s:
            rows = s.scalars(select(Resource).where(Resource.deployment_id == deployment_id)).all()
            return [(r.name, r.content) for r in rows]

    def bundle(self, deployment_id: int) -> ParsedBundle:
        """The parsed bundle of a deployment, built once per process from the stored files."""
        b = self._bundles.get(deployment_id)
        if b is None:
            resources = self.resources(deployment_id)
            if not resources:
                raise NotFound(f"no deployment {deployment_id}")
            b = parse_bundle(resources)
            with self._lock:
                self._bundles[deployment_id] = b
        return b

    def process(self, definition: Definition) -> ProcessInfo:
        """ProcessInfo (spec + subprocess specs) of a Definition row."""
        return self.bundle(definition.deployment_id).processes[definition.key]

    # -- what the diagrams say of groups (engine.identity.group_names) ----------------------
    def group_names(self) -> dict[str, tuple[str | None, str | None, set[str]]]:
        """The groups the processes new instances start on name: {group id: (declared display
        name or None, the key of the process declaring it, keys of the processes naming the
        group)}. A name declared by several processes: the latest deployed wins. One query per
        call; each version's file is read once per process life."""
        from qihu.engine.identity.group_names import read_process
        with self.engine.db.read() as s:
            rows = s.execute(select(Definition.id, Definition.key, Definition.deployment_id, Definition.resource_name)
                             .where(Definition.id.in_(self.current_ids())).order_by(Definition.id)).all()
            missing = [r for r in rows if r.id not in self._groups]
            files = {}
            if missing:
                files = {(r.deployment_id, r.name): r.content for r in s.scalars(select(Resource).where(
                    Resource.deployment_id.in_({m.deployment_id for m in missing})))}
        for r in missing:
            content = files.get((r.deployment_id, r.resource_name))
            try:
                found = read_process(content, r.key, r.resource_name) if content else ({}, set())
            except DeployError:
                found = ({}, set())
            with self._lock:
                self._groups[r.id] = found
        out: dict[str, tuple[str | None, str | None, set[str]]] = {}
        for r in rows:
            names, groups = self._groups[r.id]
            for g in groups:
                name, by, keys = out.get(g, (None, None, set()))
                if g in names:
                    name, by = names[g], r.key
                out[g] = (name, by, keys | {r.key})
        return out

