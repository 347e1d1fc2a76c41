"""Refine a coarse field (a training label such as 城乡建设) to the field that names the duty.

The public training data has seven coarse labels; routing needs the finer fields of the org
directory (the 26 pilot fields and others), each with its department. A coarse prediction is
refined by the fields' keywords (org/fields.yaml):

1. among the fields below the predicted one (市政服务 below 城乡建设), the one whose keywords the
   text uses most (停水, 自来水);
2. failing that, a field elsewhere whose keywords occur at least twice and more often than the
   predicted field's own (征地, 征地补偿 → 征地补偿 even when the model said 城乡建设: the
   training labels have no 国土资源); once is enough when the model itself is unsure (below
   its confidence threshold), which leaves the post flagged for review all the same.

A prediction that is already a fine field is kept. Every refinement gives its reason.
"""

from __future__ import annotations

from huiyin.config.org import OrgDirectory
from huiyin.classifier.keywords import KeywordMatcher

MIN_CROSS_HITS = 2


class FieldRefiner:
    """Keyword evidence per field, and the refinement of coarse predictions."""

    def __init__(self, org: OrgDirectory) -> None:
        self.org = org
        self._fields_of: dict[str, list[str]] = {}
        for f in org.fields.values():
            for word in f.keywords:
                self._fields_of.setdefault(word, []).append(f.id)
        self._matcher = KeywordMatcher(self._fields_of)
        self._order = {fid: i for i, fid in enumerate(org.fields)}
        self._below: dict[str, set[str]] = {fid: set() for fid in org.fields}
        for f in org.fields.values():
            parent = f.parent
            while parent is not None and parent in self._below:
                self._below[parent].add(f.id)
                parent = self.org.fields[parent].parent

    def evidence(self, text: str) -> dict[str, list[str]]:
        """Field id → the distinct keywords of that field found in ``text``."""
        found: dict[str, list[str]] = {}
        for word in dict.fromkeys(self._matcher.findall(text)):
            for fid in self._fields_of[word]:
                found.setdefault(fid, []).append(word)
        return found

    def supported(self, field_id: str, hits: dict[str, list[str]]) -> list[str]:
        """Keywords of ``field_id`` or of a field below it among ``hits``."""
        words = list(hits.get(field_id, ()))
        below = self._below.get(field_id, ())
        for fid, found in hits.items():  # in text order (a set's order would vary between runs)
            if fid in below:
                words += [w for w in found if w not in words]
        return words

    def refine(
        self, field_id: str | None, text: str, hits: dict[str, list[str]] | None = None, *, unsure: bool = False
    ) -> tuple[str | None, list[str]]:
        """The refined field id and the reasons (empty when nothing changed)."""
        field = self.org.fields.get(field_id or "")
        if field is None or field.parent is not None:
            return field_id, []
        hits = self.evidence(text) if hits is None else hits
        if not hits:
            return field_id, []
        below = [f for f in hits if f in self._below[field.id]]
        if below:
            best = max(below, key=self._rank(hits))
            return best, [self._reason(best, hits[best], f"属「{field.name}」")]
        own = len(hits.get(field.id, ()))
        least = 1 if unsure else MIN_CROSS_HITS
        across = [f for f in hits if len(hits[f]) >= least and len(hits[f]) > own and f != field.id]
        if across:
            best = max(across, key=self._rank(hits))
            return best, [self._reason(best, hits[best], f"替代模型判断「{field.name}」")]
        return field_id, []

    def _rank(self, hits: dict[str, list[str]]):  # type: ignore[no-untyped-def]
        # Most keywords, then the longest words, then the directory's order (deterministic).
        return lambda f: (len(hits[f]), sum(map(len, hits[f])), -self._order[f])

    def _reason(self, fid: str, words: list[str], note: str) -> str:
        quoted = "、".join(f"「{w}」" for w in words[:5])
        return f"细分领域：关键词{quoted} → {self.org.fields[fid].name}（{note}）"
