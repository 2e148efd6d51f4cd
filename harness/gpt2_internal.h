/* gpt2_internal: what the files of the harness library share and nobody else needs:
 * the safetensors reader, the checkpoint loaders and the attention runtime. */
#ifndef GCSIM_GPT2_INTERNAL_H
#define GCSIM_GPT2_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "gpt2.h"

/* ---------------------------------------------------------------------------------------- */
/* safetensors: u64 little-endian header length N, N bytes of JSON
 * {"name": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, "__metadata__": {}},
 * then the data; offsets are relative to the end of the header. */

typedef enum { GPT2_ST_F32, GPT2_ST_F16, GPT2_ST_BF16, GPT2_ST_OTHER } gpt2_st_dtype;

/* The largest magnitude a loaded parameter may have: trained GPT-2 weights stay within a few
 * tens; a value near float32's limit overflows the forward pass into NaN. */
#define GPT2_MAX_ABS_PARAM 1e4f

typedef struct {
    char *name;
    gpt2_st_dtype dtype;
    char dtype_name[16];
    int rank;
    int64_t shape[8];
    size_t begin, end;  /* byte offsets into the data section */
} gpt2_st_tensor;

typedef struct {
    const char *path;
    const unsigned char *map;  /* the whole file, mmap'd */
    size_t size;
    const unsigned char *data; /* start of the data section */
    size_t data_size;
    gpt2_st_tensor *tensors;
    int n;
} gpt2_st_file;

/* Opens and validates a safetensors file (header, dtypes, shapes against offsets, offsets
 * inside the file and not overlapping, no key twice). */
int gpt2_st_open(gpt2_st_file *f, const char *path, gc_err *e);
void gpt2_st_close(gpt2_st_file *f);

/* Finds a tensor by name, also under the prefix "transformer."; NULL if absent. */
const gpt2_st_tensor *gpt2_st_find(const gpt2_st_file *f, const char *name);

/* Reads tensor name, which must have the given rank and shape, converted to float32, into out.
 * A missing tensor, wrong shape or unsupported dtype is an error naming the tensor. */
int gpt2_st_read(const gpt2_st_file *f, const char *name, int rank, const int64_t *shape,
                 float *out, gc_err *e);

/* Loads the tensors of model.safetensors (path) into a model of configuration config. */
int gpt2_load_safetensors(gpt2_model **out, const char *path, const gpt2_config *config,
                          gc_err *e);

/* Writes m's tensors (F32, Conv1D layout, plus the hardware tensors) to path atomically. */
int gpt2_write_safetensors(const gpt2_model *m, const char *path, gc_err *e);

/* ---------------------------------------------------------------------------------------- */
/* The model's description (describe.c): config.json's "gcsim" block */

/* Parses the block (NULL: none) into out; path names config.json in errors, and a relative
 * cell_file is taken relative to its folder. */
int gpt2_description_parse(const cJSON *block, gpt2_settings *out, const char *path,
                           gc_err *e);

/* The block for m, written into the folder dir: its tokenizer and the attention
 * configuration it runs with, as asked; a cell file relative to dir. NULL on failure. */
cJSON *gpt2_description_json(const gpt2_model *m, const char *dir, gc_err *e);

/* Loads an llm.c checkpoint (header of 256 int32, version 3, float32 parameters). */
int gpt2_load_llmc(gpt2_model **out, const char *path, gc_err *e);

/* ---------------------------------------------------------------------------------------- */
/* Kernels shared across files (gpt2.c) */

/* out (N, OC) = inp (N, C) · weightᵀ + bias; weight is (OC, C), bias (OC) or NULL. Split by
 * output columns over the OpenMP threads, one-threaded cblas_sgemm each. */
void gpt2_matmul_nt(float *out, const float *inp, const float *weight, const float *bias,
                    long N, int C, int OC);

/* A forward in parts (gpt2_forward is begin, then layers 0..n_layer): begin checks the tokens,
 * sizes the activations for (B,T) and writes the embeddings into m->residual; layers runs
 * blocks [l0, l1) on m->residual in place and, when l1 is n_layer, the final LayerNorm into
 * m->ln. A caller may overwrite m->residual (B,T,C) in between, e.g. with a cached input of
 * layer l0. */
int gpt2_forward_begin(gpt2_model *m, const uint32_t *tokens, int B, int T, gc_err *e);
int gpt2_forward_layers(gpt2_model *m, int l0, int l1, gc_err *e);

/* Sum of -log softmax(logits)[target] over n rows: logits (n, V), targets (n) (ppl.c). */
double gpt2_nll_rows(const float *logits, const uint32_t *targets, long n, int V);

/* ---------------------------------------------------------------------------------------- */
/* Attention runtime (gpt2_attn.c) */

/* Allocates the state for running cfg in model m (workspaces sized for max_seq_len); on
 * success m->attn and m->attn_cfg (with the loaded cell) are set. */
int gpt2_attn_alloc(gpt2_model *m, const attn_config *cfg, gc_err *e);
void gpt2_attn_free(gpt2_attn_state *s);

/* Floats of m->scratch that gpt2_attn_forward needs for B sequences of T tokens. */
size_t gpt2_attn_scratch_floats(const gpt2_model *m, int B, int T);

/* Parallel mode, layer l: out (B,T,C) from qkv (B,T,3C), heads concatenated. */
int gpt2_attn_forward(gpt2_model *m, int l, float *out, const float *qkv, int B, int T,
                      gc_err *e);

/* Streaming mode, layer l: appends the token at position pos (qkv is (3C)) and writes the
 * attention output (C). */
int gpt2_attn_step(gpt2_model *m, int l, float *out, const float *qkv, int pos, gc_err *e);

/* Resets the streaming state (KV cache / analog arrays) of every layer. */
int gpt2_attn_stream_reset(gpt2_model *m, gc_err *e);

#endif
