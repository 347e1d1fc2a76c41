"""How derived units are named: governments, publicity offices and departments.

The rules follow common usage in Hebei (河北省人民政府, 石家庄市委宣传部（市委网信办）,
长安区人民政府, 建北街道办事处, 正定镇人民政府). A jurisdiction entry may override the government
and publicity names (雄安新区管理委员会); an explicit department entry carries its own name.
"""

from __future__ import annotations

from huiyin.config.org.models import Jurisdiction, Tier

# The character that names the party committee of a place: 河北省委, 石家庄市委, 长安区委, 正定县委.
_COMMITTEE_CHARS = ("省", "市", "区", "县", "旗")
_TIER_COMMITTEE = {Tier.PROVINCE: "省", Tier.CITY: "市", Tier.COUNTY: "县"}


def government_name(j: Jurisdiction) -> str:
    """Default name of a jurisdiction's government."""
    name = j.name
    if j.tier is Tier.TOWNSHIP:
        if name.endswith("街道"):
            return name + "办事处"
        if name.endswith(("镇", "乡")):
            return name + "人民政府"
        if name.endswith("区公所"):
            return name  # a 区公所 is itself the government's agency
        return name + "管理委员会"  # 开发区, 管理区, 农场 at township level
    if j.tier is Tier.VILLAGE:
        return name + ("居民委员会" if name.endswith("社区") else "村民委员会")
    return name + "人民政府"


def publicity_name(j: Jurisdiction) -> str | None:
    """Default name of a jurisdiction's publicity office; None for a village (it has none)."""
    if j.tier is Tier.VILLAGE:
        return None
    if j.tier is Tier.TOWNSHIP:
        # Townships have no 宣传部: the 宣传委员 works in the 党政综合办公室.
        return j.name + "党政综合办公室"
    char = j.name[-1] if j.name.endswith(_COMMITTEE_CHARS) else _TIER_COMMITTEE[j.tier]
    return f"{j.name}委宣传部（{char}委网信办）"


def department_place(j: Jurisdiction, parent: Jurisdiction | None) -> str:
    """The place prefix of a department's name.

    County departments carry the city's name too (石家庄市长安区教育局), which keeps the two
    新华区 apart; a county directly under the province does not (辛集市教育局).
    """
    if j.tier is Tier.COUNTY and parent is not None and parent.tier is Tier.CITY:
        return parent.name + j.name
    return j.name


def department_name(suffix: str, place: str) -> str:
    """``教育局`` + ``石家庄市`` → ``石家庄市教育局``; a template uses ``{place}``."""
    if "{place}" in suffix:
        return suffix.replace("{place}", place)
    return place + suffix


def local_department_name(suffix: str, j: Jurisdiction) -> str:
    """The short form people write: 长安区教育局 (without the city)."""
    return department_name(suffix, j.name)
