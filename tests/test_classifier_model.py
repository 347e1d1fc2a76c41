"""Field model: training, persistence (skops + checksum), prediction, review flag, odd input."""

from __future__ import annotations

import csv
import random
from pathlib import Path

import numpy as np
import pytest

from huiyin.classifier.field_model import FieldClassifier, load_label_map, load_model, package_model_path, save_model
from huiyin.classifier.grouping import grouped_split, near_copy_groups, title_key
from huiyin.classifier.model_io import ModelError, checksum_path
from huiyin.classifier.training import Dataset, TrainingError, evaluate, read_csv, train
from tests.classifier_data import make_rows, write_csv
from tests.conftest import IN_CI, SHARED_DATA

LABEL_MAP = {"城建": "urban_rural_construction", "劳动": "labor_social_security", "教育": "education_culture_sports"}
ODD_TEXTS = ["", "   \n\t", "😀😡🙏🔥" * 20, "The water supply has been cut for three days.", "停" * 100_000,
             "小区停水" * 25_000, "\x00\x01\ufffd", "１２３４５ＡＢＣ", "https://example.org/?q=%E5%81%9C"]


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    path = write_csv(tmp_path_factory.mktemp("cls") / "train.csv", make_rows())
    return read_csv(path)


@pytest.fixture(scope="module")
def model(data: Dataset):  # type: ignore[no-untyped-def]
    return train(data, alphas=(1.0,), folds=3)


def test_training_learns_the_labels(model, data: Dataset) -> None:  # type: ignore[no-untyped-def]
    assert model.labels == sorted(set(data.labels))
    result = evaluate(model, data)
    assert result["accuracy"] > 0.9 and set(result["per_class"]) == set(data.labels)
    meta = model.metadata
    assert meta["task"] == "field" and meta["rows"] == len(data) and meta["data_sha256"] == data.sha256
    assert meta["text_cols"] == ["title", "detail"] and "scikit-learn" in meta["versions"]
    assert 0.0 <= meta["metrics"]["grouped_cv_macro_f1"] <= 1.0


def test_probabilities_are_a_distribution(model) -> None:  # type: ignore[no-untyped-def]
    proba = model.predict_proba([("桥西区小区停水", "物业一直不管"), ("", "学校乱收补课费")])
    assert proba.shape == (2, len(model.labels))
    assert np.allclose(proba.sum(axis=1), 1.0)
    assert model.labels[int(proba[0].argmax())] == "城建" and model.labels[int(proba[1].argmax())] == "教育"


def test_round_trip_keeps_predictions(model, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "m.skops"
    digest = save_model(model, path)
    assert checksum_path(path).read_text().startswith(digest)
    loaded = load_model(path)
    posts = [("莲池区化工厂偷排污水", "河道发黑有异味"), ("", "老板拖欠工资半年")]
    assert np.allclose(loaded.predict_proba(posts), model.predict_proba(posts), atol=1e-6)
    assert loaded.metadata == model.metadata and loaded.labels == model.labels


def test_a_format_1_file_with_64_bit_keys_gives_the_same_predictions(model) -> None:  # type: ignore[no-untyped-def]
    """Files written before the 48-bit keys are read by keeping the keys' top bits."""
    from huiyin.classifier.linear import LinearTextModel

    state = model.to_state()
    rng = np.random.default_rng(3)
    old = {**state, "format": "huiyin.linear-text/1"}
    for k in ("body_keys", "title_keys"):
        low = rng.integers(0, 1 << 16, size=state[k].size, dtype=np.uint64)
        old[k] = (state[k].astype(np.uint64) << np.uint64(16)) | low
    again = LinearTextModel.from_state(old)
    posts = [(r["title"], r["detail"]) for r in make_rows(per_label=5, seed=9)]
    assert np.allclose(again.predict_proba(posts), model.predict_proba(posts))
    with pytest.raises(ValueError):
        LinearTextModel.from_state({**state, "format": "huiyin.linear-text/9"})


def test_block_weights_are_folded_into_the_coefficients(model, data: Dataset) -> None:  # type: ignore[no-untyped-def]
    # Ridge on 2·X with 4·alpha learns w/2; folding the weights back in gives the same model.
    doubled = train(data, alphas=(4.0,), folds=3, block_weights=(2.0, 2.0, 2.0))
    assert doubled.metadata["features"]["block_weights"] == [2.0, 2.0, 2.0]
    assert doubled.coef.shape == model.coef.shape
    assert np.allclose(doubled.coef, model.coef, atol=1e-3 * float(np.abs(model.coef).max()))
    posts = [("桥西区小区停水", "物业一直不管"), ("", "学校乱收补课费")]
    assert np.allclose(doubled.raw_scores(posts), model.raw_scores(posts), atol=1e-2)
    body = train(data, alphas=(1.0,), folds=3, block_weights=(1.0, 3.0, 1.0))
    _, o_body, o_title, _ = body.tables.offsets
    assert not np.allclose(body.coef[o_body:o_title], model.coef[o_body:o_title])
    assert evaluate(body, data)["accuracy"] > 0.9
    with pytest.raises(TrainingError):
        train(data, alphas=(1.0,), folds=3, block_weights=(1.0, 0.0, 1.0))


def test_tampered_or_unverified_model_is_refused(model, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "m.skops"
    save_model(model, path)
    blob = bytearray(path.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    path.write_bytes(bytes(blob))
    with pytest.raises(ModelError, match="checksum"):
        load_model(path)
    save_model(model, path)
    checksum_path(path).unlink()
    with pytest.raises(ModelError, match="checksum"):
        load_model(path)
    with pytest.raises(ModelError):
        load_model(tmp_path / "missing.skops")


def test_a_file_with_other_objects_is_refused_even_with_a_valid_checksum(tmp_path: Path) -> None:
    import skops.io as sio
    from sklearn.linear_model import RidgeClassifier

    from huiyin.classifier.model_io import load_state, sha256_file

    path = tmp_path / "evil.skops"
    sio.dump({"format": "huiyin.linear-text/1", "clf": RidgeClassifier()}, path)
    checksum_path(path).write_text(f"{sha256_file(path)}  evil.skops\n")
    with pytest.raises(ModelError, match="untrusted"):
        load_state(path)


def test_low_confidence_is_flagged_for_review(model) -> None:  # type: ignore[no-untyped-def]
    sure = FieldClassifier(model, LABEL_MAP, min_confidence=0.0).predict("物业不管停水，电梯也坏了", title="长安区小区停水")
    assert sure.label == "城建" and sure.field_id == "urban_rural_construction" and not sure.needs_review
    assert len(sure.top) == 3 and sure.top[0][0] == "城建" and sure.top[0][2] >= sure.top[1][2] >= sure.top[2][2]
    assert any(w in ("停水", "小区", "物业", "电梯") for w, _ in sure.evidence), sure.evidence
    strict = FieldClassifier(model, LABEL_MAP, min_confidence=0.999).predict("物业不管停水", title="停水")
    assert strict.needs_review and "低于阈值" in strict.reason
    unmapped = FieldClassifier(model, LABEL_MAP, min_confidence=0.0).predict("化工厂偷排废气，异味严重", title="污染")
    assert unmapped.label == "环保" and unmapped.field_id is None and unmapped.needs_review


@pytest.mark.parametrize("text", ODD_TEXTS, ids=lambda t: f"{len(t)}chars")
def test_odd_input_never_crashes(model, text: str) -> None:  # type: ignore[no-untyped-def]
    clf = FieldClassifier(model, LABEL_MAP, min_confidence=0.55)
    for title in (None, text[:50]):
        p = clf.predict(text, title=title)
        assert 0.0 <= p.probability <= 1.0
        if not text.strip():
            assert p.needs_review and p.label is None


def test_grouping_keeps_near_copies_together() -> None:
    body = "我是一名来自山区的工程师，有人利用个人关系拿监理公司的资质进行挂靠投标，请求调查。" * 2
    titles = ["请查处工程挂靠", "请建设厅调查挂靠行为", "A3区停水", "Ａ５区停水！", "学校收费"]
    bodies = ["省领导：" + body, "厅长：" + body, "三天没水", "还是没水", "补课费太高"]
    groups = near_copy_groups(titles, bodies)
    assert groups[0] == groups[1] and groups[2] == groups[3] and len(set(groups.tolist())) == 3
    assert title_key("Ａ５区停水！") == title_key("A3区停水") == "区停水"


def test_grouped_split_is_reproducible_and_disjoint() -> None:
    rows = make_rows(per_label=25)
    labels = [r["label"] for r in rows]
    groups = near_copy_groups([r["title"] for r in rows], [r["detail"] for r in rows])
    tr, va = grouped_split(labels, groups)
    tr2, va2 = grouped_split(labels, groups)
    assert (tr == tr2).all() and (va == va2).all()
    assert not set(groups[tr].tolist()) & set(groups[va].tolist())
    assert 0.1 < len(va) / len(rows) < 0.3


def test_bad_training_data_is_refused(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "one.csv", [r for r in make_rows() if r["label"] == "城建"])
    with pytest.raises(TrainingError):
        train(read_csv(path))
    with pytest.raises(TrainingError, match="missing"):
        read_csv(path, text_cols=("subject",))


def test_label_map_matches_the_org_directory() -> None:
    from huiyin.config.org import from_settings
    from huiyin.config.settings import load_settings

    settings = load_settings(config_dir="")
    mapping = load_label_map(settings.config_file("classifier.yaml"))
    org = from_settings(settings)
    assert len(mapping) == 7 and all(fid in org.fields for fid in mapping.values())
    assert org.fields[mapping["城乡建设"]].name == "城乡建设"


def test_shipped_model_loads_and_classifies() -> None:
    from huiyin.config.settings import load_settings

    if not package_model_path().exists():
        pytest.fail("the shipped field model is missing: build it as classifier/models/README.md says")
    clf = FieldClassifier.from_settings(load_settings(config_dir=""))
    assert clf.model.metadata["labels"] == sorted(clf.label_map)
    p = clf.predict("我在工地干了半年活，包工头拖欠农民工工资四万元，劳动监察大队也不管。", title="拖欠农民工工资")
    assert p.label == "劳动和社会保障" and p.field_id == "labor_social_security" and not p.needs_review
    p = clf.predict("化工厂每天晚上偷排废水，河水发黑发臭，鱼都死了。", title="化工厂偷排废水")
    assert p.field_id == "environmental_protection" and any("排" in w for w, _ in p.evidence)


TEDDY = SHARED_DATA / "teddy2020c" / "train.csv"


def test_training_on_a_sample_of_the_shared_data(tmp_path: Path) -> None:
    if not TEDDY.exists():
        if IN_CI:
            pytest.fail(f"shared data missing in CI: {TEDDY}")
        pytest.skip("shared data not available")
    with TEDDY.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    sample = random.Random(3).sample(rows, 700)
    data = read_csv(write_csv(tmp_path / "sample.csv", sample))
    groups = near_copy_groups(data.titles, data.bodies)
    tr, va = grouped_split(data.labels, groups)
    result = evaluate(train(data.subset(tr), alphas=(1.0,), folds=3), data.subset(va))
    assert result["macro_f1"] > 0.6, result  # 560 rows of 7 labels: well above chance (0.14)


def test_a_stack_folds_into_one_linear_model(data: Dataset) -> None:
    from scipy.special import softmax
    from sklearn.linear_model import LogisticRegression, RidgeClassifier
    from sklearn.naive_bayes import ComplementNB
    from sklearn.svm import LinearSVC

    from huiyin.classifier.features import PostFeaturizer
    from huiyin.classifier.training import _column_scale, _scaled, stack_inputs

    members = ("ridge", "linear_svc", "complement_nb")
    stack = train(data, alphas=(1.0,), folds=3, members=members, block_weights=(1.0, 2.0, 1.0))
    meta = stack.metadata
    assert meta["classifier"] == "stack" and meta["members"] == list(members) and meta["stacker"]["folded"]
    assert np.allclose(stack.calib_a, np.eye(len(stack.labels))) and not np.any(stack.calib_b)
    # The same stack computed member by member, on the same features, with the stored scales and stacker.
    featurizer = PostFeaturizer(min_df=2).fit(data.posts)
    scale = _column_scale(featurizer.tables_, (1.0, 2.0, 1.0))
    x = _scaled(featurizer.transform(data.posts), scale)
    y = np.array([stack.labels.index(label) for label in data.labels])
    fitted = [RidgeClassifier(alpha=1.0, class_weight="balanced", solver="sparse_cg", random_state=7).fit(x, y),
              LinearSVC(C=1.0, class_weight="balanced", random_state=7).fit(x, y), ComplementNB(alpha=0.1).fit(x, y)]
    scores = [fitted[0].decision_function(x), fitted[1].decision_function(x), np.asarray(x @ fitted[2].feature_log_prob_.T)]
    inputs = stack_inputs(scores, [meta["member_scales"][m] for m in members])
    stacker = LogisticRegression()
    stacker.coef_, stacker.intercept_ = np.array(meta["stacker"]["coef"]), np.array(meta["stacker"]["intercept"])
    stacker.classes_ = np.arange(len(stack.labels))
    expected = softmax(inputs @ stacker.coef_.T + stacker.intercept_, axis=1)
    assert np.allclose(stack.predict_proba(data.posts), expected, atol=2e-3)
    assert evaluate(stack, data)["accuracy"] > 0.9
    with pytest.raises(TrainingError):
        train(data, members=("complement_nb",))
