"""Rollout videos: `pbml record` (MuJoCo rendering with the tracking camera, goal markers,
captions, lineages side by side). Imports nothing heavy: MuJoCo's GL backend must be chosen
before MuJoCo is imported (`gl.ensure_gl`), and imageio is optional (the `video` extra)."""

from pbml_control.video.record import RecordOptions, RecordResult, record_video

__all__ = ["RecordOptions", "RecordResult", "record_video"]
