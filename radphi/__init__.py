"""radphi: a radiology workbench on small language models (a Rad-Phi2 reproduction).

The package holds what serving and reviewing need: the task catalogue and prompt
formats (`radphi.tasks`), label vocabularies, report text helpers, the model
backends and the `radphi` command.
"""

__version__ = "0.1.0"
