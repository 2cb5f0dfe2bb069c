"""The optional C core (gochan/_cchan.c): built when a C compiler works, else skipped.

`optional=True` makes a failed compile a warning: the package then runs on its
pure-Python channel (the reference). `GOCHAN_PURE=1` at install time skips the
build; at run time it ignores a built core (see gochan/channel.py).
"""
import os

from setuptools import Extension, setup

ext_modules = []
if not os.environ.get("GOCHAN_PURE"):
    ext_modules.append(Extension("gochan._cchan", ["gochan/_cchan.c"], optional=True))

setup(ext_modules=ext_modules)
