"""Collection: Scrapy spiders driven by ``sources.yaml``, and ``huiyin ingest`` for files.

    sources.py      the sources file, validated (errors name the source and the key)
    spiders/        one generic spider per kind: html (list -> detail), rss, json_api
    pagecheck.py    blocked? binary? too big? which encoding?
    dates.py text.py normalise.py   Chinese dates, text out of HTML, counts, canonical URLs -> PostRecord
    pipelines.py middlewares.py     Scrapy glue (normalise -> sink; back-off retries; encodings)
    sink.py         emit once to posts.raw, updates on change, crawl state, quarantine
    cluster.py      reposts grouped by MinHash LSH, signatures kept in the database
    health.py       source health and operations alerts
    crawl.py worker.py runner.py    a crawl runs in a fresh child process (Twisted's reactor cannot restart)
    schedule.py     APScheduler jobs for ``huiyin run``; the demo site when no real source is configured
    ingest.py       JSON Lines / CSV import
    demo/           the local demo site (演示数据) used by ``huiyin run``, tests and the benchmark
    commands.py bench.py            ``huiyin crawl|sources|ingest`` and ``huiyin bench crawl``
"""
