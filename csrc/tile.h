/* tile.h: how the loops over a tile of rows are compiled (sweep.c, tape.c).
 *
 * AG_TILE_CLONES marks a function that runs a loop over rows: on x86-64
 * with gcc it is compiled three times (AVX-512, AVX2, baseline) and the
 * loader picks the best the CPU has, so a portable build still uses wide
 * vectors.  AG_TILE_INLINE marks the per-op helpers, inlined into each
 * clone so that they are compiled for its instruction set.  Vector and
 * scalar add, sub, mul, div, sqrt and selects round alike; the build keeps
 * -ffp-contract=off, so no clone fuses a*b+c.  AG_NO_TILE_CLONES (the
 * sanitizer build may set it) keeps one baseline version. */
#ifndef AUTOGRAD_TILE_H
#define AUTOGRAD_TILE_H

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) \
    && !defined(AG_NO_TILE_CLONES)
#define AG_TILE_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define AG_TILE_CLONES
#endif

#if defined(__GNUC__)
#define AG_TILE_INLINE inline __attribute__((always_inline))
#else
#define AG_TILE_INLINE inline
#endif

#endif
