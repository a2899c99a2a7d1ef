"""The sans-I/O JSON codec: literal frames in, typed messages or named errors out."""

from __future__ import annotations

import pytest
from websockets.frames import Frame, Opcode
from websockets.streams import StreamReader

from tryst.protocols.wsjson import ProtocolError, decode_client_frame, text_frame
from tryst.protocols.wsjson import messages as m


def test_decodes_each_message_type() -> None:
    msg = decode_client_frame('{"type":"say","id":"1","room":"r_1","text":"hi"}', 1024)
    assert isinstance(msg, m.Say) and (msg.id, msg.room, msg.text) == ("1", "r_1", "hi")
    hello = decode_client_frame(b'{"type":"hello","id":"h","version":1,"resume":{"room:r":3}}',
                                1024)
    assert isinstance(hello, m.Hello) and hello.resume == {"room:r": 3}


@pytest.mark.parametrize(("frame", "code", "msg_id"), [
    ('{"type":"say"', "bad_json", None),
    ('"just a string"', "bad_message", None),
    ('{"id":"7"}', "bad_message", "7"),
    ('{"type":"dance","id":"8"}', "unknown_type", "8"),
    ('{"type":"say","id":"9","room":"r","text":"x","extra":1}', "bad_message", "9"),
    ('{"type":"ping","id":9}', "bad_message", None),
    ('{"type":"hello","id":"a","version":"1"}', "bad_message", "a"),  # strict types
    ('{"type":"hello","id":"b","version":1,"resume":{"room:r":-1}}', "bad_message", "b"),
    ('{"type":"history","id":"c","room":"r","limit":1000}', "bad_message", "c"),
])
def test_errors_are_named_and_carry_the_id_when_readable(frame: str, code: str,
                                                         msg_id: str | None) -> None:
    with pytest.raises(ProtocolError) as err:
        decode_client_frame(frame, 1024)
    assert (err.value.code, err.value.id) == (code, msg_id)


def test_size_limit_is_checked_in_bytes_before_parsing() -> None:
    frame = '{"type":"say","id":"1","room":"r","text":"' + "é" * 600 + '"}'
    assert len(frame) < 1024 < len(frame.encode())
    with pytest.raises(ProtocolError) as err:
        decode_client_frame(frame, 1024)
    assert err.value.code == "frame_too_large"


def parse_server_frames(data: bytes, count: int) -> list[Frame]:
    """Parse with the websockets library's own frame parser, as a client would."""
    reader = StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    frames = []
    for _ in range(count):
        parser = Frame.parse(reader.read_exact, mask=False, max_size=None, extensions=[])
        try:
            while True:
                next(parser)
        except StopIteration as done:
            frames.append(done.value)
    return frames


@pytest.mark.parametrize("size", [0, 10, 125, 126, 65535, 65536, 200_000])
def test_text_frames_are_valid_websocket_frames(size: int) -> None:
    message = {"type": "event", "text": "x" * size}
    frames = parse_server_frames(text_frame(message) + text_frame({"type": "ack"}), 2)
    assert [f.opcode for f in frames] == [Opcode.TEXT, Opcode.TEXT]
    assert frames[0].fin and len(frames[0].data) == len(b'{"type":"event","text":""}') + size
