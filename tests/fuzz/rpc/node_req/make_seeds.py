#!/usr/bin/python3
"""Writes the seed corpus of the node_req fuzz target (tests/fuzz/rpc/node_req/corpus).

Each seed is one selector byte (0 put header, 1 put data, 2 get, 3 ref request, 4 page
request, 5 node info; see fuzz_node_req.c) followed by a request message, encoded here by hand
(protobuf wire format) so the script needs nothing beyond Python. Run from anywhere:
    /usr/bin/python3 tests/fuzz/rpc/node_req/make_seeds.py
"""
import os


def varint(v):
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def field_varint(num, v):
    return varint(num << 3) + varint(v)


def field_bytes(num, b):
    return varint(num << 3 | 2) + varint(len(b)) + b


OID = bytes(range(1, 17))


def ref(oid=OID, idx=3):
    return field_bytes(1, oid) + field_varint(2, idx)


def frag_header(oid=OID, idx=3):
    h = bytearray(b"\xab" * 128)
    h[16:32] = oid
    h[32] = idx
    return bytes(h)


def put_header(total=1000, idx=3, hdr_len=128):
    hdr = frag_header(idx=idx)[:hdr_len]
    body = field_bytes(1, ref(idx=idx)) + field_varint(2, total) + field_bytes(3, hdr)
    return field_bytes(1, body)


SEEDS = {
    "put-header": b"\x00" + put_header(),
    "put-header-idx31": b"\x00" + put_header(idx=31),
    "put-header-short": b"\x00" + put_header(hdr_len=100),
    "put-header-total-max": b"\x00" + put_header(total=(1 << 40) + (1 << 30)),
    "put-data": b"\x01" + field_bytes(15, bytes(range(256)) * 4),
    "put-data-with-header": b"\x01" + put_header() + field_bytes(15, b"x" * 10),
    "get-all": b"\x02" + field_bytes(1, ref()),
    "get-bytes": b"\x02" + field_bytes(1, ref()) + field_bytes(2, field_varint(1, 100) +
                                                              field_varint(2, 50)),
    "get-bytes-overflow": b"\x02" + field_bytes(1, ref()) + field_bytes(
        2, field_varint(1, (1 << 64) - 1) + field_varint(2, 2)),
    "get-segments": b"\x02" + field_bytes(1, ref()) + field_bytes(3, field_varint(1, 2) +
                                                                 field_varint(2, 3)),
    "ref": b"\x03" + field_bytes(1, ref(idx=0)),
    "ref-bad-oid": b"\x03" + field_bytes(1, ref(oid=OID[:15])),
    "page-after": b"\x04" + field_bytes(1, ref()) + field_varint(2, 10),
    "page-limit-max": b"\x04" + field_varint(2, 10000),
    "info-empty": b"\x05",
    "info-unknown-field": b"\x05" + field_varint(100, 1),
}


def main():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
    os.makedirs(out, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
