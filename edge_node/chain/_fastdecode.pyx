# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""C versions of the two hottest decoders: V2 ``Swap`` and ``Sync`` (almost every log a V2 pool
emits is one of them).

Same input (a ``RawLog``), same output (the same NamedTuple events) and same refusals as the
pure-Python ``_v2_swap`` / ``_v2_sync`` in ``decode.py``, which stay the reference and the
fallback: the test suite checks that both agree on valid logs and both refuse the same
malformed ones, and runs the fuzz contract against both. Built by
``python -m edge_node.chain.accel --build`` (``scripts/setup`` does it); loaded only if built
from exactly this source (see ``accel.py``).
"""

from cpython.long cimport PyLong_FromString, PyLong_FromUnsignedLongLong
from cpython.unicode cimport PyUnicode_AsUTF8AndSize

cdef object MalformedLog = None
cdef object SwapV2Event = None
cdef object SyncEvent = None
cdef dict CANONICAL = None
cdef object canonical = None
cdef object tuple_new = tuple.__new__
cdef str PAD = "0x" + "0" * 24
cdef object U112 = 1 << 112

# Exclusive bounds of the store's columns, as decode.py's LOG_INDEX_LIMIT and BIGINT_LIMIT:
# a log index must fit PostgreSQL's integer, a block number its bigint.
cdef unsigned long long LOG_INDEX_LIMIT = (<unsigned long long>1) << 31
cdef unsigned long long BIGINT_LIMIT = (<unsigned long long>1) << 63

cdef unsigned char IS_HEX[256]
cdef unsigned char HEX_VALUE[256]


cdef void _init_table():
    cdef int i
    for i in range(256):
        IS_HEX[i] = 0
        HEX_VALUE[i] = 0
    for i in range(48, 58):
        IS_HEX[i] = 1
        HEX_VALUE[i] = i - 48
    for i in range(65, 71):
        IS_HEX[i] = 1
        HEX_VALUE[i] = i - 55
    for i in range(97, 103):
        IS_HEX[i] = 1
        HEX_VALUE[i] = i - 87


_init_table()


def init(malformed, swap_cls, sync_cls, dict canonical_dict, canonical_fn):
    """Hand over the Python objects the decoders produce or use (called once by decode.py)."""
    global MalformedLog, SwapV2Event, SyncEvent, CANONICAL, canonical
    MalformedLog = malformed
    SwapV2Event = swap_cls
    SyncEvent = sync_cls
    CANONICAL = canonical_dict
    canonical = canonical_fn


cdef inline bint _hex_digits(const char* p, Py_ssize_t n):
    cdef Py_ssize_t i
    for i in range(n):
        if not IS_HEX[<unsigned char>p[i]]:
            return False
    return True


cdef inline object _word(const char* p):
    """The 64 hex digits at p as an int (PyLong_FromString needs them NUL-terminated)."""
    cdef char buf[65]
    cdef int i
    for i in range(64):
        buf[i] = p[i]
    buf[64] = 0
    return PyLong_FromString(buf, NULL, 16)


cdef inline object _quantity(str s, Py_ssize_t max_len, unsigned long long limit):
    """A 0x-prefixed hex quantity of at most max_len characters, below limit (a power of two
    no smaller than 16), as an int."""
    cdef Py_ssize_t n
    cdef const char* p = PyUnicode_AsUTF8AndSize(s, &n)
    cdef Py_ssize_t i
    cdef unsigned long long v = 0
    if n < 3 or n > max_len or p[0] != 48 or p[1] != 120 or not _hex_digits(p + 2, n - 2):
        raise MalformedLog("blockNumber or logIndex is not a hex quantity")
    for i in range(2, n):
        # v >= limit / 16 means one more digit reaches the limit: refuse before it can overflow.
        if v >= (limit >> 4):
            raise MalformedLog("blockNumber or logIndex out of range")
        v = (v << 4) | HEX_VALUE[<unsigned char>p[i]]
    if v >= limit:
        raise MalformedLog("blockNumber or logIndex out of range")
    return PyLong_FromUnsignedLongLong(v)


cdef inline str _canonical(str s):
    c = CANONICAL.get(s)
    if c is None:
        return canonical(s)
    return c


cdef inline const char* _data(object raw, Py_ssize_t words) except NULL:
    cdef Py_ssize_t n
    data = raw.data
    if type(data) is not str:
        raise MalformedLog("data is not a string")
    cdef const char* d = PyUnicode_AsUTF8AndSize(data, &n)
    if n != 2 + 64 * words:
        raise MalformedLog("wrong number of data words")
    if d[0] != 48 or d[1] != 120 or not _hex_digits(d + 2, n - 2):
        raise MalformedLog("data is not 0x-prefixed hex")
    return d


def v2_swap(raw):
    topics = raw.topics
    if len(topics) != 3:
        raise MalformedLog("expected 3 topics")
    cdef const char* d = _data(raw, 4)
    number = _quantity(raw.block_number, 66, BIGINT_LIMIT)
    index = _quantity(raw.log_index, 10, LOG_INDEX_LIMIT)
    sender = topics[1]
    recipient = topics[2]
    if not (sender.startswith(PAD) and recipient.startswith(PAD)):
        raise MalformedLog("indexed topic is not a left-padded 20-byte address")
    return tuple_new(
        SwapV2Event,
        (
            _canonical(raw.address),
            number,
            _canonical(raw.block_hash),
            index,
            raw.transaction_hash,
            raw.removed,
            sender,
            recipient,
            _word(d + 2),
            _word(d + 66),
            _word(d + 130),
            _word(d + 194),
        ),
    )


def v2_sync(raw):
    if len(raw.topics) != 1:
        raise MalformedLog("expected 1 topic")
    cdef const char* d = _data(raw, 2)
    number = _quantity(raw.block_number, 66, BIGINT_LIMIT)
    index = _quantity(raw.log_index, 10, LOG_INDEX_LIMIT)
    r0 = _word(d + 2)
    r1 = _word(d + 66)
    if r0 >= U112 or r1 >= U112:
        raise MalformedLog("Sync reserves exceed uint112")
    return tuple_new(
        SyncEvent,
        (
            _canonical(raw.address),
            number,
            _canonical(raw.block_hash),
            index,
            raw.transaction_hash,
            raw.removed,
            r0,
            r1,
        ),
    )
