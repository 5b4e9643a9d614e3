/*
 * Inflate speed of the two gzip libraries on one file, the floor of trace loading:
 * ISA-L (what the loader uses) against zlib (the reference). Best of 5, wall time.
 * Built and run by bench/inflate.sh.
 */
#include <isa-l/igzip_lib.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <zlib.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static size_t run_isal(unsigned char *in, size_t n, unsigned char *out, size_t cap)
{
	struct inflate_state st;
	size_t total = 0;
	isal_inflate_init(&st);
	st.crc_flag = ISAL_GZIP;
	st.next_in = in;
	st.avail_in = (uint32_t)n;
	do {
		st.next_out = out;
		st.avail_out = (uint32_t)cap;
		if (isal_inflate(&st) < 0)
			return 0;
		total += cap - st.avail_out;
	} while (st.block_state != ISAL_BLOCK_FINISH);
	return total;
}

static size_t run_zlib(unsigned char *in, size_t n, unsigned char *out, size_t cap)
{
	z_stream zs = { 0 };
	size_t total = 0;
	int rc;
	if (inflateInit2(&zs, 15 + 16) != Z_OK)
		return 0;
	zs.next_in = in;
	zs.avail_in = (uInt)n;
	do {
		zs.next_out = out;
		zs.avail_out = (uInt)cap;
		rc = inflate(&zs, Z_NO_FLUSH);
		if (rc != Z_OK && rc != Z_STREAM_END) {
			inflateEnd(&zs);
			return 0;
		}
		total += cap - zs.avail_out;
	} while (rc != Z_STREAM_END);
	inflateEnd(&zs);
	return total;
}

int main(int argc, char **argv)
{
	FILE *f = argc > 1 ? fopen(argv[1], "rb") : NULL;
	size_t n, cap = 1 << 20;
	unsigned char *in, *out = malloc(cap);
	double best[2] = { 1e9, 1e9 };
	size_t bytes[2] = { 0, 0 };

	if (!f) {
		fprintf(stderr, "usage: inflate FILE.gz\n");
		return 2;
	}
	fseek(f, 0, SEEK_END);
	n = (size_t)ftell(f);
	fseek(f, 0, SEEK_SET);
	in = malloc(n);
	if (!in || !out || fread(in, 1, n, f) != n)
		return 1;
	fclose(f);
	for (int r = 0; r < 5; r++) {
		double t = now();
		bytes[0] = run_isal(in, n, out, cap);
		if (now() - t < best[0])
			best[0] = now() - t;
		t = now();
		bytes[1] = run_zlib(in, n, out, cap);
		if (now() - t < best[1])
			best[1] = now() - t;
	}
	if (!bytes[0] || bytes[0] != bytes[1]) {
		fprintf(stderr, "inflate: the two libraries disagree (%zu vs %zu bytes)\n", bytes[0],
			bytes[1]);
		return 1;
	}
	printf("%zu compressed bytes -> %zu bytes\n", n, bytes[0]);
	printf("ISA-L %.3f s (%.0f MB/s)   zlib %.3f s (%.0f MB/s)   ISA-L %.1fx faster\n", best[0],
	       (double)bytes[0] / best[0] / 1e6, best[1], (double)bytes[1] / best[1] / 1e6,
	       best[1] / best[0]);
	free(in);
	free(out);
	return 0;
}
