"""``huiyin bench pipeline`` runs end to end on the embedded bus (figures only; no speed asserted)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def test_bench_pipeline_embedded_prints_figures(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUIYIN_")}
    out = subprocess.run(
        [sys.executable, "-m", "huiyin.api.cli", "bench", "pipeline", "--bus", "embedded", "--posts", "300", "--rate", "0"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["stored"] == 300 and result["router"] is True and result["bus"] == "embedded"
    assert 0 < result["incidents"] <= 300
    assert {"incidents_per_s", "p50_ms", "p99_ms", "router_cpu_ms_per_post", "responder_cpu_ms_per_post"} <= set(result)
    assert result["sustained_posts_per_s"] > 0 and result["p50_ms"] <= result["p99_ms"]
