// Cache prefetch hints for the flow table and host context (the compiler's
// builtin, which Swift cannot spell), and the relaxed word loads and stores
// that let such a hint read a probe index without its lock. Header only, inlined; no library.
#ifndef FLOWSENTRY_PREFETCH_H
#define FLOWSENTRY_PREFETCH_H

/// Asks for the cache line holding `p` to be loaded (for reading).
static inline __attribute__((always_inline)) void fs_prefetch(const void *p) {
    __builtin_prefetch(p, 0, 3);
}

/// Asks for the cache line holding `p` to be loaded for writing.
static inline __attribute__((always_inline)) void fs_prefetch_write(const void *p) {
    __builtin_prefetch(p, 1, 3);
}

/// Prefetches every cache line of `bytes` bytes from `p`.
static inline __attribute__((always_inline)) void fs_prefetch_range(const void *p, long bytes) {
    const char *c = (const char *)p;
    for (long o = 0; o < bytes; o += 64) __builtin_prefetch(c + o, 0, 3);
}

/// Prefetches, for writing, every cache line of `bytes` bytes from `p`.
static inline __attribute__((always_inline)) void fs_prefetch_write_range(const void *p, long bytes) {
    const char *c = (const char *)p;
    for (long o = 0; o < bytes; o += 64) __builtin_prefetch(c + o, 1, 3);
}

/// A word read that may run alongside writes from other threads (relaxed
/// atomic: no ordering, no lock), for hints taken outside a lock.
static inline __attribute__((always_inline)) unsigned long long fs_load_relaxed(const unsigned long long *p) {
    return __atomic_load_n(p, __ATOMIC_RELAXED);
}

/// A word written (under its lock) where `fs_load_relaxed` may read it.
static inline __attribute__((always_inline)) void fs_store_relaxed(unsigned long long *p, unsigned long long v) {
    __atomic_store_n(p, v, __ATOMIC_RELAXED);
}

#endif
