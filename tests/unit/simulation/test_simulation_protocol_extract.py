"""The protocol extract behind `trialdesk simulate`: cached by the file's bytes, re-validated on change."""

from __future__ import annotations

import pytest

from trialdesk.errors import UserError
from trialdesk.protocol import EMBEDDED_PROTOCOL, load_protocol
from trialdesk.simulation import scenario_from_protocol
from trialdesk.simulation.scenario import _extract, protocol_extract, scenario_from_extract


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TRIALDESK_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache" / "protocol-extracts"


def test_cached_extract_is_the_validated_protocols(cache):
    first = protocol_extract()
    assert len(list(cache.glob("*.json"))) == 1
    again = protocol_extract()
    assert first == again == _extract(load_protocol())
    assert first["default_analysis"] == "lmm"  # the IMR protocol's primary analysis is partially nested
    scenario = scenario_from_extract(again, n_per_arm=60, effect=0.0)
    assert (scenario.n_control, scenario.n_intervention, scenario.effect) == (60, 60, 0.0)
    assert scenario == scenario_from_protocol(load_protocol(), n_per_arm=60, effect=0.0)
    assert scenario.source["content_hash"] == load_protocol().content_hash


def test_a_changed_protocol_is_validated_again(cache, tmp_path):
    text = EMBEDDED_PROTOCOL.read_text(encoding="utf-8")
    path = tmp_path / "trial.toml"
    path.write_text(text, encoding="utf-8")
    assert protocol_extract(path)["values"]["n_control"] == 100
    path.write_text(text.replace("target_participants = 200", "target_participants = 240"), encoding="utf-8")
    assert protocol_extract(path)["values"]["n_control"] == 120
    assert len(list(cache.glob("*.json"))) == 2
    path.write_text(text.replace("target_participants = 200", "target_participants = -5"), encoding="utf-8")
    with pytest.raises(UserError):
        protocol_extract(path)
    assert len(list(cache.glob("*.json"))) == 2  # nothing cached for a protocol that does not validate
    with pytest.raises(UserError, match="not found"):
        protocol_extract(tmp_path / "missing.toml")
