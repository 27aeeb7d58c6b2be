"""Multi-seed studies (`pbml study`): arms x seeds as ordinary runs, one common adaptation probe,
paired statistics per pre-registered hypothesis, and a report."""

from pbml_control.study.probe_spec import ProbeSpec
from pbml_control.study.spec import Hypothesis, Study, load_study

__all__ = ["Hypothesis", "ProbeSpec", "Study", "load_study"]
