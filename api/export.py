"""The timeliness report as an Excel workbook (openpyxl): units, tiers, trend, overdue items."""

from __future__ import annotations

from datetime import datetime
from io import BytesIO
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.worksheet.worksheet import Worksheet

from huiyin.api import schemas as s

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _row_header(kinds: dict[str, str]) -> list[str]:
    head = ["单位/层级", "名称", "层级", "事项数"]
    for label in kinds.values():
        head += [f"{label} 按时", f"{label} 超时", f"{label} 未到期", f"{label} 按时率"]
    return head + [
        "首次回应中位数(小时)", "首次回应P90(小时)", "已回应", "超时", "升级", "回应并办结", "事事有回音办结率", "转出", "转入",
    ]


def _row_values(row: s.TimelinessRowOut, kinds: dict[str, str]) -> list[object]:
    values: list[object] = [row.key, row.name, row.tier_label or "", row.incidents]
    for kind in kinds:
        c = row.clocks[kind]
        values += [c.on_time, c.late, c.running, c.on_time_rate]
    hours = [None if v is None else round(v / 3600, 2) for v in (row.first_response_median_s, row.first_response_p90_s)]
    return values + [*hours, row.responded, row.overdue, row.escalated, row.closed_with_response, row.closure_rate,
                     row.transfers_out, row.transfers_in]


def _sheet(ws: Worksheet, header: list[str], rows: list[list[object]]) -> None:
    ws.append(header)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for r in rows:
        ws.append(r)
        for cell in ws[ws.max_row]:
            # Crawled titles are untrusted: text starting with "=" must stay text, never a formula.
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"
    ws.freeze_panes = "A2"
    for col in ws.columns:
        width = max(len(str(c.value or "")) for c in col)
        ws.column_dimensions[col[0].column_letter].width = min(40, max(8, width * 1.6))


def timeliness_xlsx(report: s.TimelinessOut, timezone: str) -> bytes:
    """The workbook bytes; times are shown in ``timezone`` (naive in the cells, as Excel wants)."""
    tz = ZoneInfo(timezone)

    def local(dt: datetime) -> datetime:
        return dt.astimezone(tz).replace(tzinfo=None)

    wb = Workbook()
    ws = wb.active
    ws.title = "单位时效"
    kinds = report.clock_kinds
    _sheet(ws, _row_header(kinds), [_row_values(r, kinds) for r in [*report.units, report.total]])
    _sheet(wb.create_sheet("层级汇总"), _row_header(kinds), [_row_values(r, kinds) for r in report.tiers])
    _sheet(
        wb.create_sheet("趋势"),
        ["时段", "层级", "按时", "超时", "按时率"],
        [[p.bucket, p.tier, p.on_time, p.late, p.on_time_rate] for p in report.trend],
    )
    _sheet(
        wb.create_sheet("超时事项"),
        ["事项编号", "标题", "单位", "单位编号", "时限", "截止时间", "回应时间", "状态", "超时(小时)"],
        [
            [o.incident_id, o.title, o.unit_name, o.unit_id, o.label, local(o.due_at),
             local(o.answered_at) if o.answered_at else "未回应", o.status, round(o.overdue_s / 3600, 2)]
            for o in report.overdue
        ],
    )
    info = wb.create_sheet("说明")
    info.append(["统计区间", local(report.period_from), local(report.period_to)])
    info.append(["生成时间", local(report.generated_at)])
    info.append(["口径", "按时 = 在截止时间前完成；超时 = 逾期完成、已错过或已过截止仍未完成；按时率 = 按时 / (按时 + 超时)"])
    info.append(["口径", "事事有回音办结率 = 已回应并办结的事项 / 应回应事项（不含排除与合并的事项）"])
    buffer = BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
