"""Small labelled data made up at test time for the classifier tests (no rows of shared data).

Each label has its own vocabulary; posts mix a few of its words into shared filler, so a model
learns it quickly but not perfectly. Deterministic (seeded).
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

WORDS = {
    "城建": ["小区", "物业", "停水", "施工", "电梯", "路灯", "排水", "拆迁", "楼盘", "围挡"],
    "劳动": ["工资", "社保", "拖欠", "农民工", "仲裁", "养老金", "劳动合同", "工伤", "退休", "招聘"],
    "教育": ["学校", "老师", "学生", "补课", "招生", "幼儿园", "学费", "校车", "考试", "家长"],
    "环保": ["污染", "排污", "废气", "异味", "扬尘", "污水", "噪音", "偷排", "化工厂", "河道"],
}
FILLER = ["反映", "一下", "长期", "严重", "影响", "群众", "生活", "希望", "有关部门", "尽快", "处理", "解决", "多次", "没有", "结果"]
PLACES = ["长安区", "桥西区", "莲池区", "路南区", "丛台区", "广阳区", "海港区", "桃城区"]


def make_rows(per_label: int = 30, seed: int = 1) -> list[dict[str, str]]:
    """Rows with id, title, detail, label."""
    rng = random.Random(seed)
    rows = []
    for label, words in WORDS.items():
        for i in range(per_label):
            own = rng.sample(words, 3)
            title = f"{rng.choice(PLACES)}{own[0]}{own[1]}问题"
            body = "，".join(rng.sample(FILLER, 5) + own + rng.sample(FILLER, 3)) + "。"
            rows.append({"id": f"{label}-{i}", "title": title, "detail": body if i % 7 else "", "label": label})
    rng.shuffle(rows)
    return rows


def write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path
