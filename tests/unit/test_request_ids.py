"""Request ids minted for requests that bring none (or a malformed one)."""

from __future__ import annotations

import os
import uuid

from pegasus_http.request_ids import choose_request_id, new_request_id


def test_a_well_formed_client_id_is_kept_and_any_other_replaced() -> None:
    assert choose_request_id("client:id-1.2_3") == "client:id-1.2_3"
    for sent in (None, "", "a b", "r" * 129, "abc\nforged"):
        assert uuid.UUID(choose_request_id(sent)).version == 4


def test_minted_request_ids_are_version_4_uuids_and_differ_after_a_fork() -> None:
    minted = {new_request_id() for _ in range(1000)}
    assert len(minted) == 1000
    for text in minted:
        parsed = uuid.UUID(text)
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122 and str(parsed) == text
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: mint one id, report it, leave at once
        os.write(writer, new_request_id().encode())
        os._exit(0)
    os.close(writer)
    os.waitpid(pid, 0)
    from_child = os.read(reader, 64).decode()
    os.close(reader)
    assert from_child != new_request_id()  # the child did not replay the parent's sequence
