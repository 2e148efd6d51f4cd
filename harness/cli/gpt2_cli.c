/* gpt2_cli: what the language-model commands share (see gpt2_cli.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analog_options.h"
#include "gpt2_cli.h"

#ifndef GCSIM_SOURCE_ROOT
#define GCSIM_SOURCE_ROOT "."
#endif

int lm_session_open(lm_session *s, const char *path, const gpt2_settings *over,
                    const char *bpe_dir, FILE *report, gc_err *e)
{
    memset(s, 0, sizeof *s);
    attn_config cfg;
    char buf[4096];
    if (gpt2_load(&s->model, path, e) ||
        gpt2_run_config(s->model, over, &cfg, s->tokenizer, sizeof s->tokenizer, s->from_model,
                        e) ||
        gpt2_set_attention(s->model, &cfg, e) ||
        tok_alloc_by_name(&s->tok, s->tokenizer, gpt2_cli_bpe_dir(bpe_dir, buf, sizeof buf), e))
        return -1;
    if (tok_vocab_size(s->tok) > s->model->config.vocab_size)
        return gc_fail(e, "tokenizer %s has %d tokens, the model %s only %d (its config.json "
                          "names no tokenizer: give --tokenizer)", s->tokenizer,
                       tok_vocab_size(s->tok), path, s->model->config.vocab_size);
    if (report)
        analog_config_print(report, &s->model->attn_cfg, s->tokenizer, s->from_model);
    return 0;
}

void lm_session_free(lm_session *s)
{
    tok_free(s->tok);
    gpt2_free(s->model);
    memset(s, 0, sizeof *s);
}

const char *gpt2_cli_bpe_dir(const char *opt, char *buf, size_t n)
{
    if (opt)
        return opt;
    const char *data = getenv("GCSIM_DATA");
    if (data && *data)
        snprintf(buf, n, "%s/gpt2-bpe", data);
    else
        snprintf(buf, n, "%s/../shared/data/gpt2-bpe", GCSIM_SOURCE_ROOT);
    return buf;
}

int gpt2_cli_read_tokens(const char *path, const tok_tokenizer *tok, char **text, size_t *len,
                         uint32_t **ids, size_t *n, gc_err *e)
{
    if (gc_read_file(path, text, len, e))
        return -1;
    if (tok_encode(tok, *text, *len, ids, n, e)) {
        free(*text);
        *text = NULL;
        return gc_wrap(e, "%s", path);
    }
    return 0;
}
