"""Purchase and refund ids: random version-4 UUIDs, unique, and never shared with a forked child."""

from __future__ import annotations

import os
import uuid

from coalition.application.record_ids import IDS_PER_REFILL, new_record_id


def test_ids_are_canonical_version_4_uuids():
    for _ in range(3 * IDS_PER_REFILL):
        text = new_record_id()
        parsed = uuid.UUID(text)
        assert str(parsed) == text
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122


def test_ids_do_not_repeat_across_refills():
    ids = [new_record_id() for _ in range(20 * IDS_PER_REFILL + 7)]
    assert len(set(ids)) == len(ids)


def test_a_forked_child_does_not_reuse_the_parents_buffered_ids():
    new_record_id()  # the buffer now holds ids the parent will hand out next
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its next id and leave at once
        os.close(read_end)
        os.write(write_end, new_record_id().encode())
        os._exit(0)
    os.close(write_end)
    child_id = os.read(read_end, 100).decode()
    os.close(read_end)
    os.waitpid(pid, 0)
    parent_next = [new_record_id() for _ in range(IDS_PER_REFILL)]
    assert uuid.UUID(child_id).version == 4
    assert child_id not in parent_next
