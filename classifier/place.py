"""Where a post's matter happened (属地管理), decided over the org directory and explained.

``Locator.locate(text, hint)`` finds place mentions (``gazetteer``) and resolves them:

1. a mention right after another binds to it: 沧州新华区 → 沧州市新华区, 西安市长安区 → outside;
2. an ambiguous mention (新华区: 石家庄 and 沧州 both have one) keeps the candidates related to
   a place named elsewhere in the text (沧州 … 新华区), then to the source's jurisdiction (hint);
   whatever is still ambiguous is reported, never guessed;
3. the places of the matter are the most specific ones named (a township beats its county);
   a city or the province named beside a county or township is context (我是保定人, 在正定县…);
4. several of them (建北街道和青园街道) give their lowest common jurisdiction (长安区) as the
   place and are all kept in ``localities``.

A text with no Hebei place gives ``source="hint"`` (the source's jurisdiction) or ``"home"``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from huiyin.config.org import OrgDirectory, Tier
from huiyin.classifier.gazetteer import Gazetteer, Mention
from huiyin.responder.bus.messages import Place

PROVINCE_PREFIX = "河北省"


@dataclass(frozen=True)
class PlaceResult:
    """The place of a post and why."""

    jurisdiction_id: str | None  # the place: most specific jurisdiction known for certain
    source: Literal["text", "hint", "home"]
    localities: tuple[str, ...] = ()  # the most specific places named (several: multi-locality)
    outside: tuple[str, ...] = ()  # places outside Hebei named in the text
    ambiguous: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (name, candidate ids) left unresolved
    reasons: tuple[str, ...] = ()
    evidence: tuple[str, ...] = ()  # the names found in the text

    @property
    def needs_review(self) -> bool:
        """True when a human must decide: an ambiguous name, or only places outside Hebei."""
        return bool(self.ambiguous) or (self.source != "text" and bool(self.outside))


@dataclass
class _Cand:
    m: Mention
    hebei: list[str]
    outside: list[str]
    notes: list[str] = field(default_factory=list)


class Locator:
    """Resolves place mentions against the org directory. Immutable after construction."""

    def __init__(self, org: OrgDirectory, gazetteer: Gazetteer, home_jurisdiction: str) -> None:
        self.org = org
        self.gazetteer = gazetteer
        self.home = home_jurisdiction
        # Ancestors of each jurisdiction, including the civil-affairs parent (保定 for 定州), so
        # that 保定定州 and 保定雄县 bind; ``_chain`` is the directory's own chain for the LCA.
        self._chain: dict[str, tuple[str, ...]] = {}
        self._unplaced: dict[str | None, PlaceResult] = {}
        self._related: dict[str, frozenset[str]] = {}
        for jid in org.jurisdictions:
            chain = tuple(j.id for j in org.chain(jid))
            self._chain[jid] = chain
            extra = set(chain)
            for j in org.chain(jid):
                if j.official_parent_id:
                    extra.update(x.id for x in org.chain(j.official_parent_id))
            self._related[jid] = frozenset(extra)

    # -- public -------------------------------------------------------------------------------
    def locate(self, text: str, hint: str | None = None) -> PlaceResult:
        """Resolve the place of ``text``; ``hint`` is the source's jurisdiction (id, or a unique name), if known."""
        reasons: list[str] = []
        if hint is not None and hint not in self.org.jurisdictions:
            hint = self._hint_by_name(hint, reasons)
        mentions = self.gazetteer.mentions(text)
        if not mentions and not reasons:
            # No place named (most posts): the result depends on the hint alone.
            known = self._unplaced.get(hint)
            if known is None:
                known = self._unplaced[hint] = self._result([], hint, [])
            return known
        cands = [_Cand(m, list(m.hebei), list(m.outside)) for m in mentions]
        self._bind_adjacent(text, cands)
        self._propagate(cands)
        self._apply_hint(cands, hint)
        return self._result(cands, hint, reasons)

    def _hint_by_name(self, hint: str, reasons: list[str]) -> str | None:
        """A source's jurisdiction given by name (石家庄市, 长安区) rather than code: its id when the
        name is unique in the directory; else None, with the reason."""
        found = self.org.find(hint)  # no names for an unknown code or a blank: the reason below
        if len(found) == 1:
            return found[0].id
        if len(found) > 1:
            names = "、".join(self.display(j.id) for j in found)
            reasons.append(f"来源属地「{hint}」有{len(found)}处（{names}），未采用")
        else:
            reasons.append(f"来源属地代码「{hint}」不在组织目录中，未采用")
        return None

    def place_model(self, result: PlaceResult) -> Place:
        """The ``Place`` record of a result: names of the place's chain, and where it came from."""
        jid = result.jurisdiction_id
        names: dict[str, str | None] = {"province": None, "city": None, "county": None, "township": None}
        if jid is not None:
            for j in self.org.chain(jid):
                if j.tier.value in names:
                    names[j.tier.value] = j.name
        extra: dict[str, object] = {"source": result.source}
        if result.localities and len(result.localities) > 1:
            extra["localities"] = [self.display(j) for j in result.localities]
        if result.outside:
            extra["outside"] = list(result.outside)
        return Place(**names, jurisdiction_id=jid, **extra)

    def display(self, jid: str) -> str:
        """A jurisdiction's name without the province: 石家庄市长安区 (河北省 for the province)."""
        full = self.org.jurisdiction(jid).full_name
        return full[len(PROVINCE_PREFIX):] or full if full.startswith(PROVINCE_PREFIX) else full

    def lca(self, ids: list[str] | tuple[str, ...]) -> str:
        """The lowest jurisdiction containing all ``ids``."""
        common = self._chain[ids[0]]
        for jid in ids[1:]:
            other = set(self._chain[jid])
            common = tuple(c for c in common if c in other)
        return common[0]

    # -- resolution steps ---------------------------------------------------------------------
    def _bind_adjacent(self, text: str, cands: list[_Cand]) -> None:
        for prev, cur in zip(cands, cands[1:]):
            if text[prev.m.end : cur.m.start].strip():
                continue  # not adjacent
            if prev.hebei and cur.hebei:
                kids = [c for c in cur.hebei if any(p in self._related[c] for p in prev.hebei)]
                if kids:
                    parents = [p for p in prev.hebei if any(p in self._related[c] for c in kids)]
                    self._narrow(cur, kids, f"紧随「{prev.m.surface}」")
                    self._narrow(prev, parents, f"后接「{cur.m.surface}」")
                    cur.outside, prev.outside = [], []
                    continue
            if prev.outside and cur.outside:
                inside = [o for o in cur.outside if any(o.startswith(p) for p in prev.outside)]
                if inside:
                    cur.outside, cur.hebei = inside, []
                    cur.notes.append(f"「{cur.m.surface}」紧随「{prev.m.surface}」，为河北省外地名")

    def _propagate(self, cands: list[_Cand]) -> None:
        anchors = {c.hebei[0]: c.m.surface for c in cands if len(c.hebei) == 1 and c.hebei[0] != self._province()}
        changed = True
        while changed:
            changed = False
            for c in cands:
                if len(c.hebei) < 2:
                    continue
                keep = [j for j in c.hebei if any(a in self._related[j] or j in self._related[a] for a in anchors)]
                if 0 < len(keep) < len(c.hebei):
                    named = "、".join(f"「{s}」" for a, s in anchors.items() if any(
                        a in self._related[j] or j in self._related[a] for j in keep))
                    self._narrow(c, keep, f"按文中{named}")
                    c.outside = []
                    if len(keep) == 1:
                        anchors[keep[0]] = c.m.surface
                    changed = True

    def _apply_hint(self, cands: list[_Cand], hint: str | None) -> None:
        if hint is None or self.org.jurisdiction(hint).tier is Tier.PROVINCE:
            return
        for c in cands:
            if len(c.hebei) < 2:
                continue
            keep = [j for j in c.hebei if hint in self._related[j] or j in self._related[hint]]
            if 0 < len(keep) < len(c.hebei):
                self._narrow(c, keep, f"按来源属地「{self.display(hint)}」")

    def _narrow(self, c: _Cand, keep: list[str], why: str) -> None:
        if len(keep) < len(c.hebei) and len(c.hebei) > 1:
            choice = "、".join(self.display(j) for j in keep)
            c.notes.append(
                f"「{c.m.surface}」有{len(c.hebei)}处（{'、'.join(self.display(j) for j in c.hebei)}），{why}确定为{choice}"
            )
        c.hebei = keep

    def _province(self) -> str:
        return self._chain[self.home][-1] if self.home in self._chain else ""

    # -- result -------------------------------------------------------------------------------
    def _result(self, cands: list[_Cand], hint: str | None, reasons: list[str]) -> PlaceResult:
        resolved: list[str] = []
        ambiguous: list[tuple[str, tuple[str, ...]]] = []
        outside: list[str] = []
        for c in cands:
            reasons.extend(c.notes)
            if len(c.hebei) == 1:
                resolved.append(c.hebei[0])
            elif len(c.hebei) > 1:
                ambiguous.append((c.m.surface, tuple(c.hebei)))
                names = "、".join(self.display(j) for j in c.hebei)
                reasons.append(f"「{c.m.surface}」有{len(c.hebei)}处（{names}），文中和来源属地均无法确定，需人工研判")
            elif c.outside:
                label = "或".join(c.outside)
                if label not in outside:
                    outside.append(label)
        resolved = list(dict.fromkeys(resolved))
        # 北京市 + 北京市朝阳区: keep the most specific form of a chain.
        outside = [o for o in outside if not any(x != o and x.startswith(o) for x in outside)]
        leaves = [j for j in resolved if not any(j != o and j in self._chain[o] for o in resolved)]
        local = [j for j in leaves if self.org.jurisdictions[j].tier.rank >= Tier.COUNTY.rank]
        localities = tuple(sorted(local or leaves))
        evidence = tuple(dict.fromkeys(c.m.surface for c in cands))
        for label in outside:
            reasons.append(f"地名「{label}」在河北省外，不在组织目录内")
        if localities:
            jid = self.lca(localities)
            places = "、".join(self.display(j) for j in localities)
            reasons.append(f"属地：文中地名{'、'.join(f'「{e}」' for e in evidence)} → {places}")
            return PlaceResult(jid, "text", localities, tuple(outside), tuple(ambiguous), tuple(reasons), evidence)
        if ambiguous:
            # Best known: what all candidates share (河北省 for the two 新华区), or the hint.
            jid = hint or self.lca([j for _, ids in ambiguous for j in ids])
            return PlaceResult(jid, "hint" if hint else "text", (), tuple(outside), tuple(ambiguous), tuple(reasons), evidence)
        if not outside:
            reasons.append("文中未识别到地名")
        if hint is not None:
            reasons.append(f"按来源属地「{self.display(hint)}」")
            return PlaceResult(hint, "hint", (), tuple(outside), (), tuple(reasons), evidence)
        home = self.home if self.home in self.org.jurisdictions else None
        if home is not None:
            reasons.append(f"按默认属地「{self.display(home)}」（home_jurisdiction）")
        return PlaceResult(home, "home", (), tuple(outside), (), tuple(reasons), evidence)
