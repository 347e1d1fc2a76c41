"""The tokenizer: jieba and rjieba agree, user words are respected, stop words go."""

from __future__ import annotations

import pytest

from huiyin.classifier.tokenize import Tokenizer, configure, get_tokenizer, stop_words, tokenize, user_words
from huiyin.config.errors import ConfigError

# Sentences written for this test: typical 留言 about Hebei matters.
SENTENCES = [
    "石家庄市长安区建北街道的小区连续三天停水，物业一直不给答复。",
    "保定市莲池区某中学乱收补课费，家长敢怒不敢言，请教育局调查。",
    "唐山市路南区一家化工厂夜间偷排废水，河里的鱼都死了。",
    "我在邯郸打工两年，老板拖欠农民工工资四万多元，劳动仲裁也没结果。",
    "廊坊市广阳区302路公交车经常不按时发车，司机态度恶劣。",
    "请问新生儿医保怎么办理？需要带哪些材料到社保局？",
    "张家口崇礼滑雪场门票涨价，游客投诉价格不透明。",
    "秦皇岛市海港区医院看病排队三个小时，挂号难的问题何时解决？",
    "雄安新区容城县的安置房什么时候交付？",
    "Wi-Fi信号差，4G网络也不行，客服电话12345一直打不通！！",
]


@pytest.fixture(scope="module")
def pair() -> tuple[Tokenizer, Tokenizer]:
    words = ["建北街道", "回音系统", "农民工工资"]
    return Tokenizer("jieba", words), Tokenizer("rjieba", words)


def test_jieba_and_rjieba_give_the_same_tokens(pair: tuple[Tokenizer, Tokenizer]) -> None:
    jieba_tok, rjieba_tok = pair
    for sentence in SENTENCES:
        assert jieba_tok.cut(sentence) == rjieba_tok.cut(sentence), sentence
        assert jieba_tok.words(sentence) == rjieba_tok.words(sentence), sentence


def test_user_words_are_single_tokens(pair: tuple[Tokenizer, Tokenizer]) -> None:
    plain = Tokenizer("rjieba")
    text = "长安区建北街道上线回音系统，专门处理农民工工资问题"
    assert "建北街道" not in plain.cut(text)  # the default dictionary splits it
    for tok in pair:
        tokens = tok.cut(text)
        assert "建北街道" in tokens and "回音系统" in tokens and "农民工工资" in tokens


def test_user_words_do_not_leak_between_instances() -> None:
    Tokenizer("rjieba", ["建北街道"])
    assert "建北街道" not in Tokenizer("rjieba").cut("长安区建北街道供暖不热")


def test_stop_words_and_punctuation_removed() -> None:
    tok = Tokenizer("rjieba")
    words = tok.words("我们的小区停水了，请问什么时候恢复？")
    assert "停水" in words and "小区" in words
    assert not set(words) & {"我们", "的", "了", "，", "？", "请问", "什么"}
    assert "的" in stop_words() and "工资" not in stop_words()


def test_user_words_helper_drops_single_characters_and_duplicates() -> None:
    assert user_words(names=["长安区", "区", " ", "长安区"], keywords=["停水", "a b"]) == ["长安区", "停水"]


def test_configure_swaps_the_process_wide_tokenizer() -> None:
    try:
        tok = configure("jieba", ["回音系统"])
        assert get_tokenizer() is tok and tok.backend == "jieba"
        assert "回音系统" in tokenize("回音系统上线")
    finally:
        configure("rjieba")
    assert get_tokenizer().backend == "rjieba"


def test_unknown_backend_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        Tokenizer("pkuseg")  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["", "😀😡🙏", "The quick brown fox", "x" * 100_000, "\u200b\n\t "])
def test_odd_input_never_crashes(text: str, pair: tuple[Tokenizer, Tokenizer]) -> None:
    for tok in pair:
        assert isinstance(tok.words(text), list)


@pytest.mark.parametrize("backend", ["rjieba", "jieba"])
def test_cut_many_equals_cutting_each_text(backend: str) -> None:
    tok = Tokenizer(backend)
    texts = ["长安区停水三天", "", "Wi-Fi 2019-12-30 坏了", "", "物业不管。", "😀"]
    flat, offsets = tok.cut_many(texts)
    assert [flat[a:b] for a, b in zip(offsets, offsets[1:])] == [tok.cut(t) for t in texts]
    with_breaks = ["第一行\n第二行", "停水"]  # a line break inside a text: cut one by one
    flat, offsets = tok.cut_many(with_breaks)
    assert [flat[a:b] for a, b in zip(offsets, offsets[1:])] == [tok.cut(t) for t in with_breaks]
    assert tok.cut_many([]) == ([], [0])
