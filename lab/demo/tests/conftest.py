"""The lab's tests share the suite's fixtures (tests/conftest.py): the offline Hugging Face
settings and an isolated RADPHI_HOME for every test."""
from tests.conftest import radphi_home  # noqa: F401  (autouse fixture, re-exported for this folder)
