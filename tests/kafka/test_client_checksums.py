"""The Kafka client checks record batches with the C CRC-32C, not its pure-Python one.

Every batch the relay produces and every batch a consumer fetches carries a CRC-32C
that kafka-python computes. Its own Python implementation took about three quarters of
a consumer's poll time (bench.kafka); the `crc32c` extension it uses when installed does
the same in microseconds. This test fails if that dependency goes missing.
"""

from __future__ import annotations

import kafka.record._crc32c as python_crc
import kafka.record.util as record_util

# The CRC-32C check value: the checksum of the nine ASCII digits "123456789".
CHECK_INPUT, CHECK_VALUE = b"123456789", 0xE3069283


def test_the_client_uses_the_c_checksum() -> None:
    assert record_util.crc32c_c is not None, "the crc32c package is not installed"
    assert record_util.calc_crc32c.__defaults__ == (record_util.crc32c_c,)


def test_the_c_and_python_checksums_agree() -> None:
    data = bytes(range(256)) * 37 + CHECK_INPUT
    assert record_util.calc_crc32c(memoryview(CHECK_INPUT)) == CHECK_VALUE
    assert python_crc.crc(memoryview(CHECK_INPUT)) == CHECK_VALUE
    assert record_util.calc_crc32c(memoryview(data)) == python_crc.crc(memoryview(data))
