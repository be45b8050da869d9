"""Pure, causal feature functions: the value at row t depends only on rows <= t.

`pipeline.py` turns a declarative `PipelineSpec` into model-ready features, in batch or one cycle at a
time; `labels.py` is the only module here that looks forward.
"""
