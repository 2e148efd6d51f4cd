/* eval: downstream task accuracy of a GPT-2 (digital or analog attention), scored as
 * lm-evaluation-harness scores it.
 *
 * Tasks are JSON Lines files, one object per line (blank lines are skipped; other keys are
 * ignored):
 *  - lambada: {"text": T} (the harness's lambada_openai). Context = T before its last space
 *    character, target = " " + the rest (Python's T.split(' '), as the harness: the last
 *    space, not any whitespace). acc: greedy decoding of the target's tokens given the context
 *    reproduces every one of them; perplexity = exp(-mean over examples of the target's
 *    log-likelihood) (the harness's `perplexity` aggregation: per example, not per token).
 *  - mc: {"context": C, "choices": [c0, c1, ...], "gold": i} and optionally
 *    "target_delimiter" (default " "): choice k is the continuation delimiter + ck after C.
 *    When the choices differ in the context and share the continuation (WinoGrande's partial
 *    evaluation): {"contexts": [C0, C1, ...], "continuation": X, "gold": i}, choice k being
 *    delimiter + X after Ck. acc: the choice of largest log-likelihood is gold; acc_norm: the
 *    same with each log-likelihood divided by the length of its choice string in characters
 *    (Unicode code points of ck, or of Ck in the contexts form; the harness's len(choice),
 *    which for ASCII is the length in bytes). Ties go to the first choice (numpy's argmax).
 *
 * A request (context, continuation) is encoded as the harness's _encode_pair: trailing
 * whitespace of the context (Python's str.isspace) moves to the front of the continuation;
 * context tokens = encode(context), continuation tokens = encode(context + continuation) after
 * as many tokens. An empty context is the end-of-text token (GPT-2 BPE; the byte tokenizer has
 * none: an error). Log-likelihood of a continuation: the sum over its tokens of
 * log softmax(logits)[token] in nats, each given everything before it; greedy: each token is
 * the argmax of its logits (the first of equal maxima).
 *
 * Truncation (the harness's rule): a request sees the last W + 1 tokens of context +
 * continuation but the last one, W being the window (the model's context unless set): the
 * context is cut from the left and the continuation kept whole; a continuation longer than W
 * tokens is an error.
 *
 * A request whose context is its own runs as the harness runs every request: one parallel
 * pass over context + continuation but its last token. Consecutive requests whose contexts
 * (after truncation) are the same tokens share it instead: one prefill fills the streaming
 * state (gpt2_stream_prefill), a snapshot is kept, and each continuation runs from it by
 * streaming decode (gpt2_stream_restore, gpt2_stream_extend). The two evaluate the same
 * function in a different order of float32 operations: results agree to rounding (and, for
 * analog variants, to the quantiser decisions that rounding can flip).
 *
 * Standard errors are the harness's mean_stderr of the per-example scores, sample standard
 * deviation / sqrt(n), which for an accuracy p over n examples is sqrt(p (1 - p) / (n - 1)).
 * The harness bootstraps the perplexity's; here it is the delta method,
 * perplexity × stderr of the mean log-likelihood. */
#ifndef GCSIM_EVAL_H
#define GCSIM_EVAL_H

#include <stdint.h>

#include "common.h"
#include "gpt2.h"
#include "tokenizer.h"

typedef enum { EVAL_LAMBADA, EVAL_MC } eval_kind;

/* "lambada" or "mc"; an unknown name gets an error listing them. */
int eval_kind_parse(const char *name, eval_kind *out, gc_err *e);
const char *eval_kind_name(eval_kind k);

/* One example: its choices are requests first .. first + n_choices - 1. */
typedef struct {
    long line;             /* line of the task file, from 1 */
    long first;            /* its first request */
    int n_choices;         /* 1 for lambada */
    int gold;              /* index of the right choice (lambada: 0) */
} eval_item;

/* One scored continuation: token ids at pool[ctx ..] and pool[cont ..]. */
typedef struct {
    long ctx, cont;        /* offsets into eval_task.pool; cont = ctx + n_ctx */
    int n_ctx, n_cont;     /* tokens, before truncation */
    long norm_chars;       /* acc_norm's divisor: characters of the choice string */
} eval_request;

typedef struct {
    eval_kind kind;
    char *path;            /* the task file, for messages */
    long n_items, n_requests;
    eval_item *items;
    eval_request *req;
    uint32_t *pool;        /* every request's tokens */
    long n_pool;
} eval_task;

/* Reads and encodes the task file path (the first limit examples; 0: all) with tok. A bad
 * line (not JSON, a missing or mistyped field, gold out of range, no or an empty choice,
 * invalid UTF-8) is an error naming the file and the line; nothing is kept then. */
int eval_task_load(eval_task **out, const char *path, eval_kind kind, const tok_tokenizer *tok,
                   long limit, gc_err *e);
void eval_task_free(eval_task *t);

typedef struct {
    int window;            /* W: tokens the model sees (0: the model's context) */
    int share;             /* 1: consecutive requests with the same context evaluate it once */
    int progress;          /* a progress line on stderr (when it is a terminal) */
} eval_opts;

/* The score of one request. */
typedef struct {
    double loglik;         /* log-likelihood of the continuation, nats */
    int greedy;            /* 1: every continuation token is the argmax */
    int n_ctx;             /* context tokens the model saw (after truncation) */
} eval_score;

typedef struct {
    long items, requests;
    double acc, acc_stderr;
    double acc_norm, acc_norm_stderr;  /* mc */
    double perplexity;     /* lambada: exp(-mean log-likelihood per example) */
    double perplexity_stderr_delta;    /* lambada: perplexity × stderr of that mean */
    double token_perplexity;           /* lambada: exp(-sum log-likelihood / tokens_scored) */
    long tokens_scored;    /* continuation tokens */
    long truncated;        /* requests whose context was cut */
    long prefills;         /* contexts evaluated (requests - prefills shared one) */
    long tokens_run;       /* tokens through the model: prefills and continuations */
    double seconds;        /* wall time of the evaluation */
} eval_result;

/* Scores every request of t (scores has t->n_requests entries) and aggregates into r. The
 * model runs with its current attention configuration; its streaming state is used. */
int eval_run(gpt2_model *m, const eval_task *t, const eval_opts *o, eval_score *scores,
             eval_result *r, gc_err *e);

/* The choices example i picks: by log-likelihood (pred) and by log-likelihood per character
 * (pred_norm). */
void eval_item_preds(const eval_task *t, const eval_score *scores, long i, int *pred,
                     int *pred_norm);

/* Writes one JSON line per example to path (atomically): "line", "gold", "pred",
 * "pred_norm", and per choice "loglik", "greedy", "tokens" (continuation) and
 * "context_tokens" (seen after truncation). */
int eval_write_examples(const char *path, const eval_task *t, const eval_score *scores,
                        gc_err *e);

#endif
