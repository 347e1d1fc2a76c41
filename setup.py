"""Maps the top-level domain folders onto the ``huiyin`` namespace (config/ -> huiyin.config)."""

from setuptools import find_packages, setup

DOMAINS = ("config", "crawler", "classifier", "responder", "api")
DATA = ["*.yaml", "*.yml", "*.json", "*.txt", "*.skops", "*.sha256", "*.html", "*.css", "*.js", "*.ini", "*.mako", "*.xml", "*.csv", "*.svg"]

packages: list[str] = []
package_dir: dict[str, str] = {}
for domain in DOMAINS:
    packages.append(f"huiyin.{domain}")
    package_dir[f"huiyin.{domain}"] = domain
    packages += [f"huiyin.{domain}.{sub}" for sub in find_packages(domain)]

setup(packages=packages, package_dir=package_dir, package_data={"": DATA + [f"**/{pattern}" for pattern in DATA]}, include_package_data=True)
