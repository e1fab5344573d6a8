"""Hostile images stay bounded: libelf's 65536-note cap, capped rule output, section tables
that must fit the file, a gigabyte __xen_guest never copied whole."""

from __future__ import annotations

import os
from pathlib import Path

from elfbuilder import Note, Section, Segment, build_elf, note_bytes, xen_kernel
from hostile import many_note_segments

from xenlint.abi.profile import Mode
from xenlint.engine.check import MAX_RESULTS_PER_RULE, cells_for, run_rules
from xenlint.engine.plugin import Registry
from xenlint.engine.targets import resolve
from xenlint.image.elf import XEN_GUEST_BOUND, load_elf


def test_note_walk_stops_at_libelfs_cap(registry: Registry, tmp_path: Path) -> None:
    path = tmp_path / "many.elf"
    path.write_bytes(xen_kernel([Note(6, b"linux\0")] * 70000))
    image = load_elf(str(path))
    assert len(image.notes) == 65536
    assert [p.kind for p in image.problems] == ["too-many"]
    profiles = resolve(["xen-4.19"], registry.profiles)
    found, errors = run_rules(
        image, registry.rules.values(), cells_for(image, profiles, [Mode.PV]), profiles
    )
    assert errors == []
    capped = [f for f in found if f.message.startswith(f"more than {MAX_RESULTS_PER_RULE}")]
    assert capped and all(f.code == "XL004" for f in capped)


def test_thousands_of_note_sections(tmp_path: Path) -> None:
    notes = note_bytes([Note(6, b"linux\0")])
    sections = [Section(f".note.{i}", notes) for i in range(3000)]
    path = tmp_path / "sections.elf"
    path.write_bytes(build_elf([Segment(type=4, data=notes)], sections))
    image = load_elf(str(path))
    assert len(image.sections) > 3000 and len(image.notes) == 1


def test_huge_xen_guest_is_read_only_up_to_the_bound(tmp_path: Path) -> None:
    text = b"GUEST_OS=linux," + b"X" * (XEN_GUEST_BOUND * 2)
    path = tmp_path / "guest.elf"
    path.write_bytes(build_elf([Segment(data=b"\x90")], [Section("__xen_guest", text, type=1)]))
    guest = load_elf(str(path)).xen_guest
    assert guest is not None and len(guest.text) == XEN_GUEST_BOUND
    assert guest.items[0] == ("GUEST_OS", "linux")


def test_loader_never_writes(tmp_path: Path) -> None:
    path = tmp_path / "ro.elf"
    path.write_bytes(xen_kernel([Note(6, b"linux\0")]))
    path.chmod(0o444)
    stat = os.stat(path)
    load_elf(str(path))
    assert os.stat(path).st_mtime_ns == stat.st_mtime_ns


def test_note_bytes_kept_for_loaders_are_bounded(tmp_path: Path) -> None:
    """A PT_NOTE claiming a whole (sparse) 256 MiB file, and 300 more like it."""
    from xenlint.image.elf import NOTE_BYTES_PER_SEGMENT, NOTE_BYTES_TOTAL, NOTE_SLACK

    size = 256 << 20
    segments = [Segment(type=4, data=b"", offset=0x1000, filesz=size - 0x1000)] * 300
    path = tmp_path / "huge-note.elf"
    with path.open("wb") as fh:
        fh.write(build_elf(segments))
        fh.truncate(size)
    image = load_elf(str(path))
    kept = [len(raw.data) for raw in image.note_bytes]
    assert max(kept) <= NOTE_BYTES_PER_SEGMENT + NOTE_SLACK
    # Segments over the same bytes share one copy (views of it): count each copy once.
    copies = {id(_copy(raw.data)): len(_copy(raw.data)) for raw in image.note_bytes}
    assert sum(copies.values()) <= NOTE_BYTES_TOTAL


def _copy(data: bytes | memoryview) -> bytes:
    """The bytes object a kept view shares (a memoryview's `obj`), or the bytes themselves."""
    return data.obj if isinstance(data, memoryview) else data  # type: ignore[return-value]


def test_note_bytes_of_many_nearby_segments_share_one_copy(tmp_path: Path) -> None:
    """Thousands of PT_NOTE segments one note apart (tests/hostile.py 'note-segments-65535')
    once kept a copy each of the rest of the file until the 64 MiB budget ran out: later
    segments kept nothing (their loaders' walks saw no bytes) and the run peaked near 200 MB.
    Every segment now keeps its whole span, as a view of one shared copy."""
    path = tmp_path / "segments.elf"
    path.write_bytes(many_note_segments(3000))
    size = path.stat().st_size
    image = load_elf(str(path))
    assert len(image.note_bytes) == 3000
    for raw in image.note_bytes:  # each segment's bytes reach the end of this small file
        assert len(raw.data) == size - raw.offset
        assert bytes(raw.data[:12]) == path.read_bytes()[raw.offset : raw.offset + 12]
    assert len({id(_copy(raw.data)) for raw in image.note_bytes}) == 1


def test_descriptors_keep_their_first_bytes_only(tmp_path: Path) -> None:
    """A note claiming a descriptor of almost a whole sparse 1 GiB file (tests/hostile.py
    'descriptor-1gib') once cost 5 GB: the Note keeps the first DESC_KEEP bytes and says how
    many are in the file, and still counts as truncated only when the file ends first."""
    from hostile import huge_descriptor

    from xenlint.image.elf import DESC_KEEP

    image = load_elf(str(huge_descriptor(tmp_path)))
    (note,) = image.notes
    assert len(note.desc) == DESC_KEEP
    assert note.desc_present == note.descsz == (1 << 30) - 0x2000
    assert not note.truncated
