"""Register the test suite's user goal task before the env tests are collected, so that every
test parametrised over the registry (`pbml_envs.TASK_IDS`) runs on it too, like a built-in."""

import tests.helpers.user_task  # noqa: F401 (registers pbml_test/ReacherTarget-v0)
