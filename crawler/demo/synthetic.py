"""A synthetic 留言板 of any size for the crawl benchmark, in the demo board's markup.

Texts are assembled deterministically from the post number (same page on every visit), from enough
phrases that unrelated posts do not look like reposts of each other.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from huiyin.crawler.demo.corpus import DemoPost

PLACES = (
    "正定县正定镇", "正定县诸福屯镇", "长安区建北街道", "长安区青园街道", "新华区革新街道", "雄县雄州镇",
    "容城县容城镇", "涞水县涞水镇", "崇礼区西湾子镇", "丛台区联纺路街道", "路北区机场路街道", "双桥区西大街街道",
    "桥西区东里街道", "裕华区槐底街道", "藁城区廉州镇", "鹿泉区获鹿镇", "栾城区栾城镇", "定州市北城区街道",
)
TOPICS = (
    ("路灯不亮", "晚上出行很不安全"), ("小区停水", "生活受到很大影响"), ("垃圾清运不及时", "气味很大"),
    ("道路坑洼积水", "车辆行人都很难通过"), ("噪音扰民", "老人孩子休息不好"), ("养老金发放", "想了解具体时间"),
    ("医保报销", "报销比例不清楚"), ("学校收费", "家长意见很大"), ("供暖不热", "室内温度太低"),
    ("工资拖欠", "工人生活困难"), ("违章建筑", "占用公共通道"), ("油烟污染", "窗户都不敢开"),
    ("公交线路调整", "上班通勤不便"), ("物业乱收费", "业主不认可"), ("食品安全", "担心孩子吃坏肚子"),
    ("低保审核", "材料交了很久没有结果"), ("户口迁移", "手续反复跑了几趟"), ("危房改造补助", "款项迟迟未到"),
)
SENTENCES = (
    "已经向社区反映过好几次", "希望有关部门尽快处理", "附近居民意见很大", "这个问题存在很长时间了",
    "打过服务热线但没有结果", "请领导重视一下", "周边还有学校和医院", "早晚高峰特别明显",
    "我们多次找物业都没有用", "村里的老人最受影响", "请派人到现场看一看", "盼望早日得到答复",
    "天气越来越冷了", "孩子每天上学都要经过这里", "之前也有人在这里反映过", "希望能公开处理结果",
    "不知道应该找哪个部门", "街道说需要上级审批", "涉及的住户有几十家", "最近一个月越来越严重",
    "听说别的小区已经解决了", "请相关部门给个明确时间", "我们愿意配合工作", "有照片可以作证",
    "晚上十点以后尤其厉害", "雨天的时候更加麻烦", "老旧小区设施太差", "来回跑了很多趟",
    "窗口工作人员态度还可以", "就是办事效率太低", "希望简化一下流程", "能不能在网上办理",
    "附近商户也受到影响", "有安全隐患", "已经有人受伤了", "盼复",
)
AUTHORS = ("热心市民", "小区业主", "退休职工", "上班族", "家长", "村民", "外来务工人员", "个体商户")


def synthetic_post(tid: int, epoch: datetime) -> DemoPost:
    """Post number ``tid`` of the synthetic board (deterministic)."""
    rng = random.Random(tid)
    place = rng.choice(PLACES)
    topic, effect = rng.choice(TOPICS)
    detail = "，".join(rng.sample(SENTENCES, rng.randint(4, 7)))
    number = rng.randint(2, 300)
    body = f"{place}第{number}号楼附近{topic}，{effect}。{detail}。（合成测试数据，编号{tid}）"
    return DemoPost(
        id=tid,
        site="synthetic",
        title=f"{place}{topic}的问题（{tid}）",
        body=body,
        author=rng.choice(AUTHORS),
        at=epoch - timedelta(minutes=tid % 50_000),
        likes=rng.randint(0, 500),
        replies=0,
    )


def synthetic_list_ids(page: int, total: int, per_page: int) -> list[int]:
    """Post numbers on list page ``page`` of a board holding ``total`` posts."""
    first = (page - 1) * per_page + 1
    return list(range(first, min(total, page * per_page) + 1))
