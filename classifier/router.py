"""Routing rules (属地管理、分级负责、谁主管谁负责) over the org directory, each decision explained.

Rules, in the order they are tried (ids are recorded in ``Routing.rule``):

``severity_tier``      a suggested grade puts the lead at its tier (config/routing.yaml): 较大 → the
                       city, 重大 → the province, 特别重大 → the province, noting it is above it (国务院);
                       the tier's government leads, its department in charge and the local governments
                       are co-units. 一般 at a township: the county department in charge leads, the
                       township co-operates (一般 is the county's, 国家总体应急预案).
``outside_directory``  only places outside Hebei: the home jurisdiction's publicity office, for review.
``needs_review``       an ambiguous place, or a field below the confidence threshold: the publicity
                       office of the best-known jurisdiction, ``needs_review=True``.
``no_place``           no place in the text: the publicity office of the source's jurisdiction (or
                       the home jurisdiction) for 研判.
``multi_department``   several departments: each answers for its duties; the department of the
                       classified field leads, the others are co-units (003 第五篇 §三(五)1).
``multi_township``     several townships/streets of one county: the county department in charge leads,
                       the townships are co-units, each for its territory (003; 61号).
``multi_locality``     several places across counties: the department in charge at their lowest common
                       jurisdiction leads, the local governments are co-units (61号).
``single_unit``        one place: a township answers for the fields in its remit (003: that unit is the
                       第一责任主体; the county department coordinates); otherwise the department in
                       charge at the place's tier (a township's matter goes to its county department).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from huiyin.config.errors import ConfigError
from huiyin.config.org import OrgDirectory, Tier, Unit
from huiyin.classifier.keywords import KeywordMatcher
from huiyin.classifier.place import Locator, PlaceResult
from huiyin.classifier.severity import SeverityResult
from huiyin.responder.bus.messages import Routing

RULES = ("severity_tier", "outside_directory", "needs_review", "no_place", "multi_department", "multi_township",
         "multi_locality", "single_unit")
_RULE_003 = "003 第五篇§三(五)1"


@dataclass(frozen=True)
class FieldDecision:
    """What the post is about, as the classifier (and keyword refinement) decided."""

    field_id: str | None
    probability: float | None = None
    needs_review: bool = False
    reasons: tuple[str, ...] = ()
    others: tuple[tuple[str, float], ...] = ()  # other likely fields (field id, probability)


@dataclass(frozen=True)
class RoutingConfig:
    """config/routing.yaml."""

    township_fields: frozenset[str]
    severity_lead_tier: dict[str, Tier]
    above_province: dict[str, str]
    second_field_min_probability: float
    department_words: dict[str, tuple[str, ...]]

    @classmethod
    def load(cls, path: Path) -> RoutingConfig:
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
            return cls(
                township_fields=frozenset(data["township_fields"]),
                severity_lead_tier={str(k): Tier(v) for k, v in data["severity_lead_tier"].items()},
                above_province={str(k): str(v) for k, v in (data.get("above_province") or {}).items()},
                second_field_min_probability=float(data["second_field_min_probability"]),
                department_words={str(k): tuple(v) for k, v in data["department_words"].items()},
            )
        except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ConfigError(f"派单规则配置无效 invalid routing configuration: {exc!r}", source=str(path)) from None


@dataclass
class _Decision:
    rule: str
    unit: Unit
    co_units: list[Unit] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    needs_review: bool = False
    extra: dict = field(default_factory=dict)


class Router:
    """Applies the rules to a post's field, place and severity. Deterministic, no side effects."""

    def __init__(self, org: OrgDirectory, locator: Locator, config: RoutingConfig, home_jurisdiction: str) -> None:
        self.org = org
        self.locator = locator
        self.config = config
        self.home = home_jurisdiction if home_jurisdiction in org.jurisdictions else next(iter(org.jurisdictions))
        for fid in config.township_fields:
            org.field(fid)  # fail at start-up on a typo, not on the first post
        words = {w: dtype for dtype, ws in config.department_words.items() for w in ws if dtype in org.department_types}
        self._dept_words = words
        self._dept_matcher = KeywordMatcher(words)

    # -- evidence -----------------------------------------------------------------------------
    def named_departments(self, text: str) -> list[tuple[str, str]]:
        """(department type, word) for each department the text names, first mention order."""
        seen: dict[str, str] = {}
        for _, _, word in self._dept_matcher.finditer(text):
            seen.setdefault(self._dept_words[word], word)
        return list(seen.items())

    # -- the rules ----------------------------------------------------------------------------
    def route(
        self,
        fd: FieldDecision,
        place: PlaceResult,
        severity: SeverityResult,
        departments: list[tuple[str, str]] | None = None,
        signals: dict | None = None,
        extra_reasons: list[str] | tuple[str, ...] = (),
    ) -> Routing:
        """The routing decision for one post; ``extra_reasons`` (signals, truncation) come last."""
        decision = (
            self._severity_tier(fd, place, severity)
            or self._review(fd, place)
            or self._multi_department(fd, place, departments or [])
            or self._localities(fd, place)
        )
        reasons = [*place.reasons, *fd.reasons, *severity.reasons, *decision.reasons, *extra_reasons]
        lead = decision.unit
        field_obj = self.org.fields.get(fd.field_id) if fd.field_id else None
        return Routing(
            unit_id=lead.id,
            unit_name=lead.name,
            tier=lead.tier.value,
            field=field_obj.name if field_obj else None,
            field_id=field_obj.id if field_obj else None,
            place=self.locator.place_model(place),
            severity=severity.grade,
            lead_unit_id=lead.id,
            lead_unit_name=lead.name,
            co_unit_ids=[u.id for u in decision.co_units],
            co_unit_names=[u.name for u in decision.co_units],
            rule=decision.rule,
            reasons=list(dict.fromkeys(reasons)),
            confidence=fd.probability,
            needs_review=decision.needs_review or place.needs_review or fd.needs_review,
            signals=signals or {},
            **decision.extra,
        )

    def _severity_tier(self, fd: FieldDecision, place: PlaceResult, sev: SeverityResult) -> _Decision | None:
        tier = self.config.severity_lead_tier.get(sev.grade or "")
        if tier is None or place.jurisdiction_id is None or (place.source != "text" and sev.grade == "一般"):
            return None
        chain = self.org.chain(place.jurisdiction_id)
        if chain[0].tier.rank < tier.rank or (place.ambiguous and tier is not Tier.PROVINCE):
            return None  # the place is not known down to the tier that must lead
        lead_j = next((j for j in chain if j.tier.rank <= tier.rank), chain[-1])
        locals_ = self._local_governments(place, below=lead_j.id)
        if sev.grade == "一般":
            if chain[0].tier is not Tier.TOWNSHIP:
                return None  # a county-level place: the ordinary rules already give the county
            lead = self._department(lead_j.id, fd.field_id)
            d = _Decision("severity_tier", lead, locals_)
            d.reasons.append(f"严重程度「一般」由县级负责：{lead.name}牵头，{'、'.join(u.name for u in locals_)}配合")
            return d
        lead = self.org.government(lead_j.id)
        co = [self._department(lead_j.id, fd.field_id)] if fd.field_id else []
        co += [u for u in locals_ if u.id not in {c.id for c in co}]
        d = _Decision("severity_tier", lead, [u for u in co if u.id != lead.id])
        d.reasons.append(
            f"严重程度「{sev.grade}」按分级负责由{lead_j.tier.level_label}牵头：{lead.name}；"
            f"协同：{'、'.join(u.name for u in d.co_units) or '无'}"
        )
        above = self.config.above_province.get(sev.grade or "")
        if above:
            d.reasons.append(f"「{sev.grade}」超出省级：按国家突发公共事件总体应急预案由{above}统一领导，省级牵头先期处置并报告")
            d.extra["above_province"] = above
        if place.source != "text":
            d.needs_review = True
            d.reasons.append("地点依据来源属地推定，需核实")
        if place.ambiguous:
            d.needs_review = True
        return d

    def _review(self, fd: FieldDecision, place: PlaceResult) -> _Decision | None:
        if place.source != "text" and place.outside and not place.ambiguous:
            unit = self.org.publicity_office(self.home)
            return _Decision("outside_directory", unit, [], [
                f"地点在河北省外（{'、'.join(place.outside)}），转{unit.name}研判"], True)
        best = place.jurisdiction_id or self.home
        if place.ambiguous:
            unit = self.org.publicity_office(best)
            return _Decision("needs_review", unit, [], [f"地点有歧义，转{unit.name}人工研判"], True)
        if place.source != "text":
            unit = self.org.publicity_office(best)
            where = "来源属地" if place.source == "hint" else "默认属地"
            return _Decision("no_place", unit, [], [f"文中无可确定的地点，转{where}{unit.name}研判"], True)
        if fd.field_id is None or fd.needs_review:
            unit = self.org.publicity_office(best)
            return _Decision("needs_review", unit, [], [f"领域判断置信度不足，转{unit.name}人工研判"], True)
        return None

    def _multi_department(self, fd: FieldDecision, place: PlaceResult, named: list[tuple[str, str]]) -> _Decision | None:
        primary = self.org.field(fd.field_id).department_type  # type: ignore[arg-type]
        types: dict[str, str] = {primary: f"领域「{self.org.field(fd.field_id).name}」"}  # type: ignore[arg-type]
        for dtype, word in named:
            types.setdefault(dtype, f"文中提及「{word}」")
        for fid, p in fd.others:
            f = self.org.fields.get(fid)
            if f and p >= self.config.second_field_min_probability:
                types.setdefault(f.department_type, f"领域「{f.name}」概率{p:.2f}")
        if len(types) < 2:
            return None
        jid = self._department_tier(place.jurisdiction_id)  # type: ignore[arg-type]
        lead = self._department(jid, fd.field_id)
        co: list[Unit] = []
        for dtype in list(types)[1:]:
            unit = self.org.department(jid, dtype) or self.org.government(jid)
            if unit.id != lead.id and unit.id not in {u.id for u in co}:
                co.append(unit)
        co += [u for u in self._local_governments(place, below=jid) if u.id not in {c.id for c in co}]
        if not co:
            return None
        d = _Decision("multi_department", lead, co)
        d.reasons.append(
            f"涉及多个部门（{'；'.join(types.values())}）：各司其职、统一口径，{lead.name}牵头，"
            f"{'、'.join(u.name for u in co)}协同（{_RULE_003}）"
        )
        return d

    def _localities(self, fd: FieldDecision, place: PlaceResult) -> _Decision:
        jid = place.jurisdiction_id
        assert jid is not None and fd.field_id is not None
        localities = place.localities
        j = self.org.jurisdiction(jid)
        field_name = self.org.field(fd.field_id).name
        if len(localities) > 1:
            lead = self._department(self._department_tier(jid), fd.field_id)
            co = [self.org.government(x) for x in localities]
            townships = all(self.org.jurisdiction(x).tier is Tier.TOWNSHIP for x in localities)
            rule = "multi_township" if townships and j.tier is Tier.COUNTY else "multi_locality"
            names = "、".join(self.locator.display(x) for x in localities)
            d = _Decision(rule, lead, co)
            d.reasons.append(
                f"涉及{len(localities)}个{'乡镇/街道' if townships else '地方'}（{names}）：由{lead.name}"
                f"（{j.name}「{field_name}」主管部门）牵头，各地负责本辖区（{_RULE_003}；国办发〔2016〕61号）"
            )
            return d
        if j.tier is Tier.TOWNSHIP or j.tier is Tier.VILLAGE:
            county = self._department_tier(jid)
            upper = self._department(county, fd.field_id)
            if fd.field_id in self.config.township_fields:
                unit = self.org.government(jid)
                d = _Decision("single_unit", unit)
                d.reasons.append(
                    f"单一乡镇/街道：{unit.name}为第一责任主体，{upper.name}协调（{_RULE_003}）"
                )
                d.extra = {"coordinating_unit_ids": [upper.id], "coordinating_unit_names": [upper.name]}
                return d
            d = _Decision("single_unit", upper)
            d.reasons.append(f"「{field_name}」不属乡镇/街道职责，由县级主管部门{upper.name}负责（谁主管谁负责）")
            return d
        unit = self._department(jid, fd.field_id)
        d = _Decision("single_unit", unit)
        d.reasons.append(f"单一属地{self.locator.display(jid)}：「{field_name}」由{unit.name}负责（谁主管谁负责）")
        return d

    # -- helpers ------------------------------------------------------------------------------
    def _department(self, jid: str, field_id: str | None) -> Unit:
        return self.org.department_for(jid, field_id) if field_id else self.org.government(jid)

    def _department_tier(self, jid: str) -> str:
        """The nearest jurisdiction at or above ``jid`` that has departments (a township's county)."""
        return next(j.id for j in self.org.chain(jid) if j.tier.has_departments)

    def _local_governments(self, place: PlaceResult, below: str) -> list[Unit]:
        """Governments of the place's localities and their ancestors strictly below ``below``."""
        units: list[Unit] = []
        for loc in place.localities or ((place.jurisdiction_id,) if place.jurisdiction_id else ()):
            chain = [j for j in self.org.chain(loc)]
            ids = [j.id for j in chain]
            if below not in ids:
                continue
            for j in reversed(chain[: ids.index(below)]):
                unit = self.org.government(j.id)
                if unit.id not in {u.id for u in units}:
                    units.append(unit)
        return units
