"""Multi-seed studies (`pbml study`): arms x seeds as ordinary runs, one common adaptation probe,
paired statistics per pre-registered hypothesis, and a report."""

from pbml_control.study.spec import Hypothesis, ProbeSpec, Study, load_study

__all__ = ["Hypothesis", "ProbeSpec", "Study", "load_study"]
