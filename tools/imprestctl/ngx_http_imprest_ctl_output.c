/*
 * Copyright (C) Imprest
 *
 * imprestctl: the object a command made, printed on stdout as compact
 * JSON (--json) or as text for people: "key  value" lines, and a table
 * for each list of objects (one row per object, one column per key).
 * "ok": true is left out of the text.  In tables, times (unix seconds in
 * fields named below) are shown as UTC ISO 8601, true/false as yes/no,
 * lists joined by ", " (a list of objects by their names), absent or
 * empty values as "-"; control characters become "?", and free text
 * (names, scopes) longer than
 * NGX_HTTP_IMPREST_CTL_CELL_MAX columns is cut with an ellipsis.  Column
 * widths count display columns of UTF-8 text (wcwidth()), so a table of
 * CJK or accented names stays aligned.
 */


#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wchar.h>

#include "ngx_http_imprest_ctl.h"


#define NGX_HTTP_IMPREST_CTL_CELL_MAX   40
#define NGX_HTTP_IMPREST_CTL_COLS_MAX   16


typedef struct {
    char    *text;
    size_t   width;
} ngx_http_imprest_ctl_cell_t;


static int ngx_http_imprest_ctl_render(json_t *obj, const char *cols);
static int ngx_http_imprest_ctl_table(json_t *rows, const char *cols,
    const char *indent);
static char *ngx_http_imprest_ctl_cell(const char *key, json_t *v,
    int truncate);
static int ngx_http_imprest_ctl_is_time(const char *key);
static int ngx_http_imprest_ctl_is_ok(const char *key, json_t *v);
static int ngx_http_imprest_ctl_is_text(const char *key);
static size_t ngx_http_imprest_ctl_width(const char *s, size_t max,
    size_t *cut);
static int ngx_http_imprest_ctl_pad(const char *s, size_t width,
    size_t to);


int  ngx_http_imprest_ctl_json;


/* prints and releases obj; a NULL obj is an allocation that failed */

int
ngx_http_imprest_ctl_print(json_t *obj)
{
    return ngx_http_imprest_ctl_print_cols(obj, NULL);
}


/*
 * cols: the keys a table of obj's list shows, space-separated, in order
 * ("gid app uid"); NULL: every key of its rows.  JSON has all of them.
 */

int
ngx_http_imprest_ctl_print_cols(json_t *obj, const char *cols)
{
    int  rc;

    if (obj == NULL) {
        return ngx_http_imprest_ctl_error("out of memory");
    }

    rc = NGX_HTTP_IMPREST_CTL_OK;

    if (ngx_http_imprest_ctl_json) {
        if (json_dumpf(obj, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER) != 0
            || fputc('\n', stdout) == EOF)
        {
            rc = ngx_http_imprest_ctl_error("cannot write the output");
        }

    } else {
        rc = ngx_http_imprest_ctl_render(obj, cols);
    }

    if (fflush(stdout) != 0 && rc == NGX_HTTP_IMPREST_CTL_OK) {
        rc = ngx_http_imprest_ctl_error("cannot write the output");
    }

    json_decref(obj);

    return rc;
}


/* an error on stderr: {"error":...} with --json, a line otherwise */

void
ngx_http_imprest_ctl_print_error(const char *msg)
{
    json_t  *err;

    if (!ngx_http_imprest_ctl_json) {
        fprintf(stderr, "imprestctl: %s\n", msg);
        return;
    }

    err = json_pack("{s:s}", "error", msg);

    if (err == NULL
        || json_dumpf(err, stderr, JSON_COMPACT) != 0
        || fputc('\n', stderr) == EOF)
    {
        fputs("{\"error\":\"internal error\"}\n", stderr);
    }

    json_decref(err);
}


static int
ngx_http_imprest_ctl_render(json_t *obj, const char *cols)
{
    int          rc, lists, first;
    char        *cell;
    size_t       kw, w;
    json_t      *v, *e;
    const char  *key;

    if (!json_is_object(obj)) {
        cell = ngx_http_imprest_ctl_cell("", obj, 0);
        if (cell == NULL) {
            return ngx_http_imprest_ctl_error("out of memory");
        }

        rc = (printf("%s\n", cell) < 0);
        free(cell);

        return rc ? ngx_http_imprest_ctl_error("cannot write the output")
                  : NGX_HTTP_IMPREST_CTL_OK;
    }

    /* a list of objects is a table; the rest are "key  value" lines */

    kw = 0;
    lists = 0;

    json_object_foreach(obj, key, v) {
        e = json_is_array(v) ? json_array_get(v, 0) : NULL;

        if (json_is_array(v) && (e == NULL || json_is_object(e))) {
            lists++;
            continue;
        }

        if (ngx_http_imprest_ctl_is_ok(key, v)) {
            continue;
        }

        w = strlen(key);
        kw = w > kw ? w : kw;
    }

    json_object_foreach(obj, key, v) {
        e = json_is_array(v) ? json_array_get(v, 0) : NULL;

        if ((json_is_array(v) && (e == NULL || json_is_object(e)))
            || ngx_http_imprest_ctl_is_ok(key, v))
        {
            continue;
        }

        cell = ngx_http_imprest_ctl_cell(key, v, 0);
        if (cell == NULL) {
            return ngx_http_imprest_ctl_error("out of memory");
        }

        rc = printf("%-*s  %s\n", (int) kw, key, cell);
        free(cell);

        if (rc < 0) {
            return ngx_http_imprest_ctl_error("cannot write the output");
        }
    }

    /* the only thing printed: a bare table, else each under its name */

    first = (kw == 0);

    json_object_foreach(obj, key, v) {
        e = json_is_array(v) ? json_array_get(v, 0) : NULL;

        if (!json_is_array(v) || (e && !json_is_object(e))) {
            continue;
        }

        if (first && lists == 1) {
            if (json_array_size(v) == 0) {
                if (printf("(no %s)\n", key) < 0) {
                    return ngx_http_imprest_ctl_error(
                               "cannot write the output");
                }

                continue;
            }

            rc = ngx_http_imprest_ctl_table(v, cols, "");

        } else {
            if (printf("%s%s:%s\n", first ? "" : "\n", key,
                       json_array_size(v) ? "" : " (none)") < 0)
            {
                return ngx_http_imprest_ctl_error("cannot write the output");
            }

            rc = json_array_size(v)
                 ? ngx_http_imprest_ctl_table(v, NULL, "  ")
                 : NGX_HTTP_IMPREST_CTL_OK;
        }

        if (rc != NGX_HTTP_IMPREST_CTL_OK) {
            return rc;
        }

        first = 0;
    }

    return NGX_HTTP_IMPREST_CTL_OK;
}


static int
ngx_http_imprest_ctl_table(json_t *rows, const char *cols,
    const char *indent)
{
    int                           rc;
    char                         *copy, *p, *name, *h;
    size_t                        i, j, ncols, nrows, width[
                                      NGX_HTTP_IMPREST_CTL_COLS_MAX];
    json_t                       *row, *v;
    const char                   *key, *names[NGX_HTTP_IMPREST_CTL_COLS_MAX];
    ngx_http_imprest_ctl_cell_t  *cells;

    ncols = 0;
    copy = NULL;

    if (cols) {
        copy = strdup(cols);
        if (copy == NULL) {
            return ngx_http_imprest_ctl_error("out of memory");
        }

        for (p = strtok(copy, " "); p && ncols < NGX_HTTP_IMPREST_CTL_COLS_MAX;
             p = strtok(NULL, " "))
        {
            names[ncols++] = p;
        }

    } else {
        /* every key of every row, in the order first seen */

        json_array_foreach(rows, i, row) {
            json_object_foreach(row, key, v) {
                for (j = 0; j < ncols; j++) {
                    if (strcmp(names[j], key) == 0) {
                        break;
                    }
                }

                if (j == ncols && ncols < NGX_HTTP_IMPREST_CTL_COLS_MAX) {
                    names[ncols++] = key;
                }
            }
        }
    }

    nrows = json_array_size(rows);

    cells = calloc((nrows + 1) * (ncols ? ncols : 1),
                   sizeof(ngx_http_imprest_ctl_cell_t));
    if (cells == NULL) {
        free(copy);
        return ngx_http_imprest_ctl_error("out of memory");
    }

    rc = NGX_HTTP_IMPREST_CTL_OK;

    /* row 0: the headers, upper case, "_" as space */

    for (j = 0; j < ncols; j++) {
        name = strdup(names[j]);
        if (name == NULL) {
            rc = ngx_http_imprest_ctl_error("out of memory");
            goto done;
        }

        for (h = name; *h; h++) {
            *h = (*h == '_') ? ' ' : (*h >= 'a' && *h <= 'z') ? *h - 32 : *h;
        }

        cells[j].text = name;
        cells[j].width = strlen(name);
        width[j] = cells[j].width;
    }

    for (i = 0; i < nrows; i++) {
        row = json_array_get(rows, i);

        for (j = 0; j < ncols; j++) {
            v = json_is_object(row) ? json_object_get(row, names[j]) : NULL;

            p = ngx_http_imprest_ctl_cell(names[j], v,
                                          ngx_http_imprest_ctl_is_text(
                                              names[j]));
            if (p == NULL) {
                rc = ngx_http_imprest_ctl_error("out of memory");
                goto done;
            }

            cells[(i + 1) * ncols + j].text = p;
            cells[(i + 1) * ncols + j].width =
                ngx_http_imprest_ctl_width(p, (size_t) -1, NULL);

            if (cells[(i + 1) * ncols + j].width > width[j]) {
                width[j] = cells[(i + 1) * ncols + j].width;
            }
        }
    }

    for (i = 0; i < nrows + 1; i++) {
        if (fputs(indent, stdout) == EOF) {
            rc = ngx_http_imprest_ctl_error("cannot write the output");
            goto done;
        }

        for (j = 0; j < ncols; j++) {
            /* the last column is not padded: no trailing spaces */

            if (ngx_http_imprest_ctl_pad(cells[i * ncols + j].text,
                                         cells[i * ncols + j].width,
                                         j + 1 < ncols ? width[j] + 2 : 0)
                != 0)
            {
                rc = ngx_http_imprest_ctl_error("cannot write the output");
                goto done;
            }
        }

        if (fputc('\n', stdout) == EOF) {
            rc = ngx_http_imprest_ctl_error("cannot write the output");
            goto done;
        }
    }

done:

    for (i = 0; i < (nrows + 1) * ncols; i++) {
        free(cells[i].text);
    }

    free(cells);
    free(copy);

    return rc;
}


static int
ngx_http_imprest_ctl_pad(const char *s, size_t width, size_t to)
{
    if (fputs(s, stdout) == EOF) {
        return -1;
    }

    while (width < to) {
        if (fputc(' ', stdout) == EOF) {
            return -1;
        }

        width++;
    }

    return 0;
}


/*
 * One value as text (malloc'ed): see the comment at the top.  Returns
 * NULL when memory runs out.
 */

static char *
ngx_http_imprest_ctl_cell(const char *key, json_t *v, int truncate)
{
    char        *out, *p, buf[64];
    size_t       i, len, cut;
    json_t      *e, *name;
    time_t       t;
    struct tm    tm;
    const char  *s;

    switch (json_typeof(v ? v : json_null())) {

    case JSON_STRING:
        s = json_string_value(v);
        len = json_string_length(v);

        if (len == 0) {
            return strdup("-");
        }

        /* "…" is 3 bytes */
        out = malloc(len + 4);
        if (out == NULL) {
            return NULL;
        }

        for (i = 0; i < len; i++) {
            out[i] = ((u_char) s[i] < 0x20 || s[i] == 0x7f) ? '?' : s[i];
        }

        out[len] = '\0';

        if (truncate
            && ngx_http_imprest_ctl_width(out, (size_t) -1, NULL)
               > NGX_HTTP_IMPREST_CTL_CELL_MAX)
        {
            (void) ngx_http_imprest_ctl_width(out,
                                              NGX_HTTP_IMPREST_CTL_CELL_MAX
                                              - 1, &cut);
            memcpy(out + cut, "\xe2\x80\xa6", 4);
        }

        return out;

    case JSON_REAL:
        snprintf(buf, sizeof(buf), "%g", json_real_value(v));
        return strdup(buf);

    case JSON_INTEGER:
        if (ngx_http_imprest_ctl_is_time(key) && json_integer_value(v) > 0
            && json_integer_value(v) <= NGX_HTTP_IMPREST_CTL_EXP_MAX)
        {
            t = (time_t) json_integer_value(v);

            if (gmtime_r(&t, &tm)
                && strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm))
            {
                return strdup(buf);
            }
        }

        snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT,
                 json_integer_value(v));
        return strdup(buf);

    case JSON_TRUE:
        return strdup("yes");

    case JSON_FALSE:
        return strdup("no");

    case JSON_ARRAY:
        if (json_array_size(v) == 0) {
            return strdup("-");
        }

        len = 0;

        json_array_foreach(v, i, e) {
            p = json_is_object(e) ? NULL : ngx_http_imprest_ctl_cell("", e, 0);

            if (json_is_object(e)) {
                name = json_object_get(e, "name");

                if (!json_is_string(name) || json_string_length(name) == 0) {
                    name = json_object_get(e, "id");
                }

                p = ngx_http_imprest_ctl_cell("", name, 0);
            }

            if (p == NULL) {
                return NULL;
            }

            len += strlen(p) + 2;
            free(p);
        }

        out = malloc(len + 4);
        if (out == NULL) {
            return NULL;
        }

        out[0] = '\0';

        json_array_foreach(v, i, e) {
            if (json_is_object(e)) {
                name = json_object_get(e, "name");

                if (!json_is_string(name) || json_string_length(name) == 0) {
                    name = json_object_get(e, "id");
                }

                e = name;
            }

            p = ngx_http_imprest_ctl_cell("", e, 0);
            if (p == NULL) {
                free(out);
                return NULL;
            }

            if (i) {
                strcat(out, ", ");
            }

            strcat(out, p);
            free(p);
        }

        if (truncate
            && ngx_http_imprest_ctl_width(out, (size_t) -1, NULL)
               > NGX_HTTP_IMPREST_CTL_CELL_MAX)
        {
            (void) ngx_http_imprest_ctl_width(out,
                                              NGX_HTTP_IMPREST_CTL_CELL_MAX
                                              - 1, &cut);
            memcpy(out + cut, "\xe2\x80\xa6", 4);
        }

        return out;

    case JSON_OBJECT:
        return json_dumps(v, JSON_COMPACT);

    default:
        return strdup("-");
    }
}


/* "ok": true is for scripts; a person sees the exit status and the rest */

static int
ngx_http_imprest_ctl_is_ok(const char *key, json_t *v)
{
    return strcmp(key, "ok") == 0 && json_is_true(v);
}


/* fields that hold unix times */

static int
ngx_http_imprest_ctl_is_time(const char *key)
{
    static const char  *keys[] = {
        "created", "expires", "exp", "iat", "gexp", NULL
    };

    const char  **k;

    for (k = keys; *k; k++) {
        if (strcmp(*k, key) == 0) {
            return 1;
        }
    }

    return 0;
}


/* fields of free text, cut in tables; ids never are */

static int
ngx_http_imprest_ctl_is_text(const char *key)
{
    static const char  *keys[] = {
        "name", "app", "user", "scope", "orgs", "organizations",
        "redirect_uris", "note", NULL
    };

    const char  **k;

    for (k = keys; *k; k++) {
        if (strcmp(*k, key) == 0) {
            return 1;
        }
    }

    return 0;
}


/*
 * The display width of UTF-8 text s.  With cut != NULL, *cut is the
 * length in bytes of its longest prefix that is at most max columns wide
 * (whole characters).  A byte that does not decode counts as one column.
 */

static size_t
ngx_http_imprest_ctl_width(const char *s, size_t max, size_t *cut)
{
    int          w;
    size_t       n, width, len;
    wchar_t      wc;
    mbstate_t    st;
    const char  *start;

    memset(&st, 0, sizeof(mbstate_t));
    width = 0;
    len = strlen(s);
    start = s;

    if (cut) {
        *cut = len;
    }

    while (len) {
        n = mbrtowc(&wc, s, len, &st);

        if (n == (size_t) -1 || n == (size_t) -2 || n == 0) {
            memset(&st, 0, sizeof(mbstate_t));
            n = 1;
            w = 1;

        } else {
            w = wcwidth(wc);
            w = (w < 0) ? 1 : w;
        }

        if (cut && width + w > max) {
            *cut = (size_t) (s - start);
            break;
        }

        width += w;
        s += n;
        len -= n;
    }

    return width;
}


int
ngx_http_imprest_ctl_print_ok(int existed)
{
    json_t  *obj;

    obj = json_object();

    if (obj
        && (json_object_set_new(obj, "ok", json_true()) != 0
            || (existed >= 0
                && json_object_set_new(obj, "existed",
                                       json_boolean(existed)) != 0)))
    {
        json_decref(obj);
        obj = NULL;
    }

    return ngx_http_imprest_ctl_print(obj);
}


/*
 * {"ok":true,"existed":...} from the EXEC of a transaction whose first
 * command is a DEL (or SREM); releases the reply.
 */

int
ngx_http_imprest_ctl_print_deleted(redisReply *reply)
{
    int  existed;

    existed = ngx_http_imprest_ctl_positive(reply->element[0]);
    freeReplyObject(reply);

    return ngx_http_imprest_ctl_print_ok(existed);
}


/* -1 when s is not UTF-8 or memory runs out */

int
ngx_http_imprest_ctl_set_str(json_t *obj, const char *key, const void *s,
    size_t len)
{
    return json_object_set_new(obj, key, json_stringn(s, len));
}


/* a space-separated list as a JSON array; NULL: not UTF-8 or no memory */

json_t *
ngx_http_imprest_ctl_split(const char *s, size_t len)
{
    json_t      *arr;
    const char  *e, *q;

    arr = json_array();
    e = s + len;

    while (arr && s < e) {
        q = memchr(s, ' ', e - s);
        q = q ? q : e;

        if (q > s && json_array_append_new(arr, json_stringn(s, q - s)) != 0)
        {
            json_decref(arr);
            return NULL;
        }

        s = q + 1;
    }

    return arr;
}


/* {"<k1>":"<v1>","<k2>":"<v2>"} */

int
ngx_http_imprest_ctl_print_pair(const char *k1, const void *v1, size_t l1,
    const char *k2, const void *v2, size_t l2)
{
    json_t  *obj;

    obj = json_object();

    if (obj
        && (ngx_http_imprest_ctl_set_str(obj, k1, v1, l1) != 0
            || ngx_http_imprest_ctl_set_str(obj, k2, v2, l2) != 0))
    {
        json_decref(obj);
        obj = NULL;
    }

    return ngx_http_imprest_ctl_print(obj);
}


/*
 * A number of a record (a time) as a JSON number when it is a decimal
 * integer of at least min, with *n set; otherwise as the string it is.
 */

json_t *
ngx_http_imprest_ctl_number_json(const char *s, size_t len, long long min,
    long long *n)
{
    char       num[32];
    long long  t;

    if (len < sizeof(num)) {
        memcpy(num, s, len);
        num[len] = '\0';

        if (ngx_http_imprest_ctl_number(num, min, LLONG_MAX, &t) == 0) {
            if (n) {
                *n = t;
            }

            return json_integer(t);
        }
    }

    return json_stringn(s, len);
}
