"""The store's record layout: content in canonical JSON with its key and checksum appended, checked on
its bytes; records of the earlier layout (any JSON layout with the same checksum) are checked the slow
way and rewritten; the keys the sweep puts together from its parts equal the payloads' own keys."""

from __future__ import annotations

import json
import os

import pytest
from sparsesweep.sweep import keys
from sparsesweep.sweep.energies import plan_energies
from sparsesweep.sweep.grid import SweepConfig, build_grid, parse_axis
from sparsesweep.sweep.runner import mapper_settings
from sparsesweep.sweep.store import Store, canonical, keyed, payload_key, record_digest

MADE_FOR = {"inputs": "ab" * 32, "seed": 0, "time_limit_s": 30.0, "nested": {"b": [1, 2.5, None], "a": "x"}}
RECORD = {"status": "ok", "value": 1.25, "text": "a \"quoted\" line\nand ünicode", "nan": float("nan")}


def _path(store: Store, kind: str, made_for) -> str:
    return store._path(kind, payload_key(made_for))


def test_a_record_is_its_canonical_content_with_its_key_and_checksum_appended(tmp_path):
    store = Store.open(tmp_path)
    store.put_result(MADE_FOR, RECORD)
    text = open(_path(store, "results", MADE_FOR), encoding="utf-8").read()
    data = json.loads(text)
    body = {k: v for k, v in data.items() if k not in ("key", "digest")}
    assert text.startswith(json.dumps(body, sort_keys=True, separators=(",", ":"))[:-1] + ',"key":')
    assert data["key"] == payload_key(MADE_FOR) and data["digest"] == record_digest(body)
    got = store.get_result(MADE_FOR)
    assert got is not None and got["text"] == RECORD["text"] and got["for"] == MADE_FOR and not store.dropped


@pytest.mark.parametrize("edit", ["a byte of the content", "the checksum"])
def test_a_damaged_record_fails_the_check_on_its_bytes(tmp_path, edit):
    store = Store.open(tmp_path)
    store.put_result(MADE_FOR, RECORD)
    path = _path(store, "results", MADE_FOR)
    text = open(path, encoding="utf-8").read()
    if edit == "a byte of the content":
        text = text.replace('"value":1.25', '"value":1.35')
    else:
        digest = json.loads(text)["digest"]
        text = text.replace(digest, ("0" if digest[0] != "0" else "1") + digest[1:])
    open(path, "w", encoding="utf-8").write(text)
    assert store.get_result(MADE_FOR) is None
    assert len(store.dropped) == 1 and "does not match its checksum" in store.dropped[0]


def test_a_record_of_the_earlier_layout_is_read_checked_and_rewritten(tmp_path):
    store = Store.open(tmp_path)
    body = {**RECORD, "for": MADE_FOR}
    key = payload_key(MADE_FOR)
    path = _path(store, "results", MADE_FOR)
    old = json.dumps({**body, "key": key, "digest": record_digest(body)}, indent=1)  # unsorted, spaced
    os.makedirs(os.path.dirname(path), exist_ok=True)
    open(path, "w", encoding="utf-8").write(old)
    got = store.get_result(MADE_FOR)
    assert got is not None and got["value"] == 1.25 and not store.dropped
    rewritten = open(path, encoding="utf-8").read()
    assert rewritten != old and json.loads(rewritten)["digest"] == record_digest(body)
    assert store.get_result(MADE_FOR) is not None and not store.dropped
    # an edit of the earlier layout is still caught (by the checksum of its parsed content)
    open(path, "w", encoding="utf-8").write(old.replace("1.25", "1.5"))
    assert store.get_result(MADE_FOR) is None and "does not match its checksum" in store.dropped[0]


def test_a_record_made_for_other_inputs_is_dropped_though_its_checksum_holds(tmp_path):
    store = Store.open(tmp_path)
    other = {**MADE_FOR, "seed": 1}
    store.put_result(other, RECORD)
    data = json.loads(open(_path(store, "results", other), encoding="utf-8").read())
    body = {k: v for k, v in data.items() if k not in ("key", "digest")}
    key = payload_key(MADE_FOR)  # re-keyed as this payload's record, with its checksum recomputed
    path = _path(store, "results", MADE_FOR)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    open(path, "w", encoding="utf-8").write(json.dumps({**body, "key": key, "digest": record_digest(body)}))
    assert store.get_result(MADE_FOR) is None and "was not made for the inputs" in store.dropped[0]


def test_a_keyed_payload_reads_and_writes_the_same_record_as_the_plain_one(tmp_path):
    store = Store.open(tmp_path)
    store.put_result(keyed(MADE_FOR), RECORD)
    assert store.get_result(MADE_FOR) is not None
    assert keyed(MADE_FOR).key == payload_key(MADE_FOR) and keyed(MADE_FOR).text == canonical(MADE_FOR)


def test_the_spec_key_put_together_from_its_parts_is_the_payload_key():
    grid = build_grid(SweepConfig(sparsities=(0, 0.5), layers=("conv1", "fc"), axes=(
        parse_axis("smem_kib=128,256"), parse_axis("lrf_metadata_bits=x0.5,x1"))))
    plan = plan_energies(grid, "scaled")
    mapper, memo = mapper_settings("edp"), {}
    for point in grid.points:
        for energies in (plan.for_point(point), None):
            made = keys.spec_keyed(point, mapper, "code", memo, energies)
            assert made.text == canonical(made.payload) and made.key == payload_key(made.payload)
            table = None if energies is None else {"source": energies.source, **energies.ert}
            assert made.payload == keys.spec_payload(point, mapper, "code", {}, table)
