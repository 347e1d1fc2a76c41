"""The org directory: search jurisdictions and units by name or id, list fields."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status

from huiyin.api import schemas as s
from huiyin.api.deps import CurrentUser, OrgDep
from huiyin.config.org import Field, Jurisdiction, OrgDirectory, Tier, Unit

router = APIRouter(prefix="/api/org", tags=["org 组织目录"])
AUTH = {401: {"model": s.ErrorOut, "description": "未登录"}}


def jurisdiction_out(j: Jurisdiction) -> s.JurisdictionOut:
    return s.JurisdictionOut(id=j.id, name=j.name, full_name=j.full_name or j.name, tier=str(j.tier),
                             tier_label=j.tier.level_label, parent_id=j.parent_id)


def unit_out(org: OrgDirectory, u: Unit) -> s.UnitOut:
    j = org.jurisdictions.get(u.jurisdiction_id)
    return s.UnitOut(
        id=u.id, name=u.name, kind=u.kind, jurisdiction_id=u.jurisdiction_id,
        jurisdiction_name=(j.full_name or j.name) if j else u.jurisdiction_id, tier=str(u.tier),
        tier_label=u.tier.level_label, department_type=u.department_type, fields=list(u.fields),
    )


def field_out(f: Field) -> s.FieldOut:
    return s.FieldOut(id=f.id, name=f.name, pilot=f.pilot, department_type=f.department_type)


@router.get("", response_model=s.OrgSearchOut, responses=AUTH, summary="检索组织目录（名称、编号）")
def search_org(
    org: OrgDep,
    user: CurrentUser,
    q: Annotated[str, Query(max_length=50, description="名称或编号，如 正定县、130123、住房")] = "",
    tier: Annotated[Tier | None, Query(description="层级")] = None,
    kind: Annotated[str | None, Query(pattern="^(government|publicity|department)$", description="单位类别")] = None,
    within: Annotated[str | None, Query(max_length=32, description="只看该行政区划及其下级")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 30,
) -> s.OrgSearchOut:
    q = q.strip()
    scope = None
    if within:
        if within not in org.jurisdictions:
            return s.OrgSearchOut(jurisdictions=[], units=[], fields=[])
        scope = org.units_within(within)
    jurisdictions: list[Jurisdiction] = []
    if q:
        jurisdictions = list(org.find(q))
        if q in org.jurisdictions and org.jurisdictions[q] not in jurisdictions:
            jurisdictions.insert(0, org.jurisdictions[q])
        if len(q) >= 2:
            jurisdictions += [j for j in org.jurisdictions.values() if q in j.name and j not in jurisdictions][:limit]
    units: list[Unit] = []
    if q:
        if q in org.units:
            units.append(org.units[q])
        units += [u for u in org.find_units(q) if u not in units]
        for j in jurisdictions[:5]:
            units += [u for u in org.units_of(j.id) if u not in units]
    elif scope is not None:
        units = [org.units[u] for u in sorted(scope)]
    units = [u for u in units if (tier is None or u.tier == tier) and (kind is None or u.kind == kind)
             and (scope is None or u.id in scope)]
    jurisdictions = [j for j in jurisdictions if tier is None or j.tier == tier]
    fields = [f for f in org.fields.values() if q and (q in f.name or q == f.id)] if q else []
    return s.OrgSearchOut(
        jurisdictions=[jurisdiction_out(j) for j in jurisdictions[:limit]],
        units=[unit_out(org, u) for u in units[:limit]],
        fields=[field_out(f) for f in fields[:limit]],
    )


@router.get("/fields", response_model=list[s.FieldOut], responses=AUTH, summary="全部领域")
def list_fields(org: OrgDep, user: CurrentUser) -> list[s.FieldOut]:
    return [field_out(f) for f in org.fields.values()]


@router.get("/units/{unit_id}", response_model=s.UnitOut, responses={**AUTH, 404: {"model": s.ErrorOut}},
            summary="单位详情")
def get_unit(org: OrgDep, user: CurrentUser, unit_id: str) -> s.UnitOut:
    unit = org.units.get(unit_id)
    if unit is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="组织目录中没有该单位")
    return unit_out(org, unit)
