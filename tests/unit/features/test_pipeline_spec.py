"""The declarative spec: stable names and schema hash, a lossless round trip, and refusal of drifted artifacts."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from feature_data import inputs

from papertrader.core.errors import ConfigError
from papertrader.features.missing import MissingPolicy
from papertrader.features.pipeline import FeaturePipeline, FittedPipeline
from papertrader.features.spec import PipelineSpec
from papertrader.features.technical import TechnicalSpec

#: pinned: a change here means every stored model's features changed; bump FEATURE_VERSION knowingly
DEFAULT_HASH = "7f277415499b066177984224bc9bb152dbf2e936e9e9d7009c2350cbc275582e"


def test_the_default_schema_hash_is_pinned_and_names_are_unique() -> None:
    spec = PipelineSpec()
    assert spec.schema_hash() == DEFAULT_HASH
    for s in (spec, PipelineSpec.all_families()):
        assert len(set(s.names())) == len(s.names())
        raw = s.raw_names()
        assert s.names() == (*raw, *(f"{n}_missing" for n in raw))


def test_the_hash_changes_with_any_parameter_order_or_version() -> None:
    base = PipelineSpec()
    variants = [
        replace(base, technical=TechnicalSpec(relative=True, rsi=10)),
        replace(base, technical=TechnicalSpec(relative=True, sma=(200, 50, 20, 10))),
        replace(base, missing=MissingPolicy(max_ffill=3)),
        replace(base, version=base.version + 1),
        replace(base, calendar=None),
    ]
    hashes = {v.schema_hash() for v in variants}
    assert len(hashes) == len(variants) and base.schema_hash() not in hashes


def test_the_spec_survives_a_json_round_trip() -> None:
    spec = PipelineSpec.all_families()
    again = PipelineSpec.from_dict(json.loads(json.dumps(spec.to_dict())))
    assert again == spec and again.schema_hash() == spec.schema_hash()


def test_a_fitted_pipeline_round_trips_and_refuses_a_drifted_schema(etf_daily: pd.DataFrame) -> None:
    inp = inputs(etf_daily[etf_daily["ts"] < "2001-06-01"], "1d")
    fitted = FeaturePipeline().fit(inp, end=pd.Timestamp("2000-06-01", tz="UTC"))
    stored = json.loads(json.dumps(fitted.to_dict()))
    again = FittedPipeline.from_dict(stored)
    np.testing.assert_array_equal(again.transform(inp).data, fitted.transform(inp).data)
    assert stored["train_end"].startswith("2000-05-31")
    stored["schema_hash"] = "0" * 64
    with pytest.raises(ConfigError, match="retrain"):
        FittedPipeline.from_dict(stored)


def test_invalid_parameters_are_config_errors() -> None:
    with pytest.raises(ConfigError):
        TechnicalSpec(macd=(26, 12, 9))
    with pytest.raises(ConfigError):
        PipelineSpec(technical=None, returns=None, calendar=None)
