"""``huiyin org …``: look into the org directory (who can be responsible, and above whom)."""

from __future__ import annotations

import time

import typer

from huiyin.config.org import Jurisdiction, OrgDirectory, Tier, Unit, from_settings

org_app = typer.Typer(name="org", help="组织目录：行政区划、责任单位、领域 (org directory)", no_args_is_help=True)

MAX_PARTIAL = 20  # partial name matches printed in full


def register(app: typer.Typer) -> None:
    """Add the ``org`` command group to the ``huiyin`` app."""
    app.add_typer(org_app, name="org")


def _load(ctx: typer.Context) -> tuple[OrgDirectory, float]:
    from huiyin.api.context import settings_from  # the entry point owns the settings object

    started = time.perf_counter()
    org = from_settings(settings_from(ctx))
    return org, time.perf_counter() - started


@org_app.command("show")
def show(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="名称、全称、别名或编码，如 长安区、石家庄长安区、130102、长安区教育局"),
) -> None:
    """显示单位或行政区划及其责任链 (a unit or jurisdiction and its chain of responsibility)."""
    org, _ = _load(ctx)
    jurisdictions, units = _match(org, name)
    partial = False
    if not jurisdictions and not units:
        units = org.find_units(name)
        partial = True
    total = len(jurisdictions) + len(units)
    if total == 0:
        typer.echo(f"未找到「{name}」：没有这个名称、别名或编码的行政区划或单位。", err=True)
        raise typer.Exit(1)
    if total > 1:
        how = "名称中含有" if partial else "匹配"
        typer.echo(f"「{name}」{how}的结果共 {total} 个，请用全称或编码区分：\n")
    blocks = [_jurisdiction_block(org, j) for j in jurisdictions]
    blocks += [_unit_block(org, u) for u in units[:MAX_PARTIAL]]
    typer.echo("\n\n".join(blocks))
    if len(units) > MAX_PARTIAL:
        typer.echo(f"\n……另有 {len(units) - MAX_PARTIAL} 个单位名称含「{name}」，请输入更完整的名称。")


@org_app.command("stats")
def stats(ctx: typer.Context) -> None:
    """统计组织目录：各层级行政区划、单位、领域、部门类型 (counts)."""
    org, seconds = _load(ctx)
    c = org.stats()
    tiers = "，".join(f"{t.level_label} {c[f'jurisdictions.{t}']}" for t in Tier.ordered())
    direct = [j.name for j in org.jurisdictions.values() if j.directly_administered]
    typer.echo(f"行政区划 {c['jurisdictions']}：{tiers}")
    if direct:
        typer.echo(f"  其中省直管县级 {len(direct)}：{'、'.join(direct)}")
    typer.echo(
        f"单位 {c['units']}：人民政府 {c['units.government']}，宣传部门 {c['units.publicity']}，"
        f"职能部门 {c['units.department']}"
    )
    typer.echo(f"领域 {c['fields']}（其中试点领域 {c['pilot_fields']}）")
    typer.echo(f"部门类型 {c['department_types']}")
    typer.echo(f"加载用时 {seconds:.2f} 秒")


def _match(org: OrgDirectory, name: str) -> tuple[list[Jurisdiction], list[Unit]]:
    """Exact matches: ids first, then names, full names and aliases."""
    key = name.strip()
    if key in org.jurisdictions:
        return [org.jurisdictions[key]], []
    if key in org.units:
        return [], [org.units[key]]
    return org.find(key), org.find_units(key, partial=False)


def _names(units: list[Unit]) -> str:
    return " → ".join(u.name for u in units)


def _jurisdiction_block(org: OrgDirectory, j: Jurisdiction) -> str:
    chain = org.chain(j.id)
    gov = org.government(j.id)
    pub = org.publicity_office(j.id)
    lines = [
        f"【行政区划】{j.label}",
        f"  全称：{j.full_name}",
    ]
    if j.aliases:
        lines.append(f"  别名：{'、'.join(j.aliases)}")
    if j.directly_administered:
        lines.append("  省直管：是")
    if j.official_parent_id and j.official_parent_id in org.jurisdictions:
        lines.append(f"  区划表中的上级：{org.jurisdictions[j.official_parent_id].name}")
    lines.append(f"  属地链：{' → '.join(x.name for x in chain)}")
    lines.append(f"  人民政府：{gov.name} [{gov.id}]")
    lines.append(f"  宣传部门：{pub.name} [{pub.id}]")
    departments = [u for u in org.units_of(j.id) if u.kind == "department"]
    if departments:
        lines.append(f"  职能部门：{len(departments)} 个，如 {'、'.join(u.name for u in departments[:3])} 等")
    else:
        lines.append("  职能部门：无（各领域由本级政府负责）")
    children = org.children(j.id)
    if children:
        per_tier = {t: sum(1 for c in children if c.tier is t) for t in Tier.ordered()}
        counts = "、".join(f"{n} 个{t.level_label}" for t, n in per_tier.items() if n)
        shown = "、".join(c.name for c in children[:8]) + ("等" if len(children) > 8 else "")
        lines.append(f"  下级：{counts}（{shown}）")
    lines.append(f"  逐级上报（政府）：{_names(org.escalation_path(gov.id))}")
    lines.append(f"  逐级上报（宣传）：{_names(org.escalation_path(pub.id))}")
    return "\n".join(lines)


def _unit_block(org: OrgDirectory, u: Unit) -> str:
    j = org.jurisdiction(u.jurisdiction_id)
    kind = u.kind_label
    if u.department_type:
        kind += f"（{org.department_types[u.department_type].name}）"
    lines = [
        f"【单位】{u.name} [{u.id}]",
        f"  类型：{kind}",
        f"  属地：{j.full_name}（{j.tier.level_label}，{j.id}）",
    ]
    if u.covers:
        lines.append(f"  兼管：{'、'.join(org.department_types[t].name for t in u.covers)}")
    if u.fields:
        if len(u.fields) == len(org.fields):
            lines.append(f"  主管领域：全部 {len(u.fields)} 个领域（{j.tier.level_label}不设职能部门，由本级政府负责）")
        else:
            lines.append(f"  主管领域：{'、'.join(org.fields[f].name for f in u.fields)}")
    gov = org.government(j.id)
    pub = org.publicity_office(j.id)
    if u.id != gov.id:
        lines.append(f"  本级政府：{gov.name} [{gov.id}]")
    if u.id != pub.id:
        lines.append(f"  本级宣传部门：{pub.name} [{pub.id}]")
    lines.append(f"  逐级上报：{_names(org.escalation_path(u.id))}")
    lines.append(f"  属地链：{' → '.join(x.name for x in org.chain(j.id))}")
    return "\n".join(lines)
