"""The compiled segmenter gives jieba's own tokens: sentences, edge cases, user words, real posts."""

from __future__ import annotations

import csv
import random
from pathlib import Path

import jieba
import numpy as np
import pytest

from huiyin.classifier.kernels import codepoints
from huiyin.classifier.segment import CompiledJieba
from huiyin.classifier.tokenize import Tokenizer
from tests.conftest import IN_CI, SHARED_DATA
from tests.test_classifier_tokenize import SENTENCES

# What jieba treats specially: blanks and \r\n, Latin/digit runs with + # & . _ % -, decimals and
# percentages inside unknown runs (the HMM's re_skip), characters outside its 汉字 range
# (full-width, emoji, a character beyond the BMP), runs of rare characters the HMM has no
# emission for, names and words it has to guess.
EDGE_CASES = [
    "",
    " ",
    "\r\n\r\n停水\r\n",
    "\t停水 \n 三天\u3000没人管",
    "3.5%的居民、12.5万元、第2019-12-30号文件",
    "Wi-Fi信号差，4G网络也不行，C++和C#都不会，a.b.c 1.2.3 x%y __init__",
    "ＡＢＣ１２３（全角）",
    "😀😀小区停水😀",
    "𠮷野家的饭",
    "龘靐齉爩麤",
    "郭晶晶是一个跳水运动员的名字叫做鲁智深吧王小二来到了网易杭研大厦",
    "石家庄市长安区建北街道和青园街道多个小区停水三天" * 20,
    "A" * 300 + "停水",
]


@pytest.fixture(scope="module")
def reference() -> jieba.Tokenizer:
    jieba.setLogLevel(60)
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    return tokenizer


@pytest.fixture(scope="module")
def compiled(reference: jieba.Tokenizer) -> CompiledJieba:
    return CompiledJieba.of(reference)


def test_same_tokens_as_jieba(reference: jieba.Tokenizer, compiled: CompiledJieba) -> None:
    for text in SENTENCES + EDGE_CASES:
        assert compiled.cut(text) == reference.lcut(text), text


def test_a_batch_gives_each_text_its_own_tokens(compiled: CompiledJieba) -> None:
    texts = SENTENCES + EDGE_CASES
    cp, offsets = codepoints(texts)
    bounds, starts, ends = compiled.spans(cp, offsets)
    assert bounds.tolist()[0] == 0 and bounds.tolist()[-1] == starts.size
    for i, text in enumerate(texts):
        got = [text[a - offsets[i] : b - offsets[i]] for a, b in zip(starts[bounds[i] : bounds[i + 1]], ends[bounds[i] : bounds[i + 1]])]
        assert got == compiled.cut(text)
    assert np.all(ends > starts)


def test_user_words_as_jieba_adds_them() -> None:
    words = ["建北街道", "回音系统", "农民工工资"]
    text = "长安区建北街道上线回音系统，专门处理农民工工资问题"
    reference, tokenizer = Tokenizer("jieba", words), Tokenizer("compiled", words)
    assert tokenizer.cut(text) == reference.cut(text)
    assert {"建北街道", "回音系统", "农民工工资"} <= set(tokenizer.cut(text))
    assert "建北街道" not in Tokenizer("compiled").cut(text)  # not leaked into the plain dictionary
    for sentence in SENTENCES:
        assert tokenizer.words(sentence) == reference.words(sentence)


def test_tables_are_cached_as_plain_arrays(tmp_path: Path, compiled: CompiledJieba) -> None:
    built = CompiledJieba.with_words(["回音系统"], cache_dir=tmp_path)
    assert len(list(tmp_path.glob("huiyin-jieba-*.npz"))) == 1
    loaded = CompiledJieba.with_words(["回音系统"], cache_dir=tmp_path)
    for name in ("slots", "weight", "emit_p"):
        assert np.array_equal(getattr(loaded.tables, name), getattr(built.tables, name))
    assert loaded.cut("上线回音系统") == built.cut("上线回音系统") == ["上线", "回音系统"]
    assert compiled.cut("上线回音系统") != ["上线", "回音系统"]  # the user word made the difference
    # A broken cache file is rebuilt, not trusted.
    next(tmp_path.glob("huiyin-jieba-*.npz")).write_bytes(b"broken")
    assert CompiledJieba.with_words(["回音系统"], cache_dir=tmp_path).cut("上线回音系统") == ["上线", "回音系统"]


def test_words_added_after_first_use_are_taken_in() -> None:
    tokenizer = Tokenizer("compiled")
    assert "回音系统" not in tokenizer.cut("上线回音系统")
    tokenizer._cutter.add_word("回音系统")
    assert "回音系统" in tokenizer.cut("上线回音系统")


def _shared_texts() -> list[str]:
    teddy = SHARED_DATA / "teddy2020c" / "train.csv"
    sentiment = SHARED_DATA / "sentiment" / "smp2020_ewect_train.csv"
    if not teddy.exists() or not sentiment.exists():
        if IN_CI:
            pytest.fail(f"shared data missing in CI: {teddy}, {sentiment}")
        pytest.skip("shared data not available")
    texts: list[str] = []
    with teddy.open(encoding="utf-8-sig") as handle:
        for row in csv.DictReader(handle):
            texts += [row.get("title") or "", row.get("detail") or ""]
    with sentiment.open(encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        column = next(c for c in reader.fieldnames or () if c not in ("id", "label"))
        texts += [row[column] for row in reader]
    return random.Random(5).sample(texts, 3000)


def test_same_tokens_as_jieba_on_real_posts(reference: jieba.Tokenizer, compiled: CompiledJieba) -> None:
    texts = _shared_texts()
    cp, offsets = codepoints(texts)
    bounds, starts, ends = compiled.spans(cp, offsets)
    wrong = []
    for i, text in enumerate(texts):
        got = [text[a - offsets[i] : b - offsets[i]] for a, b in zip(starts[bounds[i] : bounds[i + 1]].tolist(), ends[bounds[i] : bounds[i + 1]].tolist())]
        if got != reference.lcut(text):
            wrong.append(text[:60])
    assert not wrong, wrong[:5]
