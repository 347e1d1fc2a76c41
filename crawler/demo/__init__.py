"""The demo site of 回音: 演示数据 served locally so a machine with no internet sees posts flow."""

from huiyin.crawler.demo.server import DemoSite

__all__ = ["DemoSite"]
