/* output.c: how ovnctl shows answers: aligned tables whose column widths
 * come from the data (like `docker network ls`), two-column key/value
 * tables for one object, and pretty JSON for --json and inspect.
 *
 * Every cell is rendered into its own string first (open_memstream), so a
 * long value is never truncated and widths are exact. Strings from the
 * agent have control characters replaced, so a hostile or broken name
 * cannot move the cursor or split a row.
 *
 * Does not: page, colour, or truncate; width counts UTF-8 code points, not
 * terminal cells (East Asian wide characters would misalign).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define COL_GAP 3

static void put_safe(FILE *f, const char *s)
{
	for (; *s; s++)
		fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, f);
}

static void fmt_container(FILE *f, const json_t *v)
{
	const char *key;
	json_t *item;
	size_t i, n = 0;

	if (json_is_array(v)) {
		json_array_foreach(v, i, item) {
			fputs(n++ ? "," : "", f);
			cli_fmt_value(f, item);
		}
	} else {
		json_object_foreach((json_t *)v, key, item) {
			fputs(n++ ? "," : "", f);
			put_safe(f, key);
			fputc('=', f);
			cli_fmt_value(f, item);
		}
	}
	if (!n)
		fputc('-', f);
}

void cli_fmt_value(FILE *f, const json_t *v)
{
	switch (v ? json_typeof(v) : JSON_NULL) {
	case JSON_STRING:
		put_safe(f, json_string_value(v));
		break;
	case JSON_INTEGER:
		fprintf(f, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		break;
	case JSON_REAL:
		fprintf(f, "%g", json_real_value(v));
		break;
	case JSON_TRUE:
		fputs("true", f);
		break;
	case JSON_FALSE:
		fputs("false", f);
		break;
	case JSON_ARRAY:
	case JSON_OBJECT:
		fmt_container(f, v);
		break;
	default:
		fputc('-', f);
	}
}

/* Render one cell into a new string: text when not NULL, else fmt(v).
 * NULL when out of memory. */
static char *cell_new(cli_fmt_fn fmt, const json_t *v, const char *text)
{
	char *s = NULL;
	size_t len;
	FILE *f = open_memstream(&s, &len);

	if (!f)
		return NULL;
	if (text)
		put_safe(f, text);
	else
		(fmt ? fmt : cli_fmt_value)(f, v);
	if (fclose(f)) {
		free(s);
		return NULL;
	}
	return s;
}

/* Display width: UTF-8 continuation bytes take no column. */
static size_t text_width(const char *s)
{
	size_t w = 0;

	for (; *s; s++)
		w += ((unsigned char)*s & 0xc0) != 0x80;
	return w;
}

struct grid {
	size_t rows, cols;
	char **cell;		/* rows * cols strings */
};

static int grid_init(struct grid *g, size_t rows, size_t cols)
{
	g->rows = rows;
	g->cols = cols;
	g->cell = calloc(rows * cols, sizeof(*g->cell));
	return g->cell ? 0 : -ENOMEM;
}

static void grid_free(struct grid *g)
{
	for (size_t i = 0; g->cell && i < g->rows * g->cols; i++)
		free(g->cell[i]);
	free(g->cell);
	g->cell = NULL;
}

/* Columns padded to their widest cell, COL_GAP apart; the last column is
 * not padded, so lines carry no trailing blanks. */
static int grid_print(FILE *out, const struct grid *g)
{
	size_t *width = calloc(g->cols ? g->cols : 1, sizeof(*width));

	if (!width)
		return -ENOMEM;
	for (size_t i = 0; i < g->rows * g->cols; i++) {
		size_t w = text_width(g->cell[i]);

		if (w > width[i % g->cols])
			width[i % g->cols] = w;
	}
	for (size_t r = 0; r < g->rows; r++) {
		for (size_t c = 0; c < g->cols; c++) {
			const char *s = g->cell[r * g->cols + c];

			fputs(s, out);
			if (c + 1 < g->cols)
				fprintf(out, "%*s", (int)(width[c] - text_width(s) + COL_GAP), "");
		}
		fputc('\n', out);
	}
	free(width);
	return 0;
}

static int table_fill(struct grid *g, const json_t *rows, const struct cli_col *cols)
{
	json_t *row;
	size_t r, c;

	for (c = 0; c < g->cols; c++)
		if (!(g->cell[c] = cell_new(NULL, NULL, cols[c].title)))
			return -ENOMEM;
	json_array_foreach(rows, r, row) {
		for (c = 0; c < g->cols; c++) {
			char **cell = &g->cell[(r + 1) * g->cols + c];

			*cell = cell_new(cols[c].fmt, json_object_get(row, cols[c].key), NULL);
			if (!*cell)
				return -ENOMEM;
		}
	}
	return 0;
}

/* The end of both printers: print g if filling it worked (ret 0), free it. */
static int grid_done(FILE *out, struct grid *g, int ret, struct ovn_err *err)
{
	if (!ret)
		ret = grid_print(out, g);
	grid_free(g);
	if (ret < 0)
		return ovn_err_set(err, ret, "out of memory");
	return 0;
}

int cli_print_table(FILE *out, const json_t *rows, const struct cli_col *cols, size_t n_cols,
		    struct ovn_err *err)
{
	struct grid g = { 0 };
	json_t *row;
	size_t i;
	int ret;

	if (!json_is_array(rows))
		return ovn_err_set(err, -EPROTO, "bad answer from ovnagent: expected a list");
	json_array_foreach(rows, i, row)
		if (!json_is_object(row))
			return ovn_err_set(err, -EPROTO,
					   "bad answer from ovnagent: expected a list of objects");
	ret = grid_init(&g, json_array_size(rows) + 1, n_cols);
	if (!ret)
		ret = table_fill(&g, rows, cols);
	return grid_done(out, &g, ret, err);
}

static const struct cli_col *find_fmt(const struct cli_col *fmts, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(fmts[i].key, key))
			return &fmts[i];
	return NULL;
}

static int kv_fill(struct grid *g, const json_t *obj, const struct cli_col *fmts, size_t n_fmts)
{
	const struct cli_col *f;
	const char *key;
	json_t *v;
	size_t r = 0;

	json_object_foreach((json_t *)obj, key, v) {
		f = find_fmt(fmts, n_fmts, key);
		g->cell[r * 2] = cell_new(NULL, NULL, f ? f->title : key);
		g->cell[r * 2 + 1] = cell_new(f ? f->fmt : NULL, v, NULL);
		if (!g->cell[r * 2] || !g->cell[r * 2 + 1])
			return -ENOMEM;
		r++;
	}
	return 0;
}

int cli_print_kv(FILE *out, const json_t *obj, const struct cli_col *fmts, size_t n_fmts,
		 struct ovn_err *err)
{
	struct grid g = { 0 };
	int ret;

	if (!json_is_object(obj))
		return ovn_err_set(err, -EPROTO, "bad answer from ovnagent: expected an object");
	if (!json_object_size(obj))
		return 0;
	ret = grid_init(&g, json_object_size(obj), 2);
	if (!ret)
		ret = kv_fill(&g, obj, fmts, n_fmts);
	return grid_done(out, &g, ret, err);
}

int cli_print_json(FILE *out, const json_t *v, struct ovn_err *err)
{
	if (json_dumpf(v, out, JSON_INDENT(2) | JSON_ENCODE_ANY) < 0)
		return ovn_err_set(err, -EIO, "cannot write the answer: %s", strerror(errno));
	fputc('\n', out);
	return 0;
}

int cli_show_json(FILE *out, const json_t *answer, struct ovn_err *err)
{
	return cli_print_json(out, answer, err);
}
