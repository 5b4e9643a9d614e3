/*
 * ms_rand: the project's one seeding generator, splitmix64 (Steele, Lea and Flood,
 * "Fast splittable pseudorandom number generators", OOPSLA 2014; constants as in
 * Vigna's public-domain reference). Used directly where a short well-mixed stream
 * is enough (routing picks, sampling) and to seed xoshiro256** in trace synth.
 * Header-only: one static inline function, no state of its own.
 */
#ifndef MS_RAND_H
#define MS_RAND_H

#include <stdint.h>

/* Advances *state and returns the next 64-bit output. */
static inline uint64_t ms_splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform integer in [0, n) by 64-bit multiply-shift of the high 32 bits (n < 2^32). */
static inline uint32_t ms_rand_below(uint64_t *state, uint32_t n)
{
	return (uint32_t)(((ms_splitmix64(state) >> 32) * (uint64_t)n) >> 32);
}

#endif
