"""Suggested 突发事件 grade (特别重大/重大/较大/一般) from the incident type and the numbers in a post.

Counts recognised (Arabic, full-width or Chinese numerals: 3, ３, 三, 十二, 两, 一百零五, 十余):
``死亡3人``, ``死亡人数升至12人``, ``造成5人死亡``, ``3名工人当场死亡``, ``3死5伤``, ``致2死``,
``受伤12人``, ``重伤``, ``被困5名矿工``, ``失踪2人``, ``直接经济损失约1200万元``. A negated count
(``未受伤``, ``无人死亡``) does not count. Several counts of one kind keep the largest (a death
toll that rises, ``3人死亡……升至12人``). Thresholds and word lists: ``config/severity.yaml``.

Without an incident word (事故, 爆炸, 坍塌 … not in a risk phrase such as 消除火灾隐患) and
without casualties, a post is not an incident: the grade is None (a noise complaint).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from huiyin.config.errors import ConfigError
from huiyin.classifier.keywords import KeywordMatcher

KINDS = ("deaths", "seriously_injured", "trapped", "economic_loss_wan")
KIND_LABELS = {"deaths": "死亡", "seriously_injured": "重伤", "trapped": "被困", "economic_loss_wan": "直接经济损失(万元)"}
_UNITS = {"deaths": "人", "seriously_injured": "人", "trapped": "人", "economic_loss_wan": "万元"}
SOURCE = "生产安全事故报告和调查处理条例第三条"

_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_POWERS = {"十": 10, "百": 100, "千": 1000}
_APPROX = {"数十": 20, "几十": 20, "十几": 10, "上百": 100, "近百": 90, "数百": 200, "几百": 200}
_FULLWIDTH = str.maketrans("０１２３４５６７８９．", "0123456789.")
_FULLWIDTH_RE = re.compile("[０-９．]")

_NUM = r"(\d+(?:\.\d+)?|数十|几十|十几|上百|近百|数百|几百|[零〇一二两三四五六七八九十百千万]+)"
_MORE = r"(?:余|多)?"
_WHO = r"(?:人|名|位|例)"
_KEYWORDS = {
    "deaths": "死亡|遇难|罹难|身亡|丧生|殒命|丧命|遇害",
    "missing": "失踪|下落不明",
    "seriously_injured": "重伤",
    "injured": "受伤|负伤",
    "trapped": "被困|受困|被埋",
}
_KW_KIND = {w: kind for kind, words in _KEYWORDS.items() for w in words.split("|")}
_ALL_KW = "|".join(sorted(_KW_KIND, key=len, reverse=True))
_LEAD = r"(?:人数)?(?:已经|已|共计|共|约|近|达到|达|增至|升至|上升至|上升到|增加到|为|超过|逾|至少|\s)*"
# 死亡3人 / 死亡人数升至12人 / 被困5名
_AFTER = re.compile(rf"({_ALL_KW}){_LEAD}{_NUM}{_MORE}{_WHO}")
# 造成5人死亡 / 3名工人当场死亡 / 12人受伤 (at most six characters between, none of them punctuation)
_BEFORE = re.compile(rf"{_NUM}{_MORE}{_WHO}([\u4e00-\u9fff]{{0,6}}?)({_ALL_KW})")
# 3死5伤 / 致2死 / 造成1死3伤
_SHORT = re.compile(rf"(?:(?<=[致成已共])|(?<=导致)|(?=\d))(\d{{1,4}}|[一二两三四五六七八九十]+)死(?![亡者去了])(?:(\d{{1,4}}|[一二两三四五六七八九十]+)伤)?")
_LOSS = re.compile(rf"损失[^，。；！？\n]{{0,6}}?{_NUM}{_MORE}\s*(亿|万)元?")
_NEGATION = ("未", "没", "无", "不", "没有")
_CLAUSE_END = re.compile(r"[，。；！？,;!?\n]")


def chinese_number(text: str) -> int | None:
    """``十二`` → 12, ``两`` → 2, ``一百零五`` → 105, ``3`` → 3, ``数十`` → 20; None if not a number."""
    text = text.translate(_FULLWIDTH)
    if text in _APPROX:
        return _APPROX[text]
    if re.fullmatch(r"\d+", text):
        return int(text)
    total, section, digit = 0, 0, None
    for ch in text:
        if ch in _DIGITS:
            digit = _DIGITS[ch]
        elif ch in _POWERS:
            section += (1 if digit is None else digit) * _POWERS[ch]
            digit = None
        elif ch == "万":
            total += (section + (digit or 0)) * 10000
            section, digit = 0, None
        else:
            return None
    return total + section + (digit or 0)


@dataclass(frozen=True)
class SeverityConfig:
    """Thresholds and words of config/severity.yaml."""

    grades: tuple[dict, ...]
    lowest_grade: str
    missing_as_deaths: bool
    injuries_as_serious: bool
    incident_words: tuple[str, ...]
    risk_after: tuple[str, ...]
    risk_before: tuple[str, ...]

    @classmethod
    def load(cls, path: Path) -> SeverityConfig:
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
            grades = tuple(
                {"grade": str(g["grade"]), "level": str(g.get("level", "")), **{k: float(g[k]) for k in KINDS if k in g}}
                for g in data["grades"]
            )
            return cls(
                grades=grades,
                lowest_grade=str(data.get("lowest_grade", "一般")),
                missing_as_deaths=bool(data.get("missing_count_as_deaths", True)),
                injuries_as_serious=bool(data.get("unspecified_injuries_as_serious", True)),
                incident_words=tuple(data["incident_words"]),
                risk_after=tuple(data.get("risk_words_after") or ()),
                risk_before=tuple(data.get("risk_words_before") or ()),
            )
        except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"严重程度配置无效 invalid severity configuration: {exc!r}", source=str(path)) from None


@dataclass(frozen=True)
class SeverityResult:
    """A suggested grade with the phrases and the threshold behind it."""

    grade: str | None
    level: str | None = None
    incident: bool = False
    counts: dict[str, float] = field(default_factory=dict)
    evidence: tuple[str, ...] = ()  # matched phrases
    reasons: tuple[str, ...] = ()

    def as_signal(self) -> dict:
        """JSON-ready form for ``Routing.signals['severity']``."""
        return {"grade": self.grade, "level": self.level, "incident": self.incident,
                "counts": dict(self.counts), "evidence": list(self.evidence), "reasons": list(self.reasons)}


# What most posts get: no casualty, loss or incident word at all (shared: the result is frozen
# and ``as_signal`` copies what could be changed).
_NOT_AN_INCIDENT = SeverityResult(None)


class SeverityGrader:
    """Reads counts and incident words; compares them with the configured thresholds."""

    def __init__(self, config: SeverityConfig) -> None:
        self.config = config
        self._incident = KeywordMatcher(config.incident_words)
        self._risk_after = tuple(config.risk_after)
        self._risk_before = tuple(config.risk_before)
        # Cheap pre-check: most posts name no casualty, loss or incident at all ("死" for 3死5伤).
        self._any = KeywordMatcher([*_KW_KIND, "死", "损失", *config.incident_words])

    def grade(self, text: str) -> SeverityResult:
        """The suggested grade of ``text`` (None when it is not about an incident)."""
        hits = set(self._any.findall(text)) if text else set()
        if not hits:
            return _NOT_AN_INCIDENT
        if _FULLWIDTH_RE.search(text):
            text = text.translate(_FULLWIDTH)
        found: dict[str, tuple[float, str]] = {}
        self._counts(text, found, hits)
        incident_words = self._incident_words(text)
        counts, phrases = self._combine(found)
        evidence = tuple(dict.fromkeys(phrase for _, phrase in found.values()))
        if not incident_words and not any(counts.get(k) for k in ("deaths", "seriously_injured", "trapped")):
            return SeverityResult(None, counts=counts, evidence=evidence)
        reasons = []
        if incident_words:
            reasons.append(f"事件类型词：{'、'.join(incident_words)}")
        for g in self.config.grades:
            for kind in KINDS:
                threshold = g.get(kind)
                if threshold is not None and counts.get(kind, 0) >= threshold:
                    reasons.append(
                        f"{KIND_LABELS[kind]}{_fmt(counts[kind])}{_UNITS[kind]}（{phrases[kind]}）≥ {g['grade']}"
                        f"阈值{_fmt(threshold)}{_UNITS[kind]}（{SOURCE}）"
                    )
                    return SeverityResult(g["grade"], g["level"], True, counts, evidence, tuple(reasons))
        lowest = self.config.grades[-1]
        below = "、".join(f"{KIND_LABELS[k]}<{_fmt(lowest[k])}{_UNITS[k]}" for k in KINDS if k in lowest)
        shown = "、".join(f"{KIND_LABELS[k]}{_fmt(v)}{_UNITS[k]}" for k, v in counts.items() if v)
        reasons.append(f"{shown or '未见伤亡数字'}，低于{lowest['grade']}阈值（{below}）→ {self.config.lowest_grade}")
        return SeverityResult(self.config.lowest_grade, "IV", True, counts, evidence, tuple(reasons))

    # -- reading ------------------------------------------------------------------------------
    def _counts(self, text: str, found: dict[str, tuple[float, str]], hits: set[str]) -> None:
        if "损失" in hits:
            for m in _LOSS.finditer(text):
                value = _number(m.group(1))
                if value is not None:
                    wan = value * (10000 if m.group(2) == "亿" else 1)
                    self._keep(found, "economic_loss_wan", wan, m.group(0))
        if "死" in hits:
            for m in _SHORT.finditer(text):
                self._add(found, "deaths", m.group(1), m.group(0), text, -1)
                if m.group(2):
                    self._add(found, "injured", m.group(2), m.group(0), text, -1)
        if "死" not in hits and hits.isdisjoint(_KW_KIND):
            return  # no casualty word (死亡 may be found as 死): the patterns below cannot match
        for m in _AFTER.finditer(text):
            self._add(found, _KW_KIND[m.group(1)], m.group(2), m.group(0), text, m.start(1))
        for m in _BEFORE.finditer(text):
            self._add(found, _KW_KIND[m.group(3)], m.group(1), m.group(0), text, m.start(3))

    def _add(self, found: dict, kind: str, number: str, phrase: str, text: str, kw_at: int) -> None:
        if kw_at > 0 and (text[kw_at - 1] in _NEGATION or text[max(0, kw_at - 2) : kw_at] in _NEGATION):
            return  # 未受伤, 没有死亡
        value = _number(number)
        if value is not None and value > 0:
            self._keep(found, kind, value, phrase)

    @staticmethod
    def _keep(found: dict, kind: str, value: float, phrase: str) -> None:
        if kind not in found or value > found[kind][0]:
            found[kind] = (value, phrase)

    def _combine(self, found: dict[str, tuple[float, str]]) -> tuple[dict[str, float], dict[str, str]]:
        """Counts per threshold kind, and the phrases each count comes from."""
        counts = {k: found[k][0] for k in KINDS if k in found}
        phrases = {k: f"「{found[k][1]}」" for k in KINDS if k in found}
        if self.config.missing_as_deaths and "missing" in found:
            counts["deaths"] = counts.get("deaths", 0) + found["missing"][0]
            phrases["deaths"] = "、".join(filter(None, [phrases.get("deaths"), f"「{found['missing'][1]}」（失踪计入死亡）"]))
        if self.config.injuries_as_serious and found.get("injured", (0,))[0] > counts.get("seriously_injured", 0):
            counts["seriously_injured"] = found["injured"][0]
            phrases["seriously_injured"] = f"「{found['injured'][1]}」（未注明重伤，按重伤计）"
        return counts, phrases

    def _incident_words(self, text: str) -> list[str]:
        words: list[str] = []
        for start, end, word in self._incident.finditer(text):
            after = text[end : end + 4]
            before = _CLAUSE_END.split(text[max(0, start - 5) : start])[-1]
            if any(after.startswith(w) for w in self._risk_after) or any(w in before for w in self._risk_before):
                continue
            if word not in words:
                words.append(word)
        return words


def _number(text: str) -> float | None:
    if re.fullmatch(r"\d+\.\d+", text):
        return float(text)
    return chinese_number(text)


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"
