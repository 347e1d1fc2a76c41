"""``huiyin classify …``: train, evaluate and try the field and sentiment models.

- ``train --data CSV [--text-cols title,detail] [--label-col label] [--block-weights 1,2,1] [--members ridge,linear_svc,complement_nb] --out MODEL``
- ``evaluate --data CSV [--model MODEL] [--split validation]`` — last stdout line is JSON
- ``train-sentiment --data SMP.csv [--extra WEIBO.csv] --out MODEL``
- ``predict --text TEXT [--title TITLE]`` — one JSON object

Progress (stages and timings) goes to stderr as log lines; results go to stdout.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import typer

classify_app = typer.Typer(help="领域分类与情感模型 field classifier and sentiment model", no_args_is_help=True)
log = logging.getLogger("huiyin.classifier")


def register(app: typer.Typer) -> None:
    """Add the ``classify`` command group to the ``huiyin`` app."""
    app.add_typer(classify_app, name="classify")


def _settings(ctx: typer.Context):  # type: ignore[no-untyped-def]
    from huiyin.api.context import settings_from

    return settings_from(ctx)


def _cols(value: str) -> tuple[str, ...]:
    cols = tuple(c.strip() for c in value.split(",") if c.strip())
    if not cols:
        raise typer.BadParameter("至少一列 at least one column")
    return cols


def _floats(value: str) -> tuple[float, ...]:
    try:
        return tuple(float(v) for v in value.split(",") if v.strip())
    except ValueError:
        raise typer.BadParameter(f"not a list of numbers: {value}") from None


def _user_words(path: Path | None, org_words: bool, ctx: typer.Context) -> list[str]:
    """Words for the tokenizer: a file (one a line) and/or the org directory's names and keywords."""
    words: list[str] = []
    if path is not None:
        words += [w.strip() for w in path.read_text(encoding="utf-8").splitlines() if w.strip() and not w.startswith("#")]
    if org_words:
        from huiyin.classifier.tokenize import user_words
        from huiyin.config.org import from_settings

        org = from_settings(_settings(ctx))
        names = [j.name for j in org.jurisdictions.values()] + [a for j in org.jurisdictions.values() for a in j.aliases]
        names += [u.name for u in org.units.values()] + [f.name for f in org.fields.values()]
        words += user_words(names=names, keywords=[k for f in org.fields.values() for k in f.keywords])
    return words


def _block_weights(value: str) -> tuple[float, float, float]:
    weights = _floats(value)
    if len(weights) != 3 or not all(w > 0 for w in weights):
        raise typer.BadParameter(f"需要三个正数 need three positive numbers (word,body,title): {value}")
    return weights  # type: ignore[return-value]


def _members(value: str, classifier: str) -> tuple[str, ...]:
    """``--members``: names separated by commas; empty or ``none``: ``--classifier`` alone (as is
    a ``--classifier`` other than ridge given without ``--members``)."""
    from huiyin.classifier.training import MEMBERS

    if value.strip().lower() in ("", "none") or (value == FIELD_MEMBERS and classifier != "ridge"):
        return (classifier,)
    names = _cols(value)
    unknown = [m for m in names if m not in MEMBERS]
    if unknown or len(set(names)) != len(names):
        raise typer.BadParameter(f"成员须为不重复的 {'/'.join(MEMBERS)} members must be distinct names of {MEMBERS}: {value}")
    return names


def _train_options(classifier: str, alphas: str, seed: int, user_words: Path | None, org_words: bool, ctx: typer.Context,
                   block_weights: str, members: str = "none") -> dict:
    return {"classifier": classifier, "alphas": _floats(alphas), "seed": seed, "block_weights": _block_weights(block_weights),
            "backend": _settings(ctx).classifier.tokenizer, "extra_words": _user_words(user_words, org_words, ctx),
            "members": _members(members, classifier)}


# Default of --block-weights: the body n-gram block counts double. On the grouped split this
# raised macro-F1 on fold 0 (0.9262 → 0.9299) and on the mean of all 5 folds (0.9238 → 0.9259);
# see classifier/models/README.md.
FIELD_BLOCK_WEIGHTS = "1,2,1"
_BLOCK_HELP = "特征块权重 weights of the word, body n-gram and title n-gram blocks"
# Default of --members: the field model is a stack of three (see classifier/models/README.md);
# "none" trains --classifier alone.
FIELD_MEMBERS = "ridge,linear_svc,complement_nb"
_MEMBERS_HELP = ("堆叠成员，逗号分隔，第一个用 --alphas 调参；none 为只用 --classifier "
                 "stack members, e.g. ridge,linear_svc,complement_nb (first one tuned); none: --classifier alone")


@classify_app.command("train")
def train_cmd(
    ctx: typer.Context,
    data: Path = typer.Option(..., "--data", exists=True, dir_okay=False, help="带标签的 CSV labelled CSV"),
    out: Path = typer.Option(..., "--out", help="模型文件 model file (.skops)"),
    text_cols: str = typer.Option("title,detail", "--text-cols", help="文本列：第一列为标题 text columns, first = title"),
    label_col: str = typer.Option("label", "--label-col", help="标签列 label column"),
    classifier: str = typer.Option("ridge", "--classifier", help="ridge | linear_svc | logreg"),
    alphas: str = typer.Option("0.3,1,3", "--alphas", help="正则化强度候选 regularisation grid (grouped CV)"),
    seed: int = typer.Option(7, "--seed", help="随机种子 seed of the CV folds"),
    user_words: Path = typer.Option(None, "--user-words", exists=True, dir_okay=False, help="分词用户词表 one word a line"),
    org_words: bool = typer.Option(False, "--org-words", help="用组织目录的地名、单位名和领域词 add org directory names"),
    block_weights: str = typer.Option(FIELD_BLOCK_WEIGHTS, "--block-weights", help=_BLOCK_HELP),
    members: str = typer.Option(FIELD_MEMBERS, "--members", help=_MEMBERS_HELP),
) -> None:
    """Train a field model on a labelled CSV and save it (skops + sha256)."""
    from huiyin.classifier.field_model import save_model
    from huiyin.classifier.training import read_csv, train

    started = time.perf_counter()
    dataset = read_csv(data, _cols(text_cols), label_col)
    log.info("read %d rows from %s (%.1fs)", len(dataset), data, time.perf_counter() - started)
    model = train(dataset, **_train_options(classifier, alphas, seed, user_words, org_words, ctx, block_weights, members))
    digest = save_model(model, out)
    size = out.stat().st_size / 1e6
    typer.echo(f"已保存 saved {out} ({size:.1f} MB, sha256 {digest[:16]}…) in {time.perf_counter() - started:.0f}s")
    typer.echo(json.dumps({"model": str(out), "size_mb": round(size, 2), "sha256": digest, **model.metadata["metrics"]}, ensure_ascii=False))


@classify_app.command("evaluate")
def evaluate_cmd(
    ctx: typer.Context,
    data: Path = typer.Option(..., "--data", exists=True, dir_okay=False, help="带标签的 CSV labelled CSV"),
    model_path: Path = typer.Option(None, "--model", help="模型文件（默认为随包模型） model file, default: shipped"),
    text_cols: str = typer.Option("title,detail", "--text-cols", help="文本列 text columns"),
    label_col: str = typer.Option("label", "--label-col", help="标签列 label column"),
    split: str = typer.Option("none", "--split", help="none: 用模型评估全部行; validation: 分组 80/20，训练 80% 评估 20%"),
    split_seed: int = typer.Option(20260, "--split-seed", help="分组划分种子 seed of the grouped split"),
    classifier: str = typer.Option("ridge", "--classifier", help="(--split validation) ridge | linear_svc | logreg"),
    alphas: str = typer.Option("0.3,1,3", "--alphas", help="(--split validation) regularisation grid"),
    seed: int = typer.Option(7, "--seed", help="(--split validation) seed of the CV folds"),
    user_words: Path = typer.Option(None, "--user-words", exists=True, dir_okay=False, help="(--split validation)"),
    org_words: bool = typer.Option(False, "--org-words", help="(--split validation)"),
    block_weights: str = typer.Option(FIELD_BLOCK_WEIGHTS, "--block-weights", help=f"(--split validation) {_BLOCK_HELP}"),
    members: str = typer.Option(FIELD_MEMBERS, "--members", help=f"(--split validation) {_MEMBERS_HELP}"),
) -> None:
    """Evaluate a model; the last stdout line is JSON (accuracy, macro_f1, per_class)."""
    from huiyin.classifier.field_model import load_model
    from huiyin.classifier.grouping import grouped_split, near_copy_groups
    from huiyin.classifier.training import evaluate, read_csv, train

    dataset = read_csv(data, _cols(text_cols), label_col)
    settings = _settings(ctx)
    if split == "validation":
        if model_path is not None:
            raise typer.BadParameter("--split validation trains its own model; leave out --model")
        t0 = time.perf_counter()
        rows_train, rows_valid = grouped_split(dataset.labels, near_copy_groups(dataset.titles, dataset.bodies), seed=split_seed)
        log.info("grouped split (seed %d): %d train, %d validation rows (%.1fs)", split_seed, len(rows_train), len(rows_valid), time.perf_counter() - t0)
        model = train(dataset.subset(rows_train), **_train_options(classifier, alphas, seed, user_words, org_words, ctx, block_weights, members))
        evaluated = dataset.subset(rows_valid)
        source = f"grouped validation split, seed {split_seed}"
    elif split == "none":
        model = load_model(model_path or settings.classifier.model_path, backend=settings.classifier.tokenizer)
        evaluated = dataset
        source = str(model_path or settings.classifier.model_path or "shipped model")
        if model.metadata.get("data_sha256") == dataset.sha256:
            typer.echo("注意：该数据即模型的训练数据，结果偏高 warning: this is the model's training data (use --split validation)", err=True)
    else:
        raise typer.BadParameter("--split must be none or validation")
    t0 = time.perf_counter()
    result = evaluate(model, evaluated)
    elapsed = time.perf_counter() - t0
    for label, m in result["per_class"].items():
        typer.echo(f"{label:\u3000<8} P {m['precision']:.3f}  R {m['recall']:.3f}  F1 {m['f1']:.3f}  n={m['support']}")
    typer.echo(f"accuracy {result['accuracy']:.4f}  macro-F1 {result['macro_f1']:.4f}  ({len(evaluated)} rows, {len(evaluated) / elapsed:.0f} posts/s)")
    typer.echo(json.dumps({"model": source, "split": split, **result}, ensure_ascii=False))


@classify_app.command("train-sentiment")
def train_sentiment_cmd(
    ctx: typer.Context,
    data: Path = typer.Option(..., "--data", exists=True, dir_okay=False, help="SMP2020-EWECT 格式 CSV (label, content)"),
    out: Path = typer.Option(..., "--out", help="模型文件 model file (.skops)"),
    extra: Path = typer.Option(None, "--extra", exists=True, dir_okay=False, help="weibo_senti_100k 格式 CSV (label 0/1, review)"),
    negative: str = typer.Option("", "--negative", help="负面情绪标签，默认读 config/classifier.yaml negative emotion labels"),
    seed: int = typer.Option(20260, "--split-seed", help="验证划分种子 seed of the grouped validation split"),
) -> None:
    """Train the negative-sentiment model; validation figures are printed and stored in the model."""
    import yaml

    from huiyin.classifier.field_model import LABELS_FILE, save_model
    from huiyin.classifier.sentiment import read_emotions, read_polarity, train_sentiment

    settings = _settings(ctx)
    labels = [v.strip() for v in negative.split(",") if v.strip()]
    if not labels:
        cfg = yaml.safe_load(settings.config_file(LABELS_FILE).read_text(encoding="utf-8")) or {}
        labels = list((cfg.get("sentiment") or {}).get("negative_labels") or ["angry", "sad", "fear"])
    started = time.perf_counter()
    emotions = read_emotions(data, labels)
    extra_data = read_polarity(extra) if extra is not None else None
    log.info("read %d rows (+%d extra), negative = %s", len(emotions), len(extra_data) if extra_data else 0, labels)
    model, held = train_sentiment(emotions, extra_data, seed=seed, backend=settings.classifier.tokenizer)
    model.metadata["negative_labels"] = labels
    digest = save_model(model, out)
    typer.echo(f"已保存 saved {out} ({out.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - started:.0f}s")
    typer.echo(json.dumps({"model": str(out), "sha256": digest, "validation": held}, ensure_ascii=False))


@classify_app.command("predict")
def predict_cmd(
    ctx: typer.Context,
    text: str = typer.Option(..., "--text", help="正文 post text"),
    title: str = typer.Option(None, "--title", help="标题 title"),
    model_path: Path = typer.Option(None, "--model", help="领域模型 field model (default: shipped)"),
) -> None:
    """Field and sentiment of one post, as one JSON object."""
    from dataclasses import asdict

    from huiyin.classifier.field_model import FieldClassifier, load_label_map, load_model, LABELS_FILE
    from huiyin.classifier.sentiment import SentimentModel

    settings = _settings(ctx)
    cfg = settings.classifier
    clf = FieldClassifier(load_model(model_path or cfg.model_path, backend=cfg.tokenizer),
                          load_label_map(settings.config_file(LABELS_FILE)), cfg.min_confidence)
    field = clf.predict(text, title)
    sentiment = SentimentModel.load(backend=cfg.tokenizer).predict("\n".join(p for p in (title, text) if p))
    typer.echo(json.dumps({"field": asdict(field), "sentiment": asdict(sentiment)}, ensure_ascii=False))
