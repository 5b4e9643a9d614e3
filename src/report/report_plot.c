#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/ms_quantile.h"
#include "report/report_plot.h"

extern char **environ;

/* matplotlib's tab10, so our figures read like the data set's notebook. */
static const char *const colors[] = {
	"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
	"#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
};

struct plot_tmp {
	char dir[4096];
	char data[4200], script[4200], log[4200];
};

/* gnuplot single-quoted string: '' stands for one quote; newlines would end the command. */
static void put_quoted(FILE *f, const char *s)
{
	fputc('\'', f);
	for (; s && *s; s++) {
		if (*s == '\'')
			fputs("''", f);
		else if (*s == '\n' || *s == '\r')
			fputc(' ', f);
		else
			fputc(*s, f);
	}
	fputc('\'', f);
}

static int drawable(const struct report_plot *p, double x, double y)
{
	if (!isfinite(x) || !isfinite(y))
		return 0;
	if (p->logx && x <= 0)
		return 0;
	if (p->logy && y <= 0)
		return 0;
	return 1;
}

static size_t series_drawable(const struct report_plot *p, const struct report_series *s)
{
	size_t i, k = 0;
	for (i = 0; i < s->n; i++)
		k += drawable(p, s->x[i], s->y[i]);
	return k;
}

/* One index block per series that has points; *blocks says which series got one. */
static int data_write(const struct report_plot *p, const char *path, size_t *counts,
		      struct ms_error *err)
{
	FILE *f = fopen(path, "w");
	size_t s, i;
	int first = 1;

	if (!f)
		return ms_error_set(err, MS_EIO, "%s: %s", path, strerror(errno));
	for (s = 0; s < p->n_series; s++) {
		const struct report_series *se = &p->series[s];
		counts[s] = series_drawable(p, se);
		if (!counts[s])
			continue;
		if (!first)
			fputs("\n\n", f);
		first = 0;
		for (i = 0; i < se->n; i++)
			if (drawable(p, se->x[i], se->y[i]))
				fprintf(f, "%.17g %.17g\n", se->x[i], se->y[i]);
	}
	if (ferror(f) | fclose(f))
		return ms_error_set(err, MS_EIO, "%s: write failed", path);
	return 0;
}

/*
 * gnuplot widens a zero-width x range by a fraction of its magnitude: around a
 * Unix time that is months. One x value (one point, or all points at one x) gets
 * a window of its own size instead: +-1 minute on a time axis, x/10..x*10 on a
 * log axis, else +-1. Returns 0 when the range is not degenerate.
 */
static int x_degenerate(const struct report_plot *p, double *lo, double *hi)
{
	size_t s, i, k = 0;
	double x0 = 0;

	for (s = 0; s < p->n_series; s++)
		for (i = 0; i < p->series[s].n; i++) {
			const struct report_series *se = &p->series[s];
			if (!drawable(p, se->x[i], se->y[i]))
				continue;
			if (k++ && se->x[i] != x0)
				return 0;
			x0 = se->x[i];
		}
	if (!k)
		return 0;
	if (p->x_is_time) {
		*lo = x0 - 60;
		*hi = x0 + 60;
	} else if (p->logx) {
		*lo = x0 / 10;
		*hi = x0 * 10;
	} else {
		*lo = x0 - 1;
		*hi = x0 + 1;
	}
	return 1;
}

static void script_axes(FILE *f, const struct report_plot *p, int empty)
{
	double lo, hi;

	fputs("set title ", f);
	put_quoted(f, p->title ? p->title : "");
	fputs(" noenhanced font ',13'\nset xlabel ", f);
	put_quoted(f, p->xlabel ? p->xlabel : "");
	fputs(" noenhanced\nset ylabel ", f);
	put_quoted(f, p->ylabel ? p->ylabel : "");
	fputs(" noenhanced\nset grid\nset border 3\nset tics nomirror\n", f);
	/* an empty figure has no series to name: a key would be an empty box */
	if (empty)
		fputs("unset key\n", f);
	else
		fputs(p->steps ? "set key top left Left reverse box opaque\n"
			       : "set key top right Left reverse box opaque\n", f);
	if (p->logx) {
		fputs("set logscale x 10\nset format x '10^{%L}'\n", f);
	}
	if (p->logy)
		fputs("set logscale y 10\nset format y '10^{%L}'\n", f);
	if (p->x_is_time && !empty) {
		/* gnuplot's time axis is UTC, as are trace timestamps. */
		fputs("set xdata time\nset timefmt '%s'\n"
		      "set format x \"%Y-%m-%d\\n%H:%M\"\nset xtics out\n"
		      "set autoscale xfix\nset rmargin 8\n", f);
	}
	if (!empty && x_degenerate(p, &lo, &hi)) {
		/* time ranges are read through timefmt '%s': quoted seconds */
		if (p->x_is_time)
			fprintf(f, "set xrange ['%.0f':'%.0f']\n", floor(lo), ceil(hi));
		else
			fprintf(f, "set xrange [%.17g:%.17g]\n", lo, hi);
	}
	if (empty) {
		/*
		 * Steps are CDFs in percent (report_cdf_points), so an empty one keeps the
		 * 0-100 axis its label promises, like a full one.
		 */
		fprintf(f, "set xrange [%s]\nset yrange [%s]\n", p->logx ? "1:10" : "0:1",
			p->logy ? "1:10" : p->steps ? "0:100" : "0:1");
		fputs("set label 'no data' at graph 0.5,0.5 center\n", f);
	}
}

static void script_plot(FILE *f, const struct report_plot *p, const char *data,
			const size_t *counts, size_t drawn)
{
	size_t s, idx = 0;
	if (!drawn) {
		fputs("plot NaN notitle\n", f);
		return;
	}
	fputs("plot ", f);
	for (s = 0; s < p->n_series; s++) {
		const char *with;
		if (!counts[s])
			continue;
		with = counts[s] == 1 ? "points pt 7" : p->steps ? "steps" : "lines";
		if (idx)
			fputs(", \\\n     ", f);
		put_quoted(f, data);
		fprintf(f, " index %zu using 1:2 with %s lw 2 lc rgb '%s' title ", idx, with,
			colors[s % (sizeof(colors) / sizeof(colors[0]))]);
		put_quoted(f, p->series[s].title ? p->series[s].title : "");
		fputs(" noenhanced", f);
		idx++;
	}
	fputc('\n', f);
}

static int script_write(const struct report_plot *p, const char *path, const char *data,
			const size_t *counts, const char *out_base, struct ms_error *err)
{
	FILE *f = fopen(path, "w");
	/* Time series are a week of minutes: wide like the notebook's figures. */
	int w = p->x_is_time ? 1500 : 640, h = p->x_is_time ? 500 : 480;
	size_t s, drawn = 0;
	char out[4200];

	if (!f)
		return ms_error_set(err, MS_EIO, "%s: %s", path, strerror(errno));
	for (s = 0; s < p->n_series; s++)
		drawn += counts[s] != 0;
	fprintf(f, "set terminal pngcairo size %d,%d enhanced font 'Sans,10' background '#ffffff'\n",
		w, h);
	snprintf(out, sizeof(out), "%s.png", out_base);
	fputs("set output ", f);
	put_quoted(f, out);
	fputc('\n', f);
	script_axes(f, p, drawn == 0);
	script_plot(f, p, data, counts, drawn);
	fputs("set output\n", f);
	fprintf(f, "set terminal svg size %d,%d enhanced font 'Sans,10' background '#ffffff'\n",
		w, h);
	snprintf(out, sizeof(out), "%s.svg", out_base);
	fputs("set output ", f);
	put_quoted(f, out);
	fputs("\nreplot\nset output\n", f);
	if (ferror(f) | fclose(f))
		return ms_error_set(err, MS_EIO, "%s: write failed", path);
	return 0;
}

/* First line or so of gnuplot's complaint, for the error message. */
static void log_read(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");
	size_t n = 0, i;
	buf[0] = 0;
	if (!f)
		return;
	n = fread(buf, 1, size - 1, f);
	fclose(f);
	buf[n] = 0;
	for (i = 0; i < n; i++)
		if (buf[i] == '\n' || buf[i] == '\r' || buf[i] == '\t')
			buf[i] = ' ';
}

static int gnuplot_run(const struct plot_tmp *t, struct ms_error *err)
{
	const char *prog = getenv("MS_GNUPLOT");
	posix_spawn_file_actions_t fa;
	char *argv[3];
	char msg[300];
	pid_t pid;
	int rc, status;

	if (!prog || !*prog)
		prog = "gnuplot";
	argv[0] = (char *)prog;
	argv[1] = (char *)t->script;
	argv[2] = NULL;
	if (posix_spawn_file_actions_init(&fa))
		return ms_error_set(err, MS_ENOMEM, "gnuplot: cannot set up the process");
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, t->log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	rc = posix_spawnp(&pid, prog, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc == ENOENT)
		return ms_error_set(err, MS_ENOTFOUND,
				    "%s: not found (install gnuplot-nox, or set MS_GNUPLOT)", prog);
	if (rc)
		return ms_error_set(err, MS_EIO, "%s: cannot run: %s", prog, strerror(rc));
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return ms_error_set(err, MS_EIO, "%s: wait: %s", prog, strerror(errno));
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		return ms_error_set(err, MS_ENOTFOUND,
				    "%s: not found (install gnuplot-nox, or set MS_GNUPLOT)", prog);
	log_read(t->log, msg, sizeof(msg));
	if (WIFEXITED(status))
		return ms_error_set(err, MS_EIO, "%s failed (exit %d): %s", prog,
				    WEXITSTATUS(status), msg);
	return ms_error_set(err, MS_EIO, "%s killed by signal %d", prog, WTERMSIG(status));
}

static int file_nonempty(const char *path)
{
	struct stat st;
	return !stat(path, &st) && S_ISREG(st.st_mode) && st.st_size > 0;
}

int report_plot_write(const struct report_plot *p, const char *out_base, struct ms_error *err)
{
	struct plot_tmp t;
	const char *tmp = getenv("TMPDIR");
	size_t *counts = NULL, s;
	char out[4200];
	int rc;

	if (!p || !out_base || !*out_base || (p->n_series && !p->series))
		return ms_error_set(err, MS_EINVAL, "report_plot_write: no figure or output name");
	if (strlen(out_base) > 4000)
		return ms_error_set(err, MS_EINVAL, "%.40s...: output name too long", out_base);
	for (s = 0; s < p->n_series; s++)
		if (p->series[s].n && (!p->series[s].x || !p->series[s].y))
			return ms_error_set(err, MS_EINVAL, "%s: series %zu has no points array",
					    out_base, s);
	if (!tmp || !*tmp || strlen(tmp) > 3000)
		tmp = "/tmp";
	snprintf(t.dir, sizeof(t.dir), "%s/modserve-plot-XXXXXX", tmp);
	if (!mkdtemp(t.dir))
		return ms_error_set(err, MS_EIO, "%s: cannot make a temporary directory: %s",
				    t.dir, strerror(errno));
	snprintf(t.data, sizeof(t.data), "%s/points.dat", t.dir);
	snprintf(t.script, sizeof(t.script), "%s/figure.gp", t.dir);
	snprintf(t.log, sizeof(t.log), "%s/gnuplot.log", t.dir);

	counts = calloc(p->n_series ? p->n_series : 1, sizeof(*counts));
	if (!counts) {
		rc = ms_error_set(err, MS_ENOMEM, "%s: out of memory", out_base);
		goto cleanup;
	}
	rc = data_write(p, t.data, counts, err);
	if (rc < 0)
		goto cleanup;
	rc = script_write(p, t.script, t.data, counts, out_base, err);
	if (rc < 0)
		goto cleanup;
	rc = gnuplot_run(&t, err);
	if (rc < 0)
		goto cleanup;
	snprintf(out, sizeof(out), "%s.png", out_base);
	if (!file_nonempty(out)) {
		rc = ms_error_set(err, MS_EIO, "%s: gnuplot wrote no image", out);
		goto cleanup;
	}
	snprintf(out, sizeof(out), "%s.svg", out_base);
	if (!file_nonempty(out))
		rc = ms_error_set(err, MS_EIO, "%s: gnuplot wrote no image", out);
cleanup:
	free(counts);
	unlink(t.data);
	unlink(t.script);
	unlink(t.log);
	rmdir(t.dir);
	return rc;
}

int report_cdf_points(const double *v, size_t n, size_t max_points, double **x, double **y,
		      struct ms_error *err)
{
	double *s, *px, *py, step, last_kept = -1.0;
	size_t i, k = 0;

	*x = *y = NULL;
	if (!n)
		return 0;
	if (n > (size_t)0x7fffffff)
		return ms_error_set(err, MS_ERANGE, "cdf: %zu values is too many", n);
	for (i = 0; i < n; i++)
		if (isnan(v[i]))
			return ms_error_set(err, MS_EINVAL, "cdf: value %zu is not a number", i);
	s = malloc(n * sizeof(*s));
	px = malloc(n * sizeof(*px));
	py = malloc(n * sizeof(*py));
	if (!s || !px || !py) {
		free(s);
		free(px);
		free(py);
		return ms_error_set(err, MS_ENOMEM, "cdf: out of memory for %zu values", n);
	}
	memcpy(s, v, n * sizeof(*s));
	ms_sort_f64(s, n, px); /* O(n); px is scratch until filled below; no NaN (checked) */
	step = max_points >= 3 ? 100.0 / (double)(max_points - 2) : 0.0;
	for (i = 0; i < n; i++) {
		double pct;
		if (i + 1 < n && s[i + 1] == s[i])
			continue; /* the last copy of a value carries its percent */
		pct = 100.0 * (double)(i + 1) / (double)n;
		if (max_points >= 3 && k > 0 && i + 1 < n && pct - last_kept < step)
			continue;
		px[k] = s[i];
		py[k] = pct;
		last_kept = pct;
		k++;
	}
	free(s);
	/* max_points 1 or 2 cannot hold a shape: keep the ends only. */
	if (max_points && max_points < 3 && k > max_points) {
		px[max_points - 1] = px[k - 1];
		py[max_points - 1] = py[k - 1];
		k = max_points;
	}
	*x = px;
	*y = py;
	return (int)k;
}

int report_dir_make(const char *dir, struct ms_error *err)
{
	char buf[4096];
	size_t i, len;
	struct stat st;

	if (!dir || !*dir)
		return ms_error_set(err, MS_EINVAL, "output directory: empty name");
	len = strlen(dir);
	if (len >= sizeof(buf))
		return ms_error_set(err, MS_EINVAL, "%.40s...: directory name too long", dir);
	memcpy(buf, dir, len + 1);
	for (i = 1; i <= len; i++) {
		if (buf[i] != '/' && buf[i] != 0)
			continue;
		buf[i] = 0;
		if (mkdir(buf, 0777) && errno != EEXIST)
			return ms_error_set(err, MS_EIO, "%s: cannot make directory: %s", buf,
					    strerror(errno));
		buf[i] = dir[i];
	}
	if (stat(dir, &st) || !S_ISDIR(st.st_mode))
		return ms_error_set(err, MS_EIO, "%s: not a directory", dir);
	return 0;
}
