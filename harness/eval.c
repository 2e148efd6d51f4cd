/* eval: LAMBADA and multiple-choice tasks scored as lm-evaluation-harness does (see eval.h
 * for the definitions). Reading a task file turns every example into requests (context and
 * continuation token ids); running them evaluates each run of equal consecutive contexts
 * once and streams the continuations from a snapshot of its state. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "eval.h"

enum { EVAL_CHUNK = 64 }; /* rows of logits formed at once */

int eval_kind_parse(const char *name, eval_kind *out, gc_err *e)
{
    if (!strcmp(name, "lambada"))
        *out = EVAL_LAMBADA;
    else if (!strcmp(name, "mc"))
        *out = EVAL_MC;
    else
        return gc_fail(e, "unknown task '%s' (known: lambada, mc)", name);
    return 0;
}

const char *eval_kind_name(eval_kind k)
{
    return k == EVAL_LAMBADA ? "lambada" : "mc";
}

/* ---------------------------------------------------------------------------------------- */
/* Text: strict UTF-8 and Python's notion of whitespace */

/* Length of the UTF-8 sequence at s[0..n) (1..4) with its code point in *cp, or 0 if it is
 * not valid UTF-8 (overlong forms, surrogates and code points above U+10FFFF included). */
static int utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned c = s[0];
    int len;
    uint32_t min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if (c >= 0xC2 && c <= 0xDF) {
        len = 2, min = 0x80, *cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3, min = 0x800, *cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4, min = 0x10000, *cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < (size_t)len)
        return 0;
    for (int i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        *cp = (*cp << 6) | (s[i] & 0x3F);
    }
    if (*cp < min || *cp > 0x10FFFF || (*cp >= 0xD800 && *cp <= 0xDFFF))
        return 0;
    return len;
}

/* Offset of the first byte of s[0..n) that is not valid UTF-8, or -1. */
static long utf8_invalid_at(const char *s, size_t n)
{
    uint32_t cp;
    for (size_t i = 0; i < n;) {
        int l = utf8_next((const unsigned char *)s + i, n - i, &cp);
        if (!l)
            return (long)i;
        i += (size_t)l;
    }
    return -1;
}

/* Code points of valid UTF-8 s[0..n). */
static long utf8_chars(const char *s, size_t n)
{
    long chars = 0;
    uint32_t cp;
    for (size_t i = 0; i < n; chars++) {
        int l = utf8_next((const unsigned char *)s + i, n - i, &cp);
        i += l ? (size_t)l : 1;
    }
    return chars;
}

/* Python's str.isspace for one code point. */
static int py_isspace(uint32_t c)
{
    return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 ||
           c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 ||
           c == 0x202F || c == 0x205F || c == 0x3000;
}

/* Bytes of valid UTF-8 s[0..n) left by Python's s.rstrip(). */
static size_t py_rstrip_len(const char *s, size_t n)
{
    size_t keep = 0;
    uint32_t cp;
    for (size_t i = 0; i < n;) {
        int l = utf8_next((const unsigned char *)s + i, n - i, &cp);
        i += l ? (size_t)l : 1;
        if (!py_isspace(cp))
            keep = i;
    }
    return keep;
}

/* ---------------------------------------------------------------------------------------- */
/* Reading a task: JSON Lines into requests */

typedef struct {
    eval_task *t;
    long cap_items, cap_req, cap_pool;
    const tok_tokenizer *tok;
    char where[1200];      /* "FILE:LINE" for messages */
} task_builder;

static int grow(void **p, long *cap, long need, size_t size)
{
    if (need <= *cap)
        return 0;
    long n = *cap ? *cap : 64;
    while (n < need)
        n *= 2;
    void *q = realloc(*p, (size_t)n * size);
    if (!q)
        return -1;
    *p = q;
    *cap = n;
    return 0;
}

static int pool_add(task_builder *b, const uint32_t *ids, long n, gc_err *e)
{
    eval_task *t = b->t;
    if (grow((void **)&t->pool, &b->cap_pool, t->n_pool + n, sizeof *t->pool))
        return gc_fail(e, "%s: out of memory", b->where);
    memcpy(t->pool + t->n_pool, ids, (size_t)n * sizeof *ids);
    t->n_pool += n;
    return 0;
}

/* Encodes a + b (la and lb bytes) into a malloc'd buffer of ids. */
static int encode_two(const tok_tokenizer *tok, const char *a, size_t la, const char *b,
                      size_t lb, uint32_t **ids, size_t *n, gc_err *e)
{
    char *s = malloc(la + lb + 1);
    if (!s)
        return gc_fail(e, "out of memory");
    memcpy(s, a, la);
    memcpy(s + la, b, lb);
    s[la + lb] = 0;
    int rc = tok_encode(tok, s, la + lb, ids, n, e);
    free(s);
    return rc;
}

/* Context and continuation token ids as the harness's _encode_pair: *c_ids (nc) for the
 * context, *w_ids (nw) for context + continuation, whose ids from nc on are the continuation. */
static int encode_pair(const task_builder *b, const char *ctx, size_t lc, const char *cont,
                       size_t lo, int k, uint32_t **c_ids, size_t *nc, uint32_t **w_ids,
                       size_t *nw, gc_err *e)
{
    *c_ids = *w_ids = NULL;
    *nc = *nw = 0;
    if (lc == 0) { /* the end-of-text token stands for an empty context */
        int eot = tok_eot(b->tok);
        if (eot < 0)
            return gc_fail(e, "%s: choice %d: the context is empty, and this tokenizer has no "
                              "end-of-text token to stand for it", b->where, k);
        if (!(*c_ids = malloc(sizeof **c_ids)))
            return gc_fail(e, "%s: out of memory", b->where);
        **c_ids = (uint32_t)eot;
        *nc = 1;
        uint32_t *ids;
        size_t n;
        if (tok_encode(b->tok, cont, lo, &ids, &n, e))
            return gc_wrap(e, "%s: choice %d", b->where, k);
        if (!(*w_ids = malloc((n + 1) * sizeof **w_ids))) {
            free(ids);
            return gc_fail(e, "%s: out of memory", b->where);
        }
        **w_ids = (uint32_t)eot;
        memcpy(*w_ids + 1, ids, n * sizeof *ids);
        *nw = n + 1;
        free(ids);
        return 0;
    }
    size_t keep = py_rstrip_len(ctx, lc); /* trailing whitespace goes to the continuation */
    if (!keep)
        return gc_fail(e, "%s: choice %d: the context is only whitespace", b->where, k);
    if (tok_encode(b->tok, ctx, keep, c_ids, nc, e) ||
        encode_two(b->tok, ctx, lc, cont, lo, w_ids, nw, e))
        return gc_wrap(e, "%s: choice %d", b->where, k);
    return 0;
}

/* Adds the request (ctx, cont) for choice k; norm_chars is its acc_norm divisor. */
static int add_request(task_builder *b, const char *ctx, size_t lc, const char *cont,
                       size_t lo, int k, long norm_chars, gc_err *e)
{
    eval_task *t = b->t;
    if (grow((void **)&t->req, &b->cap_req, t->n_requests + 1, sizeof *t->req))
        return gc_fail(e, "%s: out of memory", b->where);
    uint32_t *c_ids, *w_ids;
    size_t nc, nw;
    int rc = encode_pair(b, ctx, lc, cont, lo, k, &c_ids, &nc, &w_ids, &nw, e);
    if (!rc && nw <= nc)
        rc = gc_fail(e, "%s: choice %d: the continuation has no tokens", b->where, k);
    eval_request *r = &t->req[t->n_requests];
    *r = (eval_request){.ctx = t->n_pool, .n_ctx = (int)nc, .cont = t->n_pool + (long)nc,
                        .n_cont = (int)(nw - nc), .norm_chars = norm_chars};
    rc = rc || pool_add(b, c_ids, (long)nc, e) || pool_add(b, w_ids + nc, (long)(nw - nc), e);
    free(c_ids);
    free(w_ids);
    if (!rc)
        t->n_requests++;
    return rc;
}

/* A string member, or NULL (missing is allowed: the caller says what it needs). Wrong type:
 * an error. */
static int get_string(const task_builder *b, const cJSON *o, const char *key, const char **s,
                      size_t *n, gc_err *e)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    *s = NULL;
    if (!v)
        return 0;
    if (!cJSON_IsString(v))
        return gc_fail(e, "%s: \"%s\" must be a string", b->where, key);
    *s = v->valuestring;
    *n = strlen(v->valuestring);
    return 0;
}

static int item_begin(task_builder *b, long line, gc_err *e)
{
    eval_task *t = b->t;
    if (grow((void **)&t->items, &b->cap_items, t->n_items + 1, sizeof *t->items))
        return gc_fail(e, "%s: out of memory", b->where);
    t->items[t->n_items] = (eval_item){.line = line, .first = t->n_requests};
    return 0;
}

static int parse_lambada(task_builder *b, const cJSON *o, gc_err *e)
{
    const char *text;
    size_t n;
    if (get_string(b, o, "text", &text, &n, e))
        return -1;
    if (!text)
        return gc_fail(e, "%s: no \"text\"", b->where);
    const char *sp = memrchr(text, ' ', n);
    if (!sp)
        return gc_fail(e, "%s: \"text\" has no space: no last word to predict", b->where);
    size_t at = (size_t)(sp - text);
    if (at + 1 == n)
        return gc_fail(e, "%s: \"text\" ends with a space: no last word to predict", b->where);
    eval_item *it = &b->t->items[b->t->n_items];
    it->n_choices = 1;
    return add_request(b, text, at, text + at, n - at, 0, utf8_chars(text + at, n - at), e);
}

/* "choices" (or "contexts"): an array of at least 2 non-empty strings. */
static int string_array(const task_builder *b, const cJSON *a, const char *key, int *n,
                        gc_err *e)
{
    if (!cJSON_IsArray(a))
        return gc_fail(e, "%s: \"%s\" must be an array of strings", b->where, key);
    *n = cJSON_GetArraySize(a);
    if (*n == 0)
        return gc_fail(e, "%s: \"%s\" is empty", b->where, key);
    if (*n < 2)
        return gc_fail(e, "%s: \"%s\" has 1 entry; a multiple-choice item needs at least 2",
                       b->where, key);
    int k = 0;
    for (const cJSON *c = a->child; c; c = c->next, k++) {
        if (!cJSON_IsString(c))
            return gc_fail(e, "%s: %s[%d] is not a string", b->where, key, k);
        if (!c->valuestring[0])
            return gc_fail(e, "%s: %s[%d] is empty", b->where, key, k);
    }
    return 0;
}

static int parse_gold(const task_builder *b, const cJSON *o, int n, int *gold, gc_err *e)
{
    const cJSON *g = cJSON_GetObjectItemCaseSensitive(o, "gold");
    if (!g)
        return gc_fail(e, "%s: no \"gold\"", b->where);
    if (!cJSON_IsNumber(g) || g->valuedouble != floor(g->valuedouble) ||
        fabs(g->valuedouble) > 1e9)
        return gc_fail(e, "%s: \"gold\" must be an integer", b->where);
    if (g->valuedouble < 0 || g->valuedouble >= n)
        return gc_fail(e, "%s: \"gold\" %.0f is out of range (%d choices: 0..%d)", b->where,
                       g->valuedouble, n, n - 1);
    *gold = (int)g->valuedouble;
    return 0;
}

static int parse_mc(task_builder *b, const cJSON *o, gc_err *e)
{
    const char *ctx, *delim, *cont;
    size_t lc = 0, ld = 1, lo = 0;
    const cJSON *choices = cJSON_GetObjectItemCaseSensitive(o, "choices");
    const cJSON *contexts = cJSON_GetObjectItemCaseSensitive(o, "contexts");
    if (get_string(b, o, "context", &ctx, &lc, e) ||
        get_string(b, o, "target_delimiter", &delim, &ld, e) ||
        get_string(b, o, "continuation", &cont, &lo, e))
        return -1;
    if (!delim)
        delim = " ", ld = 1;
    if (!!ctx + !!contexts != 1)
        return gc_fail(e, "%s: give either \"context\" with \"choices\", or \"contexts\" with "
                          "\"continuation\"", b->where);
    int n = 0, per_choice = contexts != NULL;
    if (!per_choice && !choices)
        return gc_fail(e, "%s: no \"choices\"", b->where);
    if (per_choice && !cont)
        return gc_fail(e, "%s: \"contexts\" needs a \"continuation\"", b->where);
    if (string_array(b, per_choice ? contexts : choices, per_choice ? "contexts" : "choices",
                     &n, e))
        return -1;
    eval_item *it = &b->t->items[b->t->n_items];
    it->n_choices = n;
    if (parse_gold(b, o, n, &it->gold, e))
        return -1;
    int k = 0;
    for (const cJSON *c = (per_choice ? contexts : choices)->child; c; c = c->next, k++) {
        const char *s = c->valuestring, *x = per_choice ? cont : s;
        size_t ls = strlen(s), lx = per_choice ? lo : ls;
        char *full = malloc(ld + lx + 1); /* the continuation: delimiter + choice */
        if (!full)
            return gc_fail(e, "%s: out of memory", b->where);
        memcpy(full, delim, ld);
        memcpy(full + ld, x, lx);
        int rc = add_request(b, per_choice ? s : ctx, per_choice ? ls : lc, full, ld + lx, k,
                             utf8_chars(s, ls), e);
        free(full);
        if (rc)
            return -1;
    }
    return 0;
}

/* One line (n bytes, not NUL-terminated) of the file. */
static int parse_line(task_builder *b, const char *line, size_t n, long lineno, gc_err *e)
{
    long bad = utf8_invalid_at(line, n);
    if (bad >= 0)
        return gc_fail(e, "%s: invalid UTF-8 at byte %ld of the line", b->where, bad + 1);
    const char *end = NULL;
    cJSON *o = cJSON_ParseWithLengthOpts(line, n, &end, 0);
    size_t used = end ? (size_t)(end - line) : 0;
    while (o && used < n && (line[used] == ' ' || line[used] == '\t' || line[used] == '\r'))
        used++;
    if (!o || used < n) {
        cJSON_Delete(o);
        return gc_fail(e, "%s: not a JSON object (at byte %zu of the line)", b->where,
                       (o ? used : (size_t)(cJSON_GetErrorPtr() ? cJSON_GetErrorPtr() - line
                                                                  : 0)) + 1);
    }
    int rc;
    if (!cJSON_IsObject(o))
        rc = gc_fail(e, "%s: not a JSON object", b->where);
    else
        rc = item_begin(b, lineno, e) ||
             (b->t->kind == EVAL_LAMBADA ? parse_lambada(b, o, e) : parse_mc(b, o, e));
    cJSON_Delete(o);
    if (!rc)
        b->t->n_items++;
    return rc;
}

int eval_task_load(eval_task **out, const char *path, eval_kind kind, const tok_tokenizer *tok,
                   long limit, gc_err *e)
{
    char *data;
    size_t len;
    *out = NULL;
    if (gc_read_file(path, &data, &len, e))
        return -1;
    eval_task *t = calloc(1, sizeof *t);
    if (!t) {
        free(data);
        return gc_fail(e, "%s: out of memory", path);
    }
    t->kind = kind;
    t->path = strdup(path);
    task_builder b = {.t = t, .tok = tok};
    int rc = 0;
    long lineno = 0;
    for (size_t at = 0; at < len && !rc && (!limit || t->n_items < limit);) {
        const char *nl = memchr(data + at, '\n', len - at);
        size_t n = nl ? (size_t)(nl - (data + at)) : len - at;
        const char *line = data + at;
        at += n + 1;
        lineno++;
        size_t i = 0;
        while (i < n && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r'))
            i++;
        if (i == n)
            continue; /* blank */
        snprintf(b.where, sizeof b.where, "%s:%ld", path, lineno);
        rc = parse_line(&b, line, n, lineno, e);
    }
    if (!rc && !t->path)
        rc = gc_fail(e, "%s: out of memory", path);
    if (!rc && t->n_items == 0)
        rc = gc_fail(e, "%s: no examples", path);
    free(data);
    if (rc) {
        eval_task_free(t);
        return -1;
    }
    *out = t;
    return 0;
}

void eval_task_free(eval_task *t)
{
    if (!t)
        return;
    free(t->path);
    free(t->items);
    free(t->req);
    free(t->pool);
    free(t);
}

/* ---------------------------------------------------------------------------------------- */
/* Running: a context of its own in one pass; a shared one prefilled once, each continuation
 * streamed from its snapshot */

/* Adds the log-probability of target under logits x (V) to *ll; clears *greedy unless target
 * is the argmax (the first of equal maxima). */
static void score_row(const float *x, int V, uint32_t target, double *ll, int *greedy)
{
    int best = 0;
    for (int i = 1; i < V; i++)
        best = x[i] > x[best] ? i : best;
    double sum = 0;
    for (int i = 0; i < V; i++)
        sum += exp((double)x[i] - x[best]);
    *ll += (double)x[target] - x[best] - log(sum);
    *greedy &= (uint32_t)best == target;
}

/* The context request r sees under window W: *ctx (*n tokens) after cutting from the left so
 * that context + continuation is at most W + 1 tokens. */
static const uint32_t *seen_context(const eval_task *t, const eval_request *r, int W, int *n)
{
    int cut = r->n_ctx + r->n_cont - (W + 1);
    cut = cut > 0 ? cut : 0;
    *n = r->n_ctx - cut;
    return t->pool + r->ctx + cut;
}

typedef struct {
    gpt2_model *m;
    const eval_task *t;
    int W, V;
    float *first;          /* (V) logits after the last context token */
    float *rows;           /* (EVAL_CHUNK, V) */
    gpt2_stream_state *snap;
    const uint32_t *held;  /* the context the snapshot holds (NULL: none) */
    int n_held;
    int clean;             /* the model's stream is at the end of that context */
} eval_runner;

static int same_context(const uint32_t *a, int na, const uint32_t *b, int nb)
{
    return a && b && na == nb && !memcmp(a, b, (size_t)na * sizeof *a);
}

/* Scores rows [row, row + n) of the last forward against targets; the first row's logits
 * may come from first instead (row < 0). */
static void score_rows(eval_runner *u, long row, int n, const uint32_t *targets,
                       eval_score *s)
{
    for (int done = 0; done < n; done += EVAL_CHUNK) {
        int k = n - done < EVAL_CHUNK ? n - done : EVAL_CHUNK;
        gpt2_logits(u->m, row + done, k, u->rows);
        for (int j = 0; j < k; j++)
            score_row(u->rows + (size_t)j * u->V, u->V, targets[done + j], &s->loglik,
                      &s->greedy);
    }
}

/* A context of its own: one pass over context + continuation but its last token (the
 * harness's way); the continuation is scored from rows n_ctx - 1 on. */
static int score_alone(eval_runner *u, const eval_request *q, eval_score *s, eval_result *r,
                       gc_err *e)
{
    const uint32_t *seq = seen_context(u->t, q, u->W, &s->n_ctx); /* the continuation follows */
    int T = s->n_ctx + q->n_cont - 1;
    if (gpt2_forward(u->m, seq, 1, T, e))
        return -1;
    u->held = NULL; /* the stream is not where the snapshot was taken */
    u->clean = 0;
    r->prefills++;
    r->tokens_run += T;
    score_rows(u, s->n_ctx - 1, q->n_cont, u->t->pool + q->cont, s);
    return 0;
}

/* A shared context: prefilled into the stream and saved once, restored for the others; the
 * first token is scored from the context's last logits, the others streamed. */
static int score_shared(eval_runner *u, const eval_request *q, eval_score *s, eval_result *r,
                        gc_err *e)
{
    const uint32_t *ctx = seen_context(u->t, q, u->W, &s->n_ctx), *cont = u->t->pool + q->cont;
    if (!same_context(ctx, s->n_ctx, u->held, u->n_held)) {
        if (gpt2_stream_prefill(u->m, ctx, s->n_ctx, e))
            return -1;
        gpt2_logits(u->m, s->n_ctx - 1, 1, u->first);
        if (gpt2_stream_save(u->m, &u->snap, e))
            return -1;
        u->held = ctx, u->n_held = s->n_ctx, u->clean = 1;
        r->prefills++;
        r->tokens_run += s->n_ctx;
    } else if (!u->clean && q->n_cont > 1) {
        if (gpt2_stream_restore(u->m, u->snap, e))
            return -1;
        u->clean = 1;
    }
    score_row(u->first, u->V, cont[0], &s->loglik, &s->greedy);
    if (q->n_cont > 1) {
        if (gpt2_stream_extend(u->m, cont, q->n_cont - 1, e))
            return -1;
        u->clean = 0;
        r->tokens_run += q->n_cont - 1;
        score_rows(u, 0, q->n_cont - 1, cont + 1, s);
    }
    return 0;
}

/* Scores request i, sharing its context with its neighbours when they have the same. */
static int score_request(eval_runner *u, long i, const eval_opts *o, eval_score *s,
                         eval_result *r, gc_err *e)
{
    const eval_request *q = &u->t->req[i];
    if (q->n_cont > u->W)
        return gc_fail(e, "the continuation has %d tokens, more than the window of %d",
                       q->n_cont, u->W);
    s->loglik = 0;
    s->greedy = 1;
    int n, nn = 0, np = 0;
    const uint32_t *ctx = seen_context(u->t, q, u->W, &n), *next = NULL, *prev = NULL;
    if (i + 1 < u->t->n_requests && u->t->req[i + 1].n_cont <= u->W)
        next = seen_context(u->t, &u->t->req[i + 1], u->W, &nn);
    if (i > 0)
        prev = seen_context(u->t, &u->t->req[i - 1], u->W, &np);
    int shared = o->share && (same_context(ctx, n, next, nn) || same_context(ctx, n, prev, np));
    if (shared ? score_shared(u, q, s, r, e) : score_alone(u, q, s, r, e))
        return -1;
    r->tokens_scored += q->n_cont;
    r->truncated += s->n_ctx < q->n_ctx;
    return 0;
}

void eval_item_preds(const eval_task *t, const eval_score *scores, long i, int *pred,
                     int *pred_norm)
{
    const eval_item *it = &t->items[i];
    const eval_score *s = scores + it->first;
    const eval_request *q = t->req + it->first;
    *pred = *pred_norm = 0;
    for (int k = 1; k < it->n_choices; k++) {
        if (s[k].loglik > s[*pred].loglik)
            *pred = k;
        if (s[k].loglik / (double)q[k].norm_chars >
            s[*pred_norm].loglik / (double)q[*pred_norm].norm_chars)
            *pred_norm = k;
    }
}

/* The harness's mean_stderr of n scores that are 0 or 1, k of them 1. */
static double binary_stderr(long k, long n)
{
    double p = (double)k / (double)n;
    return n > 1 ? sqrt(p * (1 - p) / (double)(n - 1)) : NAN;
}

static void aggregate(const eval_task *t, const eval_score *scores, eval_result *r)
{
    long n = t->n_items, hits = 0, hits_norm = 0;
    double sum = 0;
    for (long i = 0; i < n; i++) {
        const eval_item *it = &t->items[i];
        if (t->kind == EVAL_LAMBADA) {
            hits += scores[it->first].greedy;
            sum += scores[it->first].loglik;
            continue;
        }
        int pred, pred_norm;
        eval_item_preds(t, scores, i, &pred, &pred_norm);
        hits += pred == it->gold;
        hits_norm += pred_norm == it->gold;
    }
    r->items = n;
    r->requests = t->n_requests;
    r->acc = (double)hits / (double)n;
    r->acc_stderr = binary_stderr(hits, n);
    r->acc_norm = r->acc_norm_stderr = NAN;
    r->perplexity = r->perplexity_stderr_delta = r->token_perplexity = NAN;
    if (t->kind == EVAL_MC) {
        r->acc_norm = (double)hits_norm / (double)n;
        r->acc_norm_stderr = binary_stderr(hits_norm, n);
        return;
    }
    double mean = sum / (double)n, ss = 0;
    for (long i = 0; i < n; i++) {
        double d = scores[t->items[i].first].loglik - mean;
        ss += d * d;
    }
    r->perplexity = exp(-mean);
    r->perplexity_stderr_delta = n > 1 ? r->perplexity * sqrt(ss / (double)(n - 1) / n) : NAN;
    r->token_perplexity = exp(-sum / (double)r->tokens_scored);
}

int eval_run(gpt2_model *m, const eval_task *t, const eval_opts *o, eval_score *scores,
             eval_result *r, gc_err *e)
{
    int maxT = m->config.max_seq_len;
    eval_runner u = {.m = m, .t = t, .W = o->window ? o->window : maxT,
                     .V = m->config.vocab_size};
    if (u.W < 1 || u.W > maxT)
        return gc_fail(e, "eval: window %d outside 1..%d (the model's context)", u.W, maxT);
    *r = (eval_result){0};
    u.first = malloc((size_t)u.V * sizeof *u.first);
    u.rows = malloc((size_t)EVAL_CHUNK * u.V * sizeof *u.rows);
    if (!u.first || !u.rows) {
        free(u.first);
        free(u.rows);
        return gc_fail(e, "eval: out of memory");
    }
    double t0 = gc_now();
    gc_progress p;
    if (o->progress)
        gc_progress_start(&p, "eval examples", t->n_items);
    int rc = 0;
    for (long i = 0; i < t->n_items && !rc; i++) {
        const eval_item *it = &t->items[i];
        for (long q = it->first; q < it->first + it->n_choices && !rc; q++)
            if ((rc = score_request(&u, q, o, &scores[q], r, e)))
                gc_wrap(e, "%s:%ld: choice %ld", t->path, it->line, q - it->first);
        if (o->progress)
            gc_progress_update(&p, i + 1);
    }
    if (o->progress)
        gc_progress_end(&p);
    r->seconds = gc_now() - t0;
    if (!rc)
        aggregate(t, scores, r);
    gpt2_stream_state_free(u.snap);
    free(u.first);
    free(u.rows);
    return rc;
}

/* ---------------------------------------------------------------------------------------- */
/* Per-example results */

static cJSON *example_json(const eval_task *t, const eval_score *scores, long i)
{
    const eval_item *it = &t->items[i];
    int pred, pred_norm;
    eval_item_preds(t, scores, i, &pred, &pred_norm);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "line", (double)it->line);
    cJSON_AddNumberToObject(o, "gold", it->gold);
    cJSON_AddNumberToObject(o, "pred", pred);
    cJSON_AddNumberToObject(o, "pred_norm", pred_norm);
    cJSON *ll = cJSON_AddArrayToObject(o, "loglik"), *g = cJSON_AddArrayToObject(o, "greedy");
    cJSON *nt = cJSON_AddArrayToObject(o, "tokens");
    cJSON *nc = cJSON_AddArrayToObject(o, "context_tokens");
    for (long q = it->first; q < it->first + it->n_choices; q++) {
        cJSON_AddItemToArray(ll, cJSON_CreateNumber(scores[q].loglik));
        cJSON_AddItemToArray(g, cJSON_CreateBool(scores[q].greedy));
        cJSON_AddItemToArray(nt, cJSON_CreateNumber(t->req[q].n_cont));
        cJSON_AddItemToArray(nc, cJSON_CreateNumber(scores[q].n_ctx));
    }
    return o;
}

int eval_write_examples(const char *path, const eval_task *t, const eval_score *scores,
                        gc_err *e)
{
    size_t len = 0, cap = 0;
    char *buf = NULL;
    int rc = 0;
    for (long i = 0; i < t->n_items && !rc; i++) {
        cJSON *o = example_json(t, scores, i);
        char *line = o ? cJSON_PrintUnformatted(o) : NULL;
        cJSON_Delete(o);
        size_t n = line ? strlen(line) : 0;
        if (line && len + n + 1 > cap) {
            size_t c = cap ? cap : 1 << 16;
            while (c < len + n + 1)
                c *= 2;
            char *b = realloc(buf, c);
            if (b)
                buf = b, cap = c;
        }
        if (!line || len + n + 1 > cap) {
            rc = gc_fail(e, "%s: out of memory", path);
        } else {
            memcpy(buf + len, line, n);
            buf[len + n] = '\n';
            len += n + 1;
        }
        free(line);
    }
    rc = rc || gc_write_file_atomic(path, buf, len, e);
    free(buf);
    return rc;
}
