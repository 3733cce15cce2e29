"""jax's threefry keys and uniform numbers, made with numpy: nothing to compile.

Every jax computation, however small, costs a compilation in a new process,
and every random number a jitted program makes costs compile time too (a
threefry hash is a loop of its own in the compiled code). The keys of the
chains, their initial values and the keys of the draws given the sampled
sites (:mod:`bwestimators.inference`) are therefore made here, on the host,
bit for bit as jax makes them with its default key implementation
(``threefry2x32``).
"""

import numpy as np

__all__ = []

_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))


def threefry2x32(key1, key2, x1, x2):
    """The Threefry-2x32 hash (20 rounds) of the counts ``(x1, x2)``, as jax computes it.

    Parameters
    ----------
    key1, key2 : uint32 arrays
        The two words of the key (broadcast against the counts).
    x1, x2 : uint32 arrays
        The two words of the counts.

    Returns
    -------
    y1, y2 : uint32 arrays

    Examples
    --------
    >>> import numpy as np
    >>> from bwestimators._host_random import threefry2x32
    >>> y1, y2 = threefry2x32(*np.zeros(4, np.uint32))  # Salmon et al.'s known-answer test
    >>> hex(int(y1)), hex(int(y2))
    ('0x6b200159', '0x99ba4efe')
    """
    key1, key2, x1, x2 = (np.asarray(a, dtype=np.uint32) for a in (key1, key2, x1, x2))
    ks = (key1, key2, key1 ^ key2 ^ np.uint32(0x1BD11BDA))
    with np.errstate(over="ignore"):
        x1, x2 = x1 + ks[0], x2 + ks[1]
        for i in range(5):
            for r in _ROTATIONS[i % 2]:
                x1 = x1 + x2
                x2 = ((x2 << np.uint32(r)) | (x2 >> np.uint32(32 - r))) ^ x1
            x1 = x1 + ks[(i + 1) % 3]
            x2 = x2 + ks[(i + 2) % 3] + np.uint32(i + 1)
    return x1, x2


def split(keys, num, partitionable=True):
    """``jax.random.split(key, num)`` of every key of ``keys`` (n, 2), shape ``(n, num, 2)``.

    ``partitionable``: jax's ``jax_threefry_partitionable`` setting (its
    default since jax 0.5), which changes the keys.

    Examples
    --------
    >>> import jax, numpy as np
    >>> from bwestimators._host_random import split
    >>> key = np.array([[7, 123]], dtype=np.uint32)
    >>> mode = jax.config.jax_threefry_partitionable
    >>> bool(np.all(split(key, 3, mode)[0] == np.asarray(jax.random.split(key[0], 3))))
    True
    """
    keys = np.asarray(keys, dtype=np.uint32)
    key1, key2 = keys[:, :1], keys[:, 1:]
    if partitionable:
        count = np.arange(num, dtype=np.uint32)[None, :]
        return np.stack(threefry2x32(key1, key2, np.zeros_like(count), count), axis=-1)
    count = np.arange(2 * num, dtype=np.uint32)[None, :]
    bits = threefry2x32(key1, key2, count[:, :num], count[:, num:])
    return np.concatenate(bits, axis=-1).reshape(len(keys), num, 2)


def uniform(keys, size, minval, maxval):
    """``jax.random.uniform(key, (size,), float32, minval, maxval)`` of every key (n, 2).

    Bit for bit jax's draws in its default (partitionable) threefry mode;
    uniform draws all the same in the other. Shape ``(n, size)``, float32.

    Examples
    --------
    >>> import jax, numpy as np
    >>> from bwestimators._host_random import uniform
    >>> key = np.array([[0, 42]], dtype=np.uint32)
    >>> ours = uniform(key, 5, -2.0, 2.0)[0]
    >>> theirs = np.asarray(jax.random.uniform(key[0], (5,), minval=-2.0, maxval=2.0))
    >>> bool(np.all(ours == theirs)) or not jax.config.jax_threefry_partitionable
    True
    """
    keys = np.asarray(keys, dtype=np.uint32)
    count = np.arange(size, dtype=np.uint32)[None, :]
    bits1, bits2 = threefry2x32(keys[:, :1], keys[:, 1:], np.zeros_like(count), count)
    # 23 random mantissa bits under the exponent of 1: a float in [1, 2)
    floats = (((bits1 ^ bits2) >> np.uint32(9)) | np.uint32(0x3F800000)).view(np.float32)
    lo, hi = np.float32(minval), np.float32(maxval)
    return np.maximum(lo, (floats - np.float32(1.0)) * (hi - lo) + lo)
