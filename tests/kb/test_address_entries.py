"""A term's `addresses`: single addresses that mean that term, validated, owned once, read in any spelling."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from bot.core.knowledge import Knowledge
from bot.kb import KnowledgeError, knowledge_dir
from bot.kb.loader import build_knowledge
from tests.kb.test_schema import edit_yaml


@pytest.fixture
def root(tmp_path: Path) -> Path:
    copy = tmp_path / "knowledge"
    shutil.copytree(knowledge_dir(), copy)
    return copy


def test_the_metadata_address_belongs_to_its_entry(kb: Knowledge) -> None:
    entry = kb.entry_for_address("169.254.169.254")
    assert entry is not None and entry.id == "instance-metadata"
    assert kb.entry_for_address("169.254.169.253") is None


def test_an_address_that_is_not_one_fails_with_file_entry_and_reason(root: Path) -> None:
    edit_yaml(root / "terms" / "nat.yaml", lambda d: d.update(addresses=["169.254.169.256"]))
    with pytest.raises(KnowledgeError) as info:
        build_knowledge(root)
    assert (info.value.file, info.value.entry) == ("terms/nat.yaml", "nat")
    assert "'169.254.169.256' in 'addresses' is not an IP address" in info.value.reason


def test_an_address_may_belong_to_one_entry_only(root: Path) -> None:
    edit_yaml(root / "terms" / "nat.yaml", lambda d: d.update(addresses=["169.254.169.254"]))
    with pytest.raises(KnowledgeError, match=re.escape("address '169.254.169.254' is already used by")):
        build_knowledge(root)


def test_an_ipv6_address_is_found_however_it_is_written(root: Path) -> None:
    edit_yaml(root / "terms" / "nat.yaml", lambda d: d.update(addresses=["FD00:0EC2:0::0254"]))
    kb = build_knowledge(root)
    for written in ("fd00:ec2::254", "FD00:EC2:0:0::254%eth0", "fd00:ec2:0:0:0:0:0:254"):
        entry = kb.entry_for_address(written)
        assert entry is not None and entry.id == "nat", written
