/* fuzz_model: the properties every loaded GPT-2 checkpoint must have, whatever file it came
 * from (fuzz_safetensors.c, fuzz_llmc.c): a configuration gpt2_alloc accepts, a finite
 * positive LayerNorm epsilon, finite parameters (hardware tensors included), non-negative
 * target deviations and a NUL-terminated description. */
#ifndef GCSIM_FUZZ_MODEL_H
#define GCSIM_FUZZ_MODEL_H

#include <math.h>
#include <string.h>

#include "fuzz_util.h"
#include "gpt2.h"

static void fuzz_check_model(const gpt2_model *m)
{
    const gpt2_config *c = &m->config;
    FUZZ_CHECK(c->n_layer >= 1 && c->n_head >= 1 && c->n_embd >= 1 && c->max_seq_len >= 1 &&
                   c->vocab_size >= 1 && c->padded_vocab_size >= c->vocab_size,
               "sizes not positive: L %d NH %d C %d T %d V %d Vp %d", c->n_layer, c->n_head,
               c->n_embd, c->max_seq_len, c->vocab_size, c->padded_vocab_size);
    FUZZ_CHECK(c->n_embd % c->n_head == 0, "n_embd %d not a multiple of n_head %d", c->n_embd,
               c->n_head);
    FUZZ_CHECK(isfinite(c->ln_eps) && c->ln_eps > 0, "layer_norm_epsilon %g loaded",
               (double)c->ln_eps);
    FUZZ_CHECK(c->gelu == GPT2_GELU_TANH || c->gelu == GPT2_GELU_ERF, "gelu %d", (int)c->gelu);
    size_t total = 0;
    for (int i = 0; i < GPT2_NUM_PARAMS; i++)
        total += m->param_sizes[i];
    FUZZ_CHECK(total == m->num_parameters, "parameter sizes add to %zu, num_parameters %zu",
               total, m->num_parameters);
    for (size_t i = 0; i < m->num_parameters; i++)
        FUZZ_CHECK(isfinite(m->params_memory[i]), "parameter %zu is %g", i,
                   (double)m->params_memory[i]);
    size_t n_target = m->param_sizes[GPT2_NUM_PARAMS - 1];
    for (size_t i = 0; i < n_target; i++)
        FUZZ_CHECK(m->params.target_std[i] >= 0, "target_std[%zu] is %g", i,
                   (double)m->params.target_std[i]);
    const gpt2_settings *d = &m->described;
    FUZZ_CHECK(d->n >= 0 && d->n <= GPT2_MAX_SETTINGS, "%d described settings", d->n);
    for (int i = 0; i < d->n; i++)
        FUZZ_CHECK(memchr(d->set[i].key, 0, sizeof d->set[i].key) &&
                       memchr(d->set[i].value, 0, sizeof d->set[i].value),
                   "described setting %d is not NUL-terminated", i);
}

#endif
