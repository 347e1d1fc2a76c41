"""Find place names in a text: every 河北省 jurisdiction of the org directory, and places outside it.

Matching is done by two word tables (``keywords.WordTable``, leftmost-longest matching):

- names ending in an administrative suffix (省 市 区 县 镇 乡 街道 …) are matched in the
  *reversed* text against the reversed names, so at each suffix the longest name wins
  (建北街道, not 北街道);
- short forms without a suffix (石家庄, 正定) are matched forwards.

A match must be a whole word: a private rjieba segmenter that knows every place name (at a low
frequency, so common words win) must cut the text at both its ends, which rejects 迁安 in 拆迁安置,
康保 in 健康保障 and 柏乡 in 松柏乡. A short form right before a street or building word (裕华路,
长安街, 正定站) is not a place mention; neither is a name ending in 市 before 场 (东方市场) nor in
镇 before 化 (新城镇化). A rejected match falls back to its longest plausible prefix.
Overlapping matches keep the longer one. Every match carries all its candidates: a name
shared by several places (新华区) stays ambiguous here and is resolved in ``place``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import rjieba
import yaml

from huiyin.classifier.keywords import WordTable
from huiyin.config.errors import ConfigError
from huiyin.config.org import OrgDirectory, Tier

# Last characters of names that the reversed trie handles.
_SUFFIX_CHARS = frozenset("省市区县镇乡道所州盟旗")
_WINDOW = 8  # characters of context segmented around a match
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True, slots=True)
class Mention:
    """One place name found in the text, with every place it can mean."""

    surface: str
    start: int
    end: int
    hebei: tuple[str, ...]  # candidate jurisdiction ids of the org directory
    outside: tuple[str, ...]  # candidate places outside Hebei, as full names (陕西省西安市长安区)
    short: bool  # matched by a short form (石家庄, 正定), not a full name


@dataclass(frozen=True)
class GazetteerConfig:
    """Guards against false mentions (config/places.yaml)."""

    street_words: tuple[str, ...]
    min_township_chars: int = 3
    word_freq: int = 10  # frequency of place names in the boundary segmenter (low: common words win)

    @classmethod
    def load(cls, path: Path) -> GazetteerConfig:
        data = _read_yaml(path)
        try:
            return cls(
                street_words=tuple(data["street_words"]),
                min_township_chars=int(data.get("min_township_chars", 3)),
                word_freq=int(data.get("word_freq", 10)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"地名配置无效 invalid place configuration: {exc}", source=str(path)) from None


def _read_yaml(path: Path) -> dict:
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"无法读取 cannot read: {exc}", source=str(path)) from None
    if not isinstance(data, dict):
        raise ConfigError("必须是映射 must hold a mapping", source=str(path))
    return data


def load_outside(path: Path) -> list[tuple[str, str, str]]:
    """Rows (name, short form, parent path) of config/places_outside.yaml."""
    data = _read_yaml(path)
    rows = data.get("places") or []
    if not all(isinstance(r, list) and len(r) == 3 for r in rows):
        raise ConfigError("places 的每项应为 [名称, 简称, 上级] each place must be [name, short, parent]", source=str(path))
    return [(str(n), str(s), str(p)) for n, s, p in rows]


class Gazetteer:
    """Compiled matchers over the org directory's names and the outside-Hebei place list."""

    def __init__(self, org: OrgDirectory, outside: list[tuple[str, str, str]], config: GazetteerConfig) -> None:
        self.org = org
        hebei: dict[str, list[str]] = {}
        shorts: set[str] = set()
        for j in org.jurisdictions.values():
            if j.tier is Tier.VILLAGE:
                continue  # villages are not in the directory today; their names are too common
            if j.tier is Tier.TOWNSHIP and len(j.name) < config.min_township_chars:
                continue  # 泊镇: two characters is too easily part of a longer word
            for name in (j.name, j.full_name):
                if name:
                    hebei.setdefault(name, []).append(j.id)
            for alias in j.aliases:
                hebei.setdefault(alias, []).append(j.id)
                shorts.add(alias)
        out: dict[str, list[str]] = {}
        for name, short, parent in outside:
            out.setdefault(name, []).append(parent + name)
            if short:
                out.setdefault(short, []).append(parent + name)
                shorts.add(short)
        self._hebei = {k: tuple(dict.fromkeys(v)) for k, v in hebei.items()}
        self._outside = {k: tuple(dict.fromkeys(v)) for k, v in out.items()}
        self._shorts = frozenset(shorts)
        surfaces = set(self._hebei) | set(self._outside)
        suffixed = [s for s in surfaces if s[-1] in _SUFFIX_CHARS]
        self._reversed = WordTable(sorted(s[::-1] for s in suffixed))
        self._forward = WordTable(sorted(s for s in surfaces if s[-1] not in _SUFFIX_CHARS))
        self._reversed_lengths = self._reversed.lengths.tolist()
        self._forward_lengths = self._forward.lengths.tolist()
        # A private segmenter with every place name, to check that a match is a whole word.
        self._segmenter = rjieba.Jieba()
        for surface in surfaces:
            self._segmenter.add_word(surface, config.word_freq, None)
        self._street = re.compile("|".join(map(re.escape, sorted(config.street_words, key=len, reverse=True))))

    def mentions(self, text: str) -> list[Mention]:
        """Place mentions in ``text``, in order, without overlaps (the longer match wins)."""
        n = len(text)
        spans: list[tuple[int, int]] = []
        lengths = self._reversed_lengths
        for start, wid in self._reversed.find(text, reverse=True):
            spans.append((n - start - lengths[wid], n - start))
        lengths = self._forward_lengths
        for start, wid in self._forward.find(text):
            spans.append((start, start + lengths[wid]))
        if not spans:
            return []
        spans.sort(key=lambda s: (s[0], -s[1]))
        found: list[Mention] = []
        last_end = -1
        for start, end in spans:
            if start < last_end:
                continue  # inside a longer, earlier match
            end = self._accept(text, start, end)
            if end < 0:
                continue
            surface = text[start:end]
            found.append(
                Mention(surface, start, end, self._hebei.get(surface, ()), self._outside.get(surface, ()),
                        surface in self._shorts)
            )
            last_end = end
        return found

    def _accept(self, text: str, start: int, end: int) -> int:
        """The end of the longest plausible name starting at ``start`` within the match, or -1."""
        while end - start >= 2:
            surface = text[start:end]
            if (surface in self._hebei or surface in self._outside) and self._plausible(text, start, end, surface):
                return end
            end -= 1
        return -1

    def _plausible(self, text: str, start: int, end: int, surface: str) -> bool:
        after = text[end : end + 1]
        if surface[-1] == "市" and after == "场":
            return False  # 东方市场, 沙河市场
        if surface[-1] == "镇" and after == "化":
            return False  # 新城镇化
        if surface in self._shorts and self._street.match(text, end):
            return False  # 裕华路, 长安街, 正定站: a street or building named after the place
        return self._on_word_boundaries(text, start, end)

    def _on_word_boundaries(self, text: str, start: int, end: int) -> bool:
        """True if segmentation puts word boundaries at both ends (拆迁安置 has no 迁安)."""
        if (start == 0 or not _is_cjk(text[start - 1])) and (end == len(text) or not _is_cjk(text[end])):
            return True
        lo, hi = max(0, start - _WINDOW), min(len(text), end + _WINDOW)
        pos, cuts = lo, {lo}
        for token in self._segmenter.cut(text[lo:hi], True):
            pos += len(token)
            cuts.add(pos)
        return start in cuts and end in cuts


def _is_cjk(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff"
