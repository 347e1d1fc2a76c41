"""Child-process entry of one crawl: ``python -m huiyin.crawler.worker`` reads a job on stdin.

Job (JSON): {"settings": <Settings as JSON>, "sources": [<Source as JSON>, …], "options": <CrawlOptions>}.
Scrapy logs go to stderr; the last line on stdout is the list of ``CrawlResult`` as JSON. Only the parent
(``huiyin.crawler.runner``) starts this; it is not a user command.
"""

from __future__ import annotations

import json
import sys

from huiyin.config.settings import Settings
from huiyin.crawler.crawl import CrawlOptions, crawl_in_process, result_line
from huiyin.crawler.sources import Source


def main() -> int:
    job = json.loads(sys.stdin.read())
    settings = Settings(**job["settings"])
    sources = [Source.model_validate(s) for s in job["sources"]]
    results = crawl_in_process(settings, sources, CrawlOptions.from_json(job.get("options") or {}))
    sys.stdout.write(result_line(results) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
